"""One VU must never hold the whole process: greenlets are not preempted, so every path that can
spin without waiting has to yield, and a test end or a signal must get through a busy VU.

Each test runs real ``greenws`` child processes against real servers on 127.0.0.1 and asserts
counts: how many ``vus`` gauge points the run emitted (the gauge greenlet runs once a second only
if the hub gets its turns), how many messages were answered, which lines were printed.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from greenws_runner import ROOT, run_greenws, write_script
from servers import ScriptServer

from greenws.execution.interrupts import GRACE_PERIOD

# 300 VUs at an open-file limit of 128: about 60 connect and ping-pong 20 messages per session,
# the rest fail every dial at once with EMFILE and loop straight into the next iteration.
EMFILE = """
import os
from greenws import ws

options = {"vus": 300, "duration": "4s", "gracefulStop": "20s"}

def default():
    def session(socket):
        sent = [1]
        def on_message(message):
            if sent[0] < 20:
                sent[0] += 1
                socket.send("m")
            else:
                socket.close(1000)
        socket.on("open", lambda: socket.send("m"))
        socket.on("message", on_message)
    ws.connect(os.environ["TARGET"], None, session)
"""


def _open_files_128() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


def test_vus_failing_every_dial_with_emfile_do_not_starve_the_others(
    tmp_path: Path, echo_server
) -> None:
    result = run_greenws(
        tmp_path, EMFILE, env={"TARGET": echo_server.url}, preexec_fn=_open_files_128
    )
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if " level=warning " in line]
    assert len(warnings) == 1, result.stderr[-2000:]
    assert "300 VUs are planned" in warnings[0] and "128 files" in warnings[0], warnings[0]
    sessions = Counter(
        point["data"]["tags"].get("error_code", "ok") for point in result.points_of("ws_sessions")
    )
    assert sessions["1210"] > 100, sessions  # k6's dial error: EMFILE, dialled again and again
    assert sessions["ok"] >= 10, sessions
    # The hub kept its turns: the vus gauge most seconds of the 4 s run, not once or twice.
    assert len(result.points_of("vus")) >= 3, len(result.points_of("vus"))
    # Every session that connected finished its 20 round trips: none starved into gracefulStop.
    assert result.metric("ws_msgs_received")["count"] == 20 * sessions["ok"]
    assert result.metric("ws_msgs_sent")["count"] == 20 * sessions["ok"]


# Four VUs each read a server that sends 1 MiB messages as fast as they are read, for far longer
# than the test lasts. The VUs always have bytes waiting, so without a yield between reads they
# never give the hub a turn: no gauge, no flusher, no end of the test until the flood pauses.
FLOOD = """
import os
from greenws import ws

options = {"vus": 4, "duration": "3s", "gracefulStop": "1s", "maxMessageSize": 2 << 20}

def default():
    def session(socket):
        socket.on("binaryMessage", lambda data: None)
    ws.connect(os.environ["TARGET"] + "/flood?size=1048576", None, session)
