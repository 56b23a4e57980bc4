"""Each breath in: is it a breath at all, when did it start and peak, how deep, how abdominal rather than chest.

The phase detector reports every inhale as soon as it starts, because a display must follow the breath within about
100 ms. A real belt also rises for reasons that are not breaths: the heartbeat's ripple, the sensor stepping in
whole ADC counts, the chest wall flickering while speaking or playing; 0.1-0.3 s long, a few percent of a breath.
So an inhale is judged when it ends (at its peak, when the detector leaves inhale). It is a breath (`Inhale`) when
it rose at least `min_share` of a typical breath from the lowest level since the last breath's peak, and that
lowest level lies at least `fall_share` of the same below the peak (an exhale came between, not a dip); otherwise it
is a `Flicker`, which a tutor does not count and a phase list folds into the phase around it. NeuroKit2 drops
extrema pairs under 0.3 of its median amplitude, up or down, over a whole recording; this is a causal version. The
typical breath is the median depth of the recent breaths (see `InhaleTracker.typical_depth`). A breath interrupted
by a dip is counted once: the rise after the dip is a flicker that `continues` it. The exhale right after any other
inhale flicker is judged too: when it went no lower than where the flicker started, it was the flicker's way back
(during a hold, the ripple's fall), a flicker as well. The count waits for the end of each inhale (the detector's
exhale delay after the peak, 60-100 ms), as the depth always did; the phase a display shows does not wait.

The abdominal share of a breath is how far the abdomen and back-of-waist channels rose, over how far all four rose,
in pascals from the breath's lowest to its highest level. Pascals, not calibrated fractions, because the calibrated
range depends on how the player breathed during calibration; this assumes the four sensors are equally sensitive,
which holds for one sensor model in one strap. A diaphragmatic breath reads near 0.9, a chest-only one near 0.1.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from flutex.host.breath.calibration import PEAK_SMOOTHING_SAMPLES
from flutex.host.breath.phases import Phase

ABDOMINAL_CHANNELS = 2  # abdomen and back_waist come first in BELT_CHANNELS; the ribs follow
_Point = tuple[float, float, Sequence[float]]  # (t_s, smoothed level, channels_pa) of one sample


@dataclass(frozen=True, slots=True)
class BreathConfig:
    """What counts as a breath; depths in calibrated depth (1.0 = a full breath)."""

    min_share: float = 0.3  # a breath rises at least this share of a typical breath, the median of the recent ones
    recent: int = 9  # breaths in that median
    memory_s: float = 30.0  # ...among those that peaked this recently
    quiet_depth: float = 0.15  # the typical breath until one was seen, for the first memory_s at most
    large_share: float = 0.33  # a typical breath is at least this share of the third-largest rise in memory_s
    fall_share: float = 0.5  # the exhale before a breath fell at least this share of the least rise


@dataclass(frozen=True, slots=True)
class Inhale:
    """One breath in, from the lowest level before it (`t_start_s`) to its peak (`t_end_s`).

    `depth` is in calibrated depth: 1.0 = the calibration's full breath, so above 1 means deeper than that breath.
    `abdominal_share` is None when no channel rose.
    """

    t_start_s: float
    t_end_s: float
    depth: float
    abdominal_share: float | None


@dataclass(frozen=True, slots=True)
class Flicker:
    """A phase that was no breath in or out of its own; a display that showed it may take it back.

    An inhale: usually a ripple, a sensor step or speech flicker during an exhale or a pause; `continues` is True
    when it rose above the last breath's peak after a shallow dip, so that breath went on and the dip was no exhale
    either. An exhale: the way back down of such an inhale flicker, when it fell less than a breath from the
    flicker's peak (during a hold, the ripple's fall). `size` is the rise or fall in calibrated depth.
    """

    phase: Phase
    t_start_s: float
    t_end_s: float
    size: float
    continues: bool = False


def abdominal_share(rise_pa: Sequence[float]) -> float | None:
    """Share of the belt's rise at abdomen and back; a channel that fell counts as zero, not as negative."""
    rises = [max(0.0, r) for r in rise_pa]
    total = sum(rises)
    return sum(rises[:ABDOMINAL_CHANNELS]) / total if total > 0 else None


