"""Humanized values, ANSI decoration and alignment helpers for the end-of-test summary.

k6 renders its summary in JavaScript (``internal/js/summary.js`` in grafana/k6), so every number
it prints goes through JavaScript's number formatting: ``Number.prototype.toString`` (shortest
round-trip digits, no ``.0`` on integers), ``toFixed`` (round half away from zero on the exact
binary value) and ``Math.trunc``. Python's ``repr``/``format`` differ on exactly those points
(``2.0``, ``1e-05``, banker's rounding), so this module reimplements the few JS primitives k6
relies on and builds k6's humanizers on top of them. Getting these right is what makes a k6 user
recognise ``1.23ms``, ``512µs``, ``1m30s``, ``1.4 kB`` and ``100.00%`` at a glance.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "DEFAULT_TREND_STATS",
    "Ansi",
    "column_widths",
    "display_width",
    "dotted_leader",
    "humanize_bytes",
    "humanize_duration",
    "humanize_value",
    "js_number",
    "js_to_fixed",
    "metric_sort_key",
    "pad",
    "percent",
    "plain_number",
    "sort_metric_names",
    "sort_names",
    "strip_ansi",
    "submetric_display_name",
    "trend_stat_value",
]

#: k6's default ``summaryTrendStats``.
DEFAULT_TREND_STATS: tuple[str, ...] = ("avg", "min", "med", "max", "p(90)", "p(95)")

#: ``summaryTimeUnit`` values k6 accepts, as (multiplier from milliseconds, printed unit).
_TIME_UNITS: dict[str, tuple[float, str]] = {
    "s": (0.001, "s"),
    "ms": (1.0, "ms"),
    "us": (1000.0, "µs"),
}

#: Decimal (SI) byte units, as k6's ``humanizeBytes`` uses them.
_BYTE_UNITS: tuple[str, ...] = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


# --------------------------------------------------------------------------- JS number primitives


def js_number(value: float) -> str:
    """Format ``value`` as JavaScript's ``String(value)`` does.

    k6 concatenates raw numbers into its output (``4``, ``0.5``), so a Python ``2.0`` or
    ``1e-05`` would be visibly wrong. Shortest round-trip digits come from ``repr``; the
    placement of the decimal point and the switch to exponent notation follow ECMA-262
    Number::toString (fixed notation for 1e-6 <= |x| < 1e21).
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    dec = Decimal(repr(abs(float(value)))).normalize()
    _, digit_tuple, exponent = dec.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(str(d) for d in digit_tuple)
    k = len(digits)
    n = exponent + k  # value == 0.<digits> * 10**n
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        body = f"{mantissa}e{'+' if n - 1 > 0 else '-'}{abs(n - 1)}"
    return sign + body


