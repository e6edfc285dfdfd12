"""A server-rendered horizontal bar chart (SVG geometry only; the template draws it)."""

from __future__ import annotations

from dataclasses import dataclass

ROW_HEIGHT = 34
LABEL_WIDTH = 120
CHART_WIDTH = 460
VALUE_ROOM = 110


@dataclass(frozen=True)
class Bar:
    label: str
    value_text: str
    y: int
    width: int
    text_y: int


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    title: str


def bar_chart(rows: list[tuple[str, int, str]], unit: str) -> BarChart:
    """rows: (label, value, value as shown)."""
    biggest = max((value for _, value, _ in rows), default=0) or 1
    room = CHART_WIDTH - LABEL_WIDTH - VALUE_ROOM
    bars = [
        Bar(
            label=label if len(label) <= 16 else label[:15] + "…",
            value_text=shown,
            y=i * ROW_HEIGHT + 6,
            width=max(2, round(room * value / biggest)) if value else 0,
            text_y=i * ROW_HEIGHT + 22,
        )
        for i, (label, value, shown) in enumerate(rows)
    ]
    title = ", ".join(f"{label}: {shown}" for label, _, shown in rows) + f" ({unit})"
    return BarChart(
        bars, CHART_WIDTH, max(ROW_HEIGHT, len(rows) * ROW_HEIGHT + 6), LABEL_WIDTH, title
    )
