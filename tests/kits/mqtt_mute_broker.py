"""A broker that never answers PINGREQ and splits and packs its packets across frames.

Run: ``python tests/kits/mqtt_mute_broker.py``; prints ``listening on 127.0.0.1:PORT``. Only
for what a real broker will not do on demand: its CONNACK arrives in two WebSocket frames, its
SUBACK shares one frame with a PUBLISH on the subscribed filter, and PINGREQs go unanswered
(so the client must notice the missing PINGRESP). Built on ``websockets`` and greenws's codec.
"""

from __future__ import annotations

import asyncio
import signal

from websockets.asyncio.server import ServerConnection, serve

from greenws.codecs.mqtt import Connack, PacketReader, Publish, Suback, Subscribe, encode


async def session(connection: ServerConnection) -> None:
    reader = PacketReader(4)
    async for message in connection:
        assert isinstance(message, bytes)
        for packet in reader.feed(message):
            if packet.__class__.__name__ == "Connect":
                connack = encode(Connack(0))
                await connection.send(connack[:1])  # one packet over two frames
                await connection.send(connack[1:])
            elif isinstance(packet, Subscribe):
                topic = packet.subscriptions[0][0]
                suback = encode(Suback(packet.packet_id, (0,)))
                await connection.send(suback + encode(Publish(topic, b"hi")))  # two in one


async def main() -> None:
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with serve(session, "127.0.0.1", 0, subprotocols=["mqtt"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening on 127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