def js_to_fixed(value: float, digits: int) -> str:
    """Format ``value`` as JavaScript's ``value.toFixed(digits)``.

    JS rounds the exact binary value half away from zero, where Python's ``format`` rounds half
    to even: ``(12.5).toFixed(0)`` is ``"13"`` in k6 but ``f"{12.5:.0f}"`` is ``"12"``.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value) or abs(value) >= 1e21:
        return js_number(value)
    negative = value < 0
    quantum = Decimal(1).scaleb(-digits)
    rounded = Decimal(abs(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    return ("-" if negative else "") + f"{rounded:f}"


def _fixed_no_trailing_zeros(value: float, digits: int) -> str:
    """``parseFloat(value.toFixed(digits)).toString()``: round, then drop trailing zeros."""
    fixed = js_to_fixed(value, digits)
    try:
        return js_number(float(fixed))
    except ValueError:  # "NaN" / "Infinity" came back unchanged
        return fixed


def _fixed_no_trailing_zeros_trunc(value: float, digits: int) -> str:
    """Like :func:`_fixed_no_trailing_zeros` but truncating: k6 never rounds a time *up*."""
    mult = 10.0**digits
    return _fixed_no_trailing_zeros(math.trunc(mult * value) / mult, digits)


# ----------------------------------------------------------------------------------- humanizers


def plain_number(value: float) -> str:
    """A unit-less value (``contains: "default"``): at most six decimals, no trailing zeros."""
    return _fixed_no_trailing_zeros(value, 6)


def percent(rate: float) -> str:
    """A Rate as k6 prints it: truncated (not rounded) to two decimals, e.g. ``99.99%``.

    Truncation is deliberate in k6: 0.99999 must not be shown as a reassuring ``100.00%``.
    """
    if not math.isfinite(rate):
        return js_number(rate) + "%"
    return js_to_fixed(math.trunc(rate * 100 * 100) / 100, 2) + "%"


def humanize_bytes(size: float) -> str:
    """Bytes in decimal SI units with one decimal below 10 (``1.4 kB``, ``240 B``, ``12 MB``)."""
    if not math.isfinite(size) or size < 10:
        return js_number(size) + " B"
    exponent = math.floor(math.log(size) / math.log(1000))
    unit = _BYTE_UNITS[min(exponent, len(_BYTE_UNITS) - 1)]
    scaled = math.floor((size / 1000**exponent) * 10 + 0.5) / 10
    return js_to_fixed(scaled, 1 if scaled < 10 else 0) + " " + unit


def _humanize_generic_duration(ms: float) -> str:
    """Pick the unit from the magnitude: ``ns``, ``µs``, ``ms``, ``s``, ``m…s``, ``h…m…s``.

    Up to a minute the seconds keep two truncated decimals (``1.5s``, ``59.99s``); past a minute
    k6 drops the decimals (``1m30s``) because sub-second detail is noise at that scale.
    """
    if ms == 0:
        return "0s"
    if ms < 0.001:
        return js_number(float(math.trunc(ms * 1_000_000))) + "ns"
    if ms < 1:
        return _fixed_no_trailing_zeros_trunc(ms * 1000, 2) + "µs"
    if ms < 1000:
        return _fixed_no_trailing_zeros_trunc(ms, 2) + "ms"
    text = _fixed_no_trailing_zeros_trunc(math.fmod(ms, 60000) / 1000, 0 if ms > 60000 else 2)
    text += "s"
    minutes = math.trunc(ms / 60000)
    if minutes < 1:
        return text
    text = f"{minutes % 60}m{text}"
    hours = math.trunc(minutes / 60)
    if hours < 1:
        return text
    return f"{hours}h{text}"


def humanize_duration(ms: float, time_unit: str | None = None) -> str:
    """A duration given in float milliseconds.

    With ``summaryTimeUnit`` set (``s``, ``ms`` or ``us``) every time is printed in that one unit
    with exactly two decimals, so columns can be compared by eye; otherwise the unit follows the
    magnitude.
    """
    if not math.isfinite(ms):
        return js_number(ms)
    if time_unit and time_unit in _TIME_UNITS:
        coef, unit = _TIME_UNITS[time_unit]
        return js_to_fixed(ms * coef, 2) + unit
    return _humanize_generic_duration(ms)


def humanize_value(
    value: float | None, *, metric_type: str, contains: str, time_unit: str | None = None
) -> str:
    """Any metric value, formatted by what the metric holds (k6's ``humanizeValue``).

    A missing value prints as ``n/a`` rather than k6's accidental ``NaNs``/``undefined``.
    """
    if value is None:
        return "n/a"
    if metric_type == "rate":
        return percent(value)
    if contains == "data":
        return humanize_bytes(value)
    if contains == "time":
        return humanize_duration(value, time_unit)
    return plain_number(value)


def trend_stat_value(
    stat: str, value: float | None, *, contains: str, time_unit: str | None = None
) -> str:
    """One trend column: ``count`` is a bare number, every other stat is in the metric's unit."""
    if value is None:
        return "n/a"
    if stat == "count":
        return js_number(value)
    return humanize_value(value, metric_type="trend", contains=contains, time_unit=time_unit)


# ------------------------------------------------------------------------------- ANSI and width

_ANSI_COLORS: dict[str, str] = {
    "black": "30",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
    "white": "37",
    "bright_red": "91",
    "bright_green": "92",
    "bright_yellow": "93",
}
_ANSI_STYLES: dict[str, str] = {"bold": "1", "faint": "2", "underline": "4", "reversed": "7"}
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-_])")


