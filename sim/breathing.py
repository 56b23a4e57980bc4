"""The virtual player's breathing: lung volume over time, the belt's four pressures, mouth pressure, and truth.

A pattern is a loop of segments (inhale, exhale, hold), each reaching a lung volume at its end. Volume is in units
of the player's range: 0 is the relaxed end of a quiet exhale, 1 a full breath, negative a forced exhale. Airflow in
a segment rises over `ramp_s`, stays flat, and falls over `ramp_s` (a trapezoid), so volume moves smoothly and the
phase label changes exactly where the flow changes sign or stops: that label is the truth the analysis is scored on.
While a note sounds, the flow starts and stops with the tongue, over ATTACK_S.

The belt is a strap with pressure sensors. Breathing in with the diaphragm pushes the abdomen out (and the back of the
waist a little); breathing with the chest lifts the ribs. A channel's pressure is its offset, plus its gain times the
volume share that moves it, plus a slow drift, plus white noise. Everything is deterministic for a given seed.

Channel order matches `flutex.host.link.events.BELT_CHANNELS`: abdomen, back_waist, ribs_left, ribs_right.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

INHALE, EXHALE, HOLD = "inhale", "exhale", "hold"
PHASES = (INHALE, EXHALE, HOLD)
ATTACK_S = 0.04  # a note's mouth pressure, and the airflow with it, start and stop this fast


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of breathing: its phase, how long it lasts, and the lung volume it ends at."""

    phase: str
    duration_s: float
    volume: float  # at the segment's end, in units of the player's range
    mouth_pa: float = 0.0  # blowing pressure while this segment sounds a note; 0 = not playing


@dataclass(frozen=True, slots=True)
class BreathPattern:
    """A looping breathing pattern; the loop starts at the last segment's end volume so it is continuous."""

    name: str
    segments: tuple[Segment, ...]
    abdominal_fraction: float  # 1 = all movement at the abdomen (diaphragmatic), 0 = all at the ribs (chest)
    ramp_s: float = 0.15  # how fast airflow starts and stops
    mouth_wobble_pa: float = 0.0  # amplitude of a sinusoidal waver in blowing pressure
    mouth_wobble_hz: float = 4.0

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError("a pattern needs at least one segment")
        previous = self.segments[-1].volume
        for segment in self.segments:
            if segment.phase not in PHASES or segment.duration_s <= 0:
                raise ValueError(f"bad segment {segment}")
            rising = segment.volume - previous
            if (
                (segment.phase == INHALE and rising <= 0)
                or (segment.phase == EXHALE and rising >= 0)
                or (segment.phase == HOLD and rising != 0)
            ):
                raise ValueError(f"{segment.phase} segment from volume {previous} to {segment.volume}")
            previous = segment.volume

    @property
    def cycle_s(self) -> float:
        return sum(segment.duration_s for segment in self.segments)


@dataclass(frozen=True, slots=True)
class BeltSensors:
    """How the belt turns movement into pascals; defaults are a well-fitted belt with quiet sensors."""

    gain_pa: tuple[float, float, float, float] = (1600.0, 560.0, 900.0, 900.0)
    offset_pa: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    drift_pa_per_s: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    noise_pa: float = 2.0
    mouth_noise_pa: float = 2.0

    @classmethod
    def noisy(cls) -> BeltSensors:
        """A loose, badly tared belt on a warm day: four times the noise, offsets and a slow drift."""
        return cls(
            offset_pa=(120.0, -80.0, 45.0, -60.0),
            drift_pa_per_s=(1.5, -1.0, 0.8, -1.2),
            noise_pa=8.0,
            mouth_noise_pa=6.0,
        )


def tidal() -> BreathPattern:
    """Quiet breathing at rest: a small breath every 4 s, mostly abdominal, with soft flow onsets."""
    return BreathPattern(
        "tidal", (Segment(INHALE, 1.6, 0.15), Segment(EXHALE, 2.4, 0.0)), abdominal_fraction=0.6, ramp_s=0.3
    )


def diaphragmatic() -> BreathPattern:
    """A wind player's deep breath: quick and low into the belly, a long controlled exhale, a short rest."""
    return BreathPattern("diaphragmatic", _deep_cycle(), abdominal_fraction=0.85)


def chest_only() -> BreathPattern:
    """The same deep breath taken with the chest: the ribs move, the belly hardly does."""
    return BreathPattern("chest_only", _deep_cycle(), abdominal_fraction=0.1)


