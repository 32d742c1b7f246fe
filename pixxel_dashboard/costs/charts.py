"""Bar charts drawn on the server as SVG: no script, no inline style (the CSP is 'self'); colours
come from the stylesheet's classes (.chart-bar, .chart-axis, .chart-label), so both themes apply.

The picture is `role="img"` named by its `<title>` and described by its `<desc>`; the page shows
the same numbers as a table beside it (screen readers and exact values read that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Horizontal bars, one row each: a phone's width (~360 px) draws it at about its own scale, so
# the 12-unit text stays readable; wider screens cap it in CSS.
WIDTH = 360
ROW = 24
LABEL_END = 64  # labels are right-aligned here
BAR_START = 70
BAR_SPACE = 190  # the longest bar; its value is written after it


@dataclass(frozen=True)
class BarSpec:
    label: str  # beside the bar ("Mar 2026")
    value: Decimal
    value_text: str  # after the bar ("1,204.50")


def bar_chart(chart_id: str, title: str, description: str, bars: Sequence[BarSpec]) -> SafeString:
    """A horizontal bar chart of `bars`, scaled to the largest value (all zero: no bars)."""
    top = max((bar.value for bar in bars), default=Decimal(0)) or Decimal(1)
    height = ROW * max(len(bars), 1) + 4
    shapes = []
    for i, bar in enumerate(bars):
        length = float(bar.value / top) * BAR_SPACE
        y = 2 + i * ROW
        middle = f"{y + ROW / 2 + 4:.1f}"
        shapes.append(
            (
                LABEL_END,
                middle,
                bar.label,
                BAR_START,
                f"{y + 4:.1f}",
                f"{length:.1f}",
                ROW - 8,
                f"{BAR_START + length + 4:.1f}",
                middle,
                bar.value_text,
            )
        )
    body = format_html_join(
        "",
        '<g><text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}"></rect>'
        '<text class="chart-value" x="{}" y="{}">{}</text></g>',
        shapes,
    )
    return format_html(
        '<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" '
        'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
        '<line class="chart-axis" x1="{x}" y1="0" x2="{x}" y2="{h}"></line>'
        "{body}</svg>",
        id=chart_id,
        w=WIDTH,
        h=height,
        title=title,
        desc=description,
        x=BAR_START,
        body=body,
    )
