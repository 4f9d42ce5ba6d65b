"""Sans-I/O codecs of the protocols people layer on WebSocket (pure: plain values in and out).

Each module turns the protocol's messages into bytes or text and back and knows nothing of
sockets or greenlets; :mod:`greenws.kits` drives them over a WebSocket.
"""
