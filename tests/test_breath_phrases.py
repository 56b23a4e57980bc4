"""Breath before a phrase: detected when the player breathed in, not when they played on without breathing."""

from __future__ import annotations

import pytest
from breath_truth import belt_samples, guided_calibration, run

from flutex.host.breath import BreathAnalyser, Inhale, PhraseConfig, PhraseStart, PhraseTracker
from flutex.sim.breathing import BeltSensors, BreathingModel, phrases


@pytest.mark.parametrize("sensors", [BeltSensors(), BeltSensors.noisy()], ids=["clean", "noisy"])
@pytest.mark.parametrize("breath_before", [True, False])
def test_phrase_starts_and_breaths_match_truth(breath_before, sensors):
    pattern = phrases(breath_before=breath_before)
    report, _ = run(pattern, sensors, seed=9, duration_s=40.0)
    truth = BreathingModel(pattern).phrase_starts(40.0)
    found = report.of_type(PhraseStart)
    assert len(found) == len(truth)
    for start, (t_s, breathed) in zip(found, truth, strict=True):
        assert start.t_s == pytest.approx(t_s, abs=0.03)
        assert start.breath_taken is breathed


def test_a_breath_during_the_previous_phrase_does_not_count():
    tracker = PhraseTracker()
    tracker.on_inhale(Inhale(0.0, 0.5, 0.6, 0.8))
    for t in (1.0, 3.0, 3.5, 4.5):  # phrase 1 from 1.0 to 3.0; phrase 2 at 3.5; another at 4.5 after a breath
        tracker.on_sound(t, t in (1.0, 3.5, 4.5))
        if t == 3.5:
            tracker.on_sound(4.0, False)
            tracker.on_inhale(Inhale(4.1, 4.4, 0.3, 0.7))
    judged = tracker.finish()
    assert [(p.t_s, p.breath_taken) for p in judged] == [(1.0, True), (3.5, False), (4.5, True)]


def test_shallow_breaths_and_short_gaps():
    tracker = PhraseTracker()
    tracker.on_sound(0.0, True)
    tracker.on_sound(2.0, False)
    tracker.on_inhale(Inhale(2.02, 2.1, 0.03, 0.5))  # too shallow to count
    tracker.on_sound(2.15, True)  # a tongued gap, not a new phrase
    tracker.on_sound(3.0, False)
    tracker.on_inhale(Inhale(3.1, 3.3, 0.03, 0.5))
    tracker.on_sound(3.5, True)
    assert [(p.t_s, p.breath_taken) for p in tracker.finish()] == [(0.0, False), (3.5, False)]


def test_judgement_waits_for_the_belt():
    tracker = PhraseTracker()
    tracker.on_sound(1.0, True)
    assert tracker.on_belt_time(1.1) is None  # the belt has not yet seen the end of an inhale that peaked at 1.0
    tracker.on_inhale(Inhale(0.4, 0.98, 0.5, 0.9))
    judged = tracker.on_belt_time(1.3)
    assert judged is not None and judged.breath_taken and judged.inhale is not None


def test_the_analyser_answers_for_phrases_it_is_told_about():
    """A tutor that knows the score asks about its own phrase starts; the breath taken before each is found."""
    calibration, _ = guided_calibration(BeltSensors(), seed=2)
    analyser = BreathAnalyser(calibration)
    model = BreathingModel(phrases(breath_before=False), BeltSensors(), seed=3)
    for sample in belt_samples(model.record(12.0, 100.0)):
        analyser.feed(sample)
    (first, breathed), (second, _) = model.phrase_starts(12.0)[:2]
    inhale = analyser.inhale_between(first - 1.0, first + PhraseConfig().settle_s)  # it peaks as the phrase starts
    assert breathed and inhale is not None and inhale.depth > 0.5
    assert analyser.inhale_between(first + 0.1, second) is None
