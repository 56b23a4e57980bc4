"""The pitch heard against the score, as a piano roll: the written notes as bars, the contour as dashes coloured by
how far they are from the written note, each graded note's verdict as a dot above it, and the servos' presses
shaded under the notes they guided."""

from __future__ import annotations

import math

import numpy as np

from flutex.host.pitch.config import note_name
from flutex.host.pitch.notes import hz_to_midi
from flutex.view.colours import CLEAN, FAULTY, GUIDANCE, OFF_CENTS, cents_colour, hex_colour
from flutex.view.picture import PITCH_CENTS_TARGET, PITCH_HZ, Grade, Picture, Target
from flutex.view.report.decimate import pitch_points
from flutex.view.report.lesson_charts import attempt_starts
from flutex.view.report.markup import Markup
from flutex.view.report.svg import Plot

TARGET_FILL, TARGET_EDGE = "#d0d7de", "#8c959f"
FAULTY_INK = hex_colour(FAULTY)
CENTS_STEP = 5.0  # the contour's colours come in steps of this many cents, so each step is one <path>
MIN_SPAN_SEMITONES = 8
COLUMN_PX, DASH_PX = 3.0, 2.0  # one contour point per 3 pixels, drawn 2 px long with round caps 3 px wide: unbroken


def pitch_chart(
    picture: Picture,
    span_s: tuple[float, float],
    *,
    size: tuple[float, float],
    origin_s: float,
    label: str,
    detailed: bool = False,
) -> Markup:
    """The chart of [t0, t1] as SVG. `detailed` (an attempt's zoom) gives each verdict a tooltip and each fault its
    words under the note; the overview marks where each attempt starts instead."""
    t0, t1 = span_s
    targets = picture.targets_between(t0, t1)
    times, rows = picture.pitch.window(t0, t1)
    plot = Plot(*size, span_s, _semitone_range(targets, rows[:, PITCH_HZ]), label=label)
    plot.y_labels(_note_ticks(plot.y0, plot.y1))
    plot.time_axis(origin_s)
    if not detailed:
        attempt_starts(plot, picture)
    _guidance(plot, picture, t0, t1)
    spans = [((t.note.onset_s, t.note.end_s), (t.note.midi - 0.38, t.note.midi + 0.38)) for t in targets]
    plot.boxes(spans, TARGET_FILL, stroke=TARGET_EDGE)
    _contour(plot, times, rows)
    grades = picture.grades_between(t0, t1)
    if detailed:
        for grade in grades:
            _verdict(plot, picture, grade)
    else:
        for clean, colour, name in ((True, CLEAN, "clean"), (False, FAULTY, "faulty")):
            marks = [_mark_place(picture, grade) for grade in grades if grade.clean == clean]
            plot.dots(marks, colour, 3.0, cls=f"grades {name}")
    return plot.svg()


def _semitone_range(targets: list[Target], hz: np.ndarray) -> tuple[float, float]:
    """The notes written and most of the notes heard, with a semitone and a half to spare."""
    pitches = [float(target.note.midi) for target in targets]
    voiced = hz[hz > 0.0]
    if len(voiced):
        heard = hz_to_midi(np.percentile(voiced, [2, 98]))
        pitches += [float(heard[0]), float(heard[1])]
    low, high = (min(pitches), max(pitches)) if pitches else (67.0, 79.0)
    spare = max(1.5, (MIN_SPAN_SEMITONES - (high - low)) / 2.0)
    return math.floor(low - spare), math.ceil(high + spare)


def _note_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Every semitone's name in a narrow range; only the natural notes in a wide one."""
    every = high - low <= 16
    return [
        (midi, note_name(midi))
        for midi in range(math.ceil(low), math.floor(high) + 1)
        if every or "#" not in note_name(midi)
    ]


def _guidance(plot: Plot, picture: Picture, t0: float, t1: float) -> None:
    """Shade each press over the note it placed (the whole height when that note is unknown)."""
    targets = {(target.attempt, target.note.index): target for target in picture.targets}
    spans = []
    for press in picture.presses_between(t0, t1):
        attempt = picture.attempt_at(press.t_s)
        target = None if attempt is None else targets.get((attempt.started.attempt, press.note_index))
        rows = (plot.y0, plot.y1) if target is None else (target.note.midi - 0.75, target.note.midi + 0.75)
        spans.append(((press.t_s, press.end_s), rows))
    plot.boxes(spans, GUIDANCE, opacity=0.22)


def _contour(plot: Plot, times: np.ndarray, rows: np.ndarray) -> None:
    """The voiced frames, one point per COLUMN_PX, one path per colour step."""
    points = pitch_points(times, rows[:, PITCH_HZ], rows[:, PITCH_CENTS_TARGET], COLUMN_PX / plot.px_per_x())
    off = np.minimum(OFF_CENTS, np.round(np.abs(points.cents) / CENTS_STEP) * CENTS_STEP)
    for step in np.unique(off):  # NaN (no note written) comes last, and once: np.unique folds NaNs together
        chosen = np.isnan(off) if math.isnan(step) else off == step
        plot.dashes(zip(points.times[chosen], points.midi[chosen], strict=True), cents_colour(float(step)), DASH_PX, 3)


def _mark_place(picture: Picture, grade: Grade) -> tuple[float, float]:
    """Where a verdict is drawn: above the middle of its written note."""
    onset = picture.onset_of(grade)
    target = picture.target_of(grade)
    return (onset if target is None else (onset + target.note.end_s) / 2.0), grade.note.midi + 0.9


def _verdict(plot: Plot, picture: Picture, grade: Grade) -> None:
    """A dot with the verdict as its tooltip, and a faulty note's faults in words under it."""
    note = grade.note
    x, y = _mark_place(picture, grade)
    title = f"bar {note.bar}, beat {note.beat:g}: " + ("clean" if grade.clean else "; ".join(note.reasons))
    name = "clean" if grade.clean else "faulty"
    plot.dot(x, y, 4.5, CLEAN if grade.clean else FAULTY, title=title, cls=f"grade {name}")
    if not grade.clean:
        plot.text(plot.x(x), plot.y(note.midi - 0.75) + 10, ", ".join(note.errors), anchor="middle", colour=FAULTY_INK)
