"""Each breath in: breath or flicker, its depth and its abdominal share."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from breath_truth import BELT_HZ, belt_samples, run, score, true_inhales, with_artefacts
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.host.breath import (
    BreathAnalyser,
    BreathConfig,
    Calibration,
    Inhale,
    abdominal_share,
    analyse,
    calibrate_from_session,
)
from flutex.host.commands.breath import segments
from flutex.host.link.events import BeltSample
from flutex.sim.breathing import (
    BeltSensors,
    BreathingModel,
    Recording,
    breath_hold,
    chest_only,
    diaphragmatic,
    phrases,
    tidal,
)


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


@given(st.lists(st.floats(-1e4, 1e4, allow_subnormal=False), min_size=4, max_size=4), st.floats(0.01, 100.0))
def test_share_is_a_fraction_that_ignores_scale_and_falling_channels(rise, scale):
    share = abdominal_share(rise)
    if all(r <= 0 for r in rise):
        assert share is None
        return
    assert share is not None and 0.0 <= share <= 1.0
    assert abdominal_share([r * scale for r in rise]) == pytest.approx(share)
    assert abdominal_share([max(r, 0.0) for r in rise]) == pytest.approx(share)


# (pattern, least frame accuracy of the phases list, largest median delay of its changes in s)
ARTEFACT_CASES = [
    (diaphragmatic, 0.9, 0.15),
    (chest_only, 0.9, 0.15),
    (phrases, 0.92, 0.1),
    (tidal, 0.85, 0.3),
    (breath_hold, 0.8, 0.3),
]


@pytest.mark.parametrize(("make", "accuracy", "delay_s"), ARTEFACT_CASES, ids=[m.__name__ for m, *_ in ARTEFACT_CASES])
def test_ripple_steps_and_flicker_are_not_breaths(make, accuracy, delay_s):
    """A real belt adds heartbeat ripple, sensor steps and speech flicker to the breathing.

    The live phase follows them (it must stay fast: 2-9 times as many inhale phases as breaths here), but each is
    judged a Flicker when it ends, so the breaths and the phases list count the true breaths (at most one more: on
    quiet breaths the largest flickers reach a third of a breath), and the list is right more often than the live
    phase, with the delays of a belt without artefacts. Before breath confirmation every inhale phase was a breath.
    """
    for seed in (5, 6):
        truth = with_artefacts(BreathingModel(make(), BeltSensors(), seed=seed).record(60.0, BELT_HZ), seed=seed)
        samples = belt_samples(truth)
        report = analyse(samples, BreathAnalyser(calibrate_from_session(samples)))
        rows = segments(report)
        breaths = len(report.of_type(Inhale))
        assert true_inhales(truth) <= breaths <= true_inhales(truth) + 1
        assert sum(row["phase"] == "inhale" for row in rows) == breaths
        assert all(row["depth"] is not None for row in rows if row["phase"] == "inhale")
        live, listed = score(report, truth), score(report, truth, rows=rows)
        assert listed.frame_accuracy >= max(accuracy, live.frame_accuracy + 0.01)
        assert listed.median_delay_s < delay_s


@pytest.mark.parametrize(
    ("times_s", "volumes"),
    [((1.0, 1.2, 2.2), (0.5, 0.45, 1.0)), ((1.0, 1.2, 1.5, 2.5), (0.5, 0.45, 0.45, 1.0))],
    ids=["dip", "pause"],
)
def test_a_breath_interrupted_by_a_dip_counts_once(times_s, volumes):
    """Breathing in, a dip or a pause (a swallow, a flicker), breathing on: one breath, one inhale row over both."""
    calibration = Calibration((0.0,) * 4, (1000.0,) * 4, (1.0,) * 4)
    t = np.arange(0.0, 24.0, 1 / BELT_HZ)
    volume = np.interp(np.mod(t, 8.0), [0.0, *times_s, 7.0, 8.0], [0.0, *volumes, 0.0, 0.0])
    samples = [BeltSample(float(ti), i, (250.0 * v,) * 4) for i, (ti, v) in enumerate(zip(t, volume, strict=True))]
    report = analyse(samples, BreathAnalyser(calibration))
    assert len(report.of_type(Inhale)) == 3
    inhale_rows = [row for row in segments(report) if row["phase"] == "inhale"]
    assert [round(float(row["t_start_s"])) for row in inhale_rows] == [0, 8, 16]  # type: ignore[arg-type]
    assert all(float(row["t_end_s"]) % 8.0 > times_s[-1] for row in inhale_rows)  # type: ignore[arg-type]


def test_flickers_before_the_first_breath_do_not_set_the_typical_breath():
    """A recording that starts with speech flicker, before any breath was seen: until then a quiet breath (0.15 of
    a full one) stands for the typical breath, and afterwards the largest recent rise keeps the typical breath up.
    Without both, the first flickers became the typical breath and most flickers after them breaths (5-6x)."""
    model = BreathingModel(diaphragmatic(), BeltSensors(), seed=2)
    truth = with_artefacts(model.record(60.0, BELT_HZ, start_s=2.0), seed=2, flickers_per_s=2.0)
    samples = belt_samples(truth)
    report = analyse(samples, BreathAnalyser(calibrate_from_session(samples)))
    assert len(report.of_type(Inhale)) == true_inhales(truth)


@pytest.mark.parametrize("sensors", [BeltSensors(), BeltSensors.noisy()], ids=["clean", "noisy"])
@pytest.mark.parametrize("make", [diaphragmatic, chest_only, phrases, breath_hold])
def test_every_played_breath_is_a_breath(make, sensors):
    """Breath confirmation drops nothing real: on the simulated belt every breath in is an Inhale."""
    report, truth = run(make(), sensors, seed=3, duration_s=40.0)
    cut = int(truth.phases[-1] == "inhale")  # a breath still going in at the end is judged on what it rose so far
    assert true_inhales(truth) - cut <= len(report.of_type(Inhale)) <= true_inhales(truth)


@settings(max_examples=15, deadline=None)
@given(
    make=st.sampled_from([tidal, diaphragmatic, phrases, breath_hold]),
    seed=st.integers(0, 10_000),
    ripple_pa=st.floats(0.0, 30.0),
    flicker_pa=st.floats(0.0, 80.0),
    flickers_per_s=st.floats(0.0, 3.0),
)
def test_the_phases_list_has_one_inhale_row_per_breath(make, seed, ripple_pa, flicker_pa, flickers_per_s):
    """Whatever the artefacts, the folded list stays a list of phases: rows follow each other without gaps, no two
    in a row share a phase, and the inhale rows are the breaths, each with its depth."""
    recording = BreathingModel(make(), BeltSensors(), seed=seed).record(30.0, BELT_HZ)
    truth = with_artefacts(recording, seed, ripple_pa=ripple_pa, flicker_pa=flicker_pa, flickers_per_s=flickers_per_s)
    samples = belt_samples(truth)
    report = analyse(samples, BreathAnalyser(calibrate_from_session(samples)))
    rows = segments(report)
    breaths = report.of_type(Inhale)
    assert [row["depth"] for row in rows if row["phase"] == "inhale"] == [round(b.depth, 3) for b in breaths]
    for before, after in itertools.pairwise(rows):
        assert before["t_end_s"] == after["t_start_s"] and before["phase"] != after["phase"]


def test_breaths_are_found_beside_a_movement_far_larger_than_any():
    """A session calibrated on its largest rise, here the wearer shifting in the chair (0.8 s, as deep as 40 quiet
    breaths): its breaths read 0.03 deep, under the quiet breath assumed at the start. They are found anyway once
    the start is over (after `memory_s`), also right after the movement; an assumption that never expired would
    find none, and a typical breath set by the single largest rise would miss those of the next 30 s."""
    recording = BreathingModel(tidal(), BeltSensors(), seed=3).record(120.0, BELT_HZ)
    bump = 40 * 240.0 * np.sin(np.pi * np.clip((recording.t_s - 60.0) / 0.8, 0.0, 1.0)) ** 2
    shifted = recording.channels_pa + bump[:, None] * [1.0, 0.35, 0.0, 0.0]
    samples = belt_samples(Recording(recording.t_s, shifted, recording.mouth_pa, recording.phases, recording.volume))
    report = analyse(samples, BreathAnalyser(calibrate_from_session(samples)))
    shallow = [b.t_end_s for b in report.of_type(Inhale) if b.depth < 0.1]
    start_s = BreathConfig().memory_s
    assert len([t for t in shallow if t > start_s]) >= (120.0 - start_s) // tidal().cycle_s - 2
    assert len([t for t in shallow if 61.0 < t < 91.0]) >= 30.0 // tidal().cycle_s - 1
