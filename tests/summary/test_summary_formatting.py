"""k6's humanized values, unit boundary by unit boundary."""

from __future__ import annotations

import math

import pytest

from greenws.summary.formatting import (
    Ansi,
    column_widths,
    display_width,
    dotted_leader,
    humanize_bytes,
    humanize_duration,
    humanize_value,
    js_number,
    js_to_fixed,
    pad,
    percent,
    plain_number,
    sort_metric_names,
    strip_ansi,
    submetric_display_name,
    trend_stat_value,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (2.0, "2"),
        (4, "4"),
        (0.5, "0.5"),
        (-1.25, "-1.25"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (2.5e-7, "2.5e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (123.456, "123.456"),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
    ],
)
def test_js_number_matches_javascript_string_conversion(value: float, expected: str) -> None:
    assert js_number(value) == expected


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (12.5, 0, "13"),  # half away from zero, not to even
        (2.5, 0, "3"),
        (-1.5, 0, "-2"),
        (0.125, 2, "0.13"),  # exactly representable: the tie rounds up
        (1.005, 2, "1.00"),  # really 1.00499999…: rounds down, as in JS
        (1.0, 2, "1.00"),
        (0.0, 2, "0.00"),
        (1e21, 2, "1e+21"),
    ],
)
def test_js_to_fixed_rounds_like_javascript(value: float, digits: int, expected: str) -> None:
    assert js_to_fixed(value, digits) == expected


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0, "0s"),
        # below a microsecond: whole nanoseconds
        (0.0000005, "0ns"),
        (0.0005, "500ns"),
        (0.000999, "999ns"),
        # microsecond boundary
        (0.001, "1µs"),
        (0.512, "512µs"),
        (0.3125, "312.5µs"),
        (0.99999, "999.99µs"),  # truncated, never rounded up into the next unit
        # millisecond boundary
        (1, "1ms"),
        (1.2, "1.2ms"),
        (1.234, "1.23ms"),
        (1.239, "1.23ms"),
        (999.999, "999.99ms"),
        # second boundary
        (1000, "1s"),
        (1500, "1.5s"),
        (2503.4, "2.5s"),
        (59999.99, "59.99s"),
        # minute boundary: seconds lose their decimals past one minute
        (60000, "1m0s"),
        (60000.5, "1m0s"),
        (90000, "1m30s"),
        (90999, "1m30s"),
        (3599999, "59m59s"),
        # hour boundary
        (3600000, "1h0m0s"),
        (3723000, "1h2m3s"),
        (90000000, "25h0m0s"),
    ],
)
def test_humanize_duration_unit_boundaries(ms: float, expected: str) -> None:
    assert humanize_duration(ms) == expected


@pytest.mark.parametrize(
    ("ms", "unit", "expected"),
    [
        (1500, "s", "1.50s"),
        (1.5, "s", "0.00s"),
        (1.5, "ms", "1.50ms"),
        (90000, "ms", "90000.00ms"),
        (0.5125, "us", "512.50µs"),
        (2, "us", "2000.00µs"),
        (1500, "", "1.5s"),  # empty: automatic
        (1500, None, "1.5s"),
        (1500, "m", "1.5s"),  # not a unit k6 accepts: automatic
    ],
)
def test_summary_time_unit_forces_one_unit(ms: float, unit: str | None, expected: str) -> None:
    assert humanize_duration(ms, unit) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0 B"),
        (9, "9 B"),
        (9.5, "9.5 B"),
        (10, "10 B"),
        (240, "240 B"),
        (279.313, "279 B"),
        (999, "999 B"),
        (999.96, "1000 B"),  # k6 rounds after choosing the unit
        (1000, "1.0 kB"),
        (1400, "1.4 kB"),
        (9949, "9.9 kB"),
        (9950, "10 kB"),
        (519000, "519 kB"),
        (999_449, "999 kB"),
        (999_499, "1000 kB"),  # 999.5 is rounded half up by toFixed
        (1_000_000, "1.0 MB"),
        (7_100_000, "7.1 MB"),
        (2_500_000_000, "2.5 GB"),
        (3e12, "3.0 TB"),
    ],
)
def test_humanize_bytes_decimal_si(size: float, expected: str) -> None:
    assert humanize_bytes(size) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (1.0, "100.00%"),
        (0.0, "0.00%"),
        (0.5, "50.00%"),
        (0.9999, "99.99%"),
        (0.99999, "99.99%"),  # truncated: never shown as 100% unless it is
        (0.123456, "12.34%"),
        (0.29, "28.99%"),  # float noise truncated exactly as k6's JavaScript does
    ],
)
def test_percent_truncates_to_two_decimals(rate: float, expected: str) -> None:
    assert percent(rate) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4, "4"), (0.798, "0.798"), (13.1221794, "13.122179"), (1 / 3, "0.333333"), (2.5e-7, "0")],
)
def test_plain_number_six_decimals_no_trailing_zeros(value: float, expected: str) -> None:
    assert plain_number(value) == expected


