"""The report's stylesheet, kept as a Python string so it ships inside the package and is
inlined into every page (a ticket attachment cannot fetch a stylesheet)."""

from __future__ import annotations

__all__ = ["STYLE"]

STYLE = """
:root { --fg: #1d2330; --muted: #5b6474; --line: #d8dde6; --bg: #ffffff; --band: #f4f6f9;
        --ok: #1a7f37; --bad: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); }
header { padding: 14px 24px; background: #1d2330; color: #fff; }
header h1 { margin: 0; font-size: 20px; font-weight: 600; }
main { padding: 8px 24px 24px; max-width: 1280px; }
h2 { font-size: 16px; margin: 22px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { padding: 3px 10px; text-align: left; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--band); font-weight: 600; }
table.header th { color: var(--muted); font-weight: 500; width: 9em; border: 0; }
table.header td { border: 0; }
td.num { font-variant-numeric: tabular-nums; text-align: right; white-space: nowrap; }
td.metric { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre; }
tr.section th { background: #fff; color: var(--muted); font-size: 12px; letter-spacing: .06em;
                padding-top: 10px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; }
.badge.passed { background: var(--ok); } .badge.failed { background: var(--bad); }
.badge.running { background: #0072b2; }
header .live-status { margin: 4px 0 0; font-size: 12px; color: #c9d1de; }
.pass { color: var(--ok); font-weight: 600; } .fail { color: var(--bad); font-weight: 600; }
.empty { color: var(--muted); font-style: italic; }
.stages { color: var(--muted); font-size: 12px; }
.charts-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 12px; }
figure { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; }
svg.chart .gridline { stroke: #e6e9ef; stroke-width: 1; }
svg.chart .axis { stroke: #9aa3b2; stroke-width: 1; }
svg.chart .ylabel { text-anchor: end; fill: var(--muted); }
svg.chart .xlabel { text-anchor: middle; fill: var(--muted); }
svg.chart .step { text-anchor: end; fill: var(--muted); font-size: 10px; }
svg.chart .legend text { fill: var(--fg); }
svg.chart path.series { fill: none; stroke: currentColor; stroke-linejoin: round; }
svg.chart .legend line.sample { stroke: currentColor; }
svg.chart .marker { fill: currentColor; stroke: currentColor; stroke-width: 1; }
svg.chart .marker.hollow { fill: none; stroke-width: 1.4; }
details.block { margin: 6px 0; } details.block > summary { cursor: pointer; font-weight: 600; }
footer { padding: 12px 24px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
@media print { .charts-grid { grid-template-columns: 1fr 1fr; } details.block { break-inside: avoid; } }
"""
