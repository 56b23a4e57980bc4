"""The grader: every score note judged by every rule, on the session timeline, as soon as each rule can decide.

`Grader.feed` takes the timeline's events in the order they were published (link samples and the pipeline's derived
events alike) and returns the assessment events they complete, each stamped when its verdict became decidable.
Nothing here reads a clock: "now" is the newest stamp seen on each stream (the flute's for fingerings, the pitch
frames' for the sound, the belt's for breath), so the same events in the same order give the same grades, bit for
bit, live or replayed. See docs/assessment.md for each rule and its threshold.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.breath.phrases import PhraseStart
from flutex.host.breath.share import Inhale
from flutex.host.link.events import BeltSample, FluteSample
from flutex.host.pitch.config import note_name
from flutex.host.session.events import FingeringChanged, NoteEnded, NoteStarted, PitchFrame, Stamped
from flutex.tutor.assess import rules as judge
from flutex.tutor.assess.events import (
    FINGERING,
    MISSED,
    NO_BREATH,
    SHORT,
    ExtraNote,
    NoteGraded,
    RuleVerdict,
    SegmentFinished,
)
from flutex.tutor.assess.follower import FollowerConfig, ScoreFollower
from flutex.tutor.assess.report import PieceReport
from flutex.tutor.assess.rules import GradingRules
from flutex.tutor.score.model import Score, ScoreNote

# The rules a note is judged by, in the order its errors are listed.
PRESENCE, FINGERS, PITCH_RULE, TIMING, DURATION, BREATH = (
    "presence",
    "fingering",
    "pitch",
    "timing",
    "duration",
    "breath",
)
RULE_ORDER = (PRESENCE, FINGERS, PITCH_RULE, TIMING, DURATION, BREATH)
SETTLE_S = 0.1  # how far a stream must run past a moment before an event stamped there can no longer arrive
KEEP_S = 30.0  # fingerings and pitch frames kept this far behind the newest (bounded memory in a long session)


class Fitted(Protocol):
    """A score fitted to an instrument (`flutex.tutor.score.fit.FittedScore`): `fingerings[i]` is (closed mask,
    overblown) for `score.notes[i]`, None for a rest."""

    @property
    def score(self) -> Score: ...
    @property
    def profile(self) -> InstrumentProfile: ...
    @property
    def fingerings(self) -> Sequence[tuple[int, bool] | None]: ...


@dataclass
class _Note:
    """One sounding score note's grading in progress."""

    note: ScoreNote
    k: int  # into the follower's sounding notes
    fingering: tuple[int, bool] | None  # the (closed mask, overblown) it wants; None: not judged (the voice, or
    # a note the instrument cannot play, left in by a lenient fit)
    rules: set[str] = field(default_factory=set)  # the rules it is judged by, once known
    verdicts: dict[str, RuleVerdict] = field(default_factory=dict)
    onset_s: float | None = None
    end_s: float | None = None  # when its own played note stopped sounding
    next_onset_s: float | None = None  # the next played onset after it (a score note's or an extra's)
    cents: float | None = None
    onset_error_s: float | None = None
    graded: bool = False
    decided_s: float = -math.inf  # when its latest verdict became decidable

    @property
    def where(self) -> str:
        return self.note.where

    @property
    def mask(self) -> int | None:
        return None if self.fingering is None else self.fingering[0]

    @property
    def window_end_s(self) -> float:
        """Where its fingering and sound stop counting: the next onset, or its sound's end."""
        ends = [t for t in (self.next_onset_s, self.end_s) if t is not None]
        return min(ends) if ends else math.inf


