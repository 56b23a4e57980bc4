"""Abdominal share and depth of each breath in."""

from __future__ import annotations

import numpy as np
import pytest
from breath_truth import run
from hypothesis import given
from hypothesis import strategies as st

from flutex.breath import Inhale, abdominal_share
from flutex.sim.breathing import BeltSensors, BreathingModel, chest_only, diaphragmatic, tidal


@pytest.mark.parametrize("sensors", [BeltSensors(), BeltSensors.noisy()], ids=["clean", "noisy"])
@pytest.mark.parametrize("make", [diaphragmatic, chest_only, tidal])
def test_share_and_depth_of_each_breath_match_the_model(make, sensors):
    report, _ = run(make(), sensors, seed=11, duration_s=40.0)
    model = BreathingModel(make())
    peak = max(s.volume for s in model.pattern.segments)
    breaths = [i for i in report.of_type(Inhale) if i.depth > 0.5 * peak]
    assert len(breaths) >= int(40.0 / model.pattern.cycle_s) - 1
    errors = np.abs(np.array([b.abdominal_share for b in breaths]) - model.expected_share())
    assert errors.mean() < 0.04 and errors.max() < 0.1
    # depth is in calibrated range: the calibration breath moved the belt by a different total than this pattern
    scale = model._moves.sum() / BreathingModel(make()).expected_pa(1.0).sum()
    assert np.median([b.depth for b in breaths]) == pytest.approx(peak * scale, rel=0.25)


def test_diaphragmatic_and_chest_breathing_are_told_apart():
    belly, _ = run(diaphragmatic(), BeltSensors.noisy(), seed=1, duration_s=20.0)
    chest, _ = run(chest_only(), BeltSensors.noisy(), seed=1, duration_s=20.0)
    deep = 0.3
    assert min(i.abdominal_share for i in belly.of_type(Inhale) if i.depth > deep) > 0.75
    assert max(i.abdominal_share for i in chest.of_type(Inhale) if i.depth > deep) < 0.25


@given(st.lists(st.floats(-1e4, 1e4), min_size=4, max_size=4), st.floats(0.01, 100.0))
def test_share_is_a_fraction_that_ignores_scale_and_falling_channels(rise, scale):
    share = abdominal_share(rise)
    if all(r <= 0 for r in rise):
        assert share is None
        return
    assert share is not None and 0.0 <= share <= 1.0
    assert abdominal_share([r * scale for r in rise]) == pytest.approx(share)
    assert abdominal_share([max(r, 0.0) for r in rise]) == pytest.approx(share)
