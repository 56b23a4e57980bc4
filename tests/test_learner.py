"""The learner model: practice lowers errors, guidance gives less credit and builds dependence, forgetting."""

import itertools
import json

import numpy as np
import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.sim.learner import FIRST, PLACES_FINGER, Learner, LearnerParams, items_of, realised
from flutex.sim.music import default_tune
from flutex.sim.performance import WRONG_FINGERING, Tolerances
from flutex.tutor.lesson.modes import CLOSES_HOLE_PERMILLE, GUIDED, HINT

ITEM = (72, 74)


def practise(learner, times, guided, day=0.0):
    for _ in range(times):
        learner.practised([(ITEM, guided)], day)


def test_practice_lowers_the_error_toward_the_floor():
    params = LearnerParams()
    learner = Learner(params, seed=1)
    errors = [learner.error_probability(ITEM, False, 0.0)]
    for _ in range(30):
        practise(learner, 1, guided=False)
        errors.append(learner.error_probability(ITEM, False, 0.0))
    assert errors[0] == pytest.approx(params.e0)
    assert all(later < earlier for earlier, later in itertools.pairwise(errors))
    assert errors[-1] == pytest.approx(params.e_floor, abs=0.01)


def test_a_guided_practice_earns_less_credit_than_an_unguided_one():
    guided, unguided = Learner(LearnerParams(dependence_cost=0.0), 1), Learner(LearnerParams(dependence_cost=0.0), 1)
    practise(guided, 5, guided=True)
    practise(unguided, 5, guided=False)
    assert unguided.error_probability(ITEM, False, 0.0) < guided.error_probability(ITEM, False, 0.0)
    assert guided.error_probability(ITEM, False, 0.0) < LearnerParams().e0  # but some credit


def test_dependence_on_guidance_raises_the_unguided_error_and_wears_off_without_it():
    dependent, independent = Learner(LearnerParams(), 1), Learner(LearnerParams(dependence_cost=0.0), 1)
    practise(dependent, 10, guided=True)
    practise(independent, 10, guided=True)
    leaning = dependent.error_probability(ITEM, False, 0.0)
    assert leaning > independent.error_probability(ITEM, False, 0.0)
    assert dependent.error_probability(ITEM, True, 0.0) < leaning  # with the servos it plays better
    practise(dependent, 3, guided=False)
    practise(independent, 3, guided=False)
    gap = dependent.error_probability(ITEM, False, 0.0) - independent.error_probability(ITEM, False, 0.0)
    assert 0 < gap < leaning - independent.error_probability(ITEM, False, 0.0)


def test_errors_come_back_between_days_and_spaced_days_slow_forgetting():
    learner = Learner(LearnerParams(), 1)
    practise(learner, 10, guided=False, day=0.0)
    trained = learner.error_probability(ITEM, False, 0.0)
    week = [learner.error_probability(ITEM, False, day) for day in (1.0, 7.0, 30.0)]
    assert trained < week[0] < week[1] < week[2] < LearnerParams().e0
    spaced = Learner(LearnerParams(), 1)
    for day in range(5):
        practise(spaced, 2, guided=False, day=float(day))
    rested = spaced.error_probability(ITEM, False, 4.0)
    assert spaced.error_probability(ITEM, False, 11.0) - rested < week[1] - trained


def test_guided_notes_make_no_fingering_slip():
    learner = Learner(LearnerParams(e0=0.35), seed=3)
    items = items_of(default_tune())
    kinds = {kind for _ in range(50) for _, kind in learner.mistakes_for(items, "guided", 1000, 0.0)}
    assert kinds and WRONG_FINGERING not in kinds
    free = {kind for _ in range(50) for _, kind in learner.mistakes_for(items, "free", 0, 0.0)}
    weak_hint = {kind for _ in range(50) for _, kind in learner.mistakes_for(items, "hint", 300, 0.0)}
    assert WRONG_FINGERING in free and WRONG_FINGERING in weak_hint


def test_slips_are_never_on_neighbouring_notes_and_items_are_transitions():
    items = items_of(default_tune())
    assert items[0] == (0, (FIRST, 72)) and items[1] == (1, (72, 74))
    learner = Learner(LearnerParams(e0=0.35), seed=4)
    for _ in range(30):
        indices = [index for index, _ in learner.mistakes_for(items, "free", 0, 0.0)]
        assert all(b - a > 1 for a, b in itertools.pairwise(indices))


def test_the_same_seed_makes_the_same_student_and_drawn_learners_differ():
    items = items_of(default_tune())
    runs = []
    for _ in range(2):
        learner = Learner(LearnerParams(e0=0.3), seed=9)
        runs.append([learner.mistakes_for(items, "free", 0, 0.0) for _ in range(5)])
    assert runs[0] == runs[1] and any(runs[0])
    population = [LearnerParams().drawn(np.random.default_rng(seed)) for seed in range(20)]
    assert len({p.alpha for p in population}) == 20
    assert all(0.05 <= p.alpha <= 0.5 and 0.10 <= p.e0 <= 0.35 and 0 <= p.g <= 1 for p in population)


def test_state_round_trips_through_json_and_continues_identically():
    items = items_of(default_tune())
    learner = Learner(LearnerParams().drawn(np.random.default_rng(2)), seed=5)
    learner.practised([(item, index % 2 == 0) for index, item in items], 0.0)
    learner.mistakes_for(items, "free", 0, 0.0)
    copy = Learner.from_state(json.loads(json.dumps(learner.state())))
    assert copy.state() == learner.state()
    assert copy.mistakes_for(items, "free", 0, 2.0) == learner.mistakes_for(items, "free", 0, 2.0)
    assert copy.error_probability(ITEM, False, 3.0) == learner.error_probability(ITEM, False, 3.0)


def test_realised_makes_every_wanted_slip_or_its_fallback():
    tune = default_tune()
    profile = InstrumentProfile.load("six_hole")
    wanted = ((0, "late"), (3, "octave"), (6, "early"), (9, WRONG_FINGERING))
    mistakes, performance = realised(tune, profile, wanted, seed=1, tolerances=Tolerances())
    assert [index for index, _ in mistakes.at] == [0, 3, 6, 9]
    assert [(m.index, m.kind) for m in performance.injected] == list(mistakes.at)


def test_the_modes_that_place_a_finger_are_the_tutors():
    assert PLACES_FINGER == {GUIDED: 0, HINT: CLOSES_HOLE_PERMILLE}