class Grader:
    """Grades one play-through of `fitted.score` whose beat 0 is due at `start_s` on the timeline."""

    def __init__(
        self,
        fitted: Fitted,
        start_s: float,
        *,
        voice: bool = False,
        rules: GradingRules | None = None,
        follower: FollowerConfig | None = None,
        breath: bool = True,
    ) -> None:
        """`breath`: breath marks are judged (from the belt's breath events) only when the session can derive
        them, i.e. it has a belt calibration; a belt streaming without one says nothing of breaths."""
        self.score = fitted.score
        self.profile = None if voice else fitted.profile
        self.rules = rules or GradingRules()
        self.follower = ScoreFollower(self.score, start_s, follower)
        self._notes = [
            _Note(note, k, None if voice else fitted.fingerings[note.index])
            for k, note in enumerate(self.follower.notes)
        ]
        self._by_index = {state.note.index: state for state in self._notes}
        self._extras: list[ExtraNote] = []
        self._played: list[tuple[float, _Note | None]] = []  # every played onset and the note it stands for
        self._masks: list[tuple[float, int]] = []  # fingering changes (t_s, closed mask)
        self._frames: list[tuple[float, float]] = []  # voiced pitch frames (t_s, hz)
        self._inhales: list[float] = []  # when each breath in peaked
        self._belt = False
        self._judge_breath = breath
        self._now = -math.inf  # newest stamp of any kind: no verdict is stamped later than this
        self._flute_s = self._sound_s = self._belt_s = -math.inf
        self._ended_s = -math.inf  # the latest end of a played note
        self._slur: tuple[float, int] | None = None  # a fingering taken while a note sounded: (when, closed mask)
        self._open = 0  # the first note not yet graded
        segments = sorted({note.segment for note in self.follower.notes})
        self._segments = [(segment, [s for s in self._notes if s.note.segment == segment]) for segment in segments]
        self._graded: dict[int, NoteGraded] = {}
        self._out: list[Stamped] = []
        self._handlers: dict[type, Callable[[Stamped], None]] = {
            NoteStarted: self._note_started,
            NoteEnded: self._note_ended,
            PitchFrame: self._pitch_frame,
            FingeringChanged: self._fingering,
            FluteSample: self._flute_sample,
            BeltSample: self._belt_sample,
            Inhale: self._inhale,
            PhraseStart: self._phrase_start,
        }

    # --- input -----------------------------------------------------------------------------------------------

    def feed(self, stamped: Stamped) -> list[Stamped]:
        """The assessment events this timeline event completes (often none), each stamped when it was decidable."""
        self._now = max(self._now, stamped.t_s)
        handler = self._handlers.get(type(stamped.event))
        if handler is not None:
            handler(stamped)
        self._decide()
        out, self._out = self._out, []
        return out

    def finish(self) -> PieceReport:
        """The end of the play-through: notes never heard are missed and every open rule decides on what it has.
        The events this decides are the report's `final_events`."""
        self._flute_s = self._sound_s = self._belt_s = self._now
        for state in self._notes:
            if not state.rules:
                self._miss(state, min(self.follower.expected_s(state.k) + self._written_s(state), self._now))
        self._decide(ended=True)
        final, self._out = tuple(self._out), []
        return PieceReport.build(self.score, [self._graded[k] for k in sorted(self._graded)], self._extras, final)

    # --- the timeline's events -------------------------------------------------------------------------------

    def _note_started(self, stamped: Stamped) -> None:
        self._onset(stamped.t_s, stamped.event.midi)

    def _onset(self, t_s: float, midi: int) -> None:
        """A played note began at `t_s` (heard, or slurred to with the fingers): match it and judge its timing."""
        if self._played and self._played[-1][1] is not None and self._played[-1][1].next_onset_s is None:
            self._played[-1][1].next_onset_s = t_s
        match = self.follower.on_onset(t_s, midi)
        if match.index is None:
            before = self._by_index.get(match.after_index)
            place = "before the first note" if before is None else f"after {before.where} ({_name(before.note)})"
            extra = ExtraNote(match.after_index, midi, f"{place}: an extra {note_name(midi)}")
            self._extras.append(extra)
            self._emit(t_s, extra)
            self._played.append((t_s, None))
            return
        for index in match.missed:
            self._miss(self._by_index[index], t_s)
        state = self._by_index[match.index]
        state.onset_s = t_s
        state.rules = {PRESENCE, PITCH_RULE, TIMING, DURATION} | self._optional_rules(state)
        self._verdict(t_s, state, PRESENCE, None, f"{state.where}: played")
        assert match.expected_s is not None
        state.onset_error_s = t_s - match.expected_s
        error = judge.timing_error(state.onset_error_s, self.rules.timing_s)
        self._verdict(t_s, state, TIMING, error, judge.timing_reason(state.where, state.onset_error_s))
        self._played.append((t_s, state))

    def _note_ended(self, stamped: Stamped) -> None:
        event: NoteEnded = stamped.event
        self._ended_s = max(self._ended_s, stamped.t_s)
        onset = stamped.t_s - event.duration_s
        for t_s, state in reversed(self._played):
            if abs(t_s - onset) < 1e-3:
                if state is not None and state.end_s is None:
                    state.end_s = stamped.t_s
                return

    def _pitch_frame(self, stamped: Stamped) -> None:
        frame: PitchFrame = stamped.event
        self._sound_s = max(self._sound_s, stamped.t_s)
        if frame.voiced and frame.hz > 0:
            self._frames.append((stamped.t_s, frame.hz))
            _forget(self._frames, stamped.t_s - KEEP_S)

    def _fingering(self, stamped: Stamped) -> None:
        self._flute_s = max(self._flute_s, stamped.t_s)
        self._masks.append((stamped.t_s, stamped.event.closed_mask))
        self._slur = (stamped.t_s, stamped.event.closed_mask) if self._sounding(stamped.t_s) else None
        _forget(self._masks, stamped.t_s - KEEP_S)

    def _flute_sample(self, stamped: Stamped) -> None:
        self._flute_s = max(self._flute_s, stamped.t_s)

    def _belt_sample(self, stamped: Stamped) -> None:
        self._belt = True
        self._belt_s = max(self._belt_s, stamped.t_s)

    def _inhale(self, stamped: Stamped) -> None:
        self._inhales.append(stamped.event.t_end_s)

    def _phrase_start(self, stamped: Stamped) -> None:
        if stamped.event.inhale is not None:
            self._inhales.append(stamped.event.inhale.t_end_s)

    # --- deciding --------------------------------------------------------------------------------------------

    def _decide(self, ended: bool = False) -> None:
        """Every rule that the streams so far let decide, then the notes and segments thereby complete."""
        self._slurred()
        upcoming = self.follower.next_k
        if upcoming < len(self._notes) and not self._notes[upcoming].rules:
            self._fingers(self._notes[upcoming], ended=False)  # a right fingering counts before its onset is heard
        reached = self._notes[self._open : len(self._notes) if ended else self.follower.next_k]  # matched or missed
        for state in reached:
            if state.onset_s is None or state.graded:
                continue
            self._fingers(state, ended)
            self._pitch(state, ended)
            self._duration(state, ended)
            self._breath(state, ended)
        for state in reached:
            if state.rules and not state.graded and state.rules <= state.verdicts.keys():
                self._grade(state)
        while self._open < len(self._notes) and self._notes[self._open].graded:
            self._open += 1
        self._finish_segments()
        if not ended:
            self._move()

    def _sounding(self, t_s: float) -> bool:
        """Whether a played note sounded from `t_s` for at least `hold_s`, as far as the note events so far tell."""
        last_onset = self._played[-1][0] if self._played else math.inf
        return last_onset < t_s and (self._ended_s <= last_onset or self._ended_s > t_s + self.rules.hold_s)

    def _slurred(self) -> None:
        """A slur with the fingers: the fingering of the note due next, taken while a note sounds and held, with no
        onset heard near it (the new pitch too close to the old one for the note segmenter to cut: a note played a
        semitone off, then its neighbour), is that note's onset. The score and the hole sensors say what the sound
        alone cannot; the voice has no such help."""
        if self._slur is None:
            return
        t_s, mask = self._slur
        if self._flute_s < t_s + self.rules.hold_s or self._sound_s < t_s + SETTLE_S + self.rules.hold_s:
            return
        self._slur = None
        k = self.follower.next_k
        heard = any(abs(onset - t_s) <= SETTLE_S for onset, _ in self._played[-2:])
        if k < len(self._notes) and self._notes[k].mask == mask and not heard and self._sounding(t_s):
            midi = self._notes[k].note.midi
            assert midi is not None
            self._onset(t_s, midi)

    def _fingers(self, state: _Note, ended: bool) -> None:
        """Right once the wanted fingering was held `hold_s` (from `finger_lead_s` before the onset); wrong once
        another was held `wrong_hold_s`, or when the note is over without the right one held."""
        if state.mask is None or FINGERS in state.verdicts:
            return
        heard = state.onset_s is not None
        onset = state.onset_s if heard else self.follower.expected_s(state.k)
        assert onset is not None
        start = onset - self.rules.finger_lead_s
        end = min(state.window_end_s, self._flute_s)
        longest: tuple[float, int] | None = None
        for run_start, run_end, mask in self._runs(start, end):
            length = run_end - run_start
            if mask == state.mask and length >= self.rules.hold_s:
                self._verdict(run_start + self.rules.hold_s, state, FINGERS, None, f"{state.where}: fingered right")
                return
            if mask != state.mask and heard and length >= self.rules.wrong_hold_s:
                self._wrong_fingering(run_start + self.rules.wrong_hold_s, state, mask)
                return
            if mask != state.mask and (longest is None or length > longest[0]):
                longest = (length, mask)
        closed = ended or state.window_end_s <= self._flute_s
        if heard and closed:
            if longest is None:
                self._verdict(end, state, FINGERS, None, f"{state.where}: fingered right")
            else:
                self._wrong_fingering(end, state, longest[1])

    def _wrong_fingering(self, t_s: float, state: _Note, mask: int) -> None:
        assert self.profile is not None and state.fingering is not None and state.note.midi is not None
        played = self.profile.midi_for(mask, state.fingering[1])
        self._verdict(t_s, state, FINGERS, FINGERING, judge.fingering_reason(state.where, state.note.midi, played))

    def _runs(self, start: float, end: float) -> list[tuple[float, float, int]]:
        """The fingerings held between `start` and `end`, clipped to them: (from, to, closed mask)."""
        first = max(bisect.bisect_right(self._masks, (start, math.inf)) - 1, 0)
        changes = self._masks[first:]
        runs = []
        for (t_s, mask), after in zip(changes, [*changes[1:], (end, -1)], strict=False):
            run_start, run_end = max(t_s, start), min(after[0], end)
            if run_end > run_start:
                runs.append((run_start, run_end, mask))
        return runs

    def _pitch(self, state: _Note, ended: bool) -> None:
        """The median of the voiced frames over `pitch_span_s` after the attack (`pitch_skip_s`); with fewer than
        `min_frames` there, the first `min_frames` after it; a note too short for that, what it has."""
        if PITCH_RULE in state.verdicts or PITCH_RULE not in state.rules:
            return
        assert state.onset_s is not None and state.note.midi is not None
        start = state.onset_s + self.rules.pitch_skip_s
        span_end = start + self.rules.pitch_span_s
        limit = state.window_end_s
        frames = self._voiced(start, min(limit, self._sound_s))
        in_span = [hz for t_s, hz in frames if t_s < span_end]
        if self._sound_s >= span_end and len(in_span) >= self.rules.min_frames:
            chosen, at = in_span, span_end
        elif self._sound_s >= span_end and len(frames) >= self.rules.min_frames:
            chosen, at = [hz for _, hz in frames[: self.rules.min_frames]], frames[self.rules.min_frames - 1][0]
        elif ended or limit <= self._sound_s:
            chosen = [hz for _, hz in frames] or [hz for _, hz in self._voiced(state.onset_s, limit)]
            at = min(limit, self._sound_s)
            if not chosen:
                state.rules.discard(PITCH_RULE)  # no voiced frame while it sounded: nothing to judge
                return
        else:
            return
        cents = judge.median([judge.cents_between(hz, state.note.midi) for hz in chosen])
        state.cents = cents
        error = judge.pitch_error(cents, self.rules.pitch_cents)
        self._verdict(at, state, PITCH_RULE, error, judge.pitch_reason(state.where, state.note.midi, cents, error))

    def _voiced(self, start: float, end: float) -> list[tuple[float, float]]:
        first = bisect.bisect_left(self._frames, (start, -math.inf))
        last = bisect.bisect_left(self._frames, (end, -math.inf))
        return self._frames[first:last]

    def _duration(self, state: _Note, ended: bool) -> None:
        """Short when its sound stops (not into the next note: legato) before `short_fraction` of its length."""
        if DURATION in state.verdicts:
            return
        assert state.onset_s is not None
        written_s = self._written_s(state) * self.follower.ratio
        enough = state.onset_s + self.rules.short_fraction * written_s
        held = f"{state.where}: held"
        if state.end_s is None:
            if state.next_onset_s is not None:
                self._verdict(min(enough, state.next_onset_s), state, DURATION, None, held)
            elif ended or self._sound_s >= enough + SETTLE_S:
                self._verdict(enough, state, DURATION, None, held)
            return
        if state.end_s >= enough:
            self._verdict(enough, state, DURATION, None, held)
        elif state.next_onset_s is not None and state.next_onset_s - state.end_s <= self.rules.legato_gap_s:
            self._verdict(state.next_onset_s, state, DURATION, None, f"{held} into the next note")
        elif ended or self._sound_s >= state.end_s + self.rules.legato_gap_s + SETTLE_S:
            length = state.end_s - state.onset_s
            reason = f"{state.where}: {_name(state.note)} held {length:.2f} s of {written_s:.2f} s"
            self._verdict(state.end_s + self.rules.legato_gap_s, state, DURATION, SHORT, reason)

    def _breath(self, state: _Note, ended: bool) -> None:
        """Taken when a breath in peaked between the note before's onset and `breath_after_s` after this one's."""
        if BREATH in state.verdicts or BREATH not in state.rules:
            return
        assert state.onset_s is not None
        before = self._notes[state.k - 1] if state.k else None
        since = -math.inf if before is None else before.onset_s
        since = self.follower.expected_s(state.k - 1) if since is None else since
        until = state.onset_s + self.rules.breath_after_s
        taken = [t_s for t_s in self._inhales if since < t_s <= until]
        if taken:
            self._verdict(max(min(taken), state.onset_s), state, BREATH, None, f"{state.where}: breath taken")
        elif ended or self._belt_s >= state.onset_s + self.rules.breath_wait_s:
            reason = f"{state.where}: no breath at the breath mark before {_name(state.note)}"
            self._verdict(until, state, BREATH, NO_BREATH, reason)

    def _miss(self, state: _Note, t_s: float) -> None:
        state.rules = {PRESENCE}
        self._verdict(t_s, state, PRESENCE, MISSED, f"{state.where}: {_name(state.note)} not played")

    def _optional_rules(self, state: _Note) -> set[str]:
        fingers = {FINGERS} if state.mask is not None else set()
        return fingers | ({BREATH} if state.note.breath_before and self._belt and self._judge_breath else set())

    def _written_s(self, state: _Note) -> float:
        return self.score.duration_s(state.note)

    # --- publishing ------------------------------------------------------------------------------------------

    def _verdict(self, t_s: float, state: _Note, rule: str, error: str | None, reason: str) -> None:
        verdict = RuleVerdict(state.note.index, rule, error, reason)
        state.verdicts[rule] = verdict
        state.decided_s = max(state.decided_s, self._emit(t_s, verdict))

    def _grade(self, state: _Note) -> None:
        state.graded = True
        failed = [state.verdicts[rule] for rule in RULE_ORDER if rule in state.rules and state.verdicts[rule].error]
        missed = PRESENCE in state.rules and state.verdicts[PRESENCE].error is not None
        possible = 3 + len(self._optional_rules(state)) if missed else len(state.rules) - 1
        note = state.note
        assert note.midi is not None
        graded = NoteGraded(
            note.index,
            note.bar,
            note.beat,
            note.midi,
            tuple(str(verdict.error) for verdict in failed),
            tuple(verdict.reason for verdict in failed),
            None if missed else state.cents,
            None if missed else state.onset_error_s,
            0 if missed else possible - len(failed),
            possible,
        )
        self._graded[state.k] = graded
        self._emit(state.decided_s, graded)

    def _finish_segments(self) -> None:
        while self._segments:
            segment, notes = self._segments[0]
            if not all(state.graded for state in notes):
                return
            done = [self._graded[state.k] for state in notes]
            finished = SegmentFinished(
                segment,
                len(done),
                sum(not grade.errors for grade in done),
                sum(grade.points for grade in done),
                sum(grade.possible for grade in done),
            )
            self._segments.pop(0)
            self._emit(max(state.decided_s for state in notes), finished)

    def _move(self) -> None:
        moved = self.follower.position(self._now, self.rules.timing_s)
        if moved is not None:
            self._emit(*moved)

    def _emit(self, t_s: float, event: Any) -> float:
        """Publish `event` stamped `t_s` (never later than the newest stamp seen); returns the stamp."""
        stamp = min(t_s, self._now)
        self._out.append(Stamped(stamp, event))
        return stamp


def _name(note: ScoreNote) -> str:
    return note_name(note.midi) if note.midi is not None else "a rest"


def _forget(history: list[tuple[float, Any]], before_s: float) -> None:
    """Drop what is older than `before_s`, keeping the last entry before it (still in force for a fingering)."""
    cut = bisect.bisect_left(history, (before_s, -math.inf)) - 1
    if cut > 64:  # in batches, so a long session does not pay a list shift per event
        del history[:cut]
