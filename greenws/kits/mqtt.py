"""MQTT 3.1.1 and 5 over WebSocket (subprotocol ``mqtt``): what IoT fleets and dashboards speak.

::

    from greenws.kits import mqtt

    def default():
        with mqtt.connect("ws://broker:8080/mqtt", version=5, keepalive=30) as client:
            client.subscribe("devices/+/temp", qos=1)
            client.publish("devices/42/temp", b"21.5", qos=1)
            message = client.recv(timeout=5, topic="devices/+/temp")

The session answers the broker on the reader greenlet, so it survives a long ``sleep()``: a
PINGREQ goes out every ``keepalive`` seconds (a PINGRESP missing by the next one closes the
session and is reported), and incoming QoS 1/2 messages are acknowledged (PUBACK; PUBREC, then
PUBCOMP on PUBREL) while the VU does something else. QoS 2 messages reach the script exactly
once: a redelivered PUBLISH whose PUBREL has not come yet is acknowledged, not delivered again.

Metrics (tagged like the session's ``ws_*`` samples, plus ``topic`` unless
``tag_topic=False`` and ``qos``): ``mqtt_connect_duration`` (CONNECT to an accepting CONNACK),
``mqtt_subscribe_duration`` (SUBSCRIBE to SUBACK), ``mqtt_publish_duration{topic,qos}``
(PUBLISH to PUBACK at QoS 1, to PUBCOMP at QoS 2; QoS 0 has no answer to time),
``mqtt_messages_sent{topic,qos}``, ``mqtt_messages_received{topic,qos}`` (Counters) and
``mqtt_broadcast_latency{topic}`` (a message published by one VU, received by another).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gevent.event import AsyncResult
from gevent.timeout import Timeout

from greenws.codecs.mqtt import (
    PUBACK,
    PUBCOMP,
    PUBREC,
    PUBREL,
    SUBACK,
    UNSUBACK,
    Ack,
    Connack,
    Connect,
    Disconnect,
    Packet,
    PacketReader,
    Pingreq,
    Pingresp,
    Publish,
    Suback,
    Subscribe,
    Unsuback,
    Unsubscribe,
    Will,
    encode,
    reason_text,
)
from greenws.codecs.mqtt_topics import topic_matches
from greenws.kits.session import (
    DEFAULT_TIMEOUT,
    ConnectionClosed,
    KitSession,
    ProtocolError,
    ReceiveTimeout,
)
from greenws.metrics.metric import MetricType
from greenws.runtime.vu import current_vu

__all__ = ["Message", "MqttError", "MqttSession", "Will", "connect"]

_PINGREQ = encode(Pingreq())


class MqttError(ProtocolError):
    """The broker refused something: a CONNACK, a SUBACK or an acknowledgement with a failure
    code, or a DISCONNECT. ``reason_code`` is the code, the message says what it means."""

    def __init__(self, message: str, reason_code: int) -> None:
        super().__init__(message)
        self.reason_code = reason_code


@dataclass(frozen=True)
class Message:
    """A message the broker delivered: ``payload`` is bytes (``text`` decodes it as UTF-8)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The payload as UTF-8 text."""
        return self.payload.decode("utf-8")


def _will(value: Any) -> Will | None:
    """A will from ``(topic, payload, qos, retain)`` (trailing items optional), a dict of
    those names, or a :class:`Will`."""
    if value is None or isinstance(value, Will):
        return value
    keys = ("topic", "payload", "qos", "retain", "properties")
    fields = dict(value) if isinstance(value, Mapping) else dict(zip(keys, value, strict=False))
    payload = fields.pop("payload", b"")
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return Will(payload=bytes(payload), **fields)


class MqttSession(KitSession):
    """An MQTT client session over one WebSocket."""

    KIT = "mqtt"
    METRICS: ClassVar[Mapping[str, MetricType]] = {
        "mqtt_connect_duration": MetricType.TREND,
        "mqtt_subscribe_duration": MetricType.TREND,
        "mqtt_publish_duration": MetricType.TREND,
        "mqtt_broadcast_latency": MetricType.TREND,
        "mqtt_messages_sent": MetricType.COUNTER,
        "mqtt_messages_received": MetricType.COUNTER,
    }
    SUBPROTOCOLS = ("mqtt",)

    def __init__(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        connect_packet: Connect,
        timeout: float | None,
        tag_topic: bool,
    ) -> None:
        self.version = connect_packet.version
        self.client_id = connect_packet.client_id
        self.keepalive = connect_packet.keepalive
        self.timeout = timeout
        self.tag_topic = tag_topic
        #: The broker's CONNACK (its v5 properties: limits, assigned client id, ...).
        self.connack: Connack | None = None
        #: The reason code of a DISCONNECT the broker sent (MQTT 5), if it sent one.
        self.disconnect_reason: int | None = None
        self._reader = PacketReader(self.version)
        self._connack: AsyncResult = AsyncResult()
        self._waiting: dict[tuple[int, int], AsyncResult] = {}
        self._ids = itertools.cycle(range(1, 0x10000))
        self._qos2_in: set[int] = set()
        self._aliases: dict[int, str] = {}
        self._ping_sent: float | None = None
        self._goodbye_sent = False
        super().__init__(url, params)
        self._hello(connect_packet)

    def _hello(self, packet: Connect) -> None:
        started = time.perf_counter()
        try:
            self._send(encode(packet))
            connack: Connack = self._connack.get(timeout=self.timeout)
        except Timeout:
            self.socket.close(1000)
            raise ReceiveTimeout(f"mqtt {self.url}: no CONNACK in {self.timeout} s") from None
        self.connack = connack
        if connack.reason_code:
            code = connack.reason_code
            text = reason_text(code, self.version, connack=True)
            self.socket.close(1000)
            raise MqttError(f"mqtt CONNACK refused the connection: {code} {text}", code)
        self._record("connect_duration", (time.perf_counter() - started) * 1000.0)
        keepalive = connack.properties.get("server_keep_alive", self.keepalive)
        self.keepalive = keepalive
        if keepalive > 0:
            self.socket.every(keepalive, self._ping)

    # -- what scripts use ---------------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: str | bytes = b"",
        qos: int = 0,
        retain: bool = False,
        timeout: float | None = DEFAULT_TIMEOUT,
        properties: Mapping[str, Any] | None = None,
    ) -> int:
        """Publish ``payload`` (text is sent as UTF-8) to ``topic``; at QoS 1 and 2, wait for
        the broker's PUBACK / PUBCOMP. Returns the answer's reason code (0 at QoS 0).

        Raises:
            MqttError: the answer carried a failure code (MQTT 5).
            ReceiveTimeout: no answer within ``timeout`` seconds.
        """
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        tags = self._topic_tags(topic, qos)
        if qos == 0:
            packet = encode(
                Publish(topic, data, 0, retain, properties=properties or {}), self.version
            )
            self._published(topic, data)
            self._send(packet)
            self._count("messages_sent", **tags)
            return 0
        packet_id = self._packet_id()
        final = PUBACK if qos == 1 else PUBCOMP
        publish = Publish(topic, data, qos, retain, False, packet_id, properties or {})
        answer = self._request(
            final, packet_id, encode(publish, self.version), timeout, topic, data
        )
        self._count("messages_sent", **tags)
        self._record("publish_duration", answer[1], **tags)
        ack: Ack = answer[0]
        if ack.reason_code >= 0x80:
            kind = {PUBACK: "PUBACK", PUBREC: "PUBREC", PUBCOMP: "PUBCOMP"}[ack.kind]
            text = reason_text(ack.reason_code, self.version)
            raise MqttError(
                f"mqtt {kind} for {topic!r}: 0x{ack.reason_code:02X} {text}", ack.reason_code
            )
        return ack.reason_code

    def subscribe(
        self,
        topic_filter: str,
        qos: int = 0,
        timeout: float | None = DEFAULT_TIMEOUT,
        properties: Mapping[str, Any] | None = None,
    ) -> int:
        """Subscribe to ``topic_filter`` (``+`` and ``#`` wildcards) at most at ``qos``; return
        the QoS the broker granted.

        Raises:
            MqttError: the SUBACK said no (0x80 in 3.1.1, a reason code in 5).
        """
        if qos not in (0, 1, 2):
            raise ValueError(f"QoS must be 0, 1 or 2, not {qos!r}")
        packet_id = self._packet_id()
        packet = Subscribe(packet_id, ((topic_filter, qos),), properties or {})
        suback, elapsed = self._request(SUBACK, packet_id, encode(packet, self.version), timeout)
        tags = {"topic": topic_filter} if self.tag_topic else {}
        self._record("subscribe_duration", elapsed, **tags)
        granted = suback.reason_codes[0] if suback.reason_codes else 0x80
        if granted >= 0x80:
            text = reason_text(granted, self.version)
            raise MqttError(
                f"mqtt SUBACK refused {topic_filter!r}: 0x{granted:02X} {text}", granted
            )
        return int(granted)

    def unsubscribe(self, topic_filter: str, timeout: float | None = DEFAULT_TIMEOUT) -> None:
        """Drop the subscription to ``topic_filter`` and wait for the UNSUBACK.

        Raises:
            MqttError: MQTT 5's UNSUBACK carried a failure code.
        """
        packet_id = self._packet_id()
        packet = encode(Unsubscribe(packet_id, (topic_filter,)), self.version)
        unsuback, _ = self._request(UNSUBACK, packet_id, packet, timeout)
        codes = unsuback.reason_codes
        if codes and codes[0] >= 0x80:
            text = reason_text(codes[0], self.version)
            raise MqttError(
                f"mqtt UNSUBACK for {topic_filter!r}: 0x{codes[0]:02X} {text}", codes[0]
            )

    def recv(
        self, timeout: float | None = None, topic: str | Callable[[Any], Any] | None = None
    ) -> Any:
        """The next :class:`Message` (on a topic ``topic`` matches, wildcards allowed, if
        given), waiting up to ``timeout`` seconds. Messages go to ``on("message")`` handlers
        instead when there are any.

        Raises:
            ReceiveTimeout: none came in time.
            ConnectionClosed: the session ended and nothing queued matches.
        """
        if isinstance(topic, str):
            wanted = topic
            return self.inbox.get(lambda message: topic_matches(wanted, message.topic), timeout)
        return self.inbox.get(topic, timeout)

    def close(self, reason_code: int = 0) -> None:
        """Send DISCONNECT (MQTT 5: with ``reason_code``; 0x04 asks the broker to publish the
        will all the same), then close the WebSocket with 1000."""
        if self.closed:
            return
        if not self._goodbye_sent:
            self._goodbye_sent = True
            try:
                self._send(encode(Disconnect(reason_code), self.version))
            except ConnectionClosed:
                return
        self.socket.close(1000)

    def abort(self) -> None:
        """End the WebSocket without a DISCONNECT, as a device that lost power would: the
        broker then publishes the session's will."""
        self.socket.abort(1000)

    # -- requests -------------------------------------------------------------------------------

    def _packet_id(self) -> int:
        for _ in range(0x10000):
            packet_id = next(self._ids)
            if all(key[1] != packet_id for key in self._waiting):
                return packet_id
        raise RuntimeError("mqtt: all 65535 packet identifiers are in flight")

    def _request(
        self,
        answer: int,
        packet_id: int,
        data: bytes,
        timeout: float | None,
        topic: str | None = None,
        payload: bytes | None = None,
    ) -> tuple[Any, float]:
        """Send ``data`` and wait for the packet of kind ``answer`` with ``packet_id``; return
        it with the milliseconds it took."""
        waiter: AsyncResult = AsyncResult()
        key = (answer, packet_id)
        self._waiting[key] = waiter
        started = time.perf_counter()
        try:
            if topic is not None and payload is not None:
                self._published(topic, payload)
            self._send(data)
            packet = waiter.get(timeout=timeout)
        except Timeout:
            raise ReceiveTimeout(f"mqtt: no answer to packet {packet_id} in {timeout} s") from None
        finally:
            self._waiting.pop(key, None)
        return packet, (time.perf_counter() - started) * 1000.0

    def _topic_tags(self, topic: str, qos: int) -> dict[str, str]:
        if self.tag_topic:
            return {"topic": topic, "qos": str(qos)}
        return {"qos": str(qos)}

    def _ping(self) -> None:
        """Each keepalive (on a ticker greenlet): PINGREQ, unless the last one is unanswered,
        which means the broker or the path is gone; then close and say so."""
        if self._ping_sent is not None:
            self._context.report_error(
                "mqtt:no-pingresp",
                f"mqtt {self.url}: no PINGRESP within {self.keepalive} s of a PINGREQ; "
                f"closing the session vu={self.vu.id}",
            )
            self.socket.close(1000, "no PINGRESP")
            return
        self._ping_sent = time.perf_counter()
        self._send(_PINGREQ)

    # -- the reader greenlet ----------------------------------------------------------------------

    def _handle(self, message: str | bytes) -> None:
        if isinstance(message, str):
            raise ValueError("MQTT over WebSocket travels in binary frames, got a text frame")
        for packet in self._reader.feed(message):
            self._dispatch(packet)

    def _dispatch(self, packet: Packet) -> None:
        if isinstance(packet, Publish):
            self._incoming(packet)
        elif isinstance(packet, Ack):
            self._acknowledged(packet)
        elif isinstance(packet, (Suback, Unsuback)):
            kind = SUBACK if isinstance(packet, Suback) else UNSUBACK
            waiter = self._waiting.get((kind, packet.packet_id))
            if waiter is not None:
                waiter.set(packet)
        elif isinstance(packet, Pingresp):
            self._ping_sent = None
        elif isinstance(packet, Connack):
            self._connack.set(packet)
        elif isinstance(packet, Disconnect):
            self._disconnected(packet)
        else:
            raise ValueError(f"unexpected packet from the broker: {type(packet).__name__}")

    def _acknowledged(self, ack: Ack) -> None:
        version, packet_id = self.version, ack.packet_id
        if ack.kind == PUBREL:  # the broker's QoS 2 delivery is complete
            self._qos2_in.discard(packet_id)
            self._send(encode(Ack(PUBCOMP, packet_id), version))
            return
        if ack.kind == PUBREC:
            waiter = self._waiting.get((PUBCOMP, packet_id))
            if ack.reason_code >= 0x80:
                if waiter is not None:
                    waiter.set(ack)
                return
            self._send(encode(Ack(PUBREL, packet_id), version))
            return
        waiter = self._waiting.get((ack.kind, packet_id))
        if waiter is not None:
            waiter.set(ack)

    def _incoming(self, packet: Publish) -> None:
        topic = packet.topic
        alias = packet.properties.get("topic_alias")
        if alias is not None:  # MQTT 5 topic aliases, if the script allowed them
            if topic:
                self._aliases[alias] = topic
            else:
                topic = self._aliases.get(alias, "")
        qos, packet_id = packet.qos, packet.packet_id
        if qos == 1 and packet_id is not None:
            self._send(encode(Ack(PUBACK, packet_id), self.version))
        elif qos == 2 and packet_id is not None:
            fresh = packet_id not in self._qos2_in
            self._qos2_in.add(packet_id)
            self._send(encode(Ack(PUBREC, packet_id), self.version))
            if not fresh:
                return  # a redelivery before PUBREL: the script already has it
        message = Message(topic, packet.payload, qos, packet.retain, packet.properties)
        tags = self._topic_tags(topic, qos)
        self._count("messages_received", **tags)
        if not packet.retain:  # a retained copy was published long before this subscriber
            latency_tags = {"topic": topic} if self.tag_topic else {}
            self._delivered(topic, packet.payload, **latency_tags)
        if not self._emit("message", message):
            self._queue(message)

    def _disconnected(self, packet: Disconnect) -> None:
        code = packet.reason_code
        self.disconnect_reason = code
        text = reason_text(code, self.version)
        self._context.report_error(
            f"mqtt:disconnect:{code}",
            f"mqtt {self.url}: the broker sent DISCONNECT 0x{code:02X} {text} vu={self.vu.id}",
        )
        self._emit("disconnect", code, text)

    def _on_closed(self, code: int, reason: str) -> None:
        closed = ConnectionClosed(code, reason)
        if not self._connack.ready():
            self._connack.set_exception(closed)
        for waiter in list(self._waiting.values()):
            if not waiter.ready():
                waiter.set_exception(closed)


def connect(
    url: str,
    params: Mapping[str, Any] | None = None,
    client_id: str | None = None,
    version: int = 4,
    keepalive: int = 60,
    clean_start: bool = True,
    username: str | None = None,
    password: str | bytes | None = None,
    will: Will | Sequence[Any] | Mapping[str, Any] | None = None,
    properties: Mapping[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    tag_topic: bool = True,
) -> MqttSession:
    """Open an MQTT session: the WebSocket handshake (``params`` as ``ws.open``'s), CONNECT,
    and the broker's CONNACK within ``timeout`` seconds.

    Args:
        version: 4 for MQTT 3.1.1, 5 for MQTT 5.
        client_id: generated per VU and session when None (``greenws-<vu>-<random>``).
        keepalive: seconds between PINGREQs (0: none); MQTT 5's server_keep_alive wins.
        will: ``(topic, payload, qos, retain)`` the broker publishes if the session ends
            without a DISCONNECT.
        properties: MQTT 5 CONNECT properties (``session_expiry_interval``, ...).
        tag_topic: tag samples with the topic; False keeps the series count small when topics
            carry device ids.

    Raises:
        MqttError: the CONNACK refused the connection (its reason, e.g. "bad user name or
            password").
        ConnectError: the WebSocket handshake failed.
    """
    if version not in (4, 5):
        raise ValueError(f"version must be 4 (MQTT 3.1.1) or 5, not {version!r}")
    if client_id is None:
        client_id = f"greenws-{current_vu().id}-{os.urandom(4).hex()}"
    secret = password.encode("utf-8") if isinstance(password, str) else password
    packet = Connect(
        client_id,
        version,
        keepalive,
        clean_start,
        username,
        secret,
        _will(will),
        dict(properties or {}),
    )
    encode(packet)  # a value MQTT cannot carry fails here, before any dial
    return MqttSession(url, params, packet, timeout, tag_topic)


METRICS = MqttSession.METRICS
