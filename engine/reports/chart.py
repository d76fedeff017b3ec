"""A horizontal bar chart of rates by region as inline SVG: no script, no font or image fetched, prints as drawn.

Bars run 0..100%; a dashed line marks the target when there is one, and bars under it are drawn in red,
as offices mark the lagging units. A unit without a rate gets no bar and the zero text.
"""
from __future__ import annotations

from decimal import Decimal
from html import escape

from engine.reports.figures import DEFAULT_ROUNDING, Rounding, format_rate

WIDTH, LABEL, VALUE, ROW, TOP, BOTTOM = 680, 150, 74, 26, 34, 30
FONT = "'WenQuanYi Micro Hei','Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',sans-serif"
OK, LOW, NONE, GRID = "#2f5d8a", "#c0392b", "#8c959f", "#d0d7de"


def bar_chart(title: str, bars: list[tuple[str, Decimal | None]], *, target: Decimal | None = None,
              rounding: Rounding = DEFAULT_ROUNDING) -> str:
    plot = WIDTH - LABEL - VALUE
    height = TOP + ROW * max(len(bars), 1) + BOTTOM

    def x(value) -> float:
        return LABEL + plot * float(min(max(value, Decimal(0)), Decimal(100))) / 100

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" '
             f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}" font-family="{FONT}">',
             f'<text x="{LABEL}" y="18" font-size="14" font-weight="600" fill="#1f2328">{escape(title)}</text>']
    for tick in range(0, 101, 20):
        tx = x(Decimal(tick))
        parts.append(f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{height - BOTTOM + 4}" stroke="{GRID}" '
                     f'stroke-width="1"/><text x="{tx:.1f}" y="{height - BOTTOM + 18}" font-size="11" fill="#59636e" '
                     f'text-anchor="middle">{tick}%</text>')
    for i, (label, value) in enumerate(bars):
        y = TOP + i * ROW
        parts.append(f'<text x="{LABEL - 8}" y="{y + ROW / 2 + 4:.1f}" font-size="13" fill="#1f2328" '
                     f'text-anchor="end">{escape(label)}</text>')
        text = format_rate(value, rounding, sign=True)
        if value is None:
            parts.append(f'<text x="{LABEL + 6}" y="{y + ROW / 2 + 4:.1f}" font-size="12" fill="{NONE}">{escape(text)}'
                         f'</text>')
            continue
        colour = LOW if target is not None and value < target else OK
        end = x(value)
        parts.append(f'<rect x="{LABEL}" y="{y + 5}" width="{max(end - LABEL, 1):.1f}" height="{ROW - 10}" '
                     f'fill="{colour}" rx="2"/>')
        parts.append(f'<text x="{end + 6:.1f}" y="{y + ROW / 2 + 4:.1f}" font-size="12" fill="{colour}">{escape(text)}'
                     f'</text>')
    if target is not None:
        tx = x(target)
        parts.append(f'<line x1="{tx:.1f}" y1="{TOP - 8}" x2="{tx:.1f}" y2="{height - BOTTOM + 2}" stroke="{LOW}" '
                     f'stroke-width="1.5" stroke-dasharray="5 4"/>'
                     f'<text x="{tx:.1f}" y="{TOP - 12}" font-size="11" fill="{LOW}" text-anchor="middle">'
                     f'目标 {escape(format_rate(target, Rounding(decimals=0), sign=True))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def text_bars(bars: list[tuple[str, Decimal | None]], *, rounding: Rounding = DEFAULT_ROUNDING, width: int = 25) -> str:
    """The same chart for Markdown: one line per unit, a bar of full blocks scaled to 100%."""
    lines = []
    pad = max((_display_width(label) for label, _ in bars), default=0)
    for label, value in bars:
        blocks = "" if value is None else "█" * round(float(min(max(value, Decimal(0)), Decimal(100))) * width / 100)
        lines.append(f"{label}{' ' * (pad - _display_width(label))}  {blocks.ljust(width, '░') if value is not None else ' ' * width}"
                     f"  {format_rate(value, rounding, sign=True)}")
    return "\n".join(lines)


def _display_width(text: str) -> int:
    """Chinese characters take two columns in a fixed-width font."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
