"""The pitch panel: a piano roll of the score's target notes (the coming ones included), the pitch heard drawn over
it coloured by how far off the written note it is, the note the follower thinks the student is on, each note's
grade as it lands, and the servos' guidance shaded under the notes it guided."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QColor

from flutex.host.pitch.notes import hz_to_midi
from flutex.tutor.lesson.events import AttemptStarted
from flutex.tutor.lesson.modes import FREE
from flutex.view.colours import CLEAN, FAULTY, GUIDANCE, IN_TUNE_CENTS, OFF_CENTS, cents_colour
from flutex.view.picture import PITCH_CENTS_NEAREST, PITCH_CENTS_TARGET, PITCH_HZ, Grade, Picture, Target
from flutex.view.qt.timeline import (
    AHEAD_S,
    BEHIND_S,
    INK,
    Curve,
    Layer,
    RectPool,
    ScrollingPlot,
    TextPool,
    between,
    decimate,
    pen,
    qcolor,
)

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# |cents| bands of one colour each: the contour is drawn as one curve per band instead of one colour per point
CENTS_EDGES = np.linspace(IN_TUNE_CENTS, OFF_CENTS, 5)
BAND_CENTS = (0.0, *((CENTS_EDGES[:-1] + CENTS_EDGES[1:]) / 2), OFF_CENTS, math.nan)
UNKNOWN_BAND = len(BAND_CENTS) - 1
MAX_GAP_S = 0.05  # frames further apart than this are not joined (the pitch went unvoiced between them)
NOTE_HEIGHT = 0.8  # semitones
MARK_ABOVE = NOTE_HEIGHT / 2 + 0.35  # a grade's mark sits this far above its note's middle, in semitones
TARGET_FILL, FOLLOWED_FILL = (205, 214, 228), (150, 170, 205)
ROLL_MARGIN = 1.5  # semitones above and below the notes shown ...
ROLL_STEP = 3  # ... rounded out to a multiple of this


def note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def cents_bands(cents: np.ndarray) -> np.ndarray:
    """Each frame's colour band (an index into BAND_CENTS)."""
    bands = np.digitize(np.abs(cents), CENTS_EDGES)
    bands[np.isnan(cents)] = UNKNOWN_BAND
    return bands


