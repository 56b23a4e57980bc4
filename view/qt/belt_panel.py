"""The breath panel: the belt's four channels scrolling, over bands of the breath phase, with the inhales the belt
saw and the breath marks the score asks for on the same time axis (so a breath taken late is seen against its mark)."""

from __future__ import annotations

import bisect
import math

import numpy as np
from PySide6.QtCore import Qt

from flutex.host.breath.share import Inhale
from flutex.host.link.events import BELT_CHANNELS
from flutex.view.colours import BELT, PHASES, hex_colour
from flutex.view.picture import Picture
from flutex.view.qt.timeline import (
    AHEAD_S,
    BEHIND_S,
    INK,
    Curve,
    Layer,
    RectPool,
    ScrollingPlot,
    TextPool,
    decimate,
    pen,
    qcolor,
)

INHALE_INK = (40, 80, 170)
STRIP = 0.07  # the inhale strip's height, a share of the panel's range
LABEL_GAP_S = 1.3  # an inhale label's width, in seconds of the panel
HEADROOM = 0.25  # a share of the curves' range added above them
MAX_LINES = 6  # grid lines across the curves' range


def nice_step(low: float, high: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that cuts [low, high] in at most MAX_LINES."""
    span = max(high - low, 1.0)
    power = 10.0 ** math.floor(math.log10(span / MAX_LINES))
    return next(power * m for m in (1, 2, 5, 10) if span / (power * m) <= MAX_LINES)


class BeltPanel(ScrollingPlot):
    def __init__(self, picture: Picture) -> None:
        super().__init__(picture, _title(), "Pa")
        dashed = pen(INK, 2)
        dashed.setStyle(Qt.PenStyle.DashLine)
        self._mark_lines = Curve(self.moving, dashed, z=2, connect="pairs")
        self._curves = [Curve(self.moving, pen(colour, 2), z=3) for colour in BELT]
        phase_rects, self._inhale_rects = RectPool(self.moving, z=0), RectPool(self.moving, z=1)
        self._inhale_text = TextPool(self.moving, anchor=(0.0, 0.0))
        self._mark_text = TextPool(self.moving, anchor=(0.5, 0.0))
        self._phases = Layer(phase_rects.show)
        self._inhales = Layer(self._show_inhales)
        self._marks = Layer(self._show_marks)

    def draw_data(self, t_s: float) -> None:
        times, rows = decimate(*self.picture.belt.window(t_s - BEHIND_S, t_s))
        for channel, curve in enumerate(self._curves):
            curve.set_points(times, rows[:, channel])
        low, high = (float(rows.min()), float(rows.max())) if len(rows) else (-100.0, 100.0)
        step = nice_step(low, high)
        low, high = math.floor(low / step) * step, math.ceil(high / step) * step  # still while the curves move
        lines = np.arange(low, high + step / 2, step)
        high += HEADROOM * (high - low)  # room above the curves for the inhales and the breath marks
        self.set_y_range(low, high, lambda: [(value, f"{value:g}") for value in lines])
        self._phases.show(self._phase_rects(t_s, low, high))
        self._inhales.show(self._inhale_spans(t_s, low, high))
        self._marks.show(self._breath_marks(t_s, high - 2 * STRIP * (high - low), high))

    def _phase_rects(self, t_s: float, low: float, high: float) -> tuple:
        """The breath phases up to now, each until the next one began."""
        phases = self.picture.phases
        first = max(0, bisect.bisect_right(phases, t_s - BEHIND_S, key=lambda item: item[0]) - 1)
        shown = [phase for phase in phases[first:] if phase[0] <= t_s]
        ends = [start for start, _ in shown[1:]] + [t_s] if shown else []
        return tuple(
            (start, end - start, low, high - low, qcolor(PHASES.get(name, PHASES["hold"]), 70))
            for (start, name), end in zip(shown, ends, strict=True)
        )

    def _inhale_spans(self, t_s: float, low: float, high: float) -> tuple:
        """The inhales the belt has measured by now: a strip along the top, with depth and belly share."""
        height = STRIP * (high - low)
        inhales = [inhale for inhale in self.picture.inhales_between(t_s - BEHIND_S, t_s) if inhale.t_end_s <= t_s]
        return tuple((inhale, high - height, height) for inhale in inhales)

    def _show_inhales(self, spans: tuple) -> None:
        fill = qcolor(INHALE_INK, 170)
        self._inhale_rects.show([(i.t_start_s, i.t_end_s - i.t_start_s, y0, h, fill) for i, y0, h in spans])
        labelled = _apart([i for i, _, _ in spans], LABEL_GAP_S)
        self._inhale_text.show([(i.t_start_s, y0, _inhale_label(i), INHALE_INK) for i, y0, _ in spans if i in labelled])

    def _breath_marks(self, t_s: float, bottom: float, top: float) -> tuple:
        """The score's breath marks of the attempts begun by now, the coming ones included."""
        attempt = self.picture.attempt_at(t_s)
        if attempt is None:
            return ()
        return tuple(
            (target.note.onset_s, bottom, top)
            for target in self.picture.targets_between(t_s - BEHIND_S, t_s + AHEAD_S)
            if target.note.breath_before and target.attempt <= attempt.started.attempt
        )

    def _show_marks(self, marks: tuple) -> None:
        xs = [x for x, _, _ in marks for _ in range(2)]
        ys = [y for _, bottom, top in marks for y in (bottom, top)]
        self._mark_lines.set_points(np.array(xs, dtype=float), np.array(ys, dtype=float))
        self._mark_text.show([(x, bottom, "breath", INK) for x, bottom, _ in marks])


def _title() -> str:
    """The title names each channel in its colour (a legend inside the plot would hide the curves)."""
    channels = " ".join(
        f'<span style="color:{hex_colour(colour)}">&#9632; {name.replace("_", " ")}</span>'
        for colour, name in zip(BELT, BELT_CHANNELS, strict=True)
    )
    phases = " ".join(
        f'<span style="color:{hex_colour(colour)}">&#9632;</span> {name}' for name, colour in PHASES.items()
    )
    return f"Breath belt: {channels} &nbsp;·&nbsp; behind: {phases} &nbsp;·&nbsp; top: inhales, breath marks"


def _apart(inhales: list[Inhale], gap_s: float) -> list[Inhale]:
    """The inhales whose label does not run into the one before (labels are wider than a short inhale)."""
    kept: list[Inhale] = []
    for inhale in inhales:
        if not kept or inhale.t_start_s - kept[-1].t_start_s >= gap_s:
            kept.append(inhale)
    return kept


def _inhale_label(inhale: Inhale) -> str:
    belly = "" if inhale.abdominal_share is None else f" · belly {inhale.abdominal_share:.0%}"
    return f"{inhale.depth:.0%}{belly}"
