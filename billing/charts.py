"""The dashboard's charts, drawn on the server as inline SVG (docs/frontend.md,
"Dashboard figures").

Geometry only: numbers for ``x``, ``y``, ``width`` and ``height`` attributes,
which a strict Content-Security-Policy allows (a ``style`` attribute it would
not). Colours are in app.css, by class. Every chart is shown beside a table of
its numbers, which is what screen readers read.
"""

from dataclasses import dataclass
from decimal import Decimal

# The cash chart's drawing area, in SVG user units (the SVG scales to its box).
WIDTH = 660
PLOT_TOP = 8
PLOT_HEIGHT = 170
LABEL_Y = PLOT_TOP + PLOT_HEIGHT + 18
HEIGHT = LABEL_Y + 6
LEFT = 6
SLOT = Decimal(WIDTH - 2 * LEFT) / 13
BAR = Decimal(15)


def _unit(value):
    """An SVG coordinate: one decimal place is finer than a pixel."""
    return f"{Decimal(value).quantize(Decimal('0.1'))}"


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    title: str


@dataclass(frozen=True)
class Mark:
    x1: str
    x2: str
    y: str
    title: str


@dataclass(frozen=True)
class Label:
    x: str
    text: str


@dataclass(frozen=True)
class CashChart:
    """A currency's weeks as bars: collected above the axis, refunded below it,
    the net as a mark across each week."""

    width: int
    height: int
    axis_y: str
    label_y: int
    collected: list
    refunded: list
    net: list
    labels: list


def cash_chart(flow, *, format_money):
    """The chart of a ``selectors.CashFlow`` (one currency's weeks).

    Collected and refunded share one scale: the axis sits where the tallest
    week of each fits the plot, so neither kind of bar leaves it."""
    weeks = flow.weeks
    top = max((week.collected.amount for week in weeks), default=Decimal(0))
    bottom = max((week.refunded.amount for week in weeks), default=Decimal(0))
    span = top + bottom
    scale = Decimal(PLOT_HEIGHT) / span if span else Decimal(0)
    axis = PLOT_TOP + (top * scale if span else Decimal(PLOT_HEIGHT))
    slot = Decimal(WIDTH - 2 * LEFT) / max(len(weeks), 1)
    collected, refunded, net, labels = [], [], [], []
    for index, week in enumerate(weeks):
        left = LEFT + slot * index
        middle = left + slot / 2
        day = f"{week.start.day} {week.start:%b}"
        up = week.collected.amount * scale
        down = week.refunded.amount * scale
        collected.append(
            Bar(
                x=_unit(middle - BAR),
                y=_unit(axis - up),
                width=_unit(BAR),
                height=_unit(up),
                title=f"Week of {day}: {format_money(week.collected)} collected",
            )
        )
        refunded.append(
            Bar(
                x=_unit(middle),
                y=_unit(axis),
                width=_unit(BAR),
                height=_unit(down),
                title=f"Week of {day}: {format_money(week.refunded)} refunded",
            )
        )
        net.append(
            Mark(
                x1=_unit(middle - BAR - 2),
                x2=_unit(middle + BAR + 2),
                y=_unit(axis - week.net.amount * scale),
                title=f"Week of {day}: {format_money(week.net)} net",
            )
        )
        labels.append(Label(x=_unit(middle), text=day))
    return CashChart(
        width=WIDTH,
        height=HEIGHT,
        axis_y=_unit(axis),
        label_y=LABEL_Y,
        collected=collected,
        refunded=refunded,
        net=net,
        labels=labels,
    )
