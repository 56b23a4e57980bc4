"""What every view draws from: a session's timeline folded into series and lists that can be asked "what was
there between t0 and t1" or "what held at t".

One picture serves the live window (fed from the session's thread tap), the replay (fed a whole recording at once,
then read at the scrubber's time) and the HTML report (fed a recording, then read over the whole lesson), so the
three never disagree. It only reads events: it holds no session, no board and no lesson, and moves nothing.

Times are seconds on the session timeline (`Stamped.t_s`). Events are fed in the order they were published; a few
are stamped earlier than the one before them (a note is stamped at its onset and published once it is sure), which
the series keep in time order.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.breath.phases import PhaseChange
from flutex.host.breath.share import Inhale
from flutex.host.link.events import BeltSample, HapticStatus, LinkLost, LinkRestored
from flutex.host.pitch.notes import hz_to_midi
from flutex.host.session.events import (
    RECORDED_TYPES,
    AudioChunk,
    FingeringChanged,
    HapticPress,
    HapticRelease,
    NoteEnded,
    NoteStarted,
    PitchFrame,
    Stamped,
)
from flutex.tutor.assess.events import ExtraNote, NoteGraded, Position, RuleVerdict, SegmentFinished
from flutex.tutor.assess.rules import cents_between
from flutex.tutor.lesson.events import (
    AttemptEnded,
    AttemptScore,
    AttemptStarted,
    ChatLine,
    Click,
    LessonBegan,
    MasteryChanged,
    TargetNote,
)

# Everything a lesson's recording may hold that a view reads. Audio is left out on purpose: its pitch is recorded
# as frames, and decoding an hour of PCM to throw it away would make opening a replay slow.
VIEW_TYPES: tuple[type, ...] = (
    *(cls for cls in RECORDED_TYPES if cls is not AudioChunk),
    Position,
    RuleVerdict,
    NoteGraded,
    ExtraNote,
    SegmentFinished,
    LessonBegan,
    AttemptStarted,
    AttemptScore,
    AttemptEnded,
    MasteryChanged,
    ChatLine,
    Click,
)
BELT_WIDTH = 4
# pitch: hz (0 unvoiced), confidence, cents from the target note sounding then (NaN: none), cents from the nearest
# equal-tempered note (NaN when unvoiced)
PITCH_HZ, PITCH_CONFIDENCE, PITCH_CENTS_TARGET, PITCH_CENTS_NEAREST = range(4)
# haptic status: clutch engaged, guiding, emergency stop, watchdog tripped, help-me pedal held (0/1), then from
# STATUS_POSITIONS on the servo positions (permille)
STATUS_CLUTCH, STATUS_GUIDING, STATUS_ESTOP, STATUS_WATCHDOG, STATUS_HELP, STATUS_POSITIONS = range(6)


class Series:
    """A growable table of rows of `width` floats in time order, with its times: appends are amortised O(1), and
    a window or a moment is found by bisection."""

    def __init__(self, width: int, capacity: int = 1024) -> None:
        self.width = width
        self._times = np.empty(capacity)
        self._values = np.empty((capacity, width))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def times(self) -> np.ndarray:
        return self._times[: self._size]

    @property
    def values(self) -> np.ndarray:
        return self._values[: self._size]

    def append(self, t_s: float, row: Sequence[float]) -> None:
        """Add a row at `t_s`; one stamped before the last is put in its place (rare: it costs a move)."""
        if self._size == len(self._times):
            self._times = np.resize(self._times, 2 * self._size)
            self._values = np.resize(self._values, (2 * self._size, self.width))
        at = self._size
        if at and t_s < self._times[at - 1]:
            at = int(np.searchsorted(self._times[: self._size], t_s, side="right"))
            self._times[at + 1 : self._size + 1] = self._times[at : self._size]
            self._values[at + 1 : self._size + 1] = self._values[at : self._size]
        self._times[at] = t_s
        self._values[at] = row
        self._size += 1

    def window(self, t0_s: float, t1_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The times and rows with t0 <= t <= t1 (views, not copies: read them before the next append)."""
        times = self.times
        lo = int(np.searchsorted(times, t0_s, side="left"))
        hi = int(np.searchsorted(times, t1_s, side="right"))
        return times[lo:hi], self.values[lo:hi]

    def at(self, t_s: float) -> np.ndarray | None:
        """The last row at or before `t_s` (None before the first)."""
        k = int(np.searchsorted(self.times, t_s, side="right"))
        return None if k == 0 else self.values[k - 1]


