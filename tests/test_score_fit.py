"""Fitting a score to an instrument: each note's fingering from the profile, unplayable notes by bar and beat, and
the smallest transposition that makes a tune playable (or the news that none does)."""

import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.tutor.score.fit import Unplayable, fit
from flutex.tutor.score.model import Score, ScoreNote

SIX_HOLE = InstrumentProfile.load("six_hole")
BOEHM = InstrumentProfile.load("boehm")


def line(*pitches, beats_per_bar=4):
    """A score of quarter notes (None: a rest)."""
    notes = tuple(
        ScoreNote(i, midi, float(i), 1.0, i // beats_per_bar + 1, i % beats_per_bar + 1.0)
        for i, midi in enumerate(pitches)
    )
    return Score("test", notes, source="test.abc")


D_MAJOR_FROM_D5 = (74, 76, 78, 79, 81, 83, 85, 86)  # D E F# G A B C# D: F# and C# have no six-hole fingering
CHORALE_SOPRANO = (64, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 64)  # E4 up to C5 and down to D4, in C major


def test_every_note_gets_the_profiles_fingering_and_rests_none():
    fitted = fit(line(72, None, 79, 86), SIX_HOLE)
    assert fitted.transpose == 0 and fitted.unplayable == ()
    assert fitted.fingerings == (
        SIX_HOLE.fingering_for(72),
        None,
        SIX_HOLE.fingering_for(79),
        SIX_HOLE.fingering_for(86),
    )


def test_unplayable_notes_are_named_by_bar_and_beat():
    score = line(72, 74, 78, 79, 81, 73)  # F#5 (bar 1, beat 3) and C#5 (bar 2, beat 2)
    with pytest.raises(Unplayable, match=r"bar 1, beat 3: F#5; bar 2, beat 2: C#5") as refused:
        fit(score, SIX_HOLE)
    assert [note.index for note in refused.value.notes] == [2, 5]
    lenient = fit(score, SIX_HOLE, strict=False)
    assert [note.index for note in lenient.unplayable] == [2, 5]
    assert lenient.fingerings[2] is None and lenient.fingerings[0] == SIX_HOLE.fingering_for(72)


def test_a_tune_in_d_moves_down_a_tone_on_the_six_hole_flute_in_c():
    fitted = fit(line(*D_MAJOR_FROM_D5), SIX_HOLE, "auto")
    assert fitted.transpose == -2
    assert [note.midi for note in fitted.score.notes] == [midi - 2 for midi in D_MAJOR_FROM_D5]
    assert all(fingering is not None for fingering in fitted.fingerings)


def test_a_chorale_soprano_moves_up_an_octave_on_the_six_hole_flute():
    assert min(CHORALE_SOPRANO) < min(SIX_HOLE.playable)
    assert fit(line(*CHORALE_SOPRANO), SIX_HOLE, "auto").transpose == 12


def test_the_boehm_flute_plays_the_chorale_as_written_and_a_tone_up_when_it_reaches_c4():
    assert fit(line(*CHORALE_SOPRANO), BOEHM, "auto").transpose == 0
    assert fit(line(60, *CHORALE_SOPRANO), BOEHM, "auto").transpose == 2  # low C4 is not sensed: see the profile


def test_an_equal_shift_up_and_down_goes_up():
    c_sharp5 = 73  # on the six-hole flute C5 (down 1) and D5 (up 1) both have fingerings
    assert {72, 74} <= set(SIX_HOLE.playable)
    assert fit(line(c_sharp5), SIX_HOLE, "auto").transpose == 1


def test_no_transposition_fits_a_range_wider_than_the_instrument():
    wide = line(min(SIX_HOLE.playable) - 1, max(SIX_HOLE.playable))
    with pytest.raises(Unplayable, match="no transposition fits the six_hole profile: it spans 25 semitones"):
        fit(wide, SIX_HOLE, "auto")
    chromatic = line(72, 73, 74)  # within the range, but no shift puts C, C# and D on three fingerings
    with pytest.raises(Unplayable, match="no shift puts every note on a fingering"):
        fit(chromatic, SIX_HOLE, "auto")


def test_the_boehm_profile_reaches_c7_through_the_third_register():
    chromatic = tuple(range(62, 97))  # D4 to C7
    fitted = fit(line(*chromatic), BOEHM)
    assert fitted.unplayable == ()
    third_octave = fitted.fingerings[chromatic.index(86) :]
    assert all(overblown for _, overblown in third_octave)
    masks = {mask for mask, _ in third_octave}
    assert len(masks) == len(third_octave), "each third-octave note has a fingering of its own"
    assert not masks & {mask for mask, _ in fitted.fingerings[: chromatic.index(74)]}
