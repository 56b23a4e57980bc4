"""Note segmentation: turn a pitch track into notes (onset, offset, MIDI note, cents deviation, stability).

A note is a run of voiced frames rounding to one MIDI note. A different note only starts after it has held for
`min_change_s` (so vibrato and one-frame glitches do not split notes); an unvoiced gap longer than `max_gap_s`
ends a note; notes shorter than `min_note_s` are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flutex.pitch.tracker import PitchFrames

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True, slots=True)
class Note:
    onset_s: float
    offset_s: float
    midi: int
    cents: float  # median deviation from the equal-tempered note (A4 = 440 Hz), + is sharp
    stability_cents: float  # spread of the pitch inside the note (interquartile range): small = steady

    @property
    def name(self) -> str:
        return f"{NOTE_NAMES[self.midi % 12]}{self.midi // 12 - 1}"


def hz_to_midi(f0_hz: np.ndarray) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(np.maximum(f0_hz, 1e-9) / 440.0)


def segment_notes(
    frames: PitchFrames, min_note_s: float = 0.05, min_change_s: float = 0.03, max_gap_s: float = 0.04
) -> list[Note]:
    """Notes of a pitch track, in time order."""
    if len(frames.time_s) < 2:
        return []
    hop_s = float(np.median(np.diff(frames.time_s)))
    min_change = max(1, round(min_change_s / hop_s))
    max_gap = max(0, round(max_gap_s / hop_s))
    voiced = frames.f0_hz > 0
    pitch = np.where(voiced, hz_to_midi(frames.f0_hz), np.nan)
    label = np.where(voiced, np.rint(np.nan_to_num(pitch)), -1).astype(int)
    runs: list[tuple[int, int, int]] = []  # (first frame, last frame, midi)
    start, current, gap = -1, -1, 0
    i = 0
    while i < len(label):
        if label[i] < 0:
            gap += 1
            if current >= 0 and gap > max_gap:
                runs.append((start, i - gap, current))
                current = -1
            i += 1
            continue
        gap = 0
        if label[i] != current:
            held = label[i : i + min_change]
            if current < 0 or (len(held) == min_change and (held == label[i]).all()):
                if current >= 0:
                    runs.append((start, i - 1, current))
                start, current = i, int(label[i])
        i += 1
    if current >= 0:
        runs.append((start, len(label) - 1 - gap, current))
    notes = []
    for first, last, midi in runs:
        onset_s, offset_s = float(frames.time_s[first]), float(frames.time_s[last]) + hop_s
        if offset_s - onset_s < min_note_s:
            continue
        cents = (pitch[first : last + 1] - midi) * 100.0
        cents = cents[np.isfinite(cents)]
        q25, q50, q75 = np.percentile(cents, [25, 50, 75])
        notes.append(Note(onset_s, offset_s, midi, float(q50), float(q75 - q25)))
    return notes