class InhaleTracker:
    """Watches levels and phases; when an inhale ends, judges it (breath or flicker) and summarises it.

    Depth is read on the belt's plain level (`Calibration.level`) after the same short box filter calibration reads
    its depth scale on, centred (so two samples late), rather than on the phase detector's level: that one is the
    end of a least-squares line, which overshoots at the sharp turns of a brisk breath by a few percent at each
    end. Per sample the work is constant; at the end of an inhale it sorts at most `recent` depths and a bounded ring of
    recent rises.
    """

    def __init__(self, depth_scale: float = 1.0, config: BreathConfig | None = None) -> None:
        self.config = config or BreathConfig()
        self._scale = depth_scale
        self._box: deque[_Point] = deque(maxlen=PEAK_SMOOTHING_SAMPLES)
        self._start_s: float | None = None
        self._low: _Point | None = None  # lowest since the last breath's peak
        self._high: _Point | None = None  # highest of the inhale in progress
        self._peak: float | None = None  # level at the last breath's peak, raised by the rises that continued it
        self._held = False  # whether a hold came since that peak (after one, a ripple's rise continues nothing)
        self._way_back: tuple[_Point, float, _Point] | None = None  # an inhale flicker: peak, start level, lowest since
        self._breaths: deque[tuple[float, float]] = deque(maxlen=self.config.recent)  # (t_end_s, depth)
        self._rises: deque[tuple[float, float]] = deque(maxlen=64)  # every inhale's (t_end_s, depth)

    def update(self, t_s: float, channels_pa: Sequence[float], level: float, phase: Phase) -> Inhale | Flicker | None:
        """Take one belt sample with its plain level and detected phase; return the judgement when a phase ended."""
        self._box.append((t_s, level, channels_pa))
        self._start_s = t_s if self._start_s is None else self._start_s
        if len(self._box) < PEAK_SMOOTHING_SAMPLES:
            return None  # the phase detector's own window is longer: it has reported nothing yet
        t_mid, _, channels_mid = self._box[PEAK_SMOOTHING_SAMPLES // 2]
        point = (t_mid, sum(p[1] for p in self._box) / PEAK_SMOOTHING_SAMPLES, channels_mid)
        ended: Inhale | Flicker | None = None
        if self._way_back is not None:
            if phase is Phase.EXHALE:
                peak, start, bottom = self._way_back
                self._way_back = (peak, start, _lower(bottom, point))
            else:
                ended = self._judge_way_back(t_s)
        if phase is Phase.INHALE:
            self._high = _higher(self._high, point)
            self._low = self._low or point
            return ended
        self._held = self._held or phase is Phase.HOLD
        if self._low is not None and self._high is not None:
            low, high = self._low, self._high
            ended = self._judge(t_s)
            if isinstance(ended, Flicker) and not ended.continues and phase is Phase.EXHALE:
                self._way_back = (high, low[1], point)
        self._low = _lower(self._low, point)
        return ended

    def finish(self, t_s: float) -> Inhale | Flicker | None:
        """End of stream: judge the inhale still in progress as if it ended here."""
        return self._judge(t_s) if self._high is not None else None

    def typical_depth(self, now_s: float) -> float:
        """What a breath is now: the median depth of the breaths that peaked in the last `memory_s`.

        Two guards keep flickers from becoming the typical breath, after which most of them would be breaths. Until
        the first breath, `quiet_depth` stands for the median, but only for the first `memory_s`, in case every
        breath reads shallower (a session calibrated on a movement far larger than any breath). And the typical
        breath is at least `large_share` of the third-largest rise of the last `memory_s` (the third, so that one
        or two movements do not hide the breaths around them): when breathing returns after a stretch of
        artefacts only, its first breaths take over at once.
        """
        window_s = now_s - self.config.memory_s
        recent = sorted(d for t, d in self._breaths if t >= window_s)
        rises = sorted((d for t, d in self._rises if t >= window_s), reverse=True)
        large = self.config.large_share * rises[2] if len(rises) > 2 else 0.0
        if recent:
            return max(recent[len(recent) // 2], large)
        early = self._start_s is not None and now_s - self._start_s < self.config.memory_s and not self._breaths
        return max(self.config.quiet_depth if early else 0.0, large)

    def _judge(self, now_s: float) -> Inhale | Flicker:
        """A breath, or a flicker that may continue the last breath (see the module docstring)."""
        assert self._low is not None and self._high is not None
        (t0, level0, low), (t1, level1, high) = self._low, self._high
        self._high = None
        depth = (level1 - level0) / self._scale
        self._rises.append((t1, depth))
        least = self.config.min_share * self.typical_depth(now_s)  # the least rise of a breath
        fell = self._peak is None or (self._peak - level0) / self._scale >= self.config.fall_share * least
        if depth >= least and fell:
            self._peak, self._low, self._held = level1, None, False
            self._breaths.append((t1, depth))
            return Inhale(t0, t1, depth, abdominal_share([h - lo for h, lo in zip(high, low, strict=True)]))
        higher = self._peak is not None and level1 > self._peak
        if higher:  # the last breath went on: its peak moves up, and depths count from below the new one
            self._peak, self._low = level1, None
        return Flicker(Phase.INHALE, t0, t1, depth, higher and (depth >= least or not self._held))

    def _judge_way_back(self, now_s: float) -> Flicker | None:
        """The exhale right after an inhale flicker was only its way back if it went no lower than about where the
        flicker started (less than `fall_share` of a breath's least rise below); else it is an exhale going on."""
        assert self._way_back is not None
        (t0, level0, _), start, (t1, level1, _) = self._way_back
        self._way_back = None
        if (start - level1) / self._scale >= self.config.fall_share * self.config.min_share * self.typical_depth(now_s):
            return None
        return Flicker(Phase.EXHALE, t0, t1, (level0 - level1) / self._scale)


def _higher(a: _Point | None, b: _Point) -> _Point:
    return b if a is None or b[1] > a[1] else a


def _lower(a: _Point | None, b: _Point) -> _Point:
    return b if a is None or b[1] < a[1] else a
