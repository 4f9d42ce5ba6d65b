"""The three socket APIs over one :class:`~greenws.sockets.connection.Connection` core.

- :mod:`.session`: k6/ws ``ws.connect`` and its ``Socket`` (handlers, the VU blocks);
- :mod:`.websocket` and :mod:`.events`: k6/websockets' standard ``WebSocket`` and its events;
- :mod:`.sequential`: ``ws.open``, send/recv in sequence.
"""
