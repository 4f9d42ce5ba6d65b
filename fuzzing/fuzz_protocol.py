"""Coverage-guided fuzzing of the sans-I/O protocol core with atheris (run by hand, not in CI).

    pip install atheris
    python fuzzing/fuzz_protocol.py -atheris_runs=1000000 -max_len=4096

The input's first byte picks the target (frame parser, client protocol, handshake parser) and a
chunking; the rest is split into chunks fed one by one. FrameParser may raise only ProtocolError,
ResponseParser only HandshakeError, ClientProtocol nothing at all; anything else is a finding
(atheris stops and writes the crashing input to ./crash-*; replay with
``python fuzzing/fuzz_protocol.py crash-...``).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from greenws.protocol import ClientProtocol, HandshakeError, ResponseParser
    from greenws.protocol.errors import ProtocolError
    from greenws.protocol.frames import FrameParser


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    selector, body = data[0], data[1:]
    parts = _chunks(body, 1 + (selector >> 2) * 7)
    target = selector & 3
    if target == 0:
        parser = FrameParser(max_size=1000)
        try:
            for part in parts:
                parser.feed(part)
        except ProtocolError:
            pass
    elif target in (1, 2):
        protocol = ClientProtocol(max_message_size=None if target == 1 else 1000)
        for part in parts:
            protocol.receive_data(part)
            protocol.data_to_send()
        protocol.receive_eof()
    else:
        response = ResponseParser()
        try:
            for part in parts:
                if response.feed(part) is not None:
                    return
            response.feed_eof()
        except HandshakeError:
            pass


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
