"""A misbehaving WebSocket server for the fault tests: one fault per path, plain sockets + threads.

Run: ``python tests/faults/fault_server.py [PORT] [--cert CERT.pem --key KEY.pem]`` (0, the
default, picks a free port). It listens on 127.0.0.1 only. Its stdout lines are
``listening on 127.0.0.1:PORT`` (the routes below, plain TCP), ``tls-stall on 127.0.0.1:PORT``
(accepts TCP, then never answers the TLS handshake) and, with a certificate, ``tls on
127.0.0.1:PORT`` (the same routes behind TLS). A TLS ClientHello sent to the plain port is
answered like a plain HTTP server would: ``400 Bad Request``. Routes:

- ``/stall-handshake``   read the request, never answer
- ``/stall``             complete the handshake, then send nothing (not even a close answer)
- ``/reject?status=403&body=nope``  answer that HTTP status with a body
- ``/bad-accept``        101 with a wrong ``Sec-WebSocket-Accept``
- ``/reset``             handshake, half a frame, then a TCP reset (SO_LINGER 0)
- ``/no-read``           handshake, then never read again (the client's send buffer fills)
- ``/too-big?size=N``    handshake, then one binary message of N bytes
- ``/flood?size=N``      handshake, then binary messages of N bytes as fast as the client reads
- ``/bad-utf8``          handshake, then a text frame with invalid UTF-8
- ``/bad-close?code=N``  handshake, then a close frame carrying code N (1005, 999...)
- ``/no-pong``           handshake, ignore pings, answer a close with a close
- ``/huge-headers``      a 101 status line, then header lines without end
- ``/huge-body?status=403``   that status with ``Content-Length: 10 GiB`` and a body without end
- ``/huge-chunk?status=403``  that status, chunked, one chunk of 2**63-1 bytes without end

Every connection thread lives at most ``LIFETIME`` seconds, every read is bounded by it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import socket
import ssl
import struct
import threading
import time
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
LIFETIME = 60.0
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked server frame."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, size))
    elif size < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + struct.pack("!H", size)
    else:
        head = bytes((0x80 | opcode, 127)) + struct.pack("!Q", size)
    return head + payload


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.deadline = time.monotonic() + LIFETIME

    def _fill(self) -> bool:
        left = self.deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except OSError:
            return False
        self.buffer += chunk
        return bool(chunk)

    def read_request(self) -> tuple[str, dict[str, str]] | None:
        while b"\r\n\r\n" not in self.buffer:
            if len(self.buffer) > 65536 or not self._fill():
                return None
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return target, headers

    def read_frame(self) -> tuple[int, bytes] | None:
        """Next client frame (opcode, unmasked payload); None at EOF or deadline."""
        while True:
            data = self.buffer
            if len(data) >= 2:
                size, pos = data[1] & 0x7F, 2
                if size == 126 and len(data) >= 4:
                    (size,), pos = struct.unpack("!H", data[2:4]), 4
                elif size == 127 and len(data) >= 10:
                    (size,), pos = struct.unpack("!Q", data[2:10]), 10
                if data[1] & 0x7F < 126 or pos > 2:
                    end = pos + 4 + size
                    if len(data) >= end:
                        mask = data[pos : pos + 4]
                        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(data[pos + 4 : end]))
                        self.buffer = data[end:]
                        return data[0] & 0x0F, payload
            if not self._fill():
                return None

    def drain(self) -> None:
        """Read and drop everything until EOF or the deadline."""
        while self._fill():
            self.buffer = b""

    def upgrade(self, headers: dict[str, str], accept: str | None = None) -> None:
        accept = accept or accept_key(headers.get("sec-websocket-key", ""))
        self.sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
        )


def stream(sock: socket.socket, head: bytes, filler: bytes) -> None:
    """Send ``head``, then ``filler`` again and again until the client leaves (or LIFETIME)."""
    sock.settimeout(5.0)  # a client that stops reading without closing ends it too
    deadline = time.monotonic() + LIFETIME
    sock.sendall(head)
    while time.monotonic() < deadline:
        sock.sendall(filler)


def serve(sock: socket.socket, context: ssl.SSLContext | None = None) -> None:
    conn = Connection(sock)
    try:
        if context is not None:
            sock.settimeout(LIFETIME)
            sock = conn.sock = context.wrap_socket(sock, server_side=True)
        elif not conn._fill():
            return
        elif conn.buffer[:1] == b"\x16":  # a TLS ClientHello: not HTTP
            sock.sendall(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        request = conn.read_request()
        if request is None:
            return
        target, headers = request
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        route = parts.path
        if route == "/stall-handshake":
            conn.drain()
            return
        status = int(query.get("status", "403"))
        if route == "/reject":
            body = query.get("body", "").encode()
            sock.sendall(
                f"HTTP/1.1 {status} Fault\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body
            )
            return
        if route == "/huge-headers":
            filler = b"X-Filler: " + b"x" * 1000 + b"\r\n"
            stream(sock, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", filler)
            return
        if route == "/huge-body":
            head = f"HTTP/1.1 {status} Fault\r\nContent-Length: {10 << 30}\r\n\r\n"
            stream(sock, head.encode(), b"y" * 65536)
            return
        if route == "/huge-chunk":
            head = f"HTTP/1.1 {status} Fault\r\nTransfer-Encoding: chunked\r\n\r\n"
            stream(sock, head.encode() + b"7fffffffffffffff\r\n", b"z" * 65536)
            return
        if route == "/bad-accept":
            conn.upgrade(headers, accept=accept_key("not the key"))
            conn.drain()
            return
        conn.upgrade(headers)
        if route == "/stall":
            conn.drain()
        elif route == "/reset":
            sock.sendall(b"\x82\x7e\x02\x00" + b"x" * 100)  # a 512-byte frame, cut short
            time.sleep(0.2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif route == "/no-read":
            # A small receive buffer so that the client's writes stall after little data.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            time.sleep(LIFETIME)
        elif route == "/too-big":
            sock.sendall(frame(2, b"\x00" * int(query.get("size", "2048"))))
            conn.drain()
        elif route == "/flood":
            message = frame(2, b"\x00" * int(query.get("size", "1048576")))
            ends = time.monotonic() + LIFETIME
            sock.settimeout(LIFETIME)
            while time.monotonic() < ends:
                sock.sendall(message)
        elif route == "/bad-utf8":
            sock.sendall(frame(1, b"ok \xff\xfe not utf-8"))
            conn.drain()
        elif route == "/bad-close":
            sock.sendall(frame(8, struct.pack("!H", int(query.get("code", "1005")))))
            conn.drain()
        elif route == "/no-pong":
            while (received := conn.read_frame()) is not None:
                opcode, payload = received
                if opcode == 8:
                    sock.sendall(frame(8, payload[:2]))
                    break
        else:
            sock.sendall(frame(8, struct.pack("!H", 1008) + b"unknown route"))
            conn.drain()
    except OSError:
        pass
    finally:
        sock.close()


def listen(port: int = 0) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(128)
    return listener


def accept_forever(listener: socket.socket, context: ssl.SSLContext | None) -> None:
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock, context), daemon=True).start()


def hold_forever(listener: socket.socket) -> None:
    """Accept, read and drop the ClientHello, answer nothing: a TLS handshake that stalls."""
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=Connection(sock).drain, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("port", type=int, nargs="?", default=0, help="0 picks a free port")
    parser.add_argument("--cert", help="PEM certificate for the TLS listener")
    parser.add_argument("--key", help="PEM private key for the TLS listener")
    args = parser.parse_args()
    plain, stall = listen(args.port), listen()
    print(f"listening on {HOST}:{plain.getsockname()[1]}", flush=True)
    print(f"tls-stall on {HOST}:{stall.getsockname()[1]}", flush=True)
    threading.Thread(target=hold_forever, args=(stall,), daemon=True).start()
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        secure = listen()
        print(f"tls on {HOST}:{secure.getsockname()[1]}", flush=True)
        threading.Thread(target=accept_forever, args=(secure, context), daemon=True).start()
    accept_forever(plain, None)


if __name__ == "__main__":
    main()
