"""Grouped bar charts as inline SVG for the HTML report: axes, ticks, labels, values.

Rules: pure; no script and no style attribute (the page's CSP allows neither): presentation
attributes only. A chart is drawn in a fixed viewBox and scales to the page's width. Labels
are the rows' own (full dates, product ids), escaped; values are written above their bars
when they fit, and every bar carries its value in a tooltip (`<title>`).
"""

from __future__ import annotations

import html
import math
from typing import Any

COLORS = {"orders": "#4e79a7", "grants": "#59a14f", "refunds": "#e15759",
          "revocations": "#f28e2b"}
SERIES = ("orders", "grants", "refunds", "revocations")
WIDTH, HEIGHT = 1000, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 48, 96
MAX_LABELS = 16  # x labels drawn at most (every k-th row past that)
MAX_VALUES = 64  # bars that get their value written above them


def nice_step(top: float, ticks: int = 5) -> int:
    """The tick step (1, 2 or 5 times a power of ten, at least 1) that covers `top` in about
    `ticks` steps."""
    raw = max(1.0, top / ticks)
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _text(x: float, y: float, text: str, cls: str, *, size: int = 11, anchor: str = "middle",
          rotate: float | None = None) -> str:
    turn = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
    return (f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
            f'text-anchor="{anchor}"{turn}>{html.escape(text)}</text>')


def _line(x1: float, y1: float, x2: float, y2: float, cls: str, stroke: str) -> str:
    return (f'<line class="{cls}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}"/>')


def _y_axis(top_value: int, step: int) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [_line(LEFT, TOP, LEFT, HEIGHT - BOTTOM, "axis y-axis", "#555")]
    for value in range(0, top_value + 1, step):
        y = HEIGHT - BOTTOM - plot_h * value / top_value
        if value:
            parts.append(_line(LEFT, y, WIDTH - RIGHT, y, "grid", "#e6e6e6"))
        parts.append(_line(LEFT - 5, y, LEFT, y, "tick", "#555"))
        parts.append(_text(LEFT - 8, y + 4, f"{value:,}", "tick-label", anchor="end"))
    parts.append(_text(16, TOP + plot_h / 2, "count", "axis-title", size=12, rotate=-90))
    return parts


def _legend(series: tuple[str, ...]) -> list[str]:
    parts = []
    for offset, name in enumerate(series):
        x = WIDTH - RIGHT - (len(series) - offset) * 105
        parts.append(f'<rect x="{x}" y="26" width="10" height="10" fill="{COLORS[name]}"/>')
        parts.append(_text(x + 14, 35, name, "legend", anchor="start"))
    return parts


def bar_chart(title: str, rows: list[dict[str, Any]], label: str, x_title: str,
              series: tuple[str, ...] = SERIES) -> str:
    """Grouped bars as inline SVG, one group per row (labelled by `row[label]`), with a y axis
    of counts, an x axis titled `x_title`, a legend and values."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = nice_step(max([r[s] for r in rows for s in series] + [1]))
    top_value = step * math.ceil(max([r[s] for r in rows for s in series] + [1]) / step)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" role="img" '
             f'aria-label="{html.escape(title)}">',
             _text(LEFT, 18, title, "chart-title", size=15, anchor="start"),
             *_y_axis(top_value, step), *_legend(series)]
    group = plot_w / max(1, len(rows))
    bar = group * 0.8 / len(series)
    every = math.ceil(len(rows) / MAX_LABELS) if rows else 1
    values = len(rows) * len(series) <= MAX_VALUES
    tilt = len(rows) > 8 or any(len(str(r[label])) > 8 for r in rows)
    for index, row in enumerate(rows):
        x0 = LEFT + index * group + group * 0.1
        name = str(row[label])
        for offset, what in enumerate(series):
            h = plot_h * row[what] / top_value
            x, y = x0 + offset * bar, HEIGHT - BOTTOM - h
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar * 0.92:.1f}" '
                         f'height="{h:.1f}" fill="{COLORS[what]}"><title>'
                         f'{html.escape(name)} {what}: {row[what]:,}</title></rect>')
            if values and row[what]:
                parts.append(_text(x + bar * 0.46, y - 3, f"{row[what]:,}", "value", size=10))
        if index % every == 0:
            center = LEFT + (index + 0.5) * group
            parts.append(_line(center, HEIGHT - BOTTOM, center, HEIGHT - BOTTOM + 5, "tick",
                               "#555"))
            parts.append(_text(center, HEIGHT - BOTTOM + 18, name, "x-label",
                               anchor="end" if tilt else "middle",
                               rotate=-35 if tilt else None))
    if not rows:
        parts.append(_text(LEFT + plot_w / 2, TOP + plot_h / 2, "nothing in the period",
                           "empty", size=13))
    parts.append(_line(LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM, "axis x-axis",
                       "#555"))
    title_y = HEIGHT - 8 if tilt else HEIGHT - BOTTOM + 40  # below the labels, not far off
    parts.append(_text(LEFT + plot_w / 2, title_y, x_title, "axis-title", size=12))
    parts.append("</svg>")
    return "".join(parts)
