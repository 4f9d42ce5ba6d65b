"""The gevent runtime: the only layer with sockets and greenlets."""
