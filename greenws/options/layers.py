"""Test options with k6's names, validation and precedence.

Pure: the CLI hands in plain values from each layer and gets back :class:`Options` or an
:class:`OptionsError` whose message names the bad key and value (exit code 104). Single values
are parsed by :mod:`greenws.options.values`; ``scenarios``, k6's shortcut rules and execution
segments are in :mod:`greenws.options.scenarios` (its names are re-exported here for existing callers).

Precedence, lowest first: defaults < ``--config`` file < the script's ``options`` < environment
(``GREENWS_VUS``… with k6's ``K6_VUS``… accepted) < command-line flags.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from greenws.options.local_ips import LocalIPError, LocalIPPool, parse_local_ips
from greenws.options.scenarios import (
    COMMON_KEYS,
    EXECUTOR_KEYS,
    ScenarioConfig,
    parse_scenarios,
)
from greenws.options.segments import SegmentError, parse_segment, parse_sequence, sequence_text
from greenws.options.values import OptionsError, Stage
from greenws.options.values import bool_value as _bool
from greenws.options.values import duration_value as _duration
from greenws.options.values import stages_value as _stages
from greenws.options.values import tags_value as _tags
from greenws.options.values import trend_stats_value as _trend_stats
from greenws.options.values import whole_number as _int

__all__ = [
    "DEFAULT_TREND_STATS",
    "Options",
    "OptionsError",
    "Stage",
    "options_from_env",
    "resolve_options",
]

DEFAULT_TREND_STATS = ("avg", "min", "med", "max", "p(90)", "p(95)")

#: k6 options greenws does not implement (some of HTTP's, browser, cloud); accepted with a warning
#: so that a ported ``options`` block loads unchanged.
IGNORED_K6_OPTIONS = frozenset(
    {
        "blacklistIPs",
        "blockHostnames",
        "cloud",
        "dns",
        "ext",
        "hosts",
        "httpDebug",
        "linger",
        "minIterationDuration",
        "noConnectionReuse",
        "noVUConnectionReuse",
        "paused",
        "rps",
        "systemTags",
        "throw",
        "tlsAuth",
        "tlsCipherSuites",
        "tlsVersion",
        "console",
    }
)


@dataclass
class Options:
    """Resolved options; ``None`` means "not set by anyone" so shortcut rules can tell."""

    vus: int | None = None
    duration: float | None = None
    iterations: int | None = None
    stages: tuple[Stage, ...] | None = None
    scenarios: dict[str, ScenarioConfig] | None = None
    graceful_stop: float | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    summary_trend_stats: tuple[str, ...] = DEFAULT_TREND_STATS
    summary_time_unit: str | None = None
    insecure_skip_tls_verify: bool = False
    setup_timeout: float = 60.0
    teardown_timeout: float = 60.0
    no_color: bool = False
    max_message_size: int = 32 * 1024 * 1024
    #: k6's ``userAgent``: the handshake's ``User-Agent`` (None: ``greenws/<version>``; ``""``:
    #: none); a ``User-Agent`` in a connection's ``headers`` param still wins.
    user_agent: str | None = None
    #: k6's ``maxRedirects``: redirects an ``http`` request follows unless its ``redirects`` param
    #: says otherwise.
    max_redirects: int = 10
    #: k6's ``batch`` and ``batchPerHost``: requests of one ``http.batch`` in flight at once, in
    #: all and per host (0: no limit).
    batch: int = 10
    batch_per_host: int = 6
    #: k6's ``discardResponseBodies``: ``http`` responses default to ``responseType: "none"``.
    discard_response_bodies: bool = False
    #: k6's ``noCookiesReset``: keep a VU's cookies from one iteration to the next.
    no_cookies_reset: bool = False
    #: This process's part of the test, k6's ``a:b`` (canonical, e.g. ``1/3:2/3``); None = all.
    execution_segment: str | None = None
    #: All the parts, k6's ``0,1/3,2/3,1``; with it, shares are dealt by striping.
    execution_segment_sequence: str | None = None
    #: k6's ``localIPs``: source addresses VUs bind their sockets to (VU n takes address n-1 of
    #: the pool, round-robin); None: the kernel picks, one address for every connection.
    local_ips: LocalIPPool | None = None
    warnings: list[str] = field(default_factory=list)


_SETTERS: dict[str, tuple[str, Any]] = {
    "vus": ("vus", lambda k, v: _int(k, v)),
    "duration": ("duration", _duration),
    "iterations": ("iterations", lambda k, v: _int(k, v, minimum=1)),
    "stages": ("stages", _stages),
    "gracefulStop": ("graceful_stop", _duration),
    "thresholds": ("thresholds", lambda k, v: dict(v) if isinstance(v, Mapping) else _bad(k, v)),
    "tags": ("tags", _tags),
    "summaryTrendStats": ("summary_trend_stats", _trend_stats),
    "summaryTimeUnit": ("summary_time_unit", lambda k, v: _unit(k, v)),
    "insecureSkipTLSVerify": ("insecure_skip_tls_verify", _bool),
    "setupTimeout": ("setup_timeout", _duration),
    "teardownTimeout": ("teardown_timeout", _duration),
    "noColor": ("no_color", _bool),
    "maxMessageSize": ("max_message_size", lambda k, v: _int(k, v, minimum=1)),
    "noCookiesReset": ("no_cookies_reset", _bool),
    "maxRedirects": ("max_redirects", lambda k, v: _int(k, v)),
    "batch": ("batch", lambda k, v: _int(k, v)),
    "batchPerHost": ("batch_per_host", lambda k, v: _int(k, v)),
    "discardResponseBodies": ("discard_response_bodies", _bool),
    "userAgent": ("user_agent", lambda k, v: v if isinstance(v, str) else _bad(k, v)),
    "scenarios": ("scenarios", lambda k, v: parse_scenarios(v)),
    "executionSegment": ("execution_segment", lambda k, v: _segment(k, v)),
    "executionSegmentSequence": ("execution_segment_sequence", lambda k, v: _sequence(k, v)),
    "localIPs": ("local_ips", lambda k, v: _local_ips(k, v)),
}


def _local_ips(key: str, value: Any) -> LocalIPPool | None:
    if value is None or value == "":
        return None
    if isinstance(value, LocalIPPool):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, Sequence)):
        raise OptionsError(f"invalid option {key}={value!r}: expected e.g. 127.0.0.2-127.0.0.20")
    try:
        return parse_local_ips(value)
    except LocalIPError as error:
        raise OptionsError(f"invalid option {key}={value!r}: {error}") from None


def _segment(key: str, value: Any) -> str | None:
    """Checked here, kept as k6 prints it; whether it is in the sequence is checked at the end."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise OptionsError(f"invalid option {key}={value!r}: expected a segment such as 1/3:2/3")
    try:
        return str(parse_segment(str(value)))
    except SegmentError as error:
        raise OptionsError(f"invalid option {key}={value!r}: {error}") from None


