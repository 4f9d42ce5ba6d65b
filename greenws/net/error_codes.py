"""k6's error codes and tag texts for what can go wrong on a connection.

k6 tags a failed request with a numeric ``error_code`` and a short ``error`` text
(lib/netext/httpext/error_codes.go; "Error codes" in the k6 docs); greenws tags failed
WebSocket sessions the same way (README, "Metrics"). Both the dial and an open connection
(:mod:`greenws.sockets.connection`) map their failures here.
"""

from __future__ import annotations

import errno
import socket as stdlib_socket
import ssl

import gevent

from greenws.protocol import HandshakeError

__all__ = [
    "GENERIC_ERROR",
    "REQUEST_TIMEOUT",
    "error_code_for",
    "handshake_error_code",
    "os_error_text",
]


def os_error_text(error: OSError) -> str:
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    name = errno.errorcode.get(error.errno or 0, "")
    text = error.strerror or str(error) or type(error).__name__
    return f"{text} ({name})" if name else text


# k6's error codes (lib/netext/httpext/error_codes.go; "Error codes" in the k6 docs) and the
# short messages k6 tags them with. Errors k6 has no code for get the generic 1000.
GENERIC_ERROR = 1000
REQUEST_TIMEOUT = 1050
DNS_ERROR = 1100
DNS_NO_SUCH_HOST = 1101
TCP_ERROR = 1200
TCP_BROKEN_PIPE = 1201
TCP_DIAL_ERROR = 1210
TCP_DIAL_TIMEOUT = 1211
TCP_DIAL_REFUSED = 1212
TCP_RESET_BY_PEER = 1220
TLS_ERROR = 1300
X509_UNKNOWN_AUTHORITY = 1310
X509_HOSTNAME = 1311


def error_code_for(error: BaseException, operation: str) -> tuple[int, str]:
    """k6's ``(error_code, error)`` tag values for a network failure during ``operation``.

    ``operation`` is ``"dial"`` (TCP connect), ``"handshake"`` (TLS and HTTP upgrade), or
    ``"read"``/``"write"`` on an open session, as k6 words its messages (``"read: connection
    reset by peer"``).
    """
    if isinstance(error, ssl.SSLCertVerificationError):
        if "hostname" in (error.verify_message or "").lower():
            return X509_HOSTNAME, "x509: certificate doesn't match hostname"
        return X509_UNKNOWN_AUTHORITY, "x509: unknown authority"
    if isinstance(error, ssl.SSLError):
        return TLS_ERROR, f"tls: {error.reason or error}"
    if isinstance(error, (TimeoutError, gevent.Timeout)):
        if operation == "dial":
            return TCP_DIAL_TIMEOUT, "dial: i/o timeout"
        return REQUEST_TIMEOUT, "request timeout"
    if isinstance(error, stdlib_socket.gaierror):
        if error.errno in (stdlib_socket.EAI_NONAME, getattr(stdlib_socket, "EAI_NODATA", -5)):
            return DNS_NO_SUCH_HOST, "lookup: no such host"
        return DNS_ERROR, f"lookup: {error.strerror or error}"
    if isinstance(error, ConnectionResetError):
        return TCP_RESET_BY_PEER, f"{operation}: connection reset by peer"
    if isinstance(error, BrokenPipeError):
        return TCP_BROKEN_PIPE, f"{operation}: broken pipe"
    if isinstance(error, OSError):
        if operation == "dial":
            if isinstance(error, ConnectionRefusedError):
                return TCP_DIAL_REFUSED, "dial: connection refused"
            return TCP_DIAL_ERROR, f"dial: {os_error_text(error)}"
        return TCP_ERROR, f"{operation}: {os_error_text(error)}"
    return GENERIC_ERROR, str(error) or type(error).__name__


def handshake_error_code(error: HandshakeError) -> tuple[int, str]:
    # k6 tags an HTTP 4xx/5xx answer with 1000 + status (1400-1599); a malformed or refused
    # upgrade has no k6 code of its own.
    if 400 <= error.status <= 599:
        return GENERIC_ERROR + error.status, str(error).removeprefix("handshake refused: ")
    return GENERIC_ERROR, str(error)