def test_humanize_value_dispatches_on_type_then_contains() -> None:
    assert humanize_value(0.9, metric_type="rate", contains="default") == "90.00%"
    assert humanize_value(1400, metric_type="counter", contains="data") == "1.4 kB"
    assert humanize_value(1.5, metric_type="trend", contains="time") == "1.5ms"
    assert humanize_value(1.5, metric_type="trend", contains="time", time_unit="s") == "0.00s"
    assert humanize_value(0.79, metric_type="counter", contains="default") == "0.79"
    assert humanize_value(None, metric_type="gauge", contains="default") == "n/a"


def test_trend_count_stat_is_a_bare_number() -> None:
    assert trend_stat_value("count", 3, contains="time") == "3"
    assert trend_stat_value("avg", 15, contains="time") == "15ms"
    assert trend_stat_value("p(99)", None, contains="time") == "n/a"


@pytest.mark.parametrize(
    ("width", "max_width", "dots"),
    [(22, 22, 3), (21, 22, 4), (14, 22, 11), (30, 22, 3)],
)
def test_dotted_leader_aligns_colons_with_at_least_three_dots(
    width: int, max_width: int, dots: int
) -> None:
    assert dotted_leader(width, max_width) == "." * dots + ":"


def test_dotted_leader_lines_up_the_colon() -> None:
    names = ["iterations", "iteration_duration", "vus"]
    longest = max(len(n) for n in names)
    lines = [n + dotted_leader(len(n), longest) + " 4" for n in names]
    assert {line.index(":") for line in lines} == {longest + 3}
    assert lines[0] == "iterations...........: 4"


def test_submetric_display_name() -> None:
    assert submetric_display_name("ws_connecting{status:101}") == "  { status:101 }"
    assert submetric_display_name("a{b:1,c:2}") == "  { b:1,c:2 }"
    assert submetric_display_name("ws_ping") == "ws_ping"


def test_sort_keeps_submetrics_under_parent_and_collates_like_k6() -> None:
    names = [
        "http_reqs",
        "http_req_duration{expected_response:true}",
        "Zeta",
        "http_req_duration",
        "a1",
        "alpha",
        "a_b",
        "ws_ping",
        "ws_connecting{status:101}",
        "ws_connecting",
    ]
    assert sort_metric_names(names) == [
        "a_b",  # punctuation sorts before digits...
        "a1",  # ...digits before letters
        "alpha",
        "http_req_duration",
        "http_req_duration{expected_response:true}",
        "http_reqs",
        "ws_connecting",
        "ws_connecting{status:101}",
        "ws_ping",
        "Zeta",  # case-insensitive first
    ]


def test_ansi_codes_match_k6_and_switch_off() -> None:
    on, off = Ansi(True), Ansi(False)
    assert on.decorate("1.2ms", "cyan") == "\x1b[36m1.2ms\x1b[0m"
    assert on.decorate("...:", "white", "faint") == "\x1b[2;37m...:\x1b[0m"
    assert on.bold("EXECUTION") == "\x1b[1mEXECUTION\x1b[0m"
    assert off.decorate("1.2ms", "cyan") == "1.2ms"
    assert off.bold("EXECUTION") == "EXECUTION"


def test_display_width_ignores_escapes() -> None:
    colored = Ansi(True).decorate("✓ ok", "green")
    assert strip_ansi(colored) == "✓ ok"
    assert display_width(colored) == 4
    assert pad(colored, 6) == colored + "  "
    assert column_widths([["ab", colored], ["abcd"]]) == [4, 4]
