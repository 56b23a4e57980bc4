"""The grading rules' pure decisions at their edges: the pitch bands of the three lessons, octaves, timing, and the
sentences a student reads."""

from __future__ import annotations

import pytest

from flutex.host.errors import UsageError
from flutex.tutor.assess.rules import (
    TOLERANCE_CENTS,
    GradingRules,
    cents_between,
    fingering_reason,
    median,
    pitch_error,
    pitch_reason,
    timing_error,
    timing_reason,
)


@pytest.mark.parametrize(("lesson", "band"), [("easy", 150.0), ("medium", 50.0), ("hard", 21.5)])
def test_each_lessons_band_holds_at_its_edge_and_not_past_it(lesson, band):
    rules = GradingRules.for_tolerance(lesson)
    assert rules.pitch_cents == band == TOLERANCE_CENTS[lesson]
    for sign in (1, -1):
        assert pitch_error(sign * band, band) is None
        assert pitch_error(sign * (band + 0.1), band) == "pitch"


@pytest.mark.parametrize(
    ("cents", "error"),
    [
        (1200.0, "octave"),
        (1249.0, "octave"),
        (1251.0, "pitch"),
        (-1151.0, "octave"),
        (-1149.0, "pitch"),
        (700.0, "pitch"),
    ],
)
def test_an_octave_off_is_told_apart_from_a_wrong_note(cents, error):
    assert pitch_error(cents, 50.0) == error


@pytest.mark.parametrize(
    ("offset_s", "error"), [(0.149, None), (0.151, "late"), (-0.149, None), (-0.151, "early"), (0.0, None)]
)
def test_onsets_are_on_time_within_150_ms(offset_s, error):
    assert timing_error(offset_s, GradingRules().timing_s) == error


def test_a_tolerance_is_a_lesson_name_or_a_number_of_cents_and_anything_else_says_what_to_give():
    assert GradingRules.for_tolerance(35).pitch_cents == 35.0
    with pytest.raises(UsageError, match="easy, medium or hard"):
        GradingRules.for_tolerance("strict")
    with pytest.raises(UsageError, match="outside"):
        GradingRules.for_tolerance(-3)


def test_the_reasons_read_as_a_teacher_would_say_them():
    where = "bar 4, beat 1"
    assert pitch_reason(where, 76, -62.4, "pitch") == "bar 4, beat 1: E5 played 62 cents flat"
    assert pitch_reason(where, 76, 190.0, "pitch") == "bar 4, beat 1: E5 played as F#5 (+190 cents)"
    assert pitch_reason(where, 76, 1203.0, "octave") == "bar 4, beat 1: E5 played an octave high (E6)"
    assert pitch_reason(where, 76, -2390.0, "octave") == "bar 4, beat 1: E5 played 2 octaves low (E3)"
    assert timing_reason("bar 2, beat 3", 0.2104) == "bar 2, beat 3: 210 ms late"
    assert fingering_reason("bar 3, beat 2", 72, 73) == "bar 3, beat 2: C5 fingered as C#5"
    assert fingering_reason("bar 3, beat 2", 72, None) == "bar 3, beat 2: C5 fingered as a fingering outside the chart"


def test_cents_and_medians():
    assert cents_between(440.0, 69) == 0.0
    assert cents_between(880.0, 69) == pytest.approx(1200.0)
    assert cents_between(440.0 * 2 ** (-0.5 / 12), 69) == pytest.approx(-50.0)
    assert median([3.0, 1.0, 2.0]) == 2.0 and median([4.0, 1.0, 3.0, 2.0]) == 2.5