def _deep_cycle() -> tuple[Segment, ...]:
    return (Segment(INHALE, 1.2, 0.85), Segment(EXHALE, 4.5, 0.0), Segment(HOLD, 0.8, 0.0))


def breath_hold() -> BreathPattern:
    """Breathe in, hold the breath for 3 s, breathe out, rest."""
    return BreathPattern(
        "breath_hold",
        (Segment(INHALE, 1.4, 0.6), Segment(HOLD, 3.0, 0.6), Segment(EXHALE, 2.2, 0.0), Segment(HOLD, 1.0, 0.0)),
        abdominal_fraction=0.6,
    )


def phrases(*, breath_before: bool = True, steady: bool = True, mouth_pa: float = 450.0) -> BreathPattern:
    """Two played phrases per loop; the second starts with a fresh breath only if `breath_before`.

    A steady player's blowing pressure wavers by about 1%, an unsteady one's by about 14% at 4 Hz.
    """
    gap: tuple[Segment, ...] = (Segment(INHALE, 0.6, 0.7),) if breath_before else (Segment(HOLD, 0.6, 0.2),)
    second_end = 0.0 if breath_before else -0.25
    return BreathPattern(
        "phrases" + ("" if breath_before else "_no_breath") + ("" if steady else "_wavering"),
        (
            Segment(INHALE, 0.7, 0.8),
            Segment(EXHALE, 4.0, 0.25, mouth_pa),
            Segment(EXHALE, 0.5, 0.2),
            *gap,
            Segment(EXHALE, 3.5, second_end, mouth_pa),
            Segment(INHALE if second_end < 0 else HOLD, 1.2, 0.0),
            Segment(HOLD, 1.0, 0.0),
        ),
        abdominal_fraction=0.8,
        mouth_wobble_pa=(0.01 if steady else 0.14) * mouth_pa * math.sqrt(2),
    )


def calibration_breath() -> BreathPattern:
    """What a player does when calibrating: quiet breaths, then one full breath in and out."""
    return BreathPattern(
        "calibration",
        (
            *tidal().segments * 2,
            Segment(INHALE, 2.0, 1.0),
            Segment(HOLD, 0.5, 1.0),
            Segment(EXHALE, 3.0, 0.0),
        ),
        abdominal_fraction=0.6,
        ramp_s=0.3,
    )


PATTERNS = {
    "tidal": tidal,
    "diaphragmatic": diaphragmatic,
    "chest_only": chest_only,
    "breath_hold": breath_hold,
}


@dataclass(frozen=True, slots=True)
class BreathFrame:
    """What the sensors read at one instant, with the truth it came from."""

    t_s: float
    channels_pa: tuple[float, float, float, float]
    mouth_pa: float
    phase: str
    volume: float


@dataclass(frozen=True, slots=True)
class Recording:
    """A sampled stretch of simulated breathing as arrays, one row per sample."""

    t_s: np.ndarray  # (n,)
    channels_pa: np.ndarray  # (n, 4)
    mouth_pa: np.ndarray  # (n,)
    phases: np.ndarray  # (n,) of str
    volume: np.ndarray  # (n,)


