"""Networking under the sockets: dialling (TCP, TLS, the HTTP upgrade) and the transports.

Gevent code; it knows nothing of VUs, metrics or the script API, so a dial can be tested alone.
"""
