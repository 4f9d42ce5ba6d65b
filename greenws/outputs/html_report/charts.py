"""Line charts as inline SVG, generated in Python.

No charting library: the page must open from a ticket attachment with no network, and a chart
drawn here is plain markup that a test can read without a browser. Each chart is an ``<svg
class="chart" data-chart=ID>`` with one ``<path class="series" data-series=NAME>`` per line and a
legend naming every line, so both people and tests can tell what is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from .axis import elapsed_labels, format_elapsed, nice_ticks, time_ticks

__all__ = ["PALETTE", "Line", "format_elapsed", "line_chart", "nice_ticks"]

#: Colours that stay distinguishable for the common forms of colour blindness (Okabe-Ito).
PALETTE: tuple[str, ...] = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#d55e00",
    "#cc79a7",
    "#56b4e9",
    "#f0e442",
    "#000000",
)

_WIDTH, _HEIGHT = 560, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 12, 58  # the bottom margin holds the axis and legend
_DOTS_UP_TO = 90  # points get a marker when there are this few (short runs have few buckets)


@dataclass(frozen=True)
class Line:
    """One series: a name for the legend and one value (or None for a gap) per time."""

    name: str
    values: Sequence[float | None]


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    chart_id: str,
    title: str,
    times: Sequence[float],
    lines: Sequence[Line],
    value_format: Callable[[float], str],
    *,
    bucket_seconds: float = 1.0,
    end: float | None = None,
) -> str:
    """An SVG chart of ``lines`` over ``times`` (seconds since the start of the run).

    ``value_format`` labels the y axis and the hover titles (``1.2ms``, ``3.4 kB/s``).
    ``bucket_seconds`` is stated under the chart, because after downsampling a point stands for
    more than one second. ``end`` is the run's length in seconds: the time axis spans it, so a
    0.8-second run is drawn over 800 ms, not stretched to a whole second (without it, the axis
    ends at the last point, at least one second in).
    """
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    finite = [v for line in lines for v in line.values if v is not None and math.isfinite(v)]
    ticks = nice_ticks(max(finite, default=0.0))
    top = ticks[-1] or 1.0
    last = times[-1] if times else 0.0
    span = max(last, end) if end is not None and end > 0 else max(last, 1.0)

    def x(t: float) -> float:
        return _LEFT + plot_w * (t / span)

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:
        ty = y(tick)
        parts.append(
            f'<line class="gridline" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="ylabel" x="{_LEFT - 6}" y="{ty + 4:.1f}">'
            f"{escape(value_format(tick))}</text>"
        )
    time_marks = time_ticks(span)
    for tick, label in zip(time_marks, elapsed_labels(time_marks), strict=True):
        parts.append(
            f'<text class="xlabel" x="{x(tick):.1f}" y="{_TOP + plot_h + 16}">{escape(label)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{_LEFT}" x2="{_WIDTH - _RIGHT}" '
        f'y1="{_TOP + plot_h}" y2="{_TOP + plot_h}"/>'
    )
    legend_x = float(_LEFT)
    for index, line in enumerate(lines):
        color = PALETTE[index % len(PALETTE)]
        path: list[str] = []
        dots: list[str] = []
        pen_down = False
        for t, v in zip(times, line.values, strict=False):
            if v is None or not math.isfinite(v):
                pen_down = False
                continue
            px, py = x(t), y(v)
            path.append(f"{'L' if pen_down else 'M'}{px:.1f} {py:.1f}")
            pen_down = True
            if len(times) <= _DOTS_UP_TO:
                dots.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.2">'
                    f"<title>{escape(line.name)} at {escape(format_elapsed(t))}: "
                    f"{escape(value_format(v))}</title></circle>"
                )
        name = escape(line.name)
        parts.append(
            f'<g class="line" style="color:{color}">'
            f'<path class="series" data-series="{name}" d="{" ".join(path)}">'
            f"<title>{name}</title></path>{''.join(dots)}</g>"
        )
        parts.append(
            f'<g class="legend" data-series="{name}">'
            f'<rect x="{legend_x:.0f}" y="{_HEIGHT - 18}" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14:.0f}" y="{_HEIGHT - 9}">{name}</text></g>'
        )
        legend_x += 24 + 7 * len(line.name)
    parts.append(
        f'<text class="step" x="{_WIDTH - _RIGHT}" y="{_TOP + plot_h + 32}">'
        f"{_number(bucket_seconds)} s per point</text></svg>"
    )
    return "".join(parts)
