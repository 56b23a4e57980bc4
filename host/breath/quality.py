"""Does the belt show breathing at all? A verdict from the breaths found, live and for a whole recording.

A belt that was not worn, slipped, or records only artefacts still gives the phase detector something to follow:
sensor noise and steps, a heartbeat's ripple. Breath confirmation compares breaths with each other, so on such a
belt the ripple itself becomes the "breaths": far faster than anyone breathes (the heartbeat, 50-100 a minute),
with inhales too short to fill the lungs. Or hardly any breath comes at all. `judge` gives the verdict for a set of
breaths over a span of time; `QualityMonitor` applies it to the last `WINDOW_S` of a live stream, and `flutex
breath` to the whole recording, so both say the same thing for the same breaths.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from flutex.host.breath.share import Inhale

MIN_JUDGED_S = 20.0  # shorter spans hold too few breaths to judge
WINDOW_S = 60.0  # the live verdict looks back this far (a slow breather takes two breaths in it)
REJUDGE_S = 1.0  # ...and is renewed at least this often, so it notices breathing that stopped
MIN_PER_MIN = 2.0  # slower than a breath every 30 s: nothing is breathing (the slowest paced breathing is ~3/min)
MAX_PER_MIN = 40.0  # faster than panting at rest; a heartbeat's ripple gives 50-100
MIN_MEDIAN_INHALE_S = 0.3  # a breath in takes 0.3 s even when snatched between phrases
CHECK_BELT = "check that it is worn and snug"


@dataclass(frozen=True, slots=True)
class Quality:
    """`breathing` False means the belt does not show breathing; `reason` says why, or is empty."""

    breathing: bool
    breaths_per_min: float
    median_inhale_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class QualityChange:
    """The live verdict changed at `t_s` (belt time): a tutor stops or starts showing breaths."""

    t_s: float
    quality: Quality


def judge(breaths: Sequence[Inhale], span_s: float) -> Quality:
    """The verdict for the breaths found in `span_s` seconds of belt (see the module docstring)."""
    per_min = 60.0 * len(breaths) / span_s if span_s > 0 else 0.0
    durations = sorted(b.t_end_s - b.t_start_s for b in breaths)
    median_s = durations[len(durations) // 2] if durations else 0.0
    reason = ""
    if span_s < MIN_JUDGED_S:
        pass
    elif per_min < MIN_PER_MIN:
        reason = f"{per_min:.1f} breaths a minute: no breathing found; is the belt worn and snug?"
    elif per_min > MAX_PER_MIN:
        reason = (
            f"{per_min:.0f} breaths a minute, faster than anyone breathes: the belt records artefacts "
            f"(heartbeat, sensor steps, movement) rather than breathing; {CHECK_BELT}"
        )
    elif median_s < MIN_MEDIAN_INHALE_S:
        reason = (
            f"inhales last {median_s:.2f} s (median), too short for breaths: the belt records artefacts "
            f"rather than breathing; {CHECK_BELT}"
        )
    return Quality(not reason, round(per_min, 2), round(median_s, 3), reason)


class QualityMonitor:
    """The verdict over the last `WINDOW_S` of belt time, renewed on every breath and every `REJUDGE_S`.

    Holds at most the breaths of one window (bounded: a heartbeat's ripple gives under 200 a minute).
    """

    def __init__(self) -> None:
        self._breaths: deque[Inhale] = deque(maxlen=int(WINDOW_S * 200 / 60))
        self._start_s: float | None = None
        self._judged_s = float("-inf")
        self.quality = Quality(True, 0.0, 0.0, "")

    def update(self, t_s: float, breath: Inhale | None) -> QualityChange | None:
        """Take the belt time and the breath it confirmed, if any; return a QualityChange when the verdict flips."""
        if self._start_s is None:
            self._start_s = t_s
        if breath is not None:
            self._breaths.append(breath)
        elif t_s - self._judged_s < REJUDGE_S:
            return None
        self._judged_s = t_s
        while self._breaths and self._breaths[0].t_end_s < t_s - WINDOW_S:
            self._breaths.popleft()
        quality = judge(self._breaths, min(WINDOW_S, t_s - self._start_s))
        flipped = quality.breathing is not self.quality.breathing
        self.quality = quality
        return QualityChange(t_s, quality) if flipped else None
