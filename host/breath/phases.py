"""Breath phase (inhale / exhale / hold) from the belt, one sample at a time, with about 100 ms of delay.

The belt's channels become one breath level (see `Calibration.level`). Airflow is the slope of a least-squares line
through the most recent values of a matched mix of the channels (`ChannelMixer`: weighted by how this player's
breathing moves each one, so less noisy than the level), which lags by half its window. Two windows run side by
side: a short one with a high threshold catches the brisk breaths of playing within tens of milliseconds, and a
longer one with a low threshold catches slow, quiet breaths that the short one cannot tell from noise. The long
window is made just long enough that the mix's sensor noise stays under `move_per_s` (so noisier belts trade delay
for reliability). Flow that stays under `still_per_s` for `hold_confirm_s` is a hold. Between the thresholds the
phase does not change (hysteresis), so noise cannot make it flicker and the short still moment at a turn is not
reported as a hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from flutex.host.breath.calibration import Calibration
from flutex.host.link.events import BeltSample

BELT_RATE_HZ = 100.0


class Phase(StrEnum):
    INHALE = "inhale"
    EXHALE = "exhale"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class PhaseConfig:
    """Phase detector settings; flows are in calibrated range per second (1.0/s = a full breath in one second)."""

    fast_window_s: float = 0.08
    fast_move_per_s: float = 0.1
    window_s: float = 0.1  # shortest slow window; noisier belts get a longer one, up to max_window_s
    max_window_s: float = 0.3
    move_per_s: float = 0.05
    still_per_s: float = 0.025
    hold_confirm_s: float = 0.04
    noise_sigmas: float = 3.0  # flow noise allowed: move_per_s is at least this many of its standard deviations
    hold_noise_sigmas: float = 4.0  # leaving a hold needs this many: a long hold gives noise many chances


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """The breath changed phase; `t_s` is when it was detected (board time of the sample that decided it)."""

    t_s: float
    phase: Phase
    previous: Phase
    level: float


def _flow_noise(level_noise: float, n: int, rate_hz: float) -> float:
    """Standard deviation of a least-squares slope over n evenly spaced samples of white noise."""
    return level_noise * (12.0 / (n**3 - n)) ** 0.5 * rate_hz


def _slow_window(level_noise: float, config: PhaseConfig, rate_hz: float) -> int:
    """Fewest samples, from window_s to max_window_s, whose flow noise keeps `move_per_s` above noise_sigmas of it.

    In closed form (it runs every sample): the least n with n**3 - n >= 12 (noise_sigmas * noise * rate / move)**2.
    """
    shortest = max(3, round(config.window_s * rate_hz))
    longest = max(shortest, round(config.max_window_s * rate_hz))
    need = 12.0 * (config.noise_sigmas * level_noise * rate_hz / config.move_per_s) ** 2
    n = max(shortest, int(need ** (1.0 / 3.0)))
    while n < longest and n**3 - n < need:
        n += 1
    return min(n, longest)


class ChannelMixer:
    """Matched-filter weights for the four channels, learnt from how this player's breathing moves them.

    Summing the channels in pascals (`Calibration.level`) is the best mix only when every channel moves as much as
    every other; a belly breather moves the abdomen far more than the ribs, a chest breather the reverse. For white
    sensor noise the best linear mix of a movement along direction s weights channel i by s_i / noise_i²
    (the matched filter). The direction is learnt without a model of the player: the covariance of each channel's
    change over a fixed lag (the caller's window) with the summed change, averaged over `time_constant_s`, minus
    the part sensor noise
    contributes (2 noise_i², the noise of a difference). Channels moving against the sum count as zero, and every
    channel keeps a ridge of one noise variance, so with little breathing seen the mix stays the plain sum.
    Weights are scaled so that a movement along the learnt direction reads the same level as the plain sum; the mix
    is never noisier than the plain sum.
    """

    def __init__(self, calibration: Calibration, rate_hz: float, time_constant_s: float = 10.0) -> None:
        self._tare = calibration.tare_pa
        self._noise_var = tuple(n * n for n in calibration.noise_pa)
        self._inv_total_range = 1.0 / calibration.total_range_pa
        self._alpha = min(1.0, 1.0 / (time_constant_s * rate_hz))
        self._cov = [2.0 * v for v in self._noise_var]
        self.weights: tuple[float, ...] = (self._inv_total_range,) * 4
        self.noise = calibration.level_noise

    def deviations(self, channels_pa: Sequence[float]) -> tuple[float, float, float, float]:
        t = self._tare
        return channels_pa[0] - t[0], channels_pa[1] - t[1], channels_pa[2] - t[2], channels_pa[3] - t[3]

    def learn(self, change: Sequence[float]) -> None:
        """Take each channel's change over the lag; update the weights and the mixed signal's noise."""
        total = change[0] + change[1] + change[2] + change[3]
        alpha = self._alpha
        cov = self._cov
        shares = []
        for i in range(4):
            cov[i] += alpha * (change[i] * total - cov[i])
            shares.append(max(cov[i] - 2.0 * self._noise_var[i], 0.0) + self._noise_var[i])
        matched = [s / v for s, v in zip(shares, self._noise_var, strict=True)]
        scale = sum(shares) * self._inv_total_range / sum(m * s for m, s in zip(matched, shares, strict=True))
        self.weights = tuple(m * scale for m in matched)
        self.noise = sum(w * w * v for w, v in zip(self.weights, self._noise_var, strict=True)) ** 0.5


class PhaseDetector:
    """Incremental phase detector: feed belt samples in time order, read `phase`, `level` and `flow_per_s`.

    Flow is read from the `ChannelMixer`'s matched mix of the channels, whose lower noise allows shorter windows
    and lower thresholds, recomputed every sample from the mix's current noise; `level` stays the plain sum, so
    depths do not depend on what the mixer has learnt. Per sample it does a fixed amount of arithmetic on
    preallocated rings of at most `max_window_s * rate_hz` samples.
    """

    def __init__(
        self, calibration: Calibration, config: PhaseConfig | None = None, rate_hz: float = BELT_RATE_HZ
    ) -> None:
        self.config = config or PhaseConfig()
        self._calibration = calibration
        self._rate_hz = rate_hz
        self.mixer = ChannelMixer(calibration, rate_hz)
        self._n_fast = max(3, round(self.config.fast_window_s * rate_hz))
        n = max(self._n_fast, _slow_window(calibration.level_noise, self.config, rate_hz))
        self._t = [0.0] * n
        self._y = [0.0] * n
        self._d: list[tuple[float, float, float, float]] = [(0.0, 0.0, 0.0, 0.0)] * n
        self._count = 0
        self._set_thresholds(calibration.level_noise)
        self._hold_scale = max(1.0, self.config.hold_noise_sigmas / self.config.noise_sigmas)
        self._still_since_s: float | None = None
        self.phase = Phase.HOLD
        self.level = 0.0
        self.flow_per_s = 0.0

    def _set_thresholds(self, noise: float) -> None:
        """Slow window length and flow thresholds for the mixed signal's current noise (see `_slow_window`)."""
        config, rate, sigmas = self.config, self._rate_hz, self.config.noise_sigmas
        self._n_slow = max(self._n_fast, min(len(self._t), _slow_window(noise, config, rate)))
        self.fast_move_per_s = max(config.fast_move_per_s, sigmas * _flow_noise(noise, self._n_fast, rate))
        self.move_per_s = max(config.move_per_s, sigmas * _flow_noise(noise, self._n_slow, rate))
        self.still_per_s = max(config.still_per_s, self.move_per_s * 0.5)

    def update(self, sample: BeltSample) -> PhaseChange | None:
        """Take one belt sample; return a PhaseChange when this sample changes the phase."""
        n = len(self._t)
        slot = self._count % n
        deviation = self.mixer.deviations(sample.channels_pa)
        if self._count >= n - 1:
            oldest = self._d[(slot + 1) % n]  # n - 1 samples ago
            self.mixer.learn([a - b for a, b in zip(deviation, oldest, strict=True)])
        self._t[slot] = sample.t_s
        self._d[slot] = deviation
        self._y[slot] = sum(deviation) / self._calibration.total_range_pa
        self._count += 1
        if self._count < n:
            self.level = self._y[slot]
            return None
        self._set_thresholds(self.mixer.noise)
        w0, w1, w2, w3 = self.mixer.weights
        newest = self._count - 1
        mixed = []
        for j in range(self._n_slow):
            d = self._d[(newest - j) % n]
            mixed.append(w0 * d[0] + w1 * d[1] + w2 * d[2] + w3 * d[3])
        fast_flow, _ = self._line(self._n_fast, sample.t_s, mixed)
        self.flow_per_s, _ = self._line(self._n_slow, sample.t_s, mixed)
        _, self.level = self._line(n, sample.t_s, None)
        return self._decide(sample.t_s, fast_flow)

    def _line(self, k: int, now_s: float, values: list[float] | None) -> tuple[float, float]:
        """Least-squares line through the newest k levels (or `values`, newest first): its slope and value now."""
        n = len(self._t)
        newest = self._count - 1
        ts = [self._t[(newest - j) % n] for j in range(k)]
        ys = values[:k] if values is not None else [self._y[(newest - j) % n] for j in range(k)]
        mean_t = sum(ts) / k
        mean_y = sum(ys) / k
        s_tt = s_ty = 0.0
        for t, y in zip(ts, ys, strict=True):
            s_tt += (t - mean_t) ** 2
            s_ty += (t - mean_t) * (y - mean_y)
        slope = s_ty / s_tt if s_tt > 0 else 0.0
        return slope, mean_y + slope * (now_s - mean_t)

    def _decide(self, now_s: float, fast_flow: float) -> PhaseChange | None:
        flow = self.flow_per_s
        moving = None
        scale = self._hold_scale if self.phase is Phase.HOLD else 1.0
        if abs(fast_flow) > self.fast_move_per_s * scale:
            moving = fast_flow
        elif abs(flow) > self.move_per_s * scale and (flow > 0) == (fast_flow > 0):
            moving = flow  # the short window must not contradict the long one, or turns would bounce back
        if moving is not None:
            self._still_since_s = None
            phase = Phase.INHALE if moving > 0 else Phase.EXHALE
        elif abs(flow) < self.still_per_s:
            if self._still_since_s is None:
                self._still_since_s = now_s
            confirmed = now_s - self._still_since_s >= self.config.hold_confirm_s
            phase = Phase.HOLD if confirmed else self.phase
        else:
            self._still_since_s = None
            phase = self.phase
        if phase is self.phase:
            return None
        change = PhaseChange(now_s, phase, self.phase, self.level)
        self.phase = phase
        return change
