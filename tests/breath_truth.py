"""Shared by the breath tests: simulated breathing as device samples, and scoring detected phases against truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flutex.host.breath import BreathAnalyser, BreathReport, Calibration, PhaseChange, analyse, calibrate
from flutex.host.link.events import BeltSample, FluteSample
from flutex.sim.breathing import BeltSensors, BreathingModel, BreathPattern, Recording, calibration_breath

BELT_HZ = 100.0
FLUTE_HZ = 200.0
REST_S = 8.0  # the calibration pattern's two quiet breaths; the full breath follows
EARLY_S = 0.05  # a detected change this much before the true one still counts as a match
MATCH_WINDOW_S = 0.5  # ...and one later than this is a miss


def belt_samples(recording: Recording) -> list[BeltSample]:
    return [
        BeltSample(float(t), seq, (float(c[0]), float(c[1]), float(c[2]), float(c[3])))
        for seq, (t, c) in enumerate(zip(recording.t_s, recording.channels_pa, strict=True))
    ]


def flute_samples(recording: Recording, closed_mask: int = 0b111) -> list[FluteSample]:
    return [
        FluteSample(float(t), seq, closed_mask, float(p))
        for seq, (t, p) in enumerate(zip(recording.t_s, recording.mouth_pa, strict=True))
    ]


def guided_calibration(sensors: BeltSensors, seed: int) -> tuple[Calibration, BreathingModel]:
    """Calibrate as a player would: quiet breathing, then one full breath; also return the model that breathed."""
    model = BreathingModel(calibration_breath(), sensors, seed)
    samples = belt_samples(model.record(model.pattern.cycle_s, BELT_HZ))
    split = round(REST_S * BELT_HZ)
    return calibrate(samples[:split], samples[split:]), model


def run(pattern: BreathPattern, sensors: BeltSensors, seed: int, duration_s: float) -> tuple[BreathReport, Recording]:
    """Simulate a pattern's belt and flute streams, analyse them together; returns the report and the belt truth."""
    model = BreathingModel(pattern, sensors, seed)
    belt = model.record(duration_s, BELT_HZ)
    flute = model.record(duration_s, FLUTE_HZ)
    calibration, _ = guided_calibration(sensors, seed + 1000)
    return analyse([*belt_samples(belt), *flute_samples(flute)], BreathAnalyser(calibration)), belt


@dataclass(frozen=True)
class Score:
    frame_accuracy: float
    delays_s: list[float]
    missed: int
    spurious: int

    @property
    def median_delay_s(self) -> float:
        return float(np.median(self.delays_s))


def listed_phases(rows: list[dict[str, object]], t_s: np.ndarray) -> np.ndarray:
    """The phase of each time in `t_s` as a phases list (`flutex breath`'s rows) gives it; "" before its first row."""
    phases = np.full(len(t_s), "", dtype=object)
    for row in rows:
        start, end = np.searchsorted(t_s, [row["t_start_s"], row["t_end_s"]])
        phases[start:end] = row["phase"]
    return phases


def score(
    report: BreathReport, truth: Recording, skip_s: float = 1.0, rows: list[dict[str, object]] | None = None
) -> Score:
    """Share of belt samples whose phase is right, and for each true change the delay until it was detected.

    Scores the live phase and its changes, or with `rows` the phases list (`flutex.host.commands.breath.segments`).
    """
    t = np.asarray(report.belt_t_s)
    keep = t >= skip_s
    if rows is None:
        detected = np.asarray([str(p) for p in report.phases])
        changes = [(e.t_s, str(e.phase)) for e in report.of_type(PhaseChange)]
    else:
        detected = listed_phases(rows, t)
        changes = [(float(row["t_start_s"]), str(row["phase"])) for row in rows]  # type: ignore[arg-type]
    accuracy = float(np.mean(detected[keep] == truth.phases[keep]))
    changes = [(t_s, phase) for t_s, phase in changes if t_s >= skip_s - EARLY_S]
    delays, missed, used = [], 0, set()
    for i in np.flatnonzero(truth.phases[1:] != truth.phases[:-1]) + 1:
        t0 = truth.t_s[i]
        if t0 < skip_s:
            continue
        match = next(
            (
                k
                for k, (t_s, phase) in enumerate(changes)
                if k not in used and phase == truth.phases[i] and t0 - EARLY_S <= t_s <= t0 + MATCH_WINDOW_S
            ),
            None,
        )
        if match is None:
            missed += 1
        else:
            used.add(match)
            delays.append(changes[match][0] - t0)
    return Score(accuracy, delays, missed, len(changes) - len(used))


def with_artefacts(
    recording: Recording,
    seed: int,
    *,
    ripple_pa: float = 12.0,
    step_pa: float = 6.0,
    flicker_pa: float = 40.0,
    flickers_per_s: float = 1.0,
) -> Recording:
    """The same breathing as a real belt records it: heartbeat ripple, sensor steps and speech flicker on top.

    Ripple: the heart (1.1-1.3 Hz) moves the abdomen and back by `ripple_pa` (sharp beats, not a sine). Steps: every
    channel reads in whole multiples of `step_pa`, so a slow movement becomes a staircase. Flicker: during exhales,
    brief bumps (0.1-0.3 s, up to `flicker_pa` on the abdomen and half that on the ribs) as speech or playing pushes
    the wall in and out. The phase truth is unchanged: none of these is a breath.
    """
    rng = np.random.default_rng(seed)
    t = recording.t_s
    channels = recording.channels_pa.copy()
    heart_hz = rng.uniform(1.1, 1.3)
    beat = np.mod(t * heart_hz, 1.0)
    ripple = ripple_pa * np.exp(-(((beat - 0.2) / 0.06) ** 2)) - ripple_pa * 0.25
    channels[:, 0] += ripple
    channels[:, 1] += 0.5 * ripple
    exhaling = np.flatnonzero(recording.phases == "exhale")
    for start in rng.choice(exhaling, size=int(flickers_per_s * len(exhaling) / BELT_HZ), replace=False):
        width = int(rng.uniform(0.1, 0.3) * BELT_HZ)
        bump = np.sin(np.linspace(0.0, np.pi, width)) * rng.uniform(0.3, 1.0) * flicker_pa
        end = min(len(t), start + width)
        channels[start:end, 0] += bump[: end - start]
        channels[start:end, 2:] += 0.5 * bump[: end - start, None]
    channels = np.round(channels / step_pa) * step_pa
    return Recording(t, channels, recording.mouth_pa, recording.phases, recording.volume)


def true_inhales(recording: Recording) -> int:
    """How many inhale segments the truth has (a segment cut by the recording's start counts)."""
    inhaling = recording.phases == "inhale"
    return int(inhaling[0]) + int(np.sum(inhaling[1:] & ~inhaling[:-1]))
