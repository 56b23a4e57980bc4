"""Guidance during one attempt: which notes the servos press, when, and when they let go (docs/guidance.md).

`GuidanceController` listens to the session timeline like the grader does (a callback, fed every event in the
order it was published) and decides from the events alone: "now" is the newest FLUTE sample's stamp, the student's
fingering the newest sample's closed holes. So the same events give the same presses, live or replayed. It moves
the fingers only through a `Haptics` (`session.haptics`), which keeps every press inside the board's envelope.

The modes (the papers' force, hint and adaptive modes, and free play):
- GUIDED: each note's fingering is pressed `lead_s` before its onset until its end; skipped when the student's
  fingers already hold it at that moment; the next note's press follows without letting go when it is due before
  this one ends (while the servos hold the fingers, the student's own fingering cannot be read, so it is pressed).
- HINT: the same at a lighter force (under 500 permille it is felt but does not close a hole).
- CORRECTIVE: nothing unless, at onset + the timing tolerance, the fingering is wrong; then pressed until it
  matches (or the note ends).
- FREE: nothing.
A "help me" (`help()`, or a `HelpRequested` on the timeline) makes the rest of the attempt GUIDED at full force.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from flutex.host.errors import UsageError
from flutex.host.link.events import BoardAlert, FluteSample, LinkLost
from flutex.host.session.events import Stamped
from flutex.tutor.assess.grader import Fitted
from flutex.tutor.lesson.modes import CLOSES_HOLE_PERMILLE, CORRECTIVE, FREE, FULL_FORCE, GUIDED, HINT, MODES

TIMING_TOLERANCE_S = 0.150  # the graders' default: CORRECTIVE looks this long after an onset


@dataclass(frozen=True, slots=True)
class HelpRequested:
    """The student asked for help ("help me"): the rest of the attempt is guided. Published by the lesson runner."""


class Presser(Protocol):
    """What guidance needs of `flutex.host.session.haptics.Haptics`."""

    def press(self, holes_mask: int, force_permille: int, until_s: float, note_index: int) -> None: ...
    def release(self, reason: str) -> None: ...


def needs_press(mode: str, target_mask: int, mask_before: int, mask_at_check: int, pressing: bool = False) -> bool:
    """Whether a note's fingering `target_mask` is pressed: GUIDED and HINT when the student does not already hold
    it `lead_s` before the onset (`mask_before`), CORRECTIVE when the fingering is wrong at onset + the timing
    tolerance (`mask_at_check`), FREE never; and in every mode but FREE when the servos are still `pressing` the
    note before hard enough to close its holes at that moment (the student's own fingers cannot be read through
    them). Shared by the live
    controller and the simulator's fast path."""
    if mode in (GUIDED, HINT):
        return pressing or target_mask != mask_before
    if mode == CORRECTIVE:
        return pressing or target_mask != mask_at_check
    if mode == FREE:
        return False
    raise UsageError(f"unknown guidance mode {mode!r}: use one of {', '.join(MODES)}")


@dataclass(frozen=True, slots=True)
class _Note:
    index: int  # into the score's notes
    target: int  # closed mask
    onset_s: float  # timeline
    end_s: float


class GuidanceController:
    """Guides one attempt at the notes `span_notes` (indices into `fitted.score.notes`; rests and unfingered
    notes are left alone) of `fitted`, whose beat 0 is due at `start_s` on the timeline (the fitted score is at the
    attempt's tempo). Feed it every timeline event in publication order (`timeline.add_listener(controller)`)."""

    def __init__(
        self,
        fitted: Fitted,
        start_s: float,
        span_notes: Sequence[int],
        mode: str,
        force_permille: int,
        lead_s: float,
        haptics: Presser,
        *,
        tolerance_s: float = TIMING_TOLERANCE_S,
    ) -> None:
        if mode not in MODES:
            raise UsageError(f"unknown guidance mode {mode!r}: use one of {', '.join(MODES)}")
        if mode != FREE and not 0 < force_permille <= FULL_FORCE:
            raise UsageError(f"guidance force must be 1..{FULL_FORCE} permille, not {force_permille}")
        score = fitted.score
        self._notes = tuple(
            _Note(i, fingering[0], start_s + score.onset_s(note), start_s + score.seconds(note.end_beats))
            for i in sorted(span_notes)
            if (note := score.notes[i]).midi is not None and (fingering := fitted.fingerings[i]) is not None
        )
        self.mode = mode
        self.force_permille = force_permille
        self.lead_s = lead_s
        self.tolerance_s = tolerance_s
        self._haptics = haptics
        self._next = 0  # the first note not yet decided
        self._now_s: float | None = None  # the newest sample's stamp
        self._mask = 0  # its closed holes
        self._pressing: _Note | None = None
        self._pressed: set[int] = set()

    def guided_notes(self) -> frozenset[int]:
        """The score indices of the notes the servos were asked to press."""
        return frozenset(self._pressed)

    def help(self) -> None:
        """The rest of the attempt is GUIDED at full force; the note sounding now is pressed at once if wrong."""
        if self.mode == GUIDED and self.force_permille == FULL_FORCE:
            return
        self.mode, self.force_permille = GUIDED, FULL_FORCE
        if self._next > 0 and self._now_s is not None:
            current = self._notes[self._next - 1]
            if self._now_s < current.end_s and (self._pressing is current or current.target != self._mask):
                self._press(current)  # (again, at full force, when it was being hinted or corrected)

    def __call__(self, stamped: Stamped) -> None:
        event = stamped.event
        if isinstance(event, FluteSample):
            self._sample(stamped.t_s, event.closed_mask)
        elif isinstance(event, HelpRequested):
            self.help()
        elif isinstance(event, LinkLost | BoardAlert):  # the board let go on its own
            self._pressing = None

    def _sample(self, now_s: float, mask: int) -> None:
        self._now_s, self._mask = now_s, mask
        pressing = self._pressing
        if pressing is not None and (now_s >= pressing.end_s or (self.mode == CORRECTIVE and mask == pressing.target)):
            if now_s < pressing.end_s:
                self._haptics.release("matched")
            self._pressing = pressing = None
        while self._next < len(self._notes):
            note = self._notes[self._next]
            check_s = note.onset_s + self.tolerance_s if self.mode == CORRECTIVE else note.onset_s - self.lead_s
            if now_s < check_s:
                return
            self._next += 1
            held = pressing is not None and self.force_permille >= CLOSES_HOLE_PERMILLE  # (a felt hint hides nothing)
            if now_s < note.end_s and needs_press(self.mode, note.target, mask, mask, held):
                self._press(note)
                pressing = note

    def _press(self, note: _Note) -> None:
        self._haptics.press(note.target, self.force_permille, note.end_s, note.index)
        self._pressing = note
        self._pressed.add(note.index)
