"""Signal quality: the live analyser and `flutex breath` say when a belt shows artefacts rather than breathing."""

from __future__ import annotations

import numpy as np
import pytest
from breath_truth import BELT_HZ, belt_samples, guided_calibration, with_artefacts

from flutex.host.breath import BreathAnalyser, QualityChange, calibrate_from_session
from flutex.host.breath.quality import MIN_JUDGED_S, WINDOW_S
from flutex.host.link.events import BeltSample
from flutex.sim.breathing import BeltSensors, BreathingModel, diaphragmatic, phrases, tidal


def _artefacts_only(duration_s: float, start_s: float = 0.0, seed: int = 3) -> list[BeltSample]:
    """A belt that records no breathing: a heartbeat's ripple, sensor noise and whole-count steps."""
    rng = np.random.default_rng(seed)
    t = start_s + np.arange(0.0, duration_s, 1 / BELT_HZ)
    ripple = 15.0 * np.exp(-(((np.mod(t * 1.2, 1.0) - 0.2) / 0.06) ** 2))
    pa = np.round((ripple[:, None] + rng.normal(0.0, 4.0, (len(t), 4))) / 5.0) * 5.0 + [40, 20, 20, 20]
    return [
        BeltSample(float(ti), i, tuple(float(p) for p in row)) for i, (ti, row) in enumerate(zip(t, pa, strict=True))
    ]  # type: ignore[misc]


def _verdicts(analyser: BreathAnalyser, samples: list[BeltSample]) -> list[QualityChange]:
    return [e for s in samples for e in analyser.feed(s) if isinstance(e, QualityChange)]


@pytest.mark.parametrize("session", [True, False], ids=["session-calibrated", "guided"])
def test_a_belt_recording_only_artefacts_is_flagged_live(session):
    """Live, as soon as there is enough to judge: a tutor stops showing those 'breaths'. Before, only a whole
    recording got a verdict, after the fact."""
    samples = _artefacts_only(90.0)
    calibration = calibrate_from_session(samples) if session else guided_calibration(BeltSensors(), seed=1)[0]
    analyser = BreathAnalyser(calibration)
    changes = _verdicts(analyser, samples)
    assert changes and changes[0].quality.breathing is False
    assert changes[0].t_s <= MIN_JUDGED_S + 1.0
    assert analyser.quality.breathing is False and "belt" in analyser.quality.reason


@pytest.mark.parametrize("make", [tidal, diaphragmatic, phrases])
def test_breathing_on_a_real_belt_is_never_flagged(make):
    truth = with_artefacts(BreathingModel(make(), BeltSensors(), seed=4).record(120.0, BELT_HZ), seed=4)
    samples = belt_samples(truth)
    analyser = BreathAnalyser(calibrate_from_session(samples))
    assert _verdicts(analyser, samples) == []
    pattern = make()
    per_min = 60.0 * sum(segment.phase == "inhale" for segment in pattern.segments) / pattern.cycle_s
    assert analyser.quality.breathing and analyser.quality.breaths_per_min == pytest.approx(per_min, rel=0.15)


def test_the_verdict_follows_the_belt_slipping_off_and_back():
    """Breathing, then a belt that slipped (only artefacts), then breathing again: the verdict is about the last
    minute, so it changes within a minute either way."""
    calibration, _ = guided_calibration(BeltSensors(), seed=1)
    model = BreathingModel(diaphragmatic(), BeltSensors(), seed=2)
    breathing = belt_samples(model.record(60.0, BELT_HZ))
    slipped = _artefacts_only(90.0, start_s=60.0)
    again = belt_samples(model.record(60.0, BELT_HZ, start_s=150.0))
    analyser = BreathAnalyser(calibration)
    changes = _verdicts(analyser, [*breathing, *slipped, *again])
    assert [c.quality.breathing for c in changes] == [False, True]
    assert 60.0 < changes[0].t_s <= 60.0 + WINDOW_S
    assert 150.0 < changes[1].t_s <= 150.0 + WINDOW_S
