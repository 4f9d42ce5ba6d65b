"""permessage-deflate (RFC 7692) with plain values: the codec, the negotiation, the client."""

from __future__ import annotations

import zlib

import pytest

from greenws.protocol import (
    BinaryMessage,
    ClientProtocol,
    DeflateParams,
    HandshakeError,
    HandshakeResponse,
    PerMessageDeflate,
    PingReceived,
    ProtocolError,
    ProtocolFailure,
    TextMessage,
    accept_key,
    build_request,
    negotiate,
    validate_response,
)
from greenws.protocol.compression import (
    DeflateOffer,
    accept_response,
    parse_deflate_params,
    parse_offers,
)
from greenws.protocol.frames import Frame, FrameParser, Opcode, serialize_frame

HELLO = bytes.fromhex("f2 48 cd c9 c9 07 00")  # RFC 7692 section 7.2.3.1
HELLO_AGAIN = bytes.fromhex("f2 00 11 00 00")  # section 7.2.3.2: "Hello" with the context
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
DEFLATE = ("permessage-deflate",)


def deflate(data: bytes, wbits: int = 15) -> bytes:
    """Compress like a server: raw deflate, sync flush, tail removed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -wbits)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def inflate(data: bytes) -> bytes:
    return zlib.decompressobj(-15).decompress(data + b"\x00\x00\xff\xff")


# -- the codec -----------------------------------------------------------------------------


def test_hello_compresses_as_in_rfc_7692() -> None:
    assert PerMessageDeflate().compress(b"Hello") == HELLO


def test_context_takeover_makes_the_second_hello_shorter() -> None:
    codec = PerMessageDeflate()
    assert codec.compress(b"Hello") == HELLO
    assert codec.compress(b"Hello") == HELLO_AGAIN


def test_client_no_context_takeover_resets_per_message() -> None:
    codec = PerMessageDeflate(DeflateParams(client_no_context_takeover=True))
    assert [codec.compress(b"Hello") for _ in range(3)] == [HELLO] * 3


def test_decompress_rfc_examples_with_context() -> None:
    codec = PerMessageDeflate()
    assert codec.decompress(HELLO, True, None) == b"Hello"
    assert codec.decompress(HELLO_AGAIN, True, None) == b"Hello"


def test_server_no_context_takeover_resets_the_decompressor() -> None:
    codec = PerMessageDeflate(DeflateParams(server_no_context_takeover=True))
    assert codec.decompress(HELLO, True, None) == b"Hello"
    with pytest.raises(ProtocolError) as info:  # refers to a context that was dropped
        codec.decompress(HELLO_AGAIN, True, None)
    assert info.value.code == 1002
    fresh = PerMessageDeflate(DeflateParams(server_no_context_takeover=True))
    assert [fresh.decompress(HELLO, True, None) for _ in range(2)] == [b"Hello"] * 2


def test_fragments_inflate_one_by_one() -> None:
    compressed = deflate(b"Hello, fragmented world" * 10)
    codec = PerMessageDeflate()
    parts = [
        codec.decompress(compressed[:5], False, None),
        codec.decompress(compressed[5:], True, None),
    ]
    assert b"".join(parts) == b"Hello, fragmented world" * 10


def test_round_trip_with_small_windows() -> None:
    data = b"0123456789abcdef" * 3200
    for bits in range(8, 16):
        codec = PerMessageDeflate(DeflateParams(client_max_window_bits=bits))
        compressed = codec.compress(data)
        # An 8-bit window is compressed with zlib's 9 bits, which never reaches past 250 bytes.
        assert (
            zlib.decompressobj(-bits if bits > 8 else -9).decompress(
                compressed + b"\x00\x00\xff\xff"
            )
            == data
        )
        assert len(compressed) < len(data) // 10


def test_bomb_is_bounded_at_max_size() -> None:
    bomb = deflate(bytes(50 * 1024 * 1024))  # 50 MiB of zeros, about 50 KB compressed
    assert len(bomb) < 100_000
    codec = PerMessageDeflate()
    with pytest.raises(ProtocolError) as info:
        codec.decompress(bomb, True, 1024 * 1024)
    assert info.value.code == 1009
    # exactly at the limit is fine
    assert len(PerMessageDeflate().decompress(deflate(bytes(1000)), True, 1000)) == 1000


def test_bomb_across_fragments_counts_the_whole_message() -> None:
    compressed = deflate(bytes(3000))
    codec = PerMessageDeflate()
    codec.decompress(compressed[: len(compressed) // 2], False, 2000)
    with pytest.raises(ProtocolError) as info:
        codec.decompress(compressed[len(compressed) // 2 :], True, 2000)
    assert info.value.code == 1009


def test_invalid_deflate_data_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError) as info:
        PerMessageDeflate().decompress(b"\xff\xff\xff", True, None)
    assert info.value.code == 1002


# -- negotiation ---------------------------------------------------------------------------


def test_offer_is_sent_only_when_asked() -> None:
    common = {"host": "h", "port": 80, "resource": "/", "secure": False, "key": KEY}
    offered = build_request(**common, extensions=DEFLATE)  # type: ignore[arg-type]
    assert (
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" in offered
    )
    assert b"Extensions" not in build_request(**common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported extension 'x-webkit-deflate-frame'"):
        build_request(**common, extensions=("x-webkit-deflate-frame",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="set by the WebSocket handshake"):
        build_request(**common, headers=[("Sec-WebSocket-Extensions", "x")])  # type: ignore[arg-type]


def response(extensions: str | None) -> HandshakeResponse:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-Websocket-Accept": accept_key(KEY),
    }
    if extensions is not None:
        headers["Sec-Websocket-Extensions"] = extensions
    return HandshakeResponse(101, "Switching Protocols", headers)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, None),
        ("permessage-deflate", DeflateParams()),
        ("Permessage-Deflate ;", DeflateParams()),
        (
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
        ),
        (
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=15",
            DeflateParams(server_max_window_bits=8, client_max_window_bits=15),
        ),
        (
            'permessage-deflate;client_max_window_bits="10" ; Server_Max_Window_Bits = 12',
            DeflateParams(server_max_window_bits=12, client_max_window_bits=10),
        ),
    ],
)
def test_accepted_parameters(answer: str | None, expected: DeflateParams | None) -> None:
    negotiated = negotiate(response(answer), key=KEY, subprotocols=[], extensions=DEFLATE)
    assert negotiated.deflate == expected
    assert negotiated.subprotocol is None
    assert validate_response(response(answer), key=KEY, subprotocols=[], extensions=DEFLATE) is None


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ("permessage-deflate; foo", "unknown parameter 'foo'"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", "duplicate"),
        ("permessage-deflate; client_max_window_bits=10; client_max_window_bits=11", "duplicate"),
        ("permessage-deflate; server_no_context_takeover=1", "takes no value"),
        ("permessage-deflate; client_max_window_bits", "needs a value"),
        ("permessage-deflate; server_max_window_bits=7", "8..15"),
        ("permessage-deflate; server_max_window_bits=16", "8..15"),
        ("permessage-deflate; server_max_window_bits=09", "needs a value"),
        ("permessage-deflate; server_max_window_bits=ten", "needs a value"),
        ("permessage-deflate; server_max_window_bits=", "needs a value"),
        ("permessage-deflate, permessage-deflate", "accepted permessage-deflate twice"),
        ("x-webkit-deflate-frame", "server selected extension 'x-webkit-deflate-frame'"),
        ("permessage-deflate, other", "server selected extension 'other'"),
    ],
)
def test_invalid_answers_fail_the_handshake(answer: str, problem: str) -> None:
    with pytest.raises(HandshakeError, match=problem) as info:
        negotiate(response(answer), key=KEY, subprotocols=[], extensions=DEFLATE)
    assert info.value.status == 101


def test_answer_without_an_offer_fails() -> None:
    with pytest.raises(HandshakeError, match="not offered: permessage-deflate"):
        negotiate(response("permessage-deflate"), key=KEY, subprotocols=[])


def test_parse_deflate_params_alone() -> None:
    assert parse_deflate_params("") == DeflateParams()
    with pytest.raises(ValueError, match="unknown parameter"):
        parse_deflate_params("; mux")
    with pytest.raises(ValueError, match=r"8\.\.15"):
        DeflateParams(client_max_window_bits=20)


# -- offers: what a script asks for, and what the server may answer to it ------------------

AUTOBAHN = "permessage-deflate; client_no_context_takeover; client_max_window_bits"


@pytest.mark.parametrize(
    ("value", "headers"),
    [
        (None, []),
        ("", []),
        (False, []),
        ("deflate", ["permessage-deflate; client_max_window_bits"]),
        ("permessage-deflate", ["permessage-deflate; client_max_window_bits"]),
        (
            "deflate; server_no_context_takeover; client_max_window_bits=9",
            ["permessage-deflate; server_no_context_takeover; client_max_window_bits=9"],
        ),
        (
            " deflate ;Client_No_Context_Takeover; SERVER_MAX_WINDOW_BITS=10 ",
            [
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; "
                "client_max_window_bits"
            ],
        ),
        (
            "deflate; server_max_window_bits=9, deflate",
            [
                "permessage-deflate; server_max_window_bits=9; client_max_window_bits",
                "permessage-deflate; client_max_window_bits",
            ],
        ),
        (
            {"server_no_context_takeover": True, "client_max_window_bits": False},
            ["permessage-deflate; server_no_context_takeover"],
        ),
        (
            {"client_no_context_takeover": True, "server_max_window_bits": 12},
            [
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; "
                "client_max_window_bits"
            ],
        ),
        (
            ["deflate; server_no_context_takeover", {"client_max_window_bits": 8}],
            [
                "permessage-deflate; server_no_context_takeover; client_max_window_bits",
                "permessage-deflate; client_max_window_bits=8",
            ],
        ),
    ],
)
def test_parse_offers(value: object, headers: list[str]) -> None:
    assert [offer.header() for offer in parse_offers(value)] == headers


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("gzip", "unsupported compression 'gzip' (the only one is 'deflate')"),
        ("Deflate", "unsupported compression 'Deflate'"),
        (1, "unsupported compression 1"),
        ("deflate, gzip", "unsupported compression 'gzip'"),
        (["deflate", 3], "unsupported compression 3"),
        ("deflate; foo", "invalid compression 'deflate; foo': unknown parameter 'foo' (known: "),
        ("deflate; server_max_window_bits", "server_max_window_bits needs a value 8..15"),
        ("deflate; client_max_window_bits=16", "client_max_window_bits must be 8..15, not 16"),
        ("deflate; server_no_context_takeover=1", "takes no value"),
        ("deflate; client_no_context_takeover; client_no_context_takeover", "duplicate"),
        ({"server_max_window_bits": True}, "server_max_window_bits must be 8..15, not True"),
        ({"server_max_window_bits": 7}, "server_max_window_bits must be 8..15, not 7"),
        ({"server_no_context_takeover": "yes"}, "must be True or False, not 'yes'"),
        ({"client_max_window_bits": "9"}, "must be True, False or 8..15, not '9'"),
        ({"serverNoContextTakeover": True}, "unknown parameter 'serverNoContextTakeover'"),
    ],
)
def test_invalid_offers_are_refused_on_one_line(value: object, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_offers(value)
    assert problem in str(info.value)
    assert "\n" not in str(info.value)


def test_several_offers_are_sent_in_order() -> None:
    common = {"host": "h", "port": 80, "resource": "/", "secure": False, "key": KEY}
    offers = parse_offers(["deflate; server_no_context_takeover", "deflate"])
    request = build_request(**common, extensions=offers)  # type: ignore[arg-type]
    assert (
        b"\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
        b"client_max_window_bits, permessage-deflate; client_max_window_bits\r\n" in request
    )


@pytest.mark.parametrize(
    ("offer", "answer", "expected"),
    [
        # 13.2: the server resets its compressor, and asks us to reset ours.
        (
            f"{AUTOBAHN}; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
        ),
        # 13.1: offering client_no_context_takeover is a promise kept even when not answered.
        (AUTOBAHN, "permessage-deflate", DeflateParams(client_no_context_takeover=True)),
        # 13.3: both windows limited to 9 bits.
        (
            f"{AUTOBAHN}; server_max_window_bits=9",
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
            DeflateParams(
                client_no_context_takeover=True, server_max_window_bits=9, client_max_window_bits=9
            ),
        ),
        # A server may limit its own window unasked, and a smaller window than offered.
        (
            "deflate",
            "permessage-deflate; server_max_window_bits=10",
            DeflateParams(server_max_window_bits=10),
        ),
        (
            "deflate; server_max_window_bits=12",
            "permessage-deflate; server_max_window_bits=11",
            DeflateParams(server_max_window_bits=11),
        ),
        # Our own limit holds when the server does not repeat it.
        (
            "deflate; client_max_window_bits=10",
            "permessage-deflate",
            DeflateParams(client_max_window_bits=10),
        ),
        # Several offers: the answer may fit any (13.7's fallback to the plain offer).
        (
            "deflate; server_no_context_takeover; server_max_window_bits=9, deflate",
            "permessage-deflate",
            DeflateParams(),
        ),
    ],
)
def test_answer_settles_the_offer(offer: str, answer: str, expected: DeflateParams) -> None:
    assert accept_response(answer, parse_offers(offer)) == expected
    negotiated = negotiate(
        response(answer), key=KEY, subprotocols=[], extensions=parse_offers(offer)
    )
    assert negotiated.deflate == expected


@pytest.mark.parametrize(
    ("offer", "answer", "problem"),
    [
        (
            "deflate; server_no_context_takeover",
            "permessage-deflate",
            "server_no_context_takeover was offered but not accepted",
        ),
        (
            "deflate; server_max_window_bits=10",
            "permessage-deflate",
            "server_max_window_bits was offered but not accepted",
        ),
        (
            "deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=11",
            "server_max_window_bits=11 exceeds the offered 10",
        ),
        (
            {"client_max_window_bits": False},
            "permessage-deflate; client_max_window_bits=10",
            "client_max_window_bits was not offered",
        ),
        (
            "deflate; client_max_window_bits=9",
            "permessage-deflate; client_max_window_bits=10",
            "client_max_window_bits=10 exceeds the offered 9",
        ),
    ],
)
def test_answer_that_fits_no_offer_fails_the_handshake(
    offer: object, answer: str, problem: str
) -> None:
    with pytest.raises(HandshakeError, match=problem) as info:
        negotiate(response(answer), key=KEY, subprotocols=[], extensions=parse_offers(offer))
    assert str(info.value).startswith("handshake failed: invalid permessage-deflate response: ")


def test_empty_answer_means_declined() -> None:
    assert accept_response(" , ", parse_offers("deflate")) is None
    assert DeflateOffer() == parse_offers("deflate")[0]
    assert repr(DeflateOffer()) == "DeflateOffer('permessage-deflate; client_max_window_bits')"
    with pytest.raises(ValueError, match=r"8\.\.15"):
        DeflateOffer(server_max_window_bits=16)


def test_kept_promise_resets_the_compressor() -> None:
    params = accept_response("permessage-deflate", parse_offers(AUTOBAHN))
    codec = PerMessageDeflate(params)
    assert [codec.compress(b"Hello") for _ in range(2)] == [HELLO, HELLO]


# -- the client ----------------------------------------------------------------------------


def deflate_client(max_message_size: int | None = 1024 * 1024, **params: object) -> ClientProtocol:
    return ClientProtocol(
        max_message_size=max_message_size,
        mask_source=lambda n: b"\x01\x02\x03\x04" * (n // 4),
        compression=PerMessageDeflate(DeflateParams(**params)),  # type: ignore[arg-type]
    )


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    return serialize_frame(opcode, payload, fin=fin, rsv1=rsv1)


def parse_sent(data: bytes) -> list[Frame]:
    parser = FrameParser(max_size=None, expect_masked=True)
    parser.allow_rsv1 = True
    return parser.feed(data)


def test_plain_client_is_the_plain_class() -> None:
    assert type(ClientProtocol()) is ClientProtocol
    assert type(ClientProtocol(compression=None)) is ClientProtocol
    assert isinstance(deflate_client(), ClientProtocol)
    assert type(deflate_client()) is not ClientProtocol


def test_sent_messages_are_compressed_with_rsv1() -> None:
    proto = deflate_client()
    assert parse_sent(proto.send_text("Hello")) == [Frame(Opcode.TEXT, HELLO, rsv1=True)]
    assert parse_sent(proto.send_text("Hello")) == [Frame(Opcode.TEXT, HELLO_AGAIN, rsv1=True)]
    [binary] = parse_sent(proto.send_binary(b"\x00" * 1000))
    assert binary.rsv1 and binary.opcode == Opcode.BINARY and len(binary.payload) < 20
    [ping] = parse_sent(proto.send_ping(b"p"))
    assert not ping.rsv1 and ping.payload == b"p"


def test_sent_messages_without_context_takeover() -> None:
    proto = deflate_client(client_no_context_takeover=True)
    frames = parse_sent(proto.send_text("Hello") + proto.send_text("Hello"))
    assert [f.payload for f in frames] == [HELLO, HELLO]


def test_received_compressed_and_plain_messages() -> None:
    proto = deflate_client()
    data = frame(Opcode.TEXT, HELLO, rsv1=True) + frame(Opcode.TEXT, HELLO_AGAIN, rsv1=True)
    data += frame(Opcode.BINARY, b"raw") + frame(Opcode.PING, b"x")
    data += frame(Opcode.BINARY, deflate(b"\x01" * 500), rsv1=True)
    assert proto.receive_data(data) == [
        TextMessage("Hello"),
        TextMessage("Hello"),
        BinaryMessage(b"raw"),
        PingReceived(b"x"),
        BinaryMessage(b"\x01" * 500),
    ]
    assert proto.receive_data(frame(Opcode.TEXT, b"plain")) == [TextMessage("plain")]


def test_received_fragmented_compressed_message() -> None:
    text = "héllo wörld " * 50
    compressed = deflate(text.encode())
    data = frame(Opcode.TEXT, compressed[:3], fin=False, rsv1=True)
    data += frame(Opcode.PING, b"mid")
    data += frame(Opcode.CONT, compressed[3:10], fin=False)
    data += frame(Opcode.CONT, compressed[10:])
    proto = deflate_client()
    assert proto.receive_data(data) == [PingReceived(b"mid"), TextMessage(text)]
    # byte by byte too
    proto = deflate_client()
    events = [event for byte in data for event in proto.receive_data(bytes([byte]))]
    assert events == [PingReceived(b"mid"), TextMessage(text)]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (frame(Opcode.PING, b"", rsv1=True), "RSV1 set on a control frame"),
        (frame(Opcode.CLOSE, b"\x03\xe8", rsv1=True), "RSV1 set on a control frame"),
        (
            frame(Opcode.TEXT, HELLO[:3], fin=False, rsv1=True)
            + frame(Opcode.CONT, HELLO[3:], rsv1=True),
            "RSV1 set on a continuation frame",
        ),
        (frame(Opcode.TEXT, b"\xff\xff\xff", rsv1=True), "invalid compressed data"),
        (frame(0x1 | 0x20, b""), "reserved bits set"),  # RSV2 stays forbidden
    ],
)
def test_rsv1_misuse_is_a_protocol_error(data: bytes, problem: str) -> None:
    events = deflate_client().receive_data(data)
    assert isinstance(events[-1], ProtocolFailure)
    assert events[-1].code == 1002 and problem in events[-1].message


def test_rsv1_without_negotiation_stays_1002() -> None:
    events = ClientProtocol().receive_data(frame(Opcode.TEXT, HELLO, rsv1=True))
    assert events == [ProtocolFailure(1002, "reserved bits set (0x40)")]


def test_received_bomb_fails_with_1009() -> None:
    proto = deflate_client(max_message_size=64 * 1024)
    bomb = deflate(bytes(10 * 1024 * 1024))
    events = proto.receive_data(frame(Opcode.BINARY, bomb, rsv1=True))
    assert len(events) == 1 and isinstance(events[0], ProtocolFailure)
    assert events[0].code == 1009
    assert proto.data_to_send()  # the 1009 Close is queued


def test_invalid_utf8_after_inflating_is_1007() -> None:
    events = deflate_client().receive_data(frame(Opcode.TEXT, deflate(b"\xff\xfe"), rsv1=True))
    assert [(e.code) for e in events if isinstance(e, ProtocolFailure)] == [1007]