"""


def test_a_flooding_server_cannot_hold_the_hub(tmp_path: Path) -> None:
    server = ScriptServer(ROOT / "tests" / "faults" / "fault_server.py")
    try:
        result = run_greenws(tmp_path, FLOOD, env={"TARGET": server.url})
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.metric("ws_msgs_received")["count"] > 100  # the flood did arrive
    # The hub kept its turns while the VUs read: the vus gauge every second of the run.
    assert len(result.points_of("vus")) >= 3, len(result.points_of("vus"))


def test_a_socket_that_always_has_bytes_still_lets_the_hub_run() -> None:
    """The transport under every plain ``ws://`` session: however much is waiting, a reader gives
    the hub a turn at least every ``EAGER_READS_BEFORE_YIELD`` reads (where interrupts and the
    other VUs run). Counted in reads, on a real loopback TCP connection fed by a thread."""
    import socket
    import threading

    import gevent

    from greenws.net.transport import EAGER_READS_BEFORE_YIELD, PlainTransport

    # Big buffers, filled before the first read: megabytes wait, so no read can come up empty.
    # Root may exceed the sysctl caps (SO_*BUFFORCE); CI runs as root.
    force = os.geteuid() == 0
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, 33 if force else socket.SO_RCVBUF, 8 << 20)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    writer = socket.socket()
    writer.setsockopt(socket.SOL_SOCKET, 32 if force else socket.SO_SNDBUF, 8 << 20)
    writer.connect(listener.getsockname())
    reader, _ = listener.accept()
    listener.close()
    reader.setblocking(False)
    transport = PlainTransport(None, reader)
    stop = threading.Event()

    def feed() -> None:
        chunk = b"x" * (1 << 20)
        with contextlib.suppress(OSError):
            while not stop.is_set():
                writer.sendall(chunk)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    time.sleep(0.5)  # not a measurement: time for the feeder to fill the buffers
    try:
        reads = 0
        other_ran_after: list[int] = []
        gevent.spawn(lambda: other_ran_after.append(reads))
        while not other_ran_after and reads < 100 * EAGER_READS_BEFORE_YIELD:
            data = transport.read(None)
            if data:
                reads += 1
        assert other_ran_after, reads
        assert other_ran_after[0] <= EAGER_READS_BEFORE_YIELD, other_ran_after
    finally:
        stop.set()
        transport.close()
        writer.close()
        feeder.join(5)


# Once its first message arrives, a handler spins forever: the hub never gets a turn again.
BUSY = """
import os
from greenws import ws

options = {"vus": 2, "duration": "60s"}

def default():
    def session(socket):
        def on_message(message):
            open(os.environ["SPINNING"], "w").close()
            while True:
                pass
        socket.on("open", lambda: socket.send("x"))
        socket.on("message", on_message)
    ws.connect(os.environ["TARGET"], None, session)
"""


@contextlib.contextmanager
def _spinning(tmp_path: Path, echo_server) -> Iterator[subprocess.Popen[str]]:
    """A greenws run whose VU spins in a handler; killed on the way out whatever happened."""
    script = write_script(tmp_path, BUSY)
    spinning = tmp_path / "spinning"
    process = subprocess.Popen(
        [sys.executable, "-m", "greenws", "run", "-q", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TARGET": echo_server.url,
            "SPINNING": str(spinning),
        },
    )
    for _ in range(300):  # until a VU spins (bounded: 30 s)
        if spinning.exists() or process.poll() is not None:
            break
        time.sleep(0.1)
    try:
        assert spinning.exists(), process.communicate(timeout=10)
        yield process
    finally:
        if process.poll() is None:  # a failed test must not leave a spinning process behind
            process.kill()
            process.communicate()


def test_a_second_sigint_ends_a_process_stuck_in_a_busy_handler(
    tmp_path: Path, echo_server
) -> None:
    with _spinning(tmp_path, echo_server) as process:
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert process.poll() is None  # the first only asks for a graceful stop, which can't come
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 105, stderr
    assert "stopping the test" in stderr, stderr
    [line] = [line for line in stderr.splitlines() if "exiting now" in line]
    assert re.search(
        r"SIGINT again: exiting now \(VU [12] was running .*script\.py:\d+ in on_message\)", line
    ), line


def test_sigterm_after_the_grace_period_ends_a_stuck_process(tmp_path: Path, echo_server) -> None:
    with _spinning(tmp_path, echo_server) as process:
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)  # the same request repeated: still graceful
        time.sleep(0.5)
        assert process.poll() is None
        # Then once a second: one of them lands after the grace period (counted from when the
        # first was handled, which a loaded machine may delay), and that one ends the process.
        for _ in range(int(GRACE_PERIOD) + 25):
            time.sleep(1)
            if process.poll() is not None:
                break
            process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 105, stderr
    assert "SIGTERM again: exiting now (VU" in stderr and "in on_message" in stderr, stderr
