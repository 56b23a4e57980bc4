"""Note segmentation: onsets, MIDI notes, cents and stability as a tutor would read them."""

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from flutex.audio.synth import melody
from flutex.pitch import FLUTE, PitchFrames, segment_notes, track

SR = 44100


def test_melody_with_rest_and_octave_leap_segments_into_its_notes():
    signal, truth = melody([(72, 0.4), (74, 0.3), (None, 0.2), (76, 0.5), (88, 0.3), (84, 0.6)], SR)
    notes = segment_notes(track(signal, SR, FLUTE))
    assert [n.midi for n in notes] == [int(m) for _, _, m in truth]
    for note, (onset, offset, _) in zip(notes, truth, strict=True):
        assert abs(note.onset_s - onset) < 0.03
        assert abs(note.offset_s - offset) < 0.03
        assert abs(note.cents) < 5
    assert notes[0].name == "C5" and notes[3].name == "E6"


def test_vibrato_neither_splits_a_note_nor_hides_in_its_stability():
    steady = segment_notes(track(melody([(79, 1.0)], SR)[0], SR, FLUTE))
    wobbly = segment_notes(track(melody([(79, 1.0)], SR, vibrato_cents=45)[0], SR, FLUTE))
    assert len(steady) == len(wobbly) == 1
    assert steady[0].stability_cents < 2
    assert wobbly[0].stability_cents > 30


def test_out_of_tune_note_reports_its_cents():
    signal, _ = melody([(71.3, 0.5)], SR)  # 30 cents sharp of B4
    (note,) = segment_notes(track(signal, SR, FLUTE))
    assert note.midi == 71 and 25 < note.cents < 35


frames_strategy = st.lists(st.one_of(st.just(0.0), st.floats(200.0, 2000.0)), min_size=0, max_size=300)


@given(frames_strategy)
def test_notes_are_ordered_disjoint_and_long_enough(f0_values):
    hop_s = 0.0058
    frames = PitchFrames(
        np.arange(len(f0_values)) * hop_s, np.asarray(f0_values, np.float32), np.ones(len(f0_values), np.float32)
    )
    notes = segment_notes(frames)
    for note in notes:
        assert note.offset_s - note.onset_s >= 0.05 - 1e-9
        assert 0 <= note.midi <= 127
    for before, after in itertools.pairwise(notes):
        assert before.offset_s <= after.onset_s + 1e-9