class Ansi:
    """Decorates text with SGR codes, or returns it untouched when colour is off.

    One object carries the on/off decision so renderers never branch on it; the codes match
    k6's ``ANSIFormatter`` (style codes first, then the colour, reset after).
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def decorate(self, text: str, color: str, *styles: str) -> str:
        """Wrap ``text`` in ``color`` plus optional ``styles`` (``bold``, ``faint``...)."""
        if not self.enabled:
            return text
        codes = [_ANSI_STYLES[s] for s in styles if s in _ANSI_STYLES]
        codes.append(_ANSI_COLORS.get(color, _ANSI_COLORS["white"]))
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"

    def bold(self, text: str) -> str:
        """Bold without a colour, as k6 prints titles and section names."""
        return f"\x1b[1m{text}\x1b[0m" if self.enabled else text


def strip_ansi(text: str) -> str:
    """``text`` without escape sequences."""
    return _ANSI_ESCAPE.sub("", text)


def display_width(text: str) -> int:
    """Terminal columns of ``text``: NFKC-normalised code points, escape sequences excluded."""
    return len(unicodedata.normalize("NFKC", strip_ansi(text)))


def dotted_leader(name_width: int, max_name_width: int) -> str:
    """The dots and colon after a metric name: at least three, more to align the colons."""
    return "." * max(3, max_name_width - name_width + 3) + ":"


def submetric_display_name(name: str) -> str:
    """``ws_connecting{status:101}`` -> ``  { status:101 }``; a plain name is returned as is."""
    brace = name.find("{")
    if brace < 0:
        return name
    return "  { " + name[brace + 1 : -1] + " }"


# ----------------------------------------------------------------------------------- sort order

# k6 sorts with JavaScript's localeCompare, which in its JS engine is Unicode collation (root
# locale): punctuation before digits before letters, letters case-insensitive first, case only
# breaking ties. A byte-wise sort would put "Zeta" before "alpha" and "a1" before "a_b".
_PUNCTUATION_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"


def _collation_key(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    primary: list[tuple[int, int]] = []
    tertiary: list[int] = []
    for char in text:
        if char in _PUNCTUATION_ORDER:
            primary.append((0, _PUNCTUATION_ORDER.index(char)))
        elif char.isspace():
            primary.append((0, -1))
        elif char.isdigit() and char.isascii():
            primary.append((1, ord(char)))
        elif char.isalpha():
            primary.append((2, ord(char.lower())))
        else:
            primary.append((3, ord(char)))
        tertiary.append(1 if char.isupper() else 0)
    return tuple(primary), tuple(tertiary)


def metric_sort_key(name: str) -> tuple[object, ...]:
    """Sort key keeping each sub-metric right after its parent (parent first, then tags)."""
    brace = name.find("{")
    parent, tags = (name, "") if brace < 0 else (name[:brace], name[brace:])
    return (_collation_key(parent), _collation_key(tags))


def sort_metric_names(names: Iterable[str]) -> list[str]:
    """Metric names in k6's summary order."""
    return sorted(names, key=metric_sort_key)


def sort_names(names: Iterable[str]) -> list[str]:
    """Names in JavaScript's ``localeCompare`` order (k6 sorts the SCENARIO blocks so)."""
    return sorted(names, key=lambda name: (_collation_key(name), name))


def pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns, ignoring escape sequences."""
    return text + " " * max(0, width - display_width(text))


def column_widths(rows: Iterable[Sequence[str]]) -> list[int]:
    """Widest display width per column position across ``rows`` (ragged rows allowed)."""
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row):
            if i == len(widths):
                widths.append(0)
            widths[i] = max(widths[i], display_width(cell))
    return widths
