"""Plumbing for tests against servers: start a server script, learn its port, stop it; and a raw
client that shows the exact frames a server sends.

Every server script here prints ``listening on HOST:PORT`` as its first stdout line, so the tests
can ask for port 0 and never race another process for a port.
"""

from __future__ import annotations

import base64
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1 that name it correctly but that no trusted CA
    signed: what a TLS server under test presents (``cryptography`` is in the test extras)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


STARTUP_TIMEOUT = 10.0
TIMEOUT = 5.0  # every socket read in the tests is bounded by this


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (prefer port 0 and reading the port back)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ScriptServer:
    """A server script in a child process, e.g. ``tests/interop/websockets_server.py``; a
    ``.js`` script runs in Node with ``tests/node/node_modules`` on its module path.

    Its stderr is inherited, so a crash shows up in pytest's captured output.
    """

    def __init__(self, script: Path, *args: str, timeout: float = STARTUP_TIMEOUT) -> None:
        path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]  # greenws importable
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
        interpreter = sys.executable
        if script.suffix == ".js":
            interpreter = "node"
            env["NODE_PATH"] = str(ROOT / "tests" / "node" / "node_modules")
        self.proc = subprocess.Popen(
            [interpreter, str(script), *args], stdout=subprocess.PIPE, env=env
        )
        try:
            self.host, self.port = _read_listening_line(self.proc, timeout)
        except BaseException:
            self.stop()
            raise
        self.url = f"ws://{self.host}:{self.port}"

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _read_listening_line(proc: subprocess.Popen[bytes], timeout: float) -> tuple[str, int]:
    assert proc.stdout is not None
    deadline, line = time.monotonic() + timeout, b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise RuntimeError(f"{proc.args!r} printed no 'listening on' line in {timeout} s")
            chunk = os.read(proc.stdout.fileno(), 1)  # one byte: never read past the line
            if not chunk:
                raise RuntimeError(
                    f"{proc.args!r} exited with {proc.wait(timeout)} before listening"
                )
            line += chunk
    address = line.decode().removeprefix("listening on ").strip()
    host, port = address.rsplit(":", 1)
    return host, int(port)


class RawClient:
    """A bare RFC 6455 client over a blocking socket, every read bounded by TIMEOUT."""

    def __init__(self, url: str, path: str = "/") -> None:
        host, port = url.removeprefix("ws://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.buffer = b""
        head = self._read_until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(marker, 1)
        return head

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("server closed the TCP connection")
        self.buffer += chunk

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send(self, opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True) -> None:
        first = (0x80 if fin else 0) | opcode
        n = len(payload)
        length = bytes([n]) if n < 126 else (b"\x7e" + struct.pack("!H", n))
        if n > 0xFFFF:
            length = b"\x7f" + struct.pack("!Q", n)
        if not mask:
            self.sock.sendall(bytes([first, length[0]]) + length[1:] + payload)
            return
        key = os.urandom(4)
        masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes([first, length[0] | 0x80]) + length[1:] + key + masked)

    def recv(self) -> tuple[int, bytes]:
        """Next frame as (opcode, payload); asserts the server neither masks nor fragments."""
        first, second = self._read(2)
        assert first & 0x80 and not second & 0x80, (first, second)
        n = second & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self._read(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self._read(8))
        return first & 0x0F, self._read(n)

    def assert_tcp_closed(self) -> None:
        assert self.buffer == b""
        assert self.sock.recv(1) == b""  # EOF, not a timeout: the server closed TCP

    def close(self) -> None:
        self.sock.close()


NGINX_CONF = """
user {user};
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    log_format conn '$connection $connection_requests $request';
    access_log {dir}/access.log conn;
    client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir};
    uwsgi_temp_path {dir}; scgi_temp_path {dir};
    server {{ listen 127.0.0.1:{port}; root {dir}/www; }}
}}
"""


class NginxServer:
    """Debian's nginx in a child process on a free port, serving ``directory/www``, logging
    ``$connection $connection_requests $request`` per request (which TCP connection served it)."""

    def __init__(self, directory: Path, nginx: str) -> None:
        self.directory = directory
        (directory / "www").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = directory / "nginx.conf"
        # The worker reads pytest's 0700 temp directory: as root it must stay root.
        user = "root" if os.geteuid() == 0 else "nobody"
        conf.write_text(NGINX_CONF.format(dir=directory, port=self.port, user=user))
        command = [nginx, "-c", str(conf), "-p", str(directory), "-e", str(directory / "error.log")]
        self.proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("nginx did not start") from None
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def access_log(self) -> list[str]:
        return (self.directory / "access.log").read_text().splitlines()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