@dataclass
class BreathingModel:
    """A pattern worn with a belt; call it at any time or sample it at a rate. Noise draws from the seeded rng."""

    pattern: BreathPattern
    sensors: BeltSensors = field(default_factory=BeltSensors)
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        durations = np.array([s.duration_s for s in self.pattern.segments])
        self._ends_s = np.cumsum(durations)
        self._starts_s = self._ends_s - durations
        self._end_volume = np.array([s.volume for s in self.pattern.segments])
        self._start_volume = np.roll(self._end_volume, 1)
        self._mouth = np.array([s.mouth_pa for s in self.pattern.segments])
        self._phases = np.array([s.phase for s in self.pattern.segments])
        a = self.pattern.abdominal_fraction
        self._moves = np.array([a, a, 1 - a, 1 - a]) * np.array(self.sensors.gain_pa)

    def _where(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment index and time into that segment for each time."""
        into_cycle = np.mod(t_s, self.pattern.cycle_s)
        index = np.minimum(np.searchsorted(self._ends_s, into_cycle, side="right"), len(self._ends_s) - 1)
        return index, into_cycle - self._starts_s[index]

    def volume(self, t_s: np.ndarray) -> np.ndarray:
        """Lung volume at each time, from integrating the trapezoidal flow of the current segment."""
        index, into = self._where(np.asarray(t_s, dtype=float))
        duration = self._ends_s[index] - self._starts_s[index]
        ramp = np.minimum(np.where(self._mouth[index] > 0, ATTACK_S, self.pattern.ramp_s), duration / 2)
        change = self._end_volume[index] - self._start_volume[index]
        flow = change / (duration - ramp)
        left = duration - into
        moved = np.where(
            into < ramp,
            flow * into**2 / (2 * ramp),
            np.where(left < ramp, change - flow * left**2 / (2 * ramp), flow * (ramp / 2 + into - ramp)),
        )
        return self._start_volume[index] + moved

    def phase(self, t_s: np.ndarray) -> np.ndarray:
        """Truth phase label at each time."""
        return self._phases[self._where(np.asarray(t_s, dtype=float))[0]]

    def expected_pa(self, volume: float) -> np.ndarray:
        """Noise- and drift-free channel pressures at a lung volume: what a calibration should recover."""
        return np.array(self.sensors.offset_pa) + self._moves * volume

    def expected_share(self) -> float:
        """The abdominal share an analyser should measure: abdomen+back movement over all four channels."""
        return float(self._moves[:2].sum() / self._moves.sum())

    def clean_pa(self, t_s: np.ndarray) -> np.ndarray:
        """Channel pressures without noise, shape (n, 4)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        drift = np.outer(t, self.sensors.drift_pa_per_s)
        return np.array(self.sensors.offset_pa) + np.outer(self.volume(t), self._moves) + drift

    def clean_mouth_pa(self, t_s: np.ndarray) -> np.ndarray:
        """Blowing pressure without noise: a fast attack to the segment's target, plus the pattern's waver."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        index, into = self._where(t)
        target = self._mouth[index]
        wobble = self.pattern.mouth_wobble_pa * np.sin(2 * np.pi * self.pattern.mouth_wobble_hz * t)
        return np.where(target > 0, target * np.minimum(1.0, into / ATTACK_S) + wobble, 0.0)

    def record(self, duration_s: float, rate_hz: float, start_s: float = 0.0) -> Recording:
        """Sample `duration_s` of breathing at `rate_hz`, with sensor noise."""
        return self.sample(start_s + np.arange(round(duration_s * rate_hz)) / rate_hz)

    def sample(self, t_s: np.ndarray) -> Recording:
        """Readings at the given times, with sensor noise."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        channels = self.clean_pa(t) + self._rng.normal(0.0, self.sensors.noise_pa, (len(t), 4))
        mouth = self.clean_mouth_pa(t)
        mouth = np.where(mouth > 0, mouth + self._rng.normal(0.0, self.sensors.mouth_noise_pa, len(t)), 0.0)
        return Recording(t, channels, mouth, self.phase(t), self.volume(t))

    def frame(self, t_s: float) -> BreathFrame:
        """One reading at time `t_s`, for a live virtual player driving the belt's ADC channels."""
        one = self.sample(np.array([t_s]))
        channels = one.channels_pa[0]
        return BreathFrame(
            t_s,
            (float(channels[0]), float(channels[1]), float(channels[2]), float(channels[3])),
            float(one.mouth_pa[0]),
            str(one.phases[0]),
            float(one.volume[0]),
        )

    def frames(self, rate_hz: float, start_s: float = 0.0) -> Iterator[BreathFrame]:
        """Endless readings at `rate_hz` from `start_s`."""
        n = 0
        while True:
            yield self.frame(start_s + n / rate_hz)
            n += 1

    def phrase_starts(self, duration_s: float) -> list[tuple[float, bool]]:
        """Truth: when each played phrase starts and whether the player breathed in since the last one ended."""
        starts: list[tuple[float, bool]] = []
        inhaled, sounding = False, False
        for cycle in range(math.ceil(duration_s / self.pattern.cycle_s)):
            for start, segment in zip(self._starts_s, self.pattern.segments, strict=True):
                t = cycle * self.pattern.cycle_s + float(start)
                if segment.mouth_pa > 0 and not sounding and t < duration_s:
                    starts.append((t, inhaled))
                inhaled = (inhaled and segment.mouth_pa == 0) or segment.phase == INHALE
                sounding = segment.mouth_pa > 0
        return starts
