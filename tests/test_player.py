"""The virtual player reads a tune: it breathes with the phrases, blows as the notes need, and yields to the servos."""

import numpy as np
import pytest

from flutex.hardware import load_pinmap
from flutex.sim.breathing import EXHALE, INHALE
from flutex.sim.music import Note, Tune, default_tune
from flutex.sim.performance import LEAD_IN_S
from flutex.sim.player import TOUCH_CLOSED, TOUCH_NOISE, VirtualPlayer

PINMAP = load_pinmap()
TOUCH_GPIOS = {pad["hole"]: pad["gpio"] for pad in PINMAP["touch"]["pads"]}


def test_beats_become_seconds_through_tempo_changes():
    tune = Tune((Note(72, 0.0, 4.0), Note(74, 4.0, 4.0)), 120.0, tempo_changes=((4.0, 60.0),))
    assert tune.seconds(2.0) == pytest.approx(1.0)
    assert tune.seconds(6.0) == pytest.approx(2.0 + 2.0)
    assert tune.duration_s == pytest.approx(2.0 + 4.0)


@pytest.mark.parametrize(
    ("notes", "changes", "says"),
    [
        ((Note(None, 0.0, 1.0),), (), "not a rest"),
        ((Note(72, 0.0, 2.0), Note(74, 1.0, 1.0)), (), "overlapping"),
        ((Note(72, 0.0, 0.0),), (), "duration"),
        ((Note(72, 0.0, 1.0),), ((2.0, 0.0),), "bpm"),
    ],
)
def test_a_tune_that_cannot_be_played_is_refused_with_the_reason(notes, changes, says):
    with pytest.raises(ValueError, match=says):
        Tune(notes, 100.0, changes)


def test_it_breathes_in_before_the_first_note_at_the_breath_mark_and_in_the_rest_and_blows_through_the_notes():
    player = VirtualPlayer()
    notes = player.played(player.performance.period_s)
    tune = default_tune()
    breaths = [note.score_index for note in notes if note.breath_before]
    mark = next(i for i, note in enumerate(tune.notes) if note.breath_before)
    assert breaths == [0, mark]  # the rest at the end is the breath before the next pass's first note
    for before, note in zip([None, *notes], notes, strict=False):
        gap_start = before.end_s if before else 0.0
        if note.breath_before:
            gap = np.linspace(gap_start, note.onset_s, 7)[1:-1]
            assert set(player.breathing.phase(gap)) == {INHALE}, note
        middle = np.linspace(note.onset_s, note.end_s, 7)[1:-1]
        assert set(player.breathing.phase(middle)) == {EXHALE}
    rest = np.linspace(notes[-1].end_s, player.performance.period_s + LEAD_IN_S, 9)[1:-1]
    assert set(player.breathing.phase(rest)) == {INHALE}


def test_the_breathing_models_wobble_reaches_the_board():
    """An unsteady player's mouth pressure wavers on the board as its breathing pattern says, not a constant."""
    steady, unsteady = VirtualPlayer(steady=True), VirtualPlayer(steady=False)
    note = steady.performance.notes[2]  # a low note in the middle of the first phrase
    t = np.arange(note.onset_s + 0.05, note.end_s, 0.005)
    waver = [np.std([player.moment(float(s)).mouth_pa for s in t]) for player in (steady, unsteady)]
    assert waver[0] < 15 < 40 < waver[1]
    assert np.mean([unsteady.moment(float(s)).mouth_pa for s in t]) == pytest.approx(600, rel=0.05)


def test_overblown_notes_are_blown_above_the_overblow_threshold_and_low_notes_below_the_fall():
    player = VirtualPlayer(steady=False)
    profile = player.profile
    for note in player.performance.notes:
        t = np.arange(note.onset_s + 0.05, note.end_s, 0.01)  # past the breath's attack
        pressures = np.array([player.moment(float(s)).mouth_pa for s in t])
        if note.overblown:
            assert pressures.min() > profile.overblow_rise_pa * 1.05, note
        else:
            assert profile.sounding_pa * 2 < pressures.min() and pressures.max() < profile.overblow_fall_pa * 0.9


def test_the_truth_says_what_sounds_and_the_fingers_close_the_holes_of_the_note_played():
    player = VirtualPlayer()
    for note in player.played(2.5 * player.performance.period_s):
        middle = (note.onset_s + note.end_s) / 2
        midi, pressure = player.sounding(np.array([middle]))
        assert midi[0] == note.midi and pressure[0] > 0
        assert player.moment(middle).closed_mask == note.mask == player.profile.fingering_for(note.midi)[0]
    assert player.sounding(np.array([0.5]))[0][0] == 0  # breathing in before the first note


def test_once_it_stops_after_the_tune_and_looping_it_plays_on():
    once, looping = VirtualPlayer(loop=False), VirtualPlayer()
    period = once.performance.period_s
    later = np.arange(period, 3 * period, 0.01)
    assert not np.any(once.sounding(later)[0]) and not np.any(once.sounding(later)[1])
    assert np.array_equal(looping.sounding(later)[0], looping.sounding(later - period)[0])
    assert len(once.played(3 * period)) == len(once.performance.notes)


def test_holes_pressed_by_the_servos_read_closed_whatever_the_fingers_do():
    player = VirtualPlayer()
    open_note = next(note for note in player.performance.notes if note.mask == 0)  # B5: every hole open
    t = (open_note.onset_s + open_note.end_s) / 2
    pressed = 0b000101  # holes L1 and L3
    pins = player.inputs_at(t, pressed_holes=pressed)
    for bit, hole in enumerate(player.profile.holes):
        closed = pins[TOUCH_GPIOS[hole]] > TOUCH_CLOSED - TOUCH_NOISE
        assert closed == bool(pressed >> bit & 1), hole


@pytest.mark.parametrize("pressed", [-1, 1 << 6])
def test_pressing_a_hole_the_profile_lacks_is_refused(pressed):
    with pytest.raises(ValueError, match="six_hole"):
        VirtualPlayer().inputs_at(1.0, pressed_holes=pressed)


def test_the_same_seed_plays_the_same_and_another_seed_differently():
    a, b, c = VirtualPlayer(seed=3), VirtualPlayer(seed=3), VirtualPlayer(seed=4)
    assert a.performance == b.performance != c.performance
    assert [a.inputs_at(t) for t in (1.2, 3.3)] == [b.inputs_at(t) for t in (1.2, 3.3)]


def test_a_list_of_midi_and_seconds_is_played_as_consecutive_notes():
    notes = VirtualPlayer([(72, 0.3), (84, 0.4)]).performance.notes
    assert [note.midi for note in notes] == [72, 84]
    assert notes[1].onset_s - notes[0].onset_s == pytest.approx(0.3, abs=0.03)


def test_a_repeated_note_is_tongued_and_a_change_of_note_is_slurred():
    """The same note again cannot sound without the air stopping: a gap before the repeat, none before a new note."""
    tune = Tune((Note(72, 0, 1), Note(72, 1, 1), Note(74, 2, 1), Note(76, 3, 1)), 120)
    notes = VirtualPlayer(tune, loop=False).performance.notes
    repeat_gap = notes[1].onset_s - notes[0].end_s
    assert 0.05 <= repeat_gap <= 0.08
    assert notes[2].onset_s - notes[1].end_s == pytest.approx(0.0, abs=1e-9)
    assert notes[3].onset_s - notes[2].end_s == pytest.approx(0.0, abs=1e-9)
