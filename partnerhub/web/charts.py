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


# A column chart: groups of side-by-side columns (a month's gross and share), drawn
# bottom-up with three gridlines. Sizes are SVG units; the SVG scales to its card.
COLUMN_CHART_WIDTH = 960
COLUMN_PLOT_HEIGHT = 180
COLUMN_AXIS_WIDTH = 140  # room for the gridlines' amounts ("INR 10,000,000.00")
COLUMN_TOP = 12
COLUMN_LABEL_ROOM = 28
COLUMN_CLASSES = ("bar", "bar-2")


@dataclass(frozen=True)
class Column:
    x: int
    y: int
    width: int
    height: int
    css: str
    title: str  # the series and the value as shown: the column's tooltip


@dataclass(frozen=True)
class ColumnGroup:
    label: str
    label_x: int  # the centre of the group
    columns: list[Column]


@dataclass(frozen=True)
class Gridline:
    y: int
    value: int  # the template formats it (money, count…)


@dataclass(frozen=True)
class ColumnChart:
    groups: list[ColumnGroup]
    gridlines: list[Gridline]
    series: list[tuple[str, str]]  # (name, css class) for the legend
    width: int
    height: int
    plot_left: int
    baseline_y: int
    title: str


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2, 5 or 10 times 10^n at or above value (at least 2, so its half is
    whole): gridlines at round amounts."""
    step = 1
    while True:
        for nice in (2 * step, 5 * step, 10 * step):
            if nice >= value:
                return nice
        step *= 10


def column_chart(groups: list[tuple[str, list[tuple[int, str]]]], series: list[str]) -> ColumnChart:
    """groups: (label, [(value, value as shown) per series]). A negative value (a month of
    credits) draws no column but keeps its text in the tooltip and the title."""
    biggest = max((v for _, values in groups for v, _ in values), default=0)
    top = _nice_ceiling(biggest)
    count = max(1, len(groups))
    slot = (COLUMN_CHART_WIDTH - COLUMN_AXIS_WIDTH) // count
    column_width = max(4, min(28, (slot * 7 // 10) // max(1, len(series))))
    baseline = COLUMN_TOP + COLUMN_PLOT_HEIGHT
    built = []
    for i, (label, values) in enumerate(groups):
        left = COLUMN_AXIS_WIDTH + i * slot + (slot - column_width * len(values)) // 2
        columns = []
        for j, (value, shown) in enumerate(values):
            height = round(COLUMN_PLOT_HEIGHT * value / top) if value > 0 else 0
            columns.append(
                Column(
                    x=left + j * column_width,
                    y=baseline - height,
                    width=column_width - 2,
                    height=height,
                    css=COLUMN_CLASSES[j % len(COLUMN_CLASSES)],
                    title=f"{label} · {series[j]}: {shown}",
                )
            )
        built.append(ColumnGroup(label, COLUMN_AXIS_WIDTH + i * slot + slot // 2, columns))
    gridlines = [
        Gridline(y=baseline - COLUMN_PLOT_HEIGHT * k // 2, value=top * k // 2) for k in (0, 1, 2)
    ]
    title = "; ".join(
        f"{label}: " + ", ".join(f"{series[j]} {shown}" for j, (_, shown) in enumerate(values))
        for label, values in groups
    )
    return ColumnChart(
        groups=built,
        gridlines=gridlines,
        series=[(name, COLUMN_CLASSES[j % len(COLUMN_CLASSES)]) for j, name in enumerate(series)],
        width=COLUMN_CHART_WIDTH,
        height=baseline + COLUMN_LABEL_ROOM,
        plot_left=COLUMN_AXIS_WIDTH,
        baseline_y=baseline,
        title=title,
    )
