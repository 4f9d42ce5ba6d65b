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


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 to at least ``maximum``: steps of 1, 2 or 5 times a power of ten."""
    if not math.isfinite(maximum) or maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < maximum * (1 - 1e-9):
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def format_elapsed(elapsed: float) -> str:
    """Axis label for seconds since the start: ``45s``, ``2m30s``, ``1h05m``."""
    seconds = round(elapsed)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m{rest:02d}s" if rest else f"{minutes}m"
    hours, rest = divmod(seconds // 60, 60)
    return f"{hours}h{rest:02d}m"


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
) -> str:
    """An SVG chart of ``lines`` over ``times`` (seconds since the start of the run).

    ``value_format`` labels the y axis and the hover titles (``1.2ms``, ``3.4 kB/s``).
    ``bucket_seconds`` is stated under the chart, because after downsampling a point stands for
    more than one second.
    """
    plot_w = _WIDTH - _LEFT - _RIGHT
    plot_h = _HEIGHT - _TOP - _BOTTOM
    finite = [v for line in lines for v in line.values if v is not None and math.isfinite(v)]
    ticks = nice_ticks(max(finite, default=0.0))
    top = ticks[-1] or 1.0
    span = max(times[-1] if times else 0.0, 1.0)

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
    for tick in nice_ticks(span, 5):
        if tick > span * 1.0001:
            break
        tx = x(tick)
        parts.append(
            f'<text class="xlabel" x="{tx:.1f}" y="{_TOP + plot_h + 16}">'
            f"{escape(format_elapsed(tick))}</text>"
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
