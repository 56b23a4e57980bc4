"""Belt calibration: where each channel rests (tare), how far it moves on a full breath (range), how noisy it is.

The belt's own tare happens at power-up, before it is strapped on, so the host re-tares on the player. The guided
calibration asks for a few quiet breaths (the rest step) and then one breath as full as possible (the full step).
Recorded sessions without a guided calibration can be calibrated from their own statistics instead.

Two scales come out of it. The range (per channel, where the level reads 1) sets the units of the level and so of
the phase detector's flow thresholds. The depth scale says how far the level rises from trough to peak on a full
breath, the unit of a breath's depth. They differ: the range is measured from the tare, the middle of quiet
breathing (and a session's up to its 99th percentile only), so a breath measured from its trough would read above
1 in range units (a guided full breath about 1.08, a session's quiet breaths about 2). Keeping the two apart gives
depths on a 0-1 scale without moving the thresholds tuned in the range's units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from flutex.host.errors import FlutexError
from flutex.host.link.events import BeltSample

MIN_SAMPLES = 20
MIN_TOTAL_RANGE_PA = 50.0  # a worn belt moves far more than this on a full breath
MIN_RANGE_FRACTION = 0.1  # a channel that hardly moved is scaled as if it moved this share of the largest one
NOISE_FLOOR_PA = 0.5
PEAK_SMOOTHING_SAMPLES = 5  # the full-breath peak is read after this box filter, so one noisy sample cannot set it
LONGEST_RISE_S = 10.0  # a session's full breath is its largest rise within this long (no breath in takes longer)

Channels = tuple[float, float, float, float]


class CalibrationError(FlutexError):
    """The calibration data cannot give a usable tare or range; the message says what the player should do."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Per-channel tare, full-breath range and noise, in pascals, in the order of BELT_CHANNELS.

    `depth_scale` is the rise of `level` from trough to peak of a full breath: a breath's depth is its rise over it.
    """

    tare_pa: Channels
    range_pa: Channels
    noise_pa: Channels
    depth_scale: float = 1.0

    def normalise(self, channels_pa: Sequence[float]) -> Channels:
        """Each channel as a fraction of its range: 0 at rest, 1 at a full breath."""
        a, b, c, d = ((p - t) / r for p, t, r in zip(channels_pa, self.tare_pa, self.range_pa, strict=True))
        return a, b, c, d

    def level(self, channels_pa: Sequence[float]) -> float:
        """Breath level across the belt: 0 at rest, 1 at a full breath.

        Channels are summed in pascals before dividing by the summed range, which weights each channel by how far
        it moves: the best signal-to-noise when all sensors are equally noisy.
        """
        moved = (
            channels_pa[0]
            - self.tare_pa[0]
            + channels_pa[1]
            - self.tare_pa[1]
            + channels_pa[2]
            - self.tare_pa[2]
            + channels_pa[3]
            - self.tare_pa[3]
        )
        return moved / self.total_range_pa

    @property
    def total_range_pa(self) -> float:
        return sum(self.range_pa)

    @property
    def level_noise(self) -> float:
        """Standard deviation of `level` from sensor noise alone."""
        return float(np.sqrt(np.sum(np.square(self.noise_pa)))) / self.total_range_pa


def _channels(samples: Sequence[BeltSample], step: str) -> np.ndarray:
    if len(samples) < MIN_SAMPLES:
        raise CalibrationError(f"the {step} step has {len(samples)} belt samples; record at least {MIN_SAMPLES}")
    return np.array([s.channels_pa for s in samples], dtype=float)


def _noise_pa(channels: np.ndarray) -> Channels:
    """Sensor noise from second differences, which cancel the slow breathing movement but not white noise."""
    second = np.diff(channels, n=2, axis=0)
    noise = np.maximum(second.std(axis=0) / np.sqrt(6.0), NOISE_FLOOR_PA)
    return _as_channels(noise)


def _as_channels(values: np.ndarray) -> Channels:
    a, b, c, d = (float(v) for v in values)
    return a, b, c, d


def _smoothed(values: np.ndarray) -> np.ndarray:
    """The box filter peaks and depths are read after (the breath tracker uses it too)."""
    return np.convolve(values, np.ones(PEAK_SMOOTHING_SAMPLES) / PEAK_SMOOTHING_SAMPLES, mode="valid")


def _levels(calibration: Calibration, channels: np.ndarray) -> np.ndarray:
    """`Calibration.level` of every row, smoothed."""
    return _smoothed((channels - np.asarray(calibration.tare_pa)).sum(axis=1) / calibration.total_range_pa)


def _largest_rise(levels: np.ndarray, samples: int) -> float:
    """The largest rise of `levels` from a trough to a later peak at most `samples` after it."""
    if len(levels) <= samples:
        return float(np.max(levels - np.minimum.accumulate(levels)))
    window_min = np.lib.stride_tricks.sliding_window_view(levels, samples).min(axis=1)
    trailing_min = np.concatenate([np.minimum.accumulate(levels[: samples - 1]), window_min])
    return float(np.max(levels - trailing_min))


def _checked(tare: np.ndarray, moved: np.ndarray, noise: Channels, *, session: bool = False) -> Calibration:
    if not moved.sum() >= MIN_TOTAL_RANGE_PA:
        if session:
            raise CalibrationError(
                f"the belt's channels span only {moved.sum():.3g} Pa over the whole recording, where breathing moves "
                f"them by hundreds: the values must be pascals (not kPa or volts) from a belt that was worn"
            )
        raise CalibrationError(
            f"the belt moved only {moved.sum():.0f} Pa on the full breath (need {MIN_TOTAL_RANGE_PA:.0f}): "
            "tighten the belt and breathe in as far as you can"
        )
    floor = MIN_RANGE_FRACTION * moved.max()
    return Calibration(_as_channels(tare), _as_channels(np.maximum(moved, floor)), noise)


def calibrate(rest: Sequence[BeltSample], full_breath: Sequence[BeltSample]) -> Calibration:
    """Calibrate from a guided session: quiet breathing (`rest`), then one full breath in and out (`full_breath`).

    Tare is the mean of the rest step (the middle of quiet breathing, as in the Sensing the Breath belt); range is
    the highest point of the full breath above the tare. The depth scale is the full breath's rise from the lowest
    level before it (rest step included) to its peak, so that breath reads a depth of 1. Raises CalibrationError
    when a step is too short or the belt hardly moved.
    """
    rest_pa = _channels(rest, "rest")
    full_pa = _channels(full_breath, "full breath")
    tare = rest_pa.mean(axis=0)
    peak = np.array([_smoothed(full_pa[:, c]).max() for c in range(4)])
    calibration = _checked(tare, peak - tare, _noise_pa(rest_pa))
    levels = _levels(calibration, np.concatenate([rest_pa, full_pa]))
    top = len(rest_pa) + int(np.argmax(levels[len(rest_pa) :]))
    return replace(calibration, depth_scale=float(levels[top] - levels[: top + 1].min()))


def calibrate_from_session(samples: Sequence[BeltSample]) -> Calibration:
    """Calibrate a recording that has no guided calibration: median as tare, 99th percentile as the range.

    The range is then the player's largest breaths in the session rather than their largest possible one; the
    phase detector's flow thresholds are tuned in these units. The depth scale is the session's largest rise of
    the level within `LONGEST_RISE_S` (smoothed as the guided peak is): its deepest breath, unless something that
    was no breath rose further, so depths read at most about 1 and relative to the player's own deepest breath.
    Raises CalibrationError when the channels hardly move at all, which in a recording means other units than
    pascals or a belt that was not worn.
    """
    channels = _channels(samples, "session")
    tare = np.median(channels, axis=0)
    calibration = _checked(tare, np.percentile(channels, 99, axis=0) - tare, _noise_pa(channels), session=True)
    span_s = samples[-1].t_s - samples[0].t_s
    longest = max(1, round(LONGEST_RISE_S * (len(samples) - 1) / span_s)) if span_s > 0 else len(samples)
    return replace(calibration, depth_scale=_largest_rise(_levels(calibration, channels), longest) or 1.0)
