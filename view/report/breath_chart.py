"""The breath belt over the lesson: the four channels (decimated to an envelope per pixel column), the inhales the
session found shaded behind them, and the score's breath marks on the top edge."""

from __future__ import annotations

from flutex.host.link.events import BELT_CHANNELS
from flutex.view.colours import BELT, PHASES
from flutex.view.picture import Picture
from flutex.view.report.decimate import envelope
from flutex.view.report.lesson_charts import attempt_starts
from flutex.view.report.markup import Colour, Markup
from flutex.view.report.svg import LABEL_INK, Plot, columns, value_ticks

BREATH_MARK_INK = LABEL_INK
LEGEND: list[tuple[str, Colour | str]] = [
    *((name.replace("_", " "), colour) for name, colour in zip(BELT_CHANNELS, BELT, strict=True)),
    ("inhale", PHASES["inhale"]),
    ("breath mark in the score", BREATH_MARK_INK),
]


def breath_chart(
    picture: Picture, span_s: tuple[float, float], *, size: tuple[float, float], origin_s: float
) -> Markup:
    """The chart of [t0, t1] as SVG."""
    t0, t1 = span_s
    times, rows = picture.belt.window(t0, t1)
    times, rows = envelope(times, rows, t0, t1, columns(size[0]))
    low, high = (float(rows.min()), float(rows.max())) if len(rows) else (-100.0, 100.0)
    spare = max(1.0, 0.06 * (high - low))
    plot = Plot(*size, span_s, (low - spare, high + spare), label="breath belt, pascals")
    plot.y_labels((value, f"{value:g} Pa") for value in value_ticks(plot.y0, plot.y1))
    plot.time_axis(origin_s)
    inhales = picture.inhales_between(t0, t1)
    plot.boxes((((inhale.t_start_s, inhale.t_end_s), (plot.y0, plot.y1)) for inhale in inhales), PHASES["inhale"],
               opacity=0.35)  # fmt: skip
    attempt_starts(plot, picture)
    for channel, colour in enumerate(BELT):
        plot.polyline(times, rows[:, channel], colour)
    marks = [target.note.onset_s for target in picture.targets_between(t0, t1) if target.note.breath_before]
    plot.markers(marks, BREATH_MARK_INK)
    return plot.svg()
