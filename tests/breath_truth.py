"""Shared by the breath tests: simulated breathing as device samples, and scoring detected phases against truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flutex.breath import BreathAnalyser, BreathReport, Calibration, PhaseChange, analyse, calibrate
from flutex.events import BeltSample, FluteSample
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


def score(report: BreathReport, truth: Recording, skip_s: float = 1.0) -> Score:
    """Share of belt samples whose phase is right, and for each true change the delay until it was detected."""
    t = np.asarray(report.belt_t_s)
    keep = t >= skip_s
    detected = np.asarray([str(p) for p in report.phases])
    accuracy = float(np.mean(detected[keep] == truth.phases[keep]))
    changes = [e for e in report.of_type(PhaseChange) if e.t_s >= skip_s - EARLY_S]
    delays, missed, used = [], 0, set()
    for i in np.flatnonzero(truth.phases[1:] != truth.phases[:-1]) + 1:
        t0 = truth.t_s[i]
        if t0 < skip_s:
            continue
        match = next(
            (
                k
                for k, c in enumerate(changes)
                if k not in used and c.phase == truth.phases[i] and t0 - EARLY_S <= c.t_s <= t0 + MATCH_WINDOW_S
            ),
            None,
        )
        if match is None:
            missed += 1
        else:
            used.add(match)
            delays.append(changes[match].t_s - t0)
    return Score(accuracy, delays, missed, len(changes) - len(used))
