"""A singing lesson's breathing feedback: how low the breaths were, whether the singer breathed at the marks, and
whether the breath was let out steadily through each held note (the belt of "Sensing the Breath", not the flute).

`BreathCoach` listens to one attempt's session timeline and gathers three judgements:

- *Abdominal or chest*: each breath's `Inhale.abdominal_share` (the share of the belt's rise at abdomen and back,
  docs/breath.md). A breath counts as abdominal at `ABDOMINAL_SHARE` or more; the attempt's breathing is "mostly
  abdominal" when the mean share is. Breaths while the belt's quality verdict says "not breathing" are artefacts and
  are left out.
- *Breath at the marks*: the grader's own verdicts on breath-marked notes (`RuleVerdict`s of its "breath" rule), so
  the coach and the grade never disagree; where no mark was judged (a flute piece without marks), the analyser's
  `PhraseStart`s (a breath before each phrase the flute began after a silence).
- *Support on held notes*: for each sung note held `HELD_MIN_S` or longer (the pitch pipeline's `NoteStarted` ..
  `NoteEnded`), a straight line fitted to the belt's breath level (in full breaths, `Calibration.level` over the
  depth scale) over the note without its attack and release. A supported note lets the air out steadily: the line
  falls, not too fast, and the level stays near it (see `support_verdict`).

Deterministic: only the events' stamps are read, never a clock, so a recorded timeline gives the same feedback.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flutex.host.breath.calibration import Calibration
from flutex.host.breath.phrases import PhraseStart
from flutex.host.breath.quality import QualityChange
from flutex.host.breath.share import Inhale
from flutex.host.link.events import BeltSample
from flutex.host.session.events import NoteEnded, Stamped
from flutex.tutor.assess.events import RuleVerdict
from flutex.tutor.assess.grader import BREATH
from flutex.tutor.score.model import Score

ABDOMINAL_SHARE = 0.6  # a breath at least this share abdomen + back is abdominal (diaphragmatic ~0.87, chest ~0.12)
HELD_MIN_S = 0.8  # a sung note this long is a held note whose support is judged
ATTACK_S = 0.15  # left out at a note's start: the breath turns from in to out as the note begins
RELEASE_S = 0.05  # ...and at its end, where the singer lets go
MIN_JUDGED_SAMPLES = 20  # fewer belt samples over a note (a gap in the belt stream): its support is not judged
# The fitted line's slope, in full breaths per second (1 = a calibrated full breath), and how far the level strays.
# A full breath is about 4 litres in an adult, so 0.01/s is 40 ml/s, below the softest phonation's airflow (about
# 50-100 ml/s): a line flatter than that means no air went out (the breath held, or the belt not moving with it).
MIN_FALL_PER_S = 0.01
# 0.4/s, about 1.6 l/s, empties a full breath in 2.5 s: far above a sung note's airflow (0.1-0.3 l/s, loud 0.5);
# the air was let go rather than sung on.
MAX_FALL_PER_S = 0.4
# Root-mean-square distance of the level from the line: 0.02 full breaths, an eighth of a quiet breath (0.15) and
# over twice the level noise of the noisy simulated belt (8 Pa per channel: about 0.008); a sudden drop of 0.08
# halfway through a note leaves 0.02 (a step of h misfits a line by h/4).
MAX_MISFIT = 0.02
SAG_SHARE = 0.4  # a misfit at least this much a downward bend is a collapse, not wavering (see `fitted_support`)
BELT_MEMORY_S = 30.0  # belt levels kept: a held note longer than this is judged on its last 30 s
BELT_RATE_HZ = 100  # the belt's rate, to size that memory

STEADY, SAGGED, WAVERED, NO_EXHALE = "steady", "sagged", "wavered", "no_exhale"
_SAID = {SAGGED: "sagged", WAVERED: "wavered", NO_EXHALE: "let out no air"}


@dataclass(frozen=True)
class HeldSupport:
    """One held note's support: where (`bar`: the written note it overlapped most, None: none), when it began on
    the timeline, how long it was sung, the fitted line's slope (full breaths per second, negative: air going out),
    the level's misfit around it (full breaths, RMS), and the verdict (`STEADY`, `SAGGED`, `WAVERED`, `NO_EXHALE`)."""

    bar: int | None
    onset_s: float
    duration_s: float
    slope_per_s: float
    misfit: float
    verdict: str


