"""Breath phase (inhale / exhale / hold) from the belt, one sample at a time, with about 100 ms of delay.

The belt's channels become one breath level (see `Calibration.level`); airflow is the slope of a least-squares line
through the most recent levels, which lags by half its window. Two windows run side by side: a short one with a high
threshold catches the brisk breaths of playing within tens of milliseconds, and a longer one with a low threshold
catches slow, quiet breaths that the short one cannot tell from noise. The long window is made just long enough
that the calibrated sensor noise stays under `move_per_s` (so noisier belts trade delay for reliability). Flow
that stays under `still_per_s` for `hold_confirm_s` is a hold. Between the thresholds the phase does not change
(hysteresis), so noise cannot make it flicker and the short still moment at a turn is not reported as a hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flutex.breath.calibration import Calibration
from flutex.events import BeltSample

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
    """Fewest samples, from window_s to max_window_s, whose flow noise keeps `move_per_s` above noise_sigmas of it."""
    shortest = max(3, round(config.window_s * rate_hz))
    longest = max(shortest, round(config.max_window_s * rate_hz))
    return next(
        (
            n
            for n in range(shortest, longest)
            if config.noise_sigmas * _flow_noise(level_noise, n, rate_hz) <= config.move_per_s
        ),
        longest,
    )


class PhaseDetector:
    """Incremental phase detector: feed belt samples in time order, read `phase`, `level` and `flow_per_s`.

    Per sample it does a fixed amount of arithmetic on a preallocated ring of at most `max_window_s * rate_hz` levels.
    """

    def __init__(
        self, calibration: Calibration, config: PhaseConfig | None = None, rate_hz: float = BELT_RATE_HZ
    ) -> None:
        self.config = config or PhaseConfig()
        self._calibration = calibration
        noise, sigmas = calibration.level_noise, self.config.noise_sigmas
        self._n_fast = max(3, round(self.config.fast_window_s * rate_hz))
        n = max(self._n_fast, _slow_window(noise, self.config, rate_hz))
        self._t = [0.0] * n
        self._y = [0.0] * n
        self._count = 0
        self.fast_move_per_s = max(self.config.fast_move_per_s, sigmas * _flow_noise(noise, self._n_fast, rate_hz))
        self.move_per_s = max(self.config.move_per_s, sigmas * _flow_noise(noise, n, rate_hz))
        self.still_per_s = max(self.config.still_per_s, self.move_per_s * 0.5)
        self._hold_scale = max(1.0, self.config.hold_noise_sigmas / sigmas)
        self._still_since_s: float | None = None
        self.phase = Phase.HOLD
        self.level = 0.0
        self.flow_per_s = 0.0

    def update(self, sample: BeltSample) -> PhaseChange | None:
        """Take one belt sample; return a PhaseChange when this sample changes the phase."""
        n = len(self._t)
        slot = self._count % n
        self._t[slot] = sample.t_s
        self._y[slot] = self._calibration.level(sample.channels_pa)
        self._count += 1
        if self._count < n:
            self.level = self._y[slot]
            return None
        fast_flow, _ = self._line(self._n_fast, sample.t_s)
        self.flow_per_s, self.level = self._line(len(self._t), sample.t_s)
        return self._decide(sample.t_s, fast_flow)

    def _line(self, k: int, now_s: float) -> tuple[float, float]:
        """Least-squares line through the newest k levels: its slope (flow) and its value now (smoothed level)."""
        n = len(self._t)
        newest = self._count - 1
        mean_t = mean_y = 0.0
        for j in range(k):
            slot = (newest - j) % n
            mean_t += self._t[slot]
            mean_y += self._y[slot]
        mean_t /= k
        mean_y /= k
        s_tt = s_ty = 0.0
        for j in range(k):
            slot = (newest - j) % n
            s_tt += (self._t[slot] - mean_t) ** 2
            s_ty += (self._t[slot] - mean_t) * (self._y[slot] - mean_y)
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
