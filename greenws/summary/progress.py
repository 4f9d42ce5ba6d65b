"""The live progress k6 prints while a test runs, as pure string formatting.

Sources in grafana/k6: ``internal/execution/scheduler.go`` (``getRunStats``: the ``running (…)``
line), ``internal/ui/pb/progressbar.go`` (one scenario's bar), ``internal/ui/pb/helpers.go``
(fixed-width elapsed time and VU counts, so the line does not jitter as digits change) and
``internal/cmd/ui.go`` (``renderMultipleBars``: padding, right-hand columns, TTY redraw codes,
the ``scenarios:`` header). Nothing here writes to a terminal or reads a clock: the runtime passes
the numbers in and prints what comes back.

In a terminal (TTY) k6 redraws the block in place about ten times a second with ``=``/``>``
bars sized to the terminal width; elsewhere (CI logs) it prints the block once a second with
percentages (``[  50% ]``) instead of bars, since a log cannot be redrawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from .formatting import Ansi, strip_ansi

__all__ = [
    "DEFAULT_BAR_WIDTH",
    "BarStatus",
    "ScenarioProgress",
    "fixed_length_duration",
    "go_duration",
    "render_bar",
    "render_progress",
    "render_run_status",
    "render_scenarios_header",
]

#: k6's widest bar, brackets included.
DEFAULT_BAR_WIDTH = 40
#: At or below this width k6 prints a percentage instead of a bar.
_MIN_BAR_WIDTH = 8
#: Left labels (scenario names) longer than this are cut with an ellipsis.
_MAX_LEFT = 30
#: Columns kept free at the right edge of the terminal.
_TERM_PADDING = 1


class BarStatus(str, Enum):
    """The mark between a scenario's name and its bar."""

    RUNNING = " "
    WAITING = "•"
    INTERRUPTED = "✗"
    DONE = "✓"


_STATUS_COLORS: dict[BarStatus, tuple[str, tuple[str, ...]]] = {
    BarStatus.INTERRUPTED: ("red", ()),
    BarStatus.DONE: ("green", ()),
    BarStatus.WAITING: ("white", ("faint",)),
}


@dataclass(frozen=True)
class ScenarioProgress:
    """One scenario's progress line.

    Attributes:
        name: the scenario name, printed left and padded so the bars line up.
        executor_desc: the executor's one-line description (``2 looping VUs for 5s
            (gracefulStop: 30s)``), used by :func:`render_scenarios_header`.
        fraction: progress from 0 to 1; values outside are clamped, as k6 does.
        right_text: the columns after the bar (``("2 VUs", "2.5s/5s")``); a string is one
            column. All but the last column are padded to the widest across scenarios.
        status: the mark before the bar.
    """

    name: str
    executor_desc: str
    fraction: float
    right_text: str | Sequence[str] = ()
    status: BarStatus = BarStatus.RUNNING

    @property
    def right_columns(self) -> tuple[str, ...]:
        """``right_text`` as a tuple of columns."""
        if isinstance(self.right_text, str):
            return (self.right_text,) if self.right_text else ()
        return tuple(self.right_text)


# ------------------------------------------------------------------------------------ durations

_NS_PER_S = 1_000_000_000
_ROUNDING_NS = 100_000_000  # k6 rounds every displayed duration to 100 ms