@dataclass(frozen=True)
class BreathFeedback:
    """What one attempt (or, combined, a lesson) showed of the singer's breathing. `judged` False: there was no
    belt calibration, so nothing else was judged. `mean_abdominal_share` is None without a breath that had one."""

    judged: bool
    breaths: int = 0
    abdominal_breaths: int = 0  # breaths whose abdominal share was at least ABDOMINAL_SHARE
    mean_abdominal_share: float | None = None
    marks: int = 0  # breath marks the grader judged ...
    marks_breathed: int = 0  # ... and those where a breath was taken
    missed_mark_bars: tuple[int, ...] = ()
    phrases: int = 0  # phrase starts the analyser judged (used where no mark was) ...
    phrases_breathed: int = 0  # ... and those after a breath
    held: tuple[HeldSupport, ...] = ()

    @property
    def steady_notes(self) -> int:
        return sum(note.verdict == STEADY for note in self.held)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only (the lesson report and the progress store keep it as is)."""
        out = dataclasses.asdict(self)
        out["missed_mark_bars"] = list(self.missed_mark_bars)
        out["held"] = [dataclasses.asdict(note) for note in self.held]
        out["steady_notes"] = self.steady_notes
        return out

    def lines(self) -> list[str]:
        """One to three short lines a singer reads: breathing low or high, breaths at the marks, held notes."""
        if not self.judged:
            return ["breathing not judged: no breath belt calibration"]
        lines = [line for line in (self._depth_line(), self._marks_line(), self._held_line()) if line]
        return lines or ["breathing: no breath, breath mark or held note to judge in this attempt"]

    def _depth_line(self) -> str | None:
        share = self.mean_abdominal_share
        if share is None:
            return None
        if share >= ABDOMINAL_SHARE:
            return f"breaths mostly abdominal ({share:.0%}): good"
        return f"breaths mostly in the chest (only {share:.0%} abdominal): breathe low, into the belly"

    def _marks_line(self) -> str | None:
        if self.marks:
            missed = self.marks - self.marks_breathed
            if not missed:
                return f"breathed at {_all(self.marks)} breath marks: good"
            bars = sorted(set(self.missed_mark_bars))
            where = f"bar{'s' if len(bars) > 1 else ''} {', '.join(str(bar) for bar in bars)}"
            return f"{missed} of {_phrases(self.marks)} began without a breath ({where}): breathe at the marks"
        if self.phrases:
            missed = self.phrases - self.phrases_breathed
            if not missed:
                return f"breathed before {_all(self.phrases)} phrases: good"
            return f"{missed} of {_phrases(self.phrases)} began without a breath: breathe before each phrase"
        return None

    def _held_line(self) -> str | None:
        if not self.held:
            return None
        head = f"held notes: {self.steady_notes} of {len(self.held)} steadily supported"
        faults = [note for note in self.held if note.verdict != STEADY]
        if not faults:
            return f"{head}: good"
        named = [f"{_where(note)} {_SAID[note.verdict]}" for note in faults[:3]]
        more = f" (and {len(faults) - 3} more)" if len(faults) > 3 else ""
        return f"{head}; {', '.join(named)}{more}"


def _phrases(count: int) -> str:
    return f"{count} phrase{'s' if count != 1 else ''}"


def _all(count: int) -> str:
    return "the" if count == 1 else f"all {count}"


def _where(note: HeldSupport) -> str:
    return f"bar {note.bar}" if note.bar is not None else f"the note at {note.onset_s:.1f} s"


def combine(attempts: Sequence[BreathFeedback]) -> BreathFeedback:
    """A lesson's breathing from its attempts': counts added, the mean share weighted by the breaths that had one,
    held notes and missed bars gathered. Judged when any attempt was."""
    judged = [attempt for attempt in attempts if attempt.judged]
    if not judged:
        return BreathFeedback(judged=False)
    shared = [(a.mean_abdominal_share, a.breaths) for a in judged if a.mean_abdominal_share is not None and a.breaths]
    weight = sum(n for _, n in shared)
    return BreathFeedback(
        judged=True,
        breaths=sum(a.breaths for a in judged),
        abdominal_breaths=sum(a.abdominal_breaths for a in judged),
        mean_abdominal_share=sum(share * n for share, n in shared) / weight if weight else None,
        marks=sum(a.marks for a in judged),
        marks_breathed=sum(a.marks_breathed for a in judged),
        missed_mark_bars=tuple(bar for a in judged for bar in a.missed_mark_bars),
        phrases=sum(a.phrases for a in judged),
        phrases_breathed=sum(a.phrases_breathed for a in judged),
        held=tuple(note for a in judged for note in a.held),
    )


def support_verdict(slope_per_s: float, misfit: float, sag: float) -> str:
    """A held note's support from the line fitted to its breath level (full breaths; see the thresholds above).

    SAGGED: the air went out too fast (slope steeper than -MAX_FALL_PER_S), or the level strayed from the line
    (misfit over MAX_MISFIT) mostly by curving down away from it (`sag`, the share of the misfit's variance a
    downward bend explains, at least SAG_SHARE): the support gave way as the note went on. WAVERED: it strayed
    otherwise (the air let out in surges, or gushing at the start). NO_EXHALE: the line did not fall (flatter than
    -MIN_FALL_PER_S). STEADY: a controlled, even exhale.
    """
    if slope_per_s < -MAX_FALL_PER_S or (misfit > MAX_MISFIT and sag >= SAG_SHARE):
        return SAGGED
    if misfit > MAX_MISFIT:
        return WAVERED
    if slope_per_s > -MIN_FALL_PER_S:
        return NO_EXHALE
    return STEADY


def fitted_support(t_s: np.ndarray, level: np.ndarray) -> tuple[float, float, float]:
    """Slope and RMS misfit of a least-squares line through (t_s, level), and the sag: the share of the misfit's
    variance that a downward bend explains (its projection on the second Legendre polynomial over the note, which a
    line cannot fit; 0 when the level bends up). Surges leave little of it (0.03 or less for three even spurts,
    whatever their phase); a level that falls faster and faster most (0.55-0.85 for the collapses in the tests)."""
    x = 2.0 * (t_s - t_s[0]) / (t_s[-1] - t_s[0]) - 1.0
    slope, intercept = np.polyfit(x, level, 1)
    residual = level - (slope * x + intercept)
    bend = (3.0 * x**2 - 1.0) / 2.0
    curvature = float(residual @ bend / (bend @ bend))
    total = float(residual @ residual)
    sag = curvature**2 * float(bend @ bend) / total if curvature < 0 and total > 0 else 0.0
    slope_per_s = float(slope) * 2.0 / float(t_s[-1] - t_s[0])
    return slope_per_s, float(np.sqrt(total / len(residual))), sag


class BreathCoach:
    """A timeline listener for one attempt: `coach(stamped)` for every event, then `summary()` or `lines()`.

    `score` is the attempt's score (a lesson's span: its notes keep their bars) and `start_s` the timeline time of
    its beat 0: they name the bar of each held note and of each missed mark. Without a `calibration` nothing is
    judged (the session derives no breaths then) and the feedback says so.
    """

    def __init__(self, calibration: Calibration | None, score: Score, start_s: float) -> None:
        self.calibration = calibration
        self._score = score
        self._start_s = start_s
        self._shares: list[float] = []
        self._breaths = 0
        self._breathing = True  # the belt's quality verdict; breaths while it is False are artefacts
        self._marks: dict[int, bool] = {}  # score note index -> breath taken, as the grader judged
        self._phrases: list[bool] = []
        self._levels: deque[tuple[float, float]] = deque(maxlen=round(BELT_MEMORY_S * BELT_RATE_HZ))
        self._belt_s = float("-inf")
        self._pending: deque[tuple[float, float]] = deque()  # held notes sung, not yet judged: (onset_s, end_s)
        self._held: list[HeldSupport] = []

    def __call__(self, stamped: Stamped) -> None:
        if self.calibration is None:
            return
        event = stamped.event
        if isinstance(event, BeltSample):
            self._on_belt(stamped.t_s, event)
        elif isinstance(event, NoteEnded) and event.duration_s >= HELD_MIN_S:
            self._pending.append((stamped.t_s - event.duration_s, stamped.t_s))
            self._judge_ready()
        elif isinstance(event, Inhale) and self._breathing:
            self._breaths += 1
            if event.abdominal_share is not None:
                self._shares.append(event.abdominal_share)
        elif isinstance(event, QualityChange):
            self._breathing = event.quality.breathing
        elif isinstance(event, RuleVerdict) and event.rule == BREATH:
            self._marks[event.index] = event.error is None
        elif isinstance(event, PhraseStart):
            self._phrases.append(event.breath_taken)

    def _on_belt(self, t_s: float, sample: BeltSample) -> None:
        assert self.calibration is not None
        self._levels.append((t_s, self.calibration.level(sample.channels_pa) / self.calibration.depth_scale))
        self._belt_s = t_s
        self._judge_ready()

    def _judge_ready(self, finishing: bool = False) -> None:
        """Judge the held notes whose judged stretch the belt has covered (all of them when `finishing`)."""
        while self._pending and (finishing or self._belt_s >= self._pending[0][1] - RELEASE_S):
            onset_s, end_s = self._pending.popleft()
            window = [(t, level) for t, level in self._levels if onset_s + ATTACK_S <= t <= end_s - RELEASE_S]
            if len(window) < MIN_JUDGED_SAMPLES:
                continue
            t, level = (np.array(column) for column in zip(*window, strict=True))
            slope, misfit, sag = fitted_support(t, level)
            verdict = support_verdict(slope, misfit, sag)
            self._held.append(
                HeldSupport(self._bar_of(onset_s, end_s), onset_s, end_s - onset_s, slope, misfit, verdict)
            )

    def _bar_of(self, onset_s: float, end_s: float) -> int | None:
        """The bar of the written note the sung one overlaps most (None: it overlaps none)."""
        best, bar = 0.0, None
        for note in self._score.sounding:
            written_s = self._start_s + self._score.onset_s(note)
            overlap = min(end_s, written_s + self._score.duration_s(note)) - max(onset_s, written_s)
            if overlap > best:
                best, bar = overlap, note.bar
        return bar

    def summary(self) -> BreathFeedback:
        """The attempt so far; held notes the belt has not yet covered are judged on what it gave."""
        if self.calibration is None:
            return BreathFeedback(judged=False)
        self._judge_ready(finishing=True)
        bars = {note.index: note.bar for note in self._score.notes}
        return BreathFeedback(
            judged=True,
            breaths=self._breaths,
            abdominal_breaths=sum(share >= ABDOMINAL_SHARE for share in self._shares),
            mean_abdominal_share=sum(self._shares) / len(self._shares) if self._shares else None,
            marks=len(self._marks),
            marks_breathed=sum(self._marks.values()),
            missed_mark_bars=tuple(bars[k] for k, taken in sorted(self._marks.items()) if not taken and k in bars),
            phrases=len(self._phrases),
            phrases_breathed=sum(self._phrases),
            held=tuple(self._held),
        )

    def lines(self) -> list[str]:
        return self.summary().lines()
