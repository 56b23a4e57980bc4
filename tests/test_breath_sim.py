"""The simulator's breathing model: continuous, labelled consistently with its own movement, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.sim.breathing import (
    EXHALE,
    HOLD,
    INHALE,
    PATTERNS,
    BeltSensors,
    BreathingModel,
    BreathPattern,
    Segment,
    calibration_breath,
    phrases,
)

ALL = [*PATTERNS.values(), phrases, calibration_breath]


@pytest.mark.parametrize("make", ALL, ids=[m.__name__ for m in ALL])
def test_volume_is_continuous_and_moves_as_labelled(make):
    model = BreathingModel(make(), BeltSensors(noise_pa=0.0))
    t = np.arange(0.0, 2 * model.pattern.cycle_s, 0.001)
    volume = model.volume(t)
    assert np.abs(np.diff(volume)).max() < 0.01  # no jumps, also across the loop
    rising = np.diff(volume)
    labels = model.phase((t[1:] + t[:-1]) / 2)
    assert np.all(rising[labels == INHALE] > -1e-12)
    assert np.all(rising[labels == EXHALE] < 1e-12)
    assert np.all(np.abs(rising[labels == HOLD]) < 1e-12)


def test_inhaling_raises_the_channels_of_the_part_that_moves():
    belly = BreathingModel(PATTERNS["diaphragmatic"](), BeltSensors(noise_pa=0.0))
    chest = BreathingModel(PATTERNS["chest_only"](), BeltSensors(noise_pa=0.0))
    belly_rise = belly.expected_pa(0.8) - belly.expected_pa(0.0)
    chest_rise = chest.expected_pa(0.8) - chest.expected_pa(0.0)
    assert belly_rise[0] > 3 * chest_rise[0] and belly_rise[1] > 0
    assert chest_rise[2] > 3 * belly_rise[2] and chest_rise[3] > 3 * belly_rise[3]
    assert belly.expected_share() > 0.8 > 0.2 > chest.expected_share()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), start_s=st.floats(0.0, 100.0))
def test_same_seed_same_readings_and_frames_match_recordings(seed, start_s):
    a = BreathingModel(phrases(), BeltSensors.noisy(), seed).record(2.0, 100.0, start_s)
    b = BreathingModel(phrases(), BeltSensors.noisy(), seed).record(2.0, 100.0, start_s)
    assert np.array_equal(a.channels_pa, b.channels_pa) and np.array_equal(a.mouth_pa, b.mouth_pa)
    frame = BreathingModel(phrases(), BeltSensors(noise_pa=0.0, mouth_noise_pa=0.0)).frame(start_s)
    clean = BreathingModel(phrases(), BeltSensors(noise_pa=0.0, mouth_noise_pa=0.0)).record(1.0, 1.0, start_s)
    assert frame.channels_pa == pytest.approx(tuple(clean.channels_pa[0]))
    assert frame.phase == clean.phases[0] and frame.mouth_pa == pytest.approx(clean.mouth_pa[0])


def test_noise_and_drift_are_as_configured():
    sensors = BeltSensors.noisy()
    model = BreathingModel(PATTERNS["breath_hold"](), sensors, seed=3)
    recording = model.record(60.0, 100.0)
    error = recording.channels_pa - model.clean_pa(recording.t_s)
    assert error.std(axis=0) == pytest.approx([sensors.noise_pa] * 4, rel=0.1)
    drifted = model.clean_pa(np.array([10.0])) - model.clean_pa(np.array([0.0]))
    assert drifted[0] - (model.volume(10.0) - model.volume(0.0)) * model._moves == pytest.approx(
        np.array(sensors.drift_pa_per_s) * 10
    )


def test_frames_come_at_the_rate():
    frames = BreathingModel(PATTERNS["tidal"]()).frames(100.0, start_s=1.0)
    times = [next(frames).t_s for _ in range(5)]
    assert times == pytest.approx([1.0, 1.01, 1.02, 1.03, 1.04])


def test_phrase_truth_says_where_the_player_breathed():
    with_breath = BreathingModel(phrases()).phrase_starts(20.0)
    without = BreathingModel(phrases(breath_before=False)).phrase_starts(20.0)
    assert [taken for _, taken in with_breath] == [True] * len(with_breath)
    assert [taken for _, taken in without][:4] == [True, False, True, False]


@pytest.mark.parametrize(
    "segments",
    [
        (),
        (Segment(INHALE, 1.0, 0.5), Segment(HOLD, 1.0, 0.4)),  # a hold that moves
        (Segment(INHALE, 1.0, 0.0), Segment(EXHALE, 1.0, 0.0)),  # nothing moves
        (Segment("sigh", 1.0, 0.5), Segment(EXHALE, 1.0, 0.0)),
        (Segment(INHALE, 0.0, 0.5), Segment(EXHALE, 1.0, 0.0)),
    ],
)
def test_inconsistent_patterns_are_refused(segments):
    with pytest.raises(ValueError):
        BreathPattern("bad", segments, abdominal_fraction=0.5)