@dataclass(frozen=True, slots=True)
class Grade:
    """A note's grade as it landed: at `t_s` (when it became decidable), in attempt `attempt`."""

    t_s: float
    attempt: int
    note: NoteGraded

    @property
    def clean(self) -> bool:
        return not self.note.errors


@dataclass(frozen=True, slots=True)
class Target:
    """A written note of attempt `attempt` on the timeline (see `TargetNote`)."""

    attempt: int
    note: TargetNote


@dataclass(frozen=True, slots=True)
class Press:
    """The servos pressing `holes_mask` at `force_permille` from `t_s` until `end_s` (the press's planned end, or the
    release that cut it short)."""

    t_s: float
    end_s: float
    holes_mask: int
    force_permille: int
    note_index: int


@dataclass(frozen=True, slots=True)
class Attempt:
    """An attempt as the picture knows it: its start, its settings, and how it went once it ended at `ended_s`
    (None before, and for an attempt cut short)."""

    t_s: float
    started: AttemptStarted
    ended: AttemptEnded | None = None
    ended_s: float | None = None


class Picture:
    """A session's timeline as a view reads it. Feed it every event (`feed`), in publication order; unknown events
    are ignored. Read it with the attributes and the `*_at` / `*_between` queries. Not thread-safe: feed and read it
    from one thread (the window's)."""

    def __init__(self, profile: InstrumentProfile | None = None) -> None:
        self.profile = profile or InstrumentProfile.load()
        self.start_s: float | None = None
        self.end_s: float | None = None
        self.events = 0
        self.lesson: LessonBegan | None = None
        self.belt = Series(BELT_WIDTH)
        self.phases: list[tuple[float, str]] = []  # (t, "inhale" | "exhale" | "hold"), in time order
        self.inhales: list[Inhale] = []
        self.pitch = Series(4)
        self.notes: list[tuple[float, float, int]] = []  # notes heard: (onset, end, midi); end NaN while sounding
        self.fingering = Series(1)  # closed mask as the board sampled it
        self.status = Series(STATUS_POSITIONS + len(self.profile.fingers))
        self.presses: list[Press] = []
        self.attempts: list[Attempt] = []
        self.targets: list[Target] = []  # in onset order
        self.grades: list[Grade] = []  # in the order they landed
        self.extra_notes: list[tuple[float, int, ExtraNote]] = []  # (t, attempt, note)
        self.segments: list[tuple[float, int, SegmentFinished]] = []  # (t, attempt, segment finished)
        self.positions: list[tuple[float, int, int]] = []  # (t, attempt, note index): where the follower was
        self.mastery: list[tuple[float, MasteryChanged]] = []
        self.link_losses: list[tuple[float, float]] = []  # (lost at, restored at; NaN while lost)
        self.chat: list[tuple[float, ChatLine]] = []  # the conversation with the agent, as said
        self._press_starts: list[float] = []
        self._onsets: list[float] = []  # the targets' onsets, for bisection
        self._target_by_note: dict[tuple[int, int], Target] = {}  # (attempt, note index) -> its target

    def feed_all(self, events: Iterable[Stamped]) -> None:
        for stamped in events:
            self.feed(stamped)

    def feed(self, stamped: Stamped) -> None:
        t, event = stamped.t_s, stamped.event
        self.events += 1
        self.start_s = t if self.start_s is None else min(self.start_s, t)
        self.end_s = t if self.end_s is None else max(self.end_s, t)
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, t, event)

    # --- what held at a moment -------------------------------------------------------------------------------------

    def attempt_at(self, t_s: float) -> Attempt | None:
        """The attempt started last at or before `t_s` (it may have ended)."""
        k = bisect.bisect_right(self.attempts, t_s, key=lambda attempt: attempt.t_s)
        return self.attempts[k - 1] if k else None

    def last_ended_at(self, t_s: float) -> Attempt | None:
        """The attempt that ended last at or before `t_s` (an attempt cut short never ends)."""
        return next(
            (a for a in reversed(self.attempts) if a.ended_s is not None and a.ended_s <= t_s),
            None,
        )

    def target_at(self, t_s: float) -> Target | None:
        """The written note sounding at `t_s` (onset <= t < end), if any."""
        k = bisect.bisect_right(self._onsets, t_s)
        for target in reversed(self.targets[max(0, k - 4) : k]):
            if target.note.onset_s <= t_s < target.note.end_s:
                return target
        return None

    def expected_mask_at(self, t_s: float, lead_s: float = 0.0) -> int | None:
        """The fingering the score asks for at `t_s` + `lead_s` (None: no note written then, or sung)."""
        target = self.target_at(t_s + lead_s)
        return None if target is None or target.note.closed_mask < 0 else target.note.closed_mask

    def actual_mask_at(self, t_s: float) -> int | None:
        row = self.fingering.at(t_s)
        return None if row is None else int(row[0])

    def pressing_at(self, t_s: float) -> Press | None:
        """The press the servos were making at `t_s`, if any (presses follow one another: one at a time)."""
        k = bisect.bisect_right(self._press_starts, t_s)
        return self.presses[k - 1] if k and t_s < self.presses[k - 1].end_s else None

    def status_at(self, t_s: float) -> np.ndarray | None:
        """The safety envelope's last reported state at `t_s`: see STATUS_* and the servo positions after them."""
        return self.status.at(t_s)

    def phase_at(self, t_s: float) -> str | None:
        k = bisect.bisect_right(self.phases, t_s, key=lambda item: item[0])
        return self.phases[k - 1][1] if k else None

    def mastery_at(self, t_s: float) -> tuple[float, ...] | None:
        k = bisect.bisect_right(self.mastery, t_s, key=lambda item: item[0])
        return self.mastery[k - 1][1].mastery if k else None

    def position_at(self, t_s: float) -> tuple[int, int] | None:
        """(attempt, note index) where the follower placed the student last at or before `t_s`."""
        k = bisect.bisect_right(self.positions, t_s, key=lambda item: item[0])
        return self.positions[k - 1][1:] if k else None

    # --- what happened in a stretch --------------------------------------------------------------------------------

    def targets_between(self, t0_s: float, t1_s: float) -> list[Target]:
        """Written notes that sound at some moment of [t0, t1]."""
        hi = bisect.bisect_right(self._onsets, t1_s)
        return [target for target in self.targets[:hi] if target.note.end_s >= t0_s]

    def grades_between(self, t0_s: float, t1_s: float) -> list[Grade]:
        """Grades whose note was written to sound within [t0, t1] (the note's place, not the verdict's moment)."""
        return [grade for grade in self.grades if t0_s <= self.onset_of(grade) <= t1_s]

    def onset_of(self, grade: Grade) -> float:
        """When the graded note was written to start (its verdict's time when its target is unknown)."""
        target = self._target_by_note.get((grade.attempt, grade.note.index))
        return grade.t_s if target is None else target.note.onset_s

    def target_of(self, grade: Grade) -> Target | None:
        return self.target_for(grade.attempt, grade.note.index)

    def target_for(self, attempt: int, index: int) -> Target | None:
        """Note `index` of attempt `attempt`'s score (as grades and presses count them)."""
        return self._target_by_note.get((attempt, index))

    def chat_until(self, t_s: float) -> list[tuple[float, ChatLine]]:
        """The conversation as it stood at `t_s`."""
        return self.chat[: bisect.bisect_right(self.chat, t_s, key=lambda item: item[0])]

    def inhales_between(self, t0_s: float, t1_s: float) -> list[Inhale]:
        return [inhale for inhale in self.inhales if inhale.t_end_s >= t0_s and inhale.t_start_s <= t1_s]

    def presses_between(self, t0_s: float, t1_s: float) -> list[Press]:
        return [press for press in self.presses if press.end_s >= t0_s and press.t_s <= t1_s]

    # --- feeding -------------------------------------------------------------------------------------------------

    def _on_belt(self, t: float, event: BeltSample) -> None:
        self.belt.append(t, event.channels_pa)

    def _on_phase(self, t: float, event: PhaseChange) -> None:
        bisect.insort(self.phases, (t, str(event.phase.value)), key=lambda item: item[0])

    def _on_inhale(self, _t: float, event: Inhale) -> None:
        self.inhales.append(event)

    def _on_pitch(self, t: float, event: PitchFrame) -> None:
        target, nearest = math.nan, math.nan
        if event.voiced and event.hz > 0.0:
            written = self.target_at(t)
            if written is not None:
                target = cents_between(event.hz, written.note.midi)
            heard = float(hz_to_midi(np.float64(event.hz)))  # fractional MIDI number
            nearest = 100.0 * (heard - round(heard))
        self.pitch.append(t, (event.hz if event.voiced else 0.0, event.confidence, target, nearest))

    def _on_note_started(self, t: float, event: NoteStarted) -> None:
        self.notes.append((t, math.nan, event.midi))

    def _on_note_ended(self, t: float, event: NoteEnded) -> None:
        for k in range(len(self.notes) - 1, max(-1, len(self.notes) - 8), -1):
            onset, end, midi = self.notes[k]
            if math.isnan(end) and midi == event.midi:
                self.notes[k] = (onset, t, midi)
                return

    def _on_fingering(self, t: float, event: FingeringChanged) -> None:
        self.fingering.append(t, (event.closed_mask,))

    def _on_status(self, t: float, event: HapticStatus) -> None:
        flags = (event.clutch_engaged, event.guiding, event.emergency_stop, event.watchdog_tripped, event.help_held)
        positions = tuple(event.positions[: len(self.profile.fingers)])
        padding = (0,) * (len(self.profile.fingers) - len(positions))
        self.status.append(t, (*(float(flag) for flag in flags), *positions, *padding))

    def _on_press(self, t: float, event: HapticPress) -> None:
        self._end_press(t)  # a new press ends the one before
        self.presses.append(Press(t, event.until_s, event.holes_mask, event.force_permille, event.note_index))
        self._press_starts.append(t)

    def _on_release(self, t: float, _event: HapticRelease) -> None:
        self._end_press(t)

    def _end_press(self, t: float) -> None:
        """The last press, if it was still on at `t`, ends there."""
        if self.presses and self.presses[-1].end_s > t:
            last = self.presses[-1]
            self.presses[-1] = dataclasses.replace(last, end_s=max(last.t_s, t))

    def _on_lesson(self, _t: float, event: LessonBegan) -> None:
        self.lesson = event

    def _on_attempt_started(self, t: float, event: AttemptStarted) -> None:
        self.attempts.append(Attempt(t, event))

    def _on_attempt_ended(self, t: float, event: AttemptEnded) -> None:
        for k in range(len(self.attempts) - 1, -1, -1):
            if self.attempts[k].started.attempt == event.attempt:
                self.attempts[k] = Attempt(self.attempts[k].t_s, self.attempts[k].started, event, t)
                return

    def _on_score(self, _t: float, event: AttemptScore) -> None:
        for note in event.notes:
            target = Target(event.attempt, note)
            k = bisect.bisect_right(self._onsets, note.onset_s)
            self._onsets.insert(k, note.onset_s)
            self.targets.insert(k, target)
            self._target_by_note[(event.attempt, note.index)] = target

    def _current_attempt(self) -> int:
        return self.attempts[-1].started.attempt if self.attempts else 0

    def _on_graded(self, t: float, event: NoteGraded) -> None:
        self.grades.append(Grade(t, self._current_attempt(), event))

    def _on_extra(self, t: float, event: ExtraNote) -> None:
        self.extra_notes.append((t, self._current_attempt(), event))

    def _on_segment(self, t: float, event: SegmentFinished) -> None:
        self.segments.append((t, self._current_attempt(), event))

    def _on_position(self, t: float, event: Position) -> None:
        self.positions.append((t, self._current_attempt(), event.index))

    def _on_mastery(self, t: float, event: MasteryChanged) -> None:
        self.mastery.append((t, event))

    def _on_chat(self, t: float, event: ChatLine) -> None:
        self.chat.append((t, event))

    def _on_lost(self, t: float, _event: LinkLost) -> None:
        self.link_losses.append((t, math.nan))

    def _on_restored(self, t: float, _event: LinkRestored) -> None:
        if self.link_losses and math.isnan(self.link_losses[-1][1]):
            self.link_losses[-1] = (self.link_losses[-1][0], t)


_HANDLERS = {
    BeltSample: Picture._on_belt,
    PhaseChange: Picture._on_phase,
    Inhale: Picture._on_inhale,
    PitchFrame: Picture._on_pitch,
    NoteStarted: Picture._on_note_started,
    NoteEnded: Picture._on_note_ended,
    FingeringChanged: Picture._on_fingering,
    HapticStatus: Picture._on_status,
    HapticPress: Picture._on_press,
    HapticRelease: Picture._on_release,
    LessonBegan: Picture._on_lesson,
    AttemptStarted: Picture._on_attempt_started,
    AttemptEnded: Picture._on_attempt_ended,
    AttemptScore: Picture._on_score,
    NoteGraded: Picture._on_graded,
    ExtraNote: Picture._on_extra,
    SegmentFinished: Picture._on_segment,
    Position: Picture._on_position,
    MasteryChanged: Picture._on_mastery,
    ChatLine: Picture._on_chat,
    LinkLost: Picture._on_lost,
    LinkRestored: Picture._on_restored,
}
# The event types a picture reads: a live feed may leave the rest out (raw flute samples, audio, clicks...).
SHOWN_TYPES = frozenset(_HANDLERS)