def _round_ns(seconds: float) -> int:
    """Whole nanoseconds rounded to 100 ms, half away from zero (Go's Duration.Round)."""
    ns = abs(round(seconds * _NS_PER_S))
    return (ns + _ROUNDING_NS // 2) // _ROUNDING_NS * _ROUNDING_NS


def fixed_length_duration(elapsed_s: float, max_duration_s: float | None = None) -> str:
    """Elapsed time in a width fixed by the test's longest possible duration.

    ``5.0s`` below ten seconds, ``05.0s`` below a minute, ``0m05.0s`` below ten minutes,
    ``00m05.0s`` below an hour, then hours and days: the width comes from ``max_duration_s`` (or
    the elapsed time, if longer) so the line does not shift as the test runs.
    """
    max_ns = _round_ns(max(abs(max_duration_s or 0.0), abs(elapsed_s)))
    # Fill a "000000d00h00m00.0s" template from the right, one digit at a time, and cut it
    # where the maximum duration no longer needs the leading fields.
    buf = list("000000d00h00m00.0s")
    units = _round_ns(elapsed_s) // _ROUNDING_NS
    units, buf[16] = units // 10, str(units % 10)
    units, buf[14] = units // 10, str(units % 10)
    if max_ns < 10 * _NS_PER_S:
        return "".join(buf[14:])
    units, buf[13] = units // 6, str(units % 6)
    if max_ns < 60 * _NS_PER_S:
        return "".join(buf[13:])
    units, buf[11] = units // 10, str(units % 10)
    if max_ns < 600 * _NS_PER_S:
        return "".join(buf[11:])
    units, buf[10] = units // 6, str(units % 6)
    if max_ns < 3600 * _NS_PER_S:
        return "".join(buf[10:])
    units, hours = units // 24, units % 24
    buf[7], buf[8] = str(hours // 10), str(hours % 10)
    if max_ns < 10 * 3600 * _NS_PER_S:
        return "".join(buf[8:])
    if max_ns < 24 * 3600 * _NS_PER_S:
        return "".join(buf[7:])
    units, buf[5] = units // 10, str(units % 10)
    start = 5
    day_powers = max_ns // (240 * 3600 * _NS_PER_S)
    while day_powers > 0:
        start -= 1
        if start < 0:  # beyond k6's own buffer (over 290 years): widen instead of failing
            buf.insert(0, "0")
            start = 0
        units, buf[start] = units // 10, str(units % 10)
        day_powers //= 10
    return "".join(buf[start:])


def go_duration(seconds: float) -> str:
    """``seconds`` rounded to 100 ms and printed as Go's ``Duration.String`` (``35s``, ``1m5.5s``).

    k6 prints the plan's maximum duration this way in the ``scenarios:`` header.
    """
    ns = _round_ns(seconds)
    sign = "-" if seconds < 0 and ns else ""
    if ns == 0:
        return "0s"
    if ns < _NS_PER_S:
        return f"{sign}{ns // 1_000_000}ms"
    hours, rest = divmod(ns, 3600 * _NS_PER_S)
    minutes, rest = divmod(rest, 60 * _NS_PER_S)
    whole, frac = divmod(rest, _NS_PER_S)
    secs = str(whole) + (f".{frac:09d}".rstrip("0") if frac else "")
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


# --------------------------------------------------------------------------------- the run line


def render_run_status(
    *,
    elapsed_s: float,
    vus: int,
    max_vus: int,
    complete: int,
    interrupted: int,
    max_duration_s: float | None = None,
    started: bool = True,
    paused: bool = False,
) -> str:
    """``running (0m05.0s), 2/2 VUs, 4 complete and 0 interrupted iterations``.

    This single line is also the non-TTY one-liner: it says everything a log reader needs.
    VU counts are zero-padded to the digits of ``max_vus`` so the line keeps its width.
    """
    status = "paused" if paused else "running"
    if started:
        status += f" ({fixed_length_duration(elapsed_s, max_duration_s)})"
    digits = len(str(abs(max_vus))) + (1 if max_vus < 0 else 0)
    return (
        f"{status}, {vus:0{digits}d}/{max_vus:0{digits}d} VUs, "
        f"{complete} complete and {interrupted} interrupted iterations"
    )


# ------------------------------------------------------------------------------------------ bars


def render_bar(fraction: float, width: int = DEFAULT_BAR_WIDTH, *, color: bool = False) -> str:
    """``[======>-----]`` in ``width`` columns, or ``[  50% ]`` when ``width`` is too small.

    The caret marks the moving edge; a full bar has none.
    """
    fraction = min(1.0, max(0.0, fraction)) if math.isfinite(fraction) else 0.0
    width = min(DEFAULT_BAR_WIDTH, max(_MIN_BAR_WIDTH, width))
    if width <= _MIN_BAR_WIDTH:
        return f"[ {fraction * 100:3.0f}% ]"
    space = width - 2
    filled = int(space * fraction)
    fill = ""
    if filled > 0:
        fill = "=" * (filled - 1) + ">" if filled < space else "=" * filled
    padding = "-" * (space - filled)
    if color and padding:
        padding = Ansi(True).decorate(padding, "white", "faint")
    return f"[{fill}{padding}]"


def _status_mark(status: BarStatus, color: bool) -> str:
    if color and status in _STATUS_COLORS:
        name, styles = _STATUS_COLORS[status]
        return Ansi(True).decorate(status.value, name, *styles)
    return status.value


def _left_label(name: str, max_left: int) -> str:
    if max_left > 0 and len(name) > max_left:
        name = name[: max_left - 3] + "..."
    return name.ljust(max_left)


def _right_text(columns: Sequence[str], widths: dict[int, int]) -> str:
    last = len(columns) - 1
    return "".join(
        " " + col.ljust((0 if i == last else widths.get(i, 0)) + 1) for i, col in enumerate(columns)
    )


def render_progress(
    *,
    elapsed_s: float,
    vus: int,
    max_vus: int,
    complete: int,
    interrupted: int,
    scenarios: Sequence[ScenarioProgress],
    max_duration_s: float | None = None,
    tty: bool = True,
    color: bool = False,
    term_width: int = 80,
    redraw: bool = False,
) -> str:
    """The whole progress block: a blank line, the ``running (…)`` line, one line per scenario.

    Args:
        tty: a terminal: bars fill the width left by the longest line (up to 40 columns) and lines
            end by erasing to the end of the line (``ESC[K``). Otherwise bars are percentages and
            lines end with a plain newline.
        color: colour the status marks and the empty part of each bar.
        term_width: the terminal's width in columns.
        redraw: append the codes that move the cursor back to the block's first line, so the
            next block overwrites this one (k6 does this on every tick but the last).

    Returns:
        The text to write, newlines included.
    """
    line_end = "\x1b[K\n" if tty else "\n"
    max_left = min(max((len(s.name) for s in scenarios), default=0), _MAX_LEFT)
    right_widths: dict[int, int] = {}
    for scenario in scenarios:
        for i, col in enumerate(scenario.right_columns[:-1]):
            right_widths[i] = max(right_widths.get(i, 0), len(col))

    parts: list[tuple[str, str, str]] = []  # (left + status, right) around each bar
    for scenario in scenarios:
        left = _left_label(scenario.name, max_left)
        parts.append(
            (left, scenario.status.value, _right_text(scenario.right_columns, right_widths))
        )

    width = _MIN_BAR_WIDTH
    if tty and parts:
        # k6 converges on bars that make the longest line end one column before the edge.
        longest_rest = max(len(left) + 3 + len(right) for left, _, right in parts)
        width = term_width - _TERM_PADDING - longest_rest

    run_line = render_run_status(
        elapsed_s=elapsed_s,
        vus=vus,
        max_vus=max_vus,
        complete=complete,
        interrupted=interrupted,
        max_duration_s=max_duration_s,
    )
    lines = [run_line]
    for (left, status, right), scenario in zip(parts, scenarios, strict=True):
        mark = _status_mark(BarStatus(status), color)
        lines.append(f"{left} {mark} {render_bar(scenario.fraction, width, color=color)}{right}")

    text = line_end + "".join(line + line_end for line in lines)
    if tty and redraw:
        wraps = sum((len(strip_ansi(line)) - _TERM_PADDING) // max(1, term_width) for line in lines)
        text += f"\r\x1b[J\x1b[{len(lines) + wraps + 1}A"
    return text


def render_scenarios_header(
    scenarios: Sequence[ScenarioProgress],
    *,
    max_vus: int,
    max_duration_s: float,
    segment_fraction: float = 1.0,
) -> str:
    """The ``scenarios:`` lines k6 prints before the run starts, one bullet per scenario.

    For example::

             scenarios: (100.00%) 1 scenario, 2 max VUs, 35s max duration (incl. graceful stop):
                      * default: 2 looping VUs for 5s (gracefulStop: 30s)
    """
    count = len(scenarios)
    noun = "1 scenario" if count == 1 else f"{count} scenarios"
    lines = [
        f"     scenarios: ({segment_fraction * 100:.2f}%) {noun}, {max_vus} max VUs, "
        f"{go_duration(max_duration_s)} max duration (incl. graceful stop):"
    ]
    lines += [f"              * {s.name}: {s.executor_desc}" for s in scenarios]
    return "\n".join(lines) + "\n"
