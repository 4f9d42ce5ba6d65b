"""k6's built-in metrics (a WebSocket test's and ``http``'s) and the summary section of each.

Names, types and value types follow k6's ``metrics/builtin.go``. Sections follow the end-of-test
summary of k6 >= 1.0 (``internal/output/summary/data.go``): execution, network and WebSocket
metrics get their own headings, ``checks`` is rendered as the CHECKS block (checks_total,
checks_succeeded, checks_failed), ``group_duration`` is not shown at all, and everything else is
CUSTOM.
"""

from __future__ import annotations

from collections.abc import Iterator

from greenws.metrics.metric import Metric, MetricType, Registry, ValueType

__all__ = [
    "SECTION_CHECKS",
    "SECTION_CUSTOM",
    "SECTION_EXECUTION",
    "SECTION_HTTP",
    "SECTION_NETWORK",
    "SECTION_OF",
    "SECTION_SKIPPED",
    "SECTION_WEBSOCKET",
    "BuiltinMetrics",
    "register_builtin",
    "section_of",
]

SECTION_EXECUTION = "EXECUTION"
SECTION_NETWORK = "NETWORK"
SECTION_WEBSOCKET = "WEBSOCKET"
SECTION_GRPC = "GRPC"
SECTION_HTTP = "HTTP"
SECTION_CUSTOM = "CUSTOM"
SECTION_CHECKS = "CHECKS"
"""``checks`` is not listed among the metrics; k6 renders it as its own CHECKS block."""
SECTION_SKIPPED = "SKIPPED"
"""Not rendered in the end-of-test text summary (k6 skips ``group_duration``)."""

_C, _G, _R, _T = MetricType.COUNTER, MetricType.GAUGE, MetricType.RATE, MetricType.TREND
_DEF, _TIME, _DATA = ValueType.DEFAULT, ValueType.TIME, ValueType.DATA

# attribute, metric name, type, value type, summary section -- in k6's registration order.
_BUILTINS: tuple[tuple[str, str, MetricType, ValueType, str], ...] = (
    ("vus", "vus", _G, _DEF, SECTION_EXECUTION),
    ("vus_max", "vus_max", _G, _DEF, SECTION_EXECUTION),
    ("iterations", "iterations", _C, _DEF, SECTION_EXECUTION),
    ("iteration_duration", "iteration_duration", _T, _TIME, SECTION_EXECUTION),
    ("dropped_iterations", "dropped_iterations", _C, _DEF, SECTION_EXECUTION),
    ("checks", "checks", _R, _DEF, SECTION_CHECKS),
    ("group_duration", "group_duration", _T, _TIME, SECTION_SKIPPED),
    ("ws_sessions", "ws_sessions", _C, _DEF, SECTION_WEBSOCKET),
    ("ws_msgs_sent", "ws_msgs_sent", _C, _DEF, SECTION_WEBSOCKET),
    ("ws_msgs_received", "ws_msgs_received", _C, _DEF, SECTION_WEBSOCKET),
    ("ws_ping", "ws_ping", _T, _TIME, SECTION_WEBSOCKET),
    ("ws_session_duration", "ws_session_duration", _T, _TIME, SECTION_WEBSOCKET),
    ("ws_connecting", "ws_connecting", _T, _TIME, SECTION_WEBSOCKET),
    # Not in k6: send-to-reply time of ``ws.open(...).request`` (greenws.websockets).
    ("ws_request_duration", "ws_request_duration", _T, _TIME, SECTION_WEBSOCKET),
    ("http_reqs", "http_reqs", _C, _DEF, SECTION_HTTP),
    ("http_req_duration", "http_req_duration", _T, _TIME, SECTION_HTTP),
    ("http_req_blocked", "http_req_blocked", _T, _TIME, SECTION_HTTP),
    ("http_req_connecting", "http_req_connecting", _T, _TIME, SECTION_HTTP),
    ("http_req_tls_handshaking", "http_req_tls_handshaking", _T, _TIME, SECTION_HTTP),
    ("http_req_sending", "http_req_sending", _T, _TIME, SECTION_HTTP),
    ("http_req_waiting", "http_req_waiting", _T, _TIME, SECTION_HTTP),
    ("http_req_receiving", "http_req_receiving", _T, _TIME, SECTION_HTTP),
    ("http_req_failed", "http_req_failed", _R, _DEF, SECTION_HTTP),
    ("data_sent", "data_sent", _C, _DATA, SECTION_NETWORK),
    ("data_received", "data_received", _C, _DATA, SECTION_NETWORK),
    # Not in k6: WebSocket connections open right now (handshake done, not yet closed), sampled
    # each second with ``vus``. NETWORK, beside data_sent/data_received: it counts sockets, the
    # resource a box runs out of (file descriptors, source ports), whatever API opened them.
    ("open_connections", "open_connections", _G, _DEF, SECTION_NETWORK),
)

SECTION_OF: dict[str, str] = {name: section for _, name, _, _, section in _BUILTINS}
"""Built-in metric name -> summary section; names not listed here are CUSTOM (see section_of)."""


def section_of(name: str) -> str:
    """The summary section for a metric or submetric name (``ws_ping{status:101}`` -> WEBSOCKET).

    Built-ins come from :data:`SECTION_OF`. Like k6, any other ``ws_``/``grpc_``/``http_req``
    name goes to that protocol's section. Unlike k6, which matches the built-in names as
    prefixes, a custom metric such as ``checks_extra`` or ``vus_peak`` stays CUSTOM instead of
    being hidden or filed under EXECUTION.
    """
    base = name.split("{", 1)[0]
    section = SECTION_OF.get(base)
    if section is not None:
        return section
    if base.startswith("ws_"):
        return SECTION_WEBSOCKET
    if base.startswith("grpc_"):
        return SECTION_GRPC
    if base.startswith("http_req"):
        return SECTION_HTTP
    return SECTION_CUSTOM


class BuiltinMetrics:
    """One attribute per built-in metric, so the runtime never looks metrics up by name."""

    __slots__ = tuple(attr for attr, *_ in _BUILTINS)

    vus: Metric
    vus_max: Metric
    iterations: Metric
    iteration_duration: Metric
    dropped_iterations: Metric
    checks: Metric
    group_duration: Metric
    ws_sessions: Metric
    ws_msgs_sent: Metric
    ws_msgs_received: Metric
    ws_ping: Metric
    ws_session_duration: Metric
    ws_connecting: Metric
    ws_request_duration: Metric
    http_reqs: Metric
    http_req_duration: Metric
    http_req_blocked: Metric
    http_req_connecting: Metric
    http_req_tls_handshaking: Metric
    http_req_sending: Metric
    http_req_waiting: Metric
    http_req_receiving: Metric
    http_req_failed: Metric
    data_sent: Metric
    data_received: Metric
    open_connections: Metric

    def __iter__(self) -> Iterator[Metric]:
        return (getattr(self, attr) for attr in self.__slots__)


def register_builtin(registry: Registry) -> BuiltinMetrics:
    """Register (or fetch, if already there) every built-in metric in ``registry``."""
    builtin = BuiltinMetrics()
    for attr, name, type_, contains, _ in _BUILTINS:
        setattr(builtin, attr, registry.get_or_create(name, type_, contains))
    return builtin