def _sequence(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, Sequence)):
        raise OptionsError(f"invalid option {key}={value!r}: expected points such as 0,1/2,1")
    try:
        return sequence_text(parse_sequence(value))
    except SegmentError as error:
        raise OptionsError(f"invalid option {key}={value!r}: {error}") from None


def _bad(key: str, value: Any) -> Any:
    raise OptionsError(f"invalid option {key}={value!r}")


def _unit(key: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    if value not in {"s", "ms", "us"}:
        raise OptionsError(f"invalid option {key}={value!r}: expected one of s, ms, us")
    return str(value)


#: Keys that only mean something inside ``scenarios`` (a top-level one is a common slip).
_SCENARIO_ONLY_KEYS = frozenset().union(COMMON_KEYS, *EXECUTOR_KEYS.values()) - {
    "vus",
    "duration",
    "iterations",
    "stages",
    "tags",
    "gracefulStop",
}


def _apply(options: Options, layer: Mapping[str, Any], where: str) -> None:
    for key, value in layer.items():
        if key in IGNORED_K6_OPTIONS:
            options.warnings.append(f"option {key!r} ({where}) has no effect on WebSocket tests")
            continue
        setter = _SETTERS.get(key)
        if setter is None and key in _SCENARIO_ONLY_KEYS:
            raise OptionsError(
                f"option {key!r} in {where} is a scenario key: set it inside a scenario, "
                f"e.g. options = {{'scenarios': {{'main': {{'executor': …, {key!r}: …}}}}}}"
            )
        if setter is None:
            hint = difflib.get_close_matches(key, list(_SETTERS), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise OptionsError(f"unknown option {key!r} in {where}{suggestion}")
        attribute, parse = setter
        try:
            setattr(options, attribute, parse(key, value))
        except OptionsError as error:
            raise OptionsError(f"{error} (in {where})") from None


_ENV_KEYS = {
    "VUS": "vus",
    "DURATION": "duration",
    "ITERATIONS": "iterations",
    "STAGES": "stages",
    "SUMMARY_TREND_STATS": "summaryTrendStats",
    "SUMMARY_TIME_UNIT": "summaryTimeUnit",
    "INSECURE_SKIP_TLS_VERIFY": "insecureSkipTLSVerify",
    "NO_COLOR": "noColor",
    "USER_AGENT": "userAgent",
    "NO_COOKIES_RESET": "noCookiesReset",
    "MAX_REDIRECTS": "maxRedirects",
    "BATCH": "batch",
    "BATCH_PER_HOST": "batchPerHost",
    "DISCARD_RESPONSE_BODIES": "discardResponseBodies",
    "SETUP_TIMEOUT": "setupTimeout",
    "TEARDOWN_TIMEOUT": "teardownTimeout",
    "EXECUTION_SEGMENT": "executionSegment",
    "EXECUTION_SEGMENT_SEQUENCE": "executionSegmentSequence",
    "LOCAL_IPS": "localIPs",
}


def options_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Options set through ``GREENWS_*`` variables (k6's ``K6_*`` spellings are aliases)."""
    layer: dict[str, Any] = {}
    for suffix, key in _ENV_KEYS.items():
        for prefix in ("K6_", "GREENWS_"):  # GREENWS_ wins when both are set
            raw = environ.get(prefix + suffix)
            if raw is not None:
                layer[key] = raw.split(",") if key == "stages" else raw
    return layer


#: The options that shape the run. As in k6 (``Options.Apply``), a layer that sets any of them
#: clears all four from the layers below it: ``-d 10s`` or ``-i 1`` on a script with ``stages`` or
#: ``scenarios`` simply runs that instead. ``vus`` is not one of them: it layers on its own.
_RUN_SHAPE = ("duration", "iterations", "stages", "scenarios")


def resolve_options(*layers: tuple[str, Mapping[str, Any]]) -> Options:
    """Fold option layers (lowest precedence first), each given as ``(where, mapping)``.

    Run-shape options follow k6's rule (see ``_RUN_SHAPE``); two of them in the same layer are
    a conflict, reported by :func:`~greenws.options.derive.derive_scenarios`, as k6 does.
    """
    options = Options()
    for where, layer in layers:
        if not isinstance(layer, Mapping):
            raise OptionsError(f"{where}: options must be a mapping, not {type(layer).__name__}")
        if any(key in layer for key in _RUN_SHAPE):
            options.duration = options.iterations = options.stages = options.scenarios = None
        _apply(options, layer, where)
    if (
        options.vus is not None
        and options.scenarios
        and options.stages is None
        and options.iterations is None
        and options.duration is None
    ):
        options.warnings.append(
            f"`vus={options.vus}` overrides the scenarios configuration (as in k6): running "
            f"{options.vus} iteration(s) shared among {options.vus} VU(s)"
        )
    return options
