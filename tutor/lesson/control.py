"""What the student asks of a running lesson, between the action surface and the `LessonRunner`.

The surface (`flutex.tutor.actions`) writes requests here; the runner reads them at attempt boundaries and writes
back what is happening (the running step, its tempo, the finished attempts, the breath coaching, the report), so
the surface can answer "what is going on" without reaching into the runner.

Rules, kept simple so a student can predict them:
- Mode, tempo and haptics overrides take effect from the next attempt, never in the middle of one (`apply`): a
  change of guidance mid-phrase would surprise the fingers and make the attempt impossible to grade fairly.
- Pause and stop act at once: a running attempt ends there (haptics released, the attempt discarded: neither
  graded into the schedule nor stored); pause then waits for `resume`, stop ends the lesson with its report.
- Repeats and demos run between attempts, before the schedule's next step.

Everything runs on the lesson's event loop: call these methods from it (the surface does), not from other threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from typing import TYPE_CHECKING, Any

from flutex.host.errors import UsageError
from flutex.tutor.lesson.modes import FREE, FULL_FORCE, HINT, MODES
from flutex.tutor.lesson.policy import Step, force_for

if TYPE_CHECKING:
    from flutex.tutor.lesson.breathing import BreathFeedback
    from flutex.tutor.lesson.report import AttemptLine, LessonReport

RECENT = 6  # finished attempts kept for the live state: enough for the agent to see a trend, short for its prompt
MAX_PERCENT = 150  # the fastest tempo a student may ask for, in percent of the plan's target


class LessonControl:
    """Between the action surface and a running LessonRunner: what the student asked for, applied at attempt
    boundaries (never in the middle of an attempt), and pause/stop at once."""

    def __init__(self) -> None:
        self._mode: str | None = None
        self._tempo_percent: int | None = None
        self._haptics = True
        self._strength: int | None = None
        self._repeats: deque[tuple[int, int]] = deque()
        self._demos: deque[tuple[int, int]] = deque()
        self._stopped = False
        self._unpaused = asyncio.Event()  # set unless paused: the runner waits on it between attempts
        self._unpaused.set()
        self._interrupt = asyncio.Event()  # set while paused or stopped: a demo under way ends on it
        self._recent: deque[AttemptLine] = deque(maxlen=RECENT)
        self._last_applied: Step | None = None
        # written by the runner, read by the surface
        self.current: Step | None = None  # the running attempt's applied step (None between attempts)
        self.current_bpm: float | None = None
        self.breath: BreathFeedback | None = None  # the last attempt's breath coaching (singing)
        self.report: LessonReport | None = None  # set when the lesson has ended

    # -- written by the surface ----------------------------------------------------------------------------------

    def set_mode(self, mode: str | None) -> None:
        """The guidance mode for the next attempts; None hands the decision back to the schedule ("adaptive")."""
        if mode is not None and mode not in MODES:
            raise UsageError(f"unknown guidance mode {mode!r}: use one of {', '.join(MODES)} (or None: adaptive)")
        self._mode = mode

    def set_tempo_percent(self, percent: int | None) -> None:
        """The tempo of the next attempts in percent of the plan's target; None: the schedule's tempo ramp."""
        if percent is not None and not 1 <= percent <= MAX_PERCENT:
            raise UsageError(f"a tempo of {percent}% is outside 1..{MAX_PERCENT}% of the target")
        self._tempo_percent = percent

    def set_haptics(self, enabled: bool, strength: int | None) -> None:
        """Haptics off means no press at all (guidance FREE whatever the mode); `strength` (permille, None: the
        schedule's) is the press force of the guided, hint and corrective modes; 0 presses nothing, like off."""
        if strength is not None and not 0 <= strength <= FULL_FORCE:
            raise UsageError(f"a haptics strength of {strength} is outside 0..{FULL_FORCE} permille")
        self._haptics, self._strength = enabled, strength

    def repeat(self, first_bar: int, last_bar: int, times: int) -> None:
        """Queue `times` user-directed attempts at bars `first_bar`..`last_bar`, played before the schedule's next
        step. They are graded, reported and stored, but not fed to the schedule: the student chose them, so they
        say nothing about what the schedule should do next."""
        if not 1 <= first_bar <= last_bar:
            raise UsageError(f"bars {first_bar}-{last_bar}: need 1 <= first bar <= last bar")
        if times < 1:
            raise UsageError(f"repeat {times} times: need at least once")
        self._repeats.extend([(first_bar, last_bar)] * times)

    def add_demo(self, first_bar: int, last_bar: int) -> None:
        """Queue a demonstration of bars `first_bar`..`last_bar`, played between attempts (after the running one)."""
        if not 1 <= first_bar <= last_bar:
            raise UsageError(f"bars {first_bar}-{last_bar}: need 1 <= first bar <= last bar")
        self._demos.append((first_bar, last_bar))

    def pause(self) -> None:
        """Pause at once: a running attempt ends there and is discarded; the lesson waits for `resume`."""
        self._unpaused.clear()
        self._interrupt.set()

    def resume(self) -> None:
        self._unpaused.set()
        if not self._stopped:
            self._interrupt.clear()

    def stop(self) -> None:
        """Stop at once: a running attempt ends there and is discarded; the lesson ends with its report."""
        self._stopped = True
        self._interrupt.set()
        self._unpaused.set()  # a paused lesson wakes up to end

    # -- read by the runner and the surface ----------------------------------------------------------------------

    @property
    def attempt_running(self) -> bool:
        return self.current is not None

    @property
    def paused(self) -> bool:
        return not self._unpaused.is_set()

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def interrupted(self) -> bool:
        """Whether a running attempt must end now (paused or stopped)."""
        return self._interrupt.is_set()

    def overrides(self) -> dict[str, Any]:
        """What the student set, only what differs from leaving it to the schedule."""
        said: dict[str, Any] = {}
        if self._mode is not None:
            said["mode"] = self._mode
        if self._tempo_percent is not None:
            said["tempo_percent"] = self._tempo_percent
        if not self._haptics:
            said["haptics"] = False
        if self._strength is not None:
            said["strength"] = self._strength
        return said

    def recent(self) -> tuple[AttemptLine, ...]:
        """The last finished attempts, oldest first (discarded attempts are not among them)."""
        return tuple(self._recent)

    def apply(self, step: Step, hint_force_permille: int | None = None) -> Step:
        """`step` with the student's overrides: the mode replaced (its force by the policy's rule: full for guided
        and corrective, the hint force for hint: the step's own when it already was a hint, else
        `hint_force_permille`, the plan's), the force replaced by the haptics strength, FREE at force 0 when haptics
        are off or the strength is 0, the tempo replaced. The explanation says what the student changed when the
        result differs from the plan; unchanged since the last applied step, it is None (nothing to say)."""
        mode = step.mode if self._mode is None else self._mode
        hint = step.force_permille if step.mode == HINT else hint_force_permille
        if mode == HINT and hint is None:
            raise ValueError("a hint needs a force: pass the plan's hint_force_permille")
        force = step.force_permille if mode == step.mode else force_for(mode, hint or 0)
        if self._strength is not None and mode != FREE:
            force = self._strength
        if not self._haptics or force == 0:
            mode, force = FREE, 0
        tempo = step.tempo_percent if self._tempo_percent is None else self._tempo_percent
        applied = dataclasses.replace(step, mode=mode, force_permille=force, tempo_percent=tempo)
        if (mode, force, tempo) != (step.mode, step.force_permille, step.tempo_percent):
            applied = dataclasses.replace(applied, explanation=_chosen(step, applied, not self._haptics))
        last, self._last_applied = self._last_applied, applied
        if last is not None and _setting(last) == _setting(applied):
            return dataclasses.replace(applied, explanation=None)
        return applied

    def next_repeat(self) -> tuple[int, int] | None:
        """Pops one queued repeat (first_bar, last_bar), None when none is left."""
        return self._repeats.popleft() if self._repeats else None

    def next_demo(self) -> tuple[int, int] | None:
        """Pops one queued demo (first_bar, last_bar), None when none is left."""
        return self._demos.popleft() if self._demos else None

    async def wait_if_paused(self) -> None:
        """Returns at once unless paused; then when `resume` (or `stop`) is called."""
        await self._unpaused.wait()

    async def wait_interrupted(self) -> None:
        """Returns when the student pauses or stops (at once if they have): what a demo under way waits on."""
        await self._interrupt.wait()

    # -- written by the runner -----------------------------------------------------------------------------------

    def attempt_finished(self, line: AttemptLine) -> None:
        """The runner's record of a finished (graded) attempt, for `recent`."""
        self._recent.append(line)


def _setting(step: Step) -> tuple[Any, ...]:
    return step.span, step.mode, step.force_permille, step.tempo_percent


def _chosen(planned: Step, applied: Step, haptics_off: bool) -> str:
    """The student's line for an attempt their overrides changed: "bars 1-2: you chose hint at 300, 80% tempo"."""
    parts = []
    if (applied.mode, applied.force_permille) != (planned.mode, planned.force_permille):
        if haptics_off:
            parts.append("haptics off")
        elif applied.mode in (FREE, HINT):
            parts.append("guidance off" if applied.mode == FREE else f"hint at {applied.force_permille}")
        else:
            parts.append(f"{applied.mode} at {applied.force_permille}")
    if applied.tempo_percent != planned.tempo_percent:
        parts.append(f"{applied.tempo_percent}% tempo")
    return f"{applied.span.label}: you chose {', '.join(parts)}"


__all__ = ["LessonControl"]
