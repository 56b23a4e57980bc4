"""Note segmentation: onsets, MIDI notes, cents and stability as a tutor would read them."""

import itertools
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flutex.host.audio.synth import FLUTE_LIKE, harmonic_sum, melody
from flutex.host.pitch import FLUTE, PitchFrames, segment_notes, track
from flutex.host.pitch.notes import Note, NoteOnset, NoteSegmenter

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


def sung(pitch: np.ndarray) -> np.ndarray:
    """A flute-like tone following `pitch` (fractional MIDI per sample, NaN = silence), 10 ms fades at its edges."""
    sounding = np.isfinite(pitch)
    hz = np.where(sounding, 440.0 * 2.0 ** ((np.nan_to_num(pitch, nan=69.0) - 69) / 12), 0.0)
    tone = harmonic_sum(2 * np.pi * np.cumsum(hz) / SR, hz, FLUTE_LIKE, SR)
    level = np.convolve(sounding.astype(float), np.ones(441) / 441, mode="same")
    return (0.3 * tone * level).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.full(round(seconds * SR), np.nan)


def held(midi: float, seconds: float, vibrato_cents: float = 0.0, vibrato_hz: float = 5.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return midi + vibrato_cents / 100 * np.sin(2 * np.pi * vibrato_hz * t)


def scooped(midi: float, seconds: float, from_cents: float, settle_s: float) -> np.ndarray:
    """Starts `from_cents` off and settles (to 5%) within `settle_s`, as PlayerAudio scoops."""
    t = np.arange(round(seconds * SR)) / SR
    return midi + from_cents / 100 * np.exp(-3 * t / settle_s)


def test_a_scoop_is_one_note_on_its_settled_pitch_starting_where_the_sound_began():
    # 90 cents flat at first: the frames of the first ~50 ms round to the semitone below
    notes = segment_notes(
        track(sung(np.concatenate([silence(0.3), scooped(76, 0.6, -90, 0.12), silence(0.2)])), SR, FLUTE)
    )
    assert [n.midi for n in notes] == [76]
    assert abs(notes[0].onset_s - 0.3) < 0.015
    assert abs(notes[0].cents) < 10


def test_a_scoop_into_a_legato_note_starts_it_where_the_pitch_left_the_note_before():
    pitch = np.concatenate([silence(0.2), held(72, 0.5), scooped(76, 0.5, -80, 0.1), silence(0.2)])
    notes = segment_notes(track(sung(pitch), SR, FLUTE))
    assert [n.midi for n in notes] == [72, 76]
    assert abs(notes[1].onset_s - 0.7) < 0.015
    assert abs(notes[0].offset_s - notes[1].onset_s) < 0.02


def test_vibrato_on_a_sharp_note_does_not_split_it():
    # 20 cents sharp with +-40 cents at 5 Hz from its start: it crosses the semitone's midpoint five times a second
    notes = segment_notes(track(sung(np.concatenate([silence(0.2), held(79.2, 1.2, 40), silence(0.2)])), SR, FLUTE))
    assert [n.midi for n in notes] == [79]
    assert 10 < notes[0].cents < 30


@pytest.mark.parametrize("vibrato_cents", [0, 30])
def test_a_semitone_held_150_ms_is_a_note_of_its_own(vibrato_cents):
    steps = [(76, 0.4), (77, 0.15), (76, 0.15), (77, 0.15), (76, 0.4)]  # a slow trill
    pitch = np.concatenate([silence(0.2)] + [held(m, s, vibrato_cents) for m, s in steps] + [silence(0.2)])
    notes = segment_notes(track(sung(pitch), SR, FLUTE))
    assert [n.midi for n in notes] == [m for m, _ in steps]
    onsets = 0.2 + np.cumsum([0] + [s for _, s in steps[:-1]])
    assert np.abs(np.array([n.onset_s for n in notes]) - onsets).max() < 0.02


frames_strategy = st.lists(st.one_of(st.just(0.0), st.floats(200.0, 2000.0)), min_size=0, max_size=300)


HOP_S = 0.0058


def frames_of(f0_values: list[float]) -> PitchFrames:
    n = len(f0_values)
    return PitchFrames(np.arange(n) * HOP_S, np.asarray(f0_values, np.float32), np.ones(n, np.float32))


def in_pieces(frames: PitchFrames, sizes: list[int], push) -> list:
    """What `push` returns over `frames` handed over in pieces of the given sizes, cycling."""
    out, start = [], 0
    for size in itertools.cycle(sizes):
        if start >= len(frames.time_s):
            return out
        out += push(PitchFrames(*(column[start : start + size] for column in frames)))
        start += size
    return out


@given(frames_strategy)
def test_notes_are_ordered_disjoint_and_long_enough(f0_values):
    notes = segment_notes(frames_of(f0_values))
    for note in notes:
        assert note.offset_s - note.onset_s >= 0.05 - 1e-9
        assert 0 <= note.midi <= 127
    for before, after in itertools.pairwise(notes):
        assert before.offset_s <= after.onset_s + 1e-9


@given(frames_strategy, st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_streamed_segmentation_gives_the_notes_of_the_whole_track(f0_values, chunk_sizes):
    """`flutex pitch --notes` segments frames as the tracker hands them over, in pieces of any size."""
    frames = frames_of(f0_values)
    segmenter = NoteSegmenter(HOP_S)
    streamed = in_pieces(frames, chunk_sizes, segmenter.push) + segmenter.finish()
    n = len(f0_values)
    whole = segment_notes(frames) if n >= 2 else []
    assert [(s.onset_s, s.midi, s.cents, s.stability_cents) for s in streamed] == [
        (pytest.approx(w.onset_s), w.midi, pytest.approx(w.cents), pytest.approx(w.stability_cents)) for w in whole
    ]


def test_streamed_segmentation_does_not_keep_the_frames_of_finished_notes():
    """An hour of notes is 620 000 frames; the segmenter must hold only the note in progress, not all of them."""
    hop_s, note_frames = 0.0058, 80
    pattern = np.concatenate([np.full(note_frames, 523.25), np.zeros(20), np.full(note_frames, 659.26), np.zeros(20)])
    segmenter = NoteSegmenter(hop_s)
    tracemalloc.start()
    count = 0
    for chunk in range(500):  # 100 000 frames in pieces of 200, as a tracker would hand them over
        times = (chunk * len(pattern) + np.arange(len(pattern))) * hop_s
        count += len(segmenter.push(PitchFrames(times, pattern.astype(np.float32), np.ones(len(pattern), np.float32))))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    count += len(segmenter.finish())
    assert count == 1000
    assert peak < 200_000  # all the frames would be 100 000 x 3 values, 2.4 MB


@given(frames_strategy, st.lists(st.integers(1, 40), min_size=1, max_size=20))
def test_each_note_is_announced_once_before_it_ends(f0_values, chunk_sizes):
    """The live view shows a note when it is sure to count: one NoteOnset per note, before its end, same onset."""
    segmenter = NoteSegmenter(HOP_S)
    events = in_pieces(frames_of(f0_values), chunk_sizes, segmenter.push_events) + segmenter.finish_events()
    onsets = [e for e in events if isinstance(e, NoteOnset)]
    notes = [e for e in events if isinstance(e, Note)]
    assert len(onsets) == len(notes)
    for onset, note in zip(onsets, notes, strict=True):
        assert events.index(onset) < events.index(note)
        assert (onset.onset_s, onset.midi) == (note.onset_s, note.midi)
        assert onset.hz > 0  # (the median of its frames so far: tested against a tone in test_session_pipeline)
