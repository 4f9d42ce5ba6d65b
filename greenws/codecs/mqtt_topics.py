"""MQTT topic names and filters: which topics a subscription's filter matches (MQTT §4.7).

Apart from the packet codec because it is about topics, not bytes: the kit uses it to let
``recv(topic="devices/+/temp")`` pick messages the way the broker routed them.
"""

from __future__ import annotations

__all__ = ["topic_matches"]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` (``+`` one level, ``#`` the rest; a filter
    starting with a wildcard does not match ``$``-topics, MQTT §4.7.2)."""
    if topic_filter == topic:
        return True
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    levels, wanted = topic.split("/"), topic_filter.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(levels):
            return False
        if level != "+" and level != levels[index]:
            return False
    return len(levels) == len(wanted)
