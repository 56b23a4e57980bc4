"""Mistakes on demand: each one injected is reported, and none can be confused with natural playing."""

from collections import Counter
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flutex.hardware.instrument import InstrumentProfile
from flutex.sim.music import Note, Tune, default_tune
from flutex.sim.performance import (
    EARLY,
    EXTRA,
    KINDS,
    LATE,
    LEAD_IN_S,
    MISSED,
    NO_BREATH,
    OCTAVE,
    PITCH,
    WRONG_FINGERING,
    Mistakes,
    Tolerances,
    perform,
)

SIX_HOLE = InstrumentProfile.load("six_hole")
TUNE = default_tune()


def written_onset(index: int) -> float:
    return LEAD_IN_S + TUNE.seconds(TUNE.notes[index].onset_beats)


def assert_unambiguous(performance, tolerances: Tolerances) -> None:
    """Every note is either played within a third of the tolerances or off by at least 1.5 of them, as reported."""
    timing, pitch = tolerances.timing_s, tolerances.pitch_cents
    kinds = {mistake.index: mistake for mistake in performance.injected}
    written = sorted(kinds)
    assert all(b - a > 1 for a, b in pairwise(written)), "never on neighbouring notes"
    onsets = [written_onset(i) for i, note in enumerate(TUNE.notes) if note.midi is not None]
    for note in performance.notes:
        if note.score_index is None:  # an extra note: clear of every written onset, a tone away from its host
            host = next(n for n in performance.notes if n.score_index is not None and n.end_s == note.onset_s)
            assert kinds[host.score_index].kind == EXTRA
            assert min(abs(note.onset_s - onset) for onset in onsets) >= 1.5 * timing
            assert note.midi is not None and abs(note.midi - TUNE.notes[host.score_index].midi) >= 2
            continue
        score = TUNE.notes[note.score_index]
        mistake = kinds.get(note.score_index)
        kind = mistake.kind if mistake else None
        late = note.onset_s - written_onset(note.score_index)
        if kind in (EARLY, LATE):
            assert abs(late) >= 1.5 * timing and (late > 0) == (kind == LATE)
            assert late == pytest.approx(mistake.amount)
        else:
            assert abs(late) <= timing / 3
        if kind == PITCH:
            assert abs(note.cents) >= 1.5 * pitch and note.cents == pytest.approx(mistake.amount)
        else:
            assert abs(note.cents) <= pitch / 3
        if kind == MISSED:
            assert note.midi is None
        elif kind == OCTAVE:
            assert abs(note.midi - score.midi) == 12 and note.mask == SIX_HOLE.fingering_for(score.midi)[0]
        elif kind == WRONG_FINGERING:
            assert 1 <= abs(note.midi - score.midi) <= 4 and note.mask == SIX_HOLE.fingering_for(note.midi)[0]
        else:
            assert note.midi == score.midi
        if mistake and kind in (OCTAVE, WRONG_FINGERING):
            assert note.midi - score.midi == mistake.amount
        assert note.breath_before == (kind != NO_BREATH and (score.breath_before or note.score_index == 0))


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    rate=st.floats(0.0, 1.0),
    timing_s=st.floats(0.05, 0.2),
    pitch_cents=st.floats(20.0, 60.0),
)
def test_every_mistake_is_unambiguous_and_reported_and_every_other_note_is_in_tune_and_on_time(
    seed, rate, timing_s, pitch_cents
):
    tolerances = Tolerances(timing_s, pitch_cents)
    performance = perform(TUNE, SIX_HOLE, Mistakes(rate, seed=seed, tolerances=tolerances), seed=seed)
    assert_unambiguous(performance, tolerances)
    played = [n for n in performance.notes if n.score_index is not None]
    assert [n.score_index for n in played] == [i for i, n in enumerate(TUNE.notes) if n.midi is not None]
    assert all(a.end_s <= b.onset_s + 1e-9 for a, b in pairwise(performance.notes))
    assert all(n.end_s - n.onset_s >= 0.09 for n in performance.notes), "no note squeezed to nothing"


def test_every_kind_is_made_somewhere():
    made = Counter(
        mistake.kind
        for seed in range(60)
        for mistake in perform(TUNE, SIX_HOLE, Mistakes(0.5, seed=seed), seed=seed).injected
    )
    assert set(made) == set(KINDS), made


def test_mistakes_asked_for_are_made_exactly_there():
    mark = next(i for i, note in enumerate(TUNE.notes) if note.breath_before)
    asked = ((1, LATE), (4, OCTAVE), (6, MISSED), (mark, NO_BREATH), (12, EXTRA), (15, PITCH), (17, EARLY))
    performance = perform(TUNE, SIX_HOLE, Mistakes(at=asked, seed=5))
    assert sorted((m.index, m.kind) for m in performance.injected) == sorted(asked)
    assert_unambiguous(performance, Tolerances())
    before_mark = next(n for n in performance.notes if n.score_index == mark - 1)
    assert before_mark.end_s == next(n for n in performance.notes if n.score_index == mark).onset_s, "no gap to breathe"


@pytest.mark.parametrize(
    ("mistakes", "says"),
    [
        (Mistakes(at=((3, NO_BREATH),)), "no breath mark"),
        (Mistakes(at=((3, LATE), (4, EARLY))), "neighbouring"),
        (Mistakes(at=((19, MISSED),)), "rests"),
        (Mistakes(at=((3, EARLY),), tolerances=Tolerances(timing_s=0.3)), "would start"),
    ],
)
def test_a_mistake_that_cannot_be_made_unambiguously_is_refused_with_the_reason(mistakes, says):
    with pytest.raises(ValueError, match=says):
        perform(TUNE, SIX_HOLE, mistakes)


@pytest.mark.parametrize(("kwargs", "says"), [({"kinds": ("sneeze",)}, "sneeze"), ({"rate": 2.0}, "probability")])
def test_bad_mistake_settings_are_refused(kwargs, says):
    with pytest.raises(ValueError, match=says):
        Mistakes(**kwargs)


def test_short_notes_get_no_timing_mistakes_rather_than_ambiguous_ones():
    quick = Tune(tuple(Note(72 + 2 * (i % 3), i * 0.5, 0.5) for i in range(24)), 120.0)  # quarter-second notes
    for seed in range(20):
        performance = perform(quick, SIX_HOLE, Mistakes(1.0, kinds=(EARLY, LATE, EXTRA), seed=seed), seed=seed)
        assert {(mistake.index, mistake.kind) for mistake in performance.injected} <= {(0, EARLY)}, (
            "only into the lead-in"
        )


def test_the_same_seeds_make_the_same_mistakes():
    a, b = (perform(TUNE, SIX_HOLE, Mistakes(0.3, seed=9), seed=2) for _ in range(2))
    assert a == b and a.injected
    assert perform(TUNE, SIX_HOLE, Mistakes(0.3, seed=10), seed=2).injected != a.injected
