"""Line charts as inline SVG, generated in Python.

No charting library: the page must open from a ticket attachment with no network, and a chart
drawn here is plain markup that a test can read without a browser. Each chart is an ``<svg
class="chart" data-chart=ID>`` with one ``<path class="series" data-series=NAME>`` per line and a
legend naming every line, so both people and tests can tell what is drawn.

Lines differ by more than colour: each has its own dash pattern, width and marker shape, and the
legend shows them. Two series that coincide (an echo test's messages sent and received) would
otherwise draw one line over the other and look like one; with a wide solid line under a narrow
dashed one, and a filled circle inside a hollow square, both stay visible, in print and for a
reader who cannot tell the colours apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from .axis import elapsed_labels, format_elapsed, nice_ticks, time_ticks

__all__ = ["PALETTE", "STROKES", "Line", "Stroke", "format_elapsed", "line_chart", "nice_ticks"]

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


@dataclass(frozen=True)
class Stroke:
    """How one line is drawn: SVG ``stroke-dasharray`` ("" for solid), width, marker shape."""

    dash: str
    width: float
    marker: str  # circle, square, triangle, diamond


#: One per line, in order; the first is the widest so later, narrower lines never hide it.
STROKES: tuple[Stroke, ...] = (
    Stroke("", 3.2, "circle"),
    Stroke("7 4", 1.6, "square"),
    Stroke("2 3", 2.0, "triangle"),
    Stroke("9 3 2 3", 1.6, "diamond"),
)

_WIDTH, _HEIGHT = 560, 230
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 12, 58  # the bottom margin holds the axis and legend
_DOTS_UP_TO = 90  # points get a marker when there are this few (short runs have few buckets)
_LEGEND_ROW = 15  # pixels between legend rows
_LEGEND_CHARS = 48  # a longer name is cut in the legend (its title keeps all of it)
_CHAR_WIDTH = 6.4  # an 11 px sans-serif character, near enough to lay the legend out


@dataclass(frozen=True)
class Line:
    """One series: a name for the legend and one value (or None for a gap) per time."""

    name: str
    values: Sequence[float | None]


def _marker(shape: str, cx: float, cy: float, title: str = "", size: float = 1.0) -> str:
    """A marker at (cx, cy) with an optional hover ``title``; the hollow square and diamond let
    a filled circle or triangle under them show through."""
    inner = f"<title>{escape(title)}</title>" if title else ""
    half = 3.6 * size
    if shape == "circle":
        element = f'circle class="marker" cx="{cx:.1f}" cy="{cy:.1f}" r="{2.8 * size:.1f}"'
        return f"<{element}>{inner}</circle>"
    if shape == "square":
        element = (
            f'rect class="marker hollow" x="{cx - half:.1f}" y="{cy - half:.1f}" '
            f'width="{2 * half:.1f}" height="{2 * half:.1f}"'
        )
        return f"<{element}>{inner}</rect>"
    if shape == "triangle":
        corners = [(cx, cy - half), (cx + half, cy + half * 0.8), (cx - half, cy + half * 0.8)]
        kind = "marker"
    else:  # diamond
        corners = [(cx, cy - half), (cx + half, cy), (cx, cy + half), (cx - half, cy)]
        kind = "marker hollow"
    points = " ".join(f"{px:.1f},{py:.1f}" for px, py in corners)
    return f'<polygon class="{kind}" points="{points}">{inner}</polygon>'


def _stroke_attributes(stroke: Stroke) -> str:
    dash = f' stroke-dasharray="{stroke.dash}"' if stroke.dash else ""
    return f'stroke-width="{stroke.width:g}"{dash}'


def _legend_label(name: str) -> str:
    return name if len(name) <= _LEGEND_CHARS else name[: _LEGEND_CHARS - 1] + "…"


def _legend_layout(lines: Sequence[Line]) -> list[tuple[float, int]]:
    """(x, row) of each legend entry, wrapping to a new row where the next would not fit."""
    places = []
    x, row = float(_LEFT), 0
    for line in lines:
        width = 34 + _CHAR_WIDTH * len(_legend_label(line.name))
        if x > _LEFT and x + width > _WIDTH - _RIGHT:
            x, row = float(_LEFT), row + 1
        places.append((x, row))
        x += width + 10
    return places


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
    legend = _legend_layout(lines)
    height = _HEIGHT + _LEGEND_ROW * max((row for _, row in legend), default=0)

    def x(t: float) -> float:
        return _LEFT + plot_w * (t / span)

    def y(v: float) -> float:
        return _TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {_WIDTH} {height}" '
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
    # Every line shares the time axis: its positions are worked out and formatted once, not once
    # per line (a live page redraws an hour's worth of points on every update).
    xs = [x(t) for t in times]
    x_text = [f"{px:.1f}" for px in xs]
    dotted = len(times) <= _DOTS_UP_TO
    for index, (line, (legend_x, row)) in enumerate(zip(lines, legend, strict=True)):
        color = PALETTE[index % len(PALETTE)]
        stroke = STROKES[index % len(STROKES)]
        name = escape(line.name)
        path: list[str] = []
        dots: list[str] = []
        pen_down = False
        for t, px, sx, v in zip(times, xs, x_text, line.values, strict=False):
            if v is None or not math.isfinite(v):
                pen_down = False
                continue
            py = y(v)
            path.append(f"{'L' if pen_down else 'M'}{sx} {py:.1f}")
            pen_down = True
            if dotted:
                hover = f"{line.name} at {format_elapsed(t)}: {value_format(v)}"
                dots.append(_marker(stroke.marker, px, py, hover))
        parts.append(
            f'<g class="line" style="color:{color}">'
            f'<path class="series" data-series="{name}" d="{" ".join(path)}" '
            f'data-marker="{stroke.marker}" {_stroke_attributes(stroke)}>'
            f"<title>{name}</title></path>{''.join(dots)}</g>"
        )
        base = _HEIGHT - 13 + _LEGEND_ROW * row  # the middle of the legend row
        parts.append(
            f'<g class="legend" data-series="{name}" style="color:{color}">'
            f"<title>{name}</title>"
            f'<line class="sample" x1="{legend_x:.0f}" x2="{legend_x + 24:.0f}" '
            f'y1="{base:.1f}" y2="{base:.1f}" {_stroke_attributes(stroke)}/>'
            f"{_marker(stroke.marker, legend_x + 12, base, size=0.8)}"
            f'<text x="{legend_x + 30:.0f}" y="{base + 4:.1f}">'
            f"{escape(_legend_label(line.name))}</text></g>"
        )
    parts.append(
        f'<text class="step" x="{_WIDTH - _RIGHT}" y="{_TOP + plot_h + 32}">'
        f"{_number(bucket_seconds)} s per point</text></svg>"
    )
    return "".join(parts)
