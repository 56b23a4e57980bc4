"""Calibration recovers the tare and range the model was built with, and refuses data it cannot use."""

from __future__ import annotations

import numpy as np
import pytest
from breath_truth import BELT_HZ, REST_S, belt_samples, guided_calibration, with_artefacts
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.host.breath import (
    BreathAnalyser,
    Calibration,
    CalibrationError,
    Inhale,
    analyse,
    calibrate,
    calibrate_from_session,
)
from flutex.host.link.events import BeltSample
from flutex.sim.breathing import (
    BeltSensors,
    BreathingModel,
    BreathPattern,
    Recording,
    Segment,
    breath_hold,
    diaphragmatic,
    phrases,
    tidal,
)


@pytest.mark.parametrize("sensors", [BeltSensors(), BeltSensors.noisy()], ids=["clean", "noisy"])
def test_guided_calibration_recovers_tare_range_and_noise(sensors):
    calibration, model = guided_calibration(sensors, seed=5)
    rest = model.volume(np.arange(0.0, REST_S, 1 / BELT_HZ)).mean()
    true_tare = model.expected_pa(rest)
    drift_pa = np.abs(sensors.drift_pa_per_s) * REST_S  # a drifting belt shifts the tare by up to this
    assert np.abs(np.array(calibration.tare_pa) - true_tare).max() <= 3.0 + drift_pa.max()
    true_range = model.expected_pa(1.0) - true_tare
    assert np.array(calibration.range_pa) == pytest.approx(true_range, rel=0.05, abs=5 + drift_pa.max() * 3)
    assert np.array(calibration.noise_pa) == pytest.approx([sensors.noise_pa] * 4, rel=0.15)


def test_levels_read_zero_at_rest_and_one_at_a_full_breath():
    calibration, model = guided_calibration(BeltSensors(noise_pa=0.0), seed=1)
    rest = model.volume(np.arange(0.0, REST_S, 1 / BELT_HZ)).mean()
    assert calibration.level(model.expected_pa(rest)) == pytest.approx(0.0, abs=1e-9)
    assert calibration.level(model.expected_pa(1.0)) == pytest.approx(1.0, abs=0.01)
    assert calibration.normalise(model.expected_pa(1.0)) == pytest.approx((1.0,) * 4, abs=0.01)


def test_session_calibration_reads_the_players_own_largest_breaths():
    model = BreathingModel(tidal(), BeltSensors(), seed=2)
    recording = model.record(40.0, BELT_HZ)
    calibration = calibrate_from_session(belt_samples(recording))
    assert calibration.level(model.expected_pa(float(np.median(recording.volume)))) == pytest.approx(0.0, abs=0.05)
    assert calibration.level(model.expected_pa(0.15)) == pytest.approx(1.0, abs=0.05)


def test_session_calibration_of_a_file_in_other_units_says_so():
    """A recording in kilopascals moves a fraction of a unit: the error names the units, not the belt's fit."""
    recording = BreathingModel(tidal(), BeltSensors(), seed=2).record(40.0, BELT_HZ)
    samples = [BeltSample(s.t_s, s.seq, tuple(c / 1000 for c in s.channels_pa)) for s in belt_samples(recording)]
    with pytest.raises(CalibrationError, match="must be pascals") as error:
        calibrate_from_session(samples)  # type: ignore[arg-type]
    assert "tighten" not in str(error.value)


def _deepest(calibration: Calibration, recording: Recording) -> float:
    report = analyse(belt_samples(recording), BreathAnalyser(calibration))
    return max(inhale.depth for inhale in report.of_type(Inhale))


@pytest.mark.parametrize("sensors", [BeltSensors(), BeltSensors.noisy()], ids=["clean", "noisy"])
def test_the_calibration_breath_reads_a_depth_of_one(sensors):
    """Depth 1 is the full breath as calibrated, from its trough; before, the range from the tare (the middle of
    quiet breathing) was the unit, and the calibration's own breath read about 1.08."""
    calibration, model = guided_calibration(sensors, seed=4)
    assert _deepest(calibration, model.record(model.pattern.cycle_s, BELT_HZ)) == pytest.approx(1.0, abs=0.03)


def test_a_breath_deeper_than_the_calibration_reads_above_one():
    """Depth is not clipped: 1.2 says the player breathed deeper than when calibrating (time to calibrate again)."""
    calibration, _ = guided_calibration(BeltSensors(), seed=4)
    deep = BreathPattern("deep", (Segment("inhale", 2.0, 1.2), Segment("exhale", 4.0, 0.0)), abdominal_fraction=0.6)
    assert _deepest(calibration, BreathingModel(deep, BeltSensors(), seed=5).record(20.0, BELT_HZ)) == pytest.approx(
        1.2, abs=0.05
    )


@pytest.mark.parametrize("make", [tidal, diaphragmatic, phrases, breath_hold])
@pytest.mark.parametrize("sensors", [BeltSensors(), BeltSensors.noisy()], ids=["clean", "noisy"])
def test_session_depths_are_at_most_one(make, sensors):
    """Calibrated from the session itself, no breath reads above 1, artefacts and drift included; the deepest reads
    nearly 1 (less when flicker rode on it: 0.8 for quiet breaths with 17% flicker). Before, the 99th percentile
    above the median was the unit and quiet breaths read about 2."""
    recording = with_artefacts(BreathingModel(make(), sensors, seed=6).record(60.0, BELT_HZ), seed=6)
    assert 0.75 <= _deepest(calibrate_from_session(belt_samples(recording)), recording) <= 1.0


def _still(n: int, pa: float = 0.0) -> list[BeltSample]:
    return [BeltSample(i / BELT_HZ, i, (pa, pa, pa, pa)) for i in range(n)]


def test_calibration_refuses_short_steps_and_a_loose_belt():
    with pytest.raises(CalibrationError, match="at least"):
        calibrate(_still(5), _still(100))
    with pytest.raises(CalibrationError, match="tighten the belt"):
        calibrate(_still(100), _still(100, pa=5.0))


def test_a_channel_that_hardly_moves_is_not_blown_up():
    rest = _still(100)
    full = [BeltSample(i / BELT_HZ, i, (float(i * 10), 0.0, 0.0, 0.0)) for i in range(100)]
    calibration = calibrate(rest, full)
    assert min(calibration.range_pa) >= 0.1 * max(calibration.range_pa)


@settings(max_examples=50)
@given(
    tare=st.tuples(*[st.floats(-1e4, 1e4)] * 4),
    span=st.tuples(*[st.floats(1.0, 1e4)] * 4),
    fraction=st.floats(-1.0, 2.0),
)
def test_level_is_the_range_weighted_mean_of_normalised_channels(tare, span, fraction):
    calibration = Calibration(tare, span, (1.0,) * 4)
    pressures = [t + fraction * s for t, s in zip(tare, span, strict=True)]
    assert calibration.level(pressures) == pytest.approx(fraction, abs=1e-6)
    weighted = sum(n * s for n, s in zip(calibration.normalise(pressures), span, strict=True)) / sum(span)
    assert calibration.level(pressures) == pytest.approx(weighted, abs=1e-6)
