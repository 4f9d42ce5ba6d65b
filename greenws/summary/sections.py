"""Which block of the end-of-test summary each metric is printed in.

k6 (>= 1.0) groups the metrics of ``█ TOTAL RESULTS`` by where they come from: its summary
output sorts each metric into HTTP, EXECUTION, NETWORK, BROWSER, WEB_VITALS, GRPC, WEBSOCKET or
CUSTOM (grafana/k6 ``internal/output/summary/data.go``), and the renderer prints the sections in
the order of the ``summary.Metrics`` struct (``internal/lib/summary/summary.go``) except that
CUSTOM is moved to the front (``internal/js/summary.js``). The ``checks`` metric is never listed:
it has its own block (``checks_total``/``checks_succeeded``/``checks_failed`` plus one line per
check), and ``group_duration`` is dropped.

The mapping is a table so that a protocol greenws adds later (HTTP, gRPC...) only needs a row
here, not a change to the renderer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "ALWAYS_HIDDEN",
    "COMPACT_HIDDEN",
    "CUSTOM",
    "SECTIONS",
    "Section",
    "base_name",
    "group_by_section",
    "is_hidden",
    "section_for",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Section:
    """One block of TOTAL RESULTS.

    Attributes:
        key: the section's key in k6's report object (``websocket``, ``web_vitals``); its title
            is this key upper-cased, exactly as k6 derives it.
        names: metric names (without sub-metric tags) that belong here.
        prefixes: name prefixes that belong here (``ws_`` catches every k6/ws metric).
        excluded_prefixes: prefixes that must *not* match even though ``prefixes`` do
            (``browser_web_vital_`` is ``browser_`` but has its own section).
    """

    key: str
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    excluded_prefixes: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """The heading printed above the section's metrics."""
        return self.key.upper()

    def matches(self, metric_name: str) -> bool:
        """Whether ``metric_name`` (a metric or a sub-metric) is printed in this section."""
        name = base_name(metric_name)
        if name in self.names:
            return True
        if any(name.startswith(p) for p in self.excluded_prefixes):
            return False
        return any(name.startswith(p) for p in self.prefixes)


#: Everything no other section claims: the script's own metrics and extensions'.
CUSTOM = Section("custom")

#: Sections in the order k6 prints them. CUSTOM is first because k6 moves it there: a user's own
#: metrics are what they most want to read.
SECTIONS: tuple[Section, ...] = (
    CUSTOM,
    Section(
        "http",
        names=frozenset(
            {
                "http_reqs",
                "http_req_failed",
                "http_req_duration",
                "http_req_blocked",
                "http_req_connecting",
                "http_req_tls_handshaking",
                "http_req_sending",
                "http_req_waiting",
                "http_req_receiving",
            }
        ),
    ),
    Section(
        "execution",
        names=frozenset(
            {"vus", "vus_max", "iterations", "iteration_duration", "dropped_iterations"}
        ),
    ),
    # open_connections (greenws's own): sockets open now, a transport count like data_*.
    Section("network", names=frozenset({"data_sent", "data_received", "open_connections"})),
    Section("browser", prefixes=("browser_",), excluded_prefixes=("browser_web_vital_",)),
    Section("web_vitals", prefixes=("browser_web_vital_",)),
    Section("grpc", prefixes=("grpc_",)),
    Section("websocket", prefixes=("ws_",)),
    # greenws's protocol kits (k6 has none): each its own block after the WebSocket one, which
    # its sessions' ws_* metrics are in.
    Section("socketio", prefixes=("socketio_",)),
    Section("graphql", prefixes=("graphql_",)),
    Section("stomp", prefixes=("stomp_",)),
    Section("mqtt", prefixes=("mqtt_",)),
    Section("jsonrpc", prefixes=("jsonrpc_",)),
)

#: Metrics never listed in TOTAL RESULTS: checks have their own block; group_duration is noise.
ALWAYS_HIDDEN: frozenset[str] = frozenset({"checks", "group_duration"})

#: Extra metrics the compact mode hides (the HTTP timing breakdown); full mode shows them.
COMPACT_HIDDEN: frozenset[str] = frozenset(
    {
        "http_req_blocked",
        "http_req_connecting",
        "http_req_receiving",
        "http_req_sending",
        "http_req_tls_handshaking",
        "http_req_waiting",
    }
)


def base_name(metric_name: str) -> str:
    """The parent metric of a sub-metric (``ws_connecting{status:101}`` -> ``ws_connecting``)."""
    return metric_name.split("{", 1)[0]


def is_hidden(metric_name: str, mode: str = "compact") -> bool:
    """Whether TOTAL RESULTS (and group blocks) leave ``metric_name`` out in ``mode``.

    k6 tests these with a string prefix, which would also hide a custom metric called, say,
    ``checks_latency``; we compare the parent name exactly so only k6's own metrics (and their
    sub-metrics) are hidden.
    """
    name = base_name(metric_name)
    if name in ALWAYS_HIDDEN:
        return True
    return mode == "compact" and name in COMPACT_HIDDEN


def section_for(metric_name: str, sections: Sequence[Section] = SECTIONS) -> Section:
    """The section ``metric_name`` is printed in; CUSTOM when no other claims it."""
    for section in sections:
        if section is not CUSTOM and section.matches(metric_name):
            return section
    return CUSTOM


def group_by_section(
    metrics: Mapping[str, T] | Iterable[tuple[str, T]],
    *,
    mode: str = "compact",
    sections: Sequence[Section] = SECTIONS,
) -> list[tuple[Section, dict[str, T]]]:
    """Split ``metrics`` into non-empty sections, in print order, hidden metrics dropped.

    Metrics keep the order they came in; sorting by name is the renderer's job.
    """
    items = metrics.items() if isinstance(metrics, Mapping) else metrics
    buckets: dict[str, dict[str, T]] = {s.key: {} for s in sections}
    if CUSTOM.key not in buckets:
        buckets[CUSTOM.key] = {}
    for name, metric in items:
        if is_hidden(name, mode):
            continue
        buckets[section_for(name, sections).key][name] = metric
    ordered = list(sections) if any(s is CUSTOM for s in sections) else [CUSTOM, *sections]
    return [(s, buckets[s.key]) for s in ordered if buckets[s.key]]