class PitchPanel(ScrollingPlot):
    def __init__(self, picture: Picture) -> None:
        super().__init__(
            picture,
            "Pitch against the score: green in tune (±10 cents), amber, red a quarter tone off; grades as they land; "
            "purple: the servos guiding",
            "note",
        )
        press_rects = RectPool(self.moving, z=0)
        self._target_rects = RectPool(self.moving, z=1, outline=pen(INK, alpha=90))
        followed_rects = RectPool(self.moving, z=2, outline=pen(INK, 2))
        self._contour = [Curve(self.moving, pen(cents_colour(c), 2.5), z=3, connect="pairs") for c in BAND_CENTS]
        note_text = TextPool(self.moving, anchor=(0.0, 0.0))
        grade_text = TextPool(self.moving, anchor=(0.0, 1.0))
        mark_text = TextPool(self.moving, anchor=(0.5, 0.5), point_size=11)
        attempt_text = TextPool(self.moving, anchor=(0.0, 0.0), point_size=9)
        self._notes = Layer(lambda targets: self._show_targets(targets, note_text))
        self._followed = Layer(followed_rects.show)
        self._presses = Layer(press_rects.show)
        self._grades = Layer(lambda grades: self._show_grades(grades, mark_text, grade_text))
        self._attempts = Layer(attempt_text.show)

    def draw_data(self, t_s: float) -> None:
        targets = self._targets_known(t_s)
        heard = self._contour_until(t_s)
        self._set_roll_range(targets, heard)
        self._notes.show(targets)
        self._followed.show(self._followed_rect(t_s, targets))
        self._presses.show(self._press_rects(t_s))
        self._grades.show(self._grades_landed(t_s))
        self._attempts.show(self._attempt_labels(t_s))

    def _targets_known(self, t_s: float) -> tuple[Target, ...]:
        """The written notes in view of the attempts begun by now (an attempt's notes are known when it starts)."""
        attempt = self.picture.attempt_at(t_s)
        if attempt is None:
            return ()
        current = attempt.started.attempt
        return tuple(
            target
            for target in self.picture.targets_between(t_s - BEHIND_S, t_s + AHEAD_S)
            if target.attempt <= current
        )

    def _contour_until(self, t_s: float) -> np.ndarray:
        """Draw the pitch heard up to now, one curve per colour band; returns it as fractional MIDI numbers."""
        times, rows = decimate(*self.picture.pitch.window(t_s - BEHIND_S, t_s))
        hz = rows[:, PITCH_HZ]
        voiced = hz > 0.0
        heard = np.full(len(hz), np.nan)
        heard[voiced] = hz_to_midi(hz[voiced])
        column = PITCH_CENTS_TARGET if self.picture.targets else PITCH_CENTS_NEAREST
        bands = cents_bands(rows[:, column])
        joined = voiced[:-1] & voiced[1:] & (np.diff(times) < MAX_GAP_S)
        for band, curve in enumerate(self._contour):
            starts = np.flatnonzero(joined & (bands[:-1] == band))
            ends = starts + 1
            curve.set_points(
                np.column_stack((times[starts], times[ends])).ravel(),
                np.column_stack((heard[starts], heard[ends])).ravel(),
            )
        return heard

    def _set_roll_range(self, targets: tuple[Target, ...], heard: np.ndarray) -> None:
        """Around the notes written and heard, on a grid of ROLL_STEP semitones so that it seldom moves."""
        midis = [target.note.midi for target in targets]
        if np.isfinite(heard).any():
            midis += [float(np.nanmin(heard)), float(np.nanmax(heard))]
        if not midis:
            midis = [60.0, 84.0]
        low = math.floor((min(midis) - ROLL_MARGIN) / ROLL_STEP) * ROLL_STEP
        high = math.ceil((max(midis) + ROLL_MARGIN) / ROLL_STEP) * ROLL_STEP
        self.set_y_range(low - 0.5, high + 0.5, lambda: [(m, note_name(m)) for m in range(low, high + 1)])

    def _show_targets(self, targets: tuple[Target, ...], text: TextPool) -> None:
        fill = qcolor(TARGET_FILL)
        self._target_rects.show(
            [_note_rect(target.note.onset_s, target.note.end_s, target.note.midi, fill) for target in targets]
        )
        text.show([(t.note.onset_s, t.note.midi + NOTE_HEIGHT / 2, note_name(t.note.midi), INK) for t in targets])

    def _followed_rect(self, t_s: float, targets: tuple[Target, ...]) -> tuple:
        """The note the follower placed the student on last, outlined."""
        position = self.picture.position_at(t_s)
        followed = [t for t in targets if (t.attempt, t.note.index) == position]
        fill = qcolor(FOLLOWED_FILL)
        return tuple(_note_rect(t.note.onset_s, t.note.end_s, t.note.midi, fill) for t in followed)

    def _press_rects(self, t_s: float) -> tuple:
        """The servos' presses up to now, under the note each guided, darker the harder they pressed."""
        rects = []
        for press in self.picture.presses_between(t_s - BEHIND_S, t_s):
            attempt = self.picture.attempt_at(press.t_s)
            target = self.picture.target_for(attempt.started.attempt if attempt else 0, press.note_index)
            if target is None or press.t_s > t_s:
                continue
            alpha = round(60 + 160 * press.force_permille / 1000)
            y0 = target.note.midi - NOTE_HEIGHT / 2 - 0.4
            rects.append((press.t_s, min(press.end_s, t_s) - press.t_s, y0, 0.3, qcolor(GUIDANCE, alpha)))
        return tuple(rects)

    def _grades_landed(self, t_s: float) -> tuple[tuple[float, Grade], ...]:
        """The grades given by now to notes in view, each with its note's onset."""
        landed = between(self.picture.grades, t_s - BEHIND_S, t_s, key=lambda grade: grade.t_s)
        placed = ((self.picture.onset_of(grade), grade) for grade in landed)
        return tuple((onset, grade) for onset, grade in placed if onset >= t_s - BEHIND_S - 1.0)

    def _show_grades(self, grades: tuple[tuple[float, Grade], ...], marks: TextPool, text: TextPool) -> None:
        """A dot over each clean note, a cross and the errors over each faulty one."""
        marks.show(
            [
                (onset + 0.1, grade.note.midi + MARK_ABOVE, *(("●", CLEAN) if grade.clean else ("✖", FAULTY)))
                for onset, grade in grades
            ]
        )
        text.show(
            [
                (onset, grade.note.midi + MARK_ABOVE + 0.25, ", ".join(grade.note.errors), FAULTY)
                for onset, grade in grades
                if not grade.clean
            ]
        )

    def _attempt_labels(self, t_s: float) -> tuple:
        top = self.getPlotItem().getViewBox().viewRange()[1][1]
        shown = between(self.picture.attempts, t_s - BEHIND_S - 2.0, t_s, key=lambda attempt: attempt.t_s)
        return tuple((a.t_s, top, _attempt_title(a.started), INK) for a in shown)


def _note_rect(onset_s: float, end_s: float, midi: int, fill: QColor) -> tuple:
    return (onset_s, end_s - onset_s, midi - NOTE_HEIGHT / 2, NOTE_HEIGHT, fill)


def _attempt_title(started: AttemptStarted) -> str:
    force = f" {started.force_permille / 10:.0f}%" if started.mode != FREE else ""
    span = f"bars {started.first_bar}-{started.last_bar}"
    return f"attempt {started.attempt}: {span}, {started.mode}{force}, {started.bpm:.0f} bpm"
