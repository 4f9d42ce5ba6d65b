"""Hosts of the test's own: Linux network namespaces on one bridge, links shaped with tc netem.

A :class:`Lab` is a bridge in this namespace (it gets ``.1`` of a /24 in 10.200-249.x.x picked
from the pid) and any number of hosts, each a namespace joined to the bridge by a veth pair with
its own address. Processes started with :meth:`Host.command` live on that host: a server there
sees its clients' real source addresses, and ``tc netem`` on a host's link gives it latency,
jitter or loss. Everything is named after the pid and removed on exit, even after a failure.
Every address is one the lab created; nothing outside it is ever a target. Needs root, as CI has.
"""

from __future__ import annotations

import gzip
import itertools
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Host", "Lab", "lab", "netem_available", "netem_missing", "wait_for_port"]


def netem_missing() -> str | None:
    """Why no link can be given a delay on this kernel, in tc's and the kernel's own words; None
    when tc's netem qdisc works. Some VM kernels are built without sch_netem and cannot load
    modules (no ``/lib/modules/RELEASE``)."""
    name = f"greenws-netem-{os.getpid()}"
    try:
        _run(["ip", "netns", "add", name])
        command = ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]
        done = subprocess.run(
            ["ip", "netns", "exec", name, *command], capture_output=True, text=True, timeout=30
        )
        if done.returncode == 0:
            return None
        release = os.uname().release
        modules = f"/lib/modules/{release}"
        why = (done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"]
        built = _kernel_config("CONFIG_NET_SCH_NETEM")
        return (
            f"`{' '.join(command)}` failed: {why[-1]} (kernel {release}: "
            + (f"{built}, " if built else "no sch_netem, ")
            + ("a module could be loaded" if os.path.isdir(modules) else f"no {modules}")
            + ")"
        )
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def _kernel_config(option: str) -> str | None:
    """The running kernel's line for ``option`` in /proc/config.gz (``# X is not set`` too)."""
    try:
        with gzip.open("/proc/config.gz", "rt", encoding="ascii") as config:
            for line in config:
                if line.startswith((f"{option}=", f"# {option} ")):
                    return line.strip().lstrip("# ")
    except OSError:  # a kernel built without IKCONFIG_PROC
        pass
    return None


def netem_available() -> bool:
    """Whether this kernel has tc's netem qdisc (see :func:`netem_missing`)."""
    return netem_missing() is None


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")


@dataclass
class Host:
    """One namespace on the lab's bridge."""

    name: str  # the namespace
    address: str
    interface: str  # its end of the veth pair, inside the namespace
    port: str  # the other end, on the bridge

    def cut(self) -> None:
        """Drop everything on this host's link, both ways, without telling its sockets: the
        bridge's end goes down, so the host's packets vanish as with netem ``loss 100%`` (this
        works on kernels built without sch_netem too)."""
        _run(["ip", "link", "set", self.port, "down"])

    def restore(self) -> None:
        _run(["ip", "link", "set", self.port, "up"])

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside this host."""
        return ["ip", "netns", "exec", self.name, *argv]

    def shape(self, netem: str) -> None:
        """Shape what this host sends with a netem spec: ``"delay 20ms"``, ``"loss 100%"``…
        (replaces the previous shape)."""
        _run(self.command("tc", "qdisc", "replace", "dev", self.interface, "root", "netem",
                          *netem.split()))  # fmt: skip

    def unshape(self) -> None:
        subprocess.run(
            self.command("tc", "qdisc", "del", "dev", self.interface, "root"),
            capture_output=True,
            timeout=30,
        )


@dataclass
class Lab:
    """The bridge and its hosts; see the module docstring."""

    tag: str
    subnet: str  # "10.M.N"
    bridge: str
    hosts: list[Host] = field(default_factory=list)

    @property
    def gateway(self) -> str:
        """This namespace's address on the bridge."""
        return f"{self.subnet}.1"

    def add_host(self, role: str) -> Host:
        index = len(self.hosts) + 2
        outside = f"gw{self.tag}{index}"[:15]
        host = Host(f"greenws-{self.tag}-{role}", f"{self.subnet}.{index}", "eth0", outside)
        inside = f"gw{self.tag}{index}i"[:15]
        self.hosts.append(host)  # cleaned up from now on, even if the rest fails
        _run(["ip", "netns", "add", host.name])
        _run(["ip", "link", "add", outside, "type", "veth", "peer", "name", inside])
        _run(["ip", "link", "set", inside, "netns", host.name])
        _run(["ip", "link", "set", outside, "master", self.bridge])
        _run(["ip", "link", "set", outside, "up"])
        _run(host.command("ip", "link", "set", inside, "name", host.interface))
        _run(host.command("ip", "addr", "add", f"{host.address}/24", "dev", host.interface))
        _run(host.command("ip", "link", "set", host.interface, "up"))
        _run(host.command("ip", "link", "set", "lo", "up"))
        _run(host.command("ip", "route", "add", "default", "via", self.gateway))
        return host


#: Labs made by this process so far: a namespace's veth pair outlives ``ip netns del`` for a
#: moment (the kernel tears namespaces down asynchronously), so a second lab in the same
#: process must not reuse the first one's names or subnet.
_LABS = itertools.count()


@contextmanager
def lab() -> Iterator[Lab]:
    """A :class:`Lab`, removed with all its hosts when the block ends."""
    pid, number = os.getpid(), next(_LABS)
    tag = f"{pid % 100000}{chr(ord('a') + number % 26)}"
    subnet = f"10.{200 + number % 50}.{pid % 250 + 1}"
    made = Lab(tag, subnet, f"gwbr{tag}")
    try:
        _run(["ip", "link", "add", made.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{made.gateway}/24", "dev", made.bridge])
        _run(["ip", "link", "set", made.bridge, "up"])
        yield made
    finally:
        for host in made.hosts:  # deleting a namespace deletes its veth pair too
            subprocess.run(["ip", "netns", "del", host.name], capture_output=True, timeout=30)
        subprocess.run(["ip", "link", "del", made.bridge], capture_output=True, timeout=30)


def wait_for_port(
    host: str, port: int, process: subprocess.Popen[bytes], within: float = 20
) -> None:
    """Return once ``host:port`` accepts a connection; raise if ``process`` exits or time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{host}:{port} exited: {process.stderr and process.stderr.read()}")
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")
