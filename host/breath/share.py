"""Each breath in: when it started and peaked, how deep it was, and how much of it was abdominal rather than chest.

The abdominal share of a breath is how far the abdomen and back-of-waist channels rose, over how far all four rose,
in pascals from the breath's lowest to its highest level. Pascals, not calibrated fractions, because the calibrated
range depends on how the player breathed during calibration; this assumes the four sensors are equally sensitive,
which holds for one sensor model in one strap. A diaphragmatic breath reads near 0.9, a chest-only one near 0.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flutex.breath.phases import Phase

ABDOMINAL_CHANNELS = 2  # abdomen and back_waist come first in BELT_CHANNELS; the ribs follow


@dataclass(frozen=True, slots=True)
class Inhale:
    """One breath in, from the lowest level before it (`t_start_s`) to its peak (`t_end_s`).

    `depth` is in calibrated range (1.0 = a full breath); `abdominal_share` is None when no channel rose.
    """

    t_start_s: float
    t_end_s: float
    depth: float
    abdominal_share: float | None


def abdominal_share(rise_pa: Sequence[float]) -> float | None:
    """Share of the belt's rise at abdomen and back; a channel that fell counts as zero, not as negative."""
    rises = [max(0.0, r) for r in rise_pa]
    total = sum(rises)
    return sum(rises[:ABDOMINAL_CHANNELS]) / total if total > 0 else None


class InhaleTracker:
    """Watches levels and phases; when an inhale ends, summarises it from the trough before it to its peak."""

    def __init__(self) -> None:
        self._low: tuple[float, float, Sequence[float]] | None = None  # (t_s, level, channels) of the trough
        self._high: tuple[float, float, Sequence[float]] | None = None  # peak of the inhale in progress

    def update(self, t_s: float, channels_pa: Sequence[float], level: float, phase: Phase) -> Inhale | None:
        """Take one belt sample with its smoothed level and detected phase; return an Inhale when one ended."""
        if phase is Phase.INHALE:
            if self._high is None or level > self._high[1]:
                self._high = (t_s, level, channels_pa)
            if self._low is None:
                self._low = self._high
            return None
        ended = self._summary()
        self._high = None
        if ended is not None or self._low is None or level < self._low[1]:
            self._low = (t_s, level, channels_pa)
        return ended

    def _summary(self) -> Inhale | None:
        if self._high is None or self._low is None:
            return None
        (t0, level0, low), (t1, level1, high) = self._low, self._high
        return Inhale(t0, t1, level1 - level0, abdominal_share([h - lo for h, lo in zip(high, low, strict=True)]))
