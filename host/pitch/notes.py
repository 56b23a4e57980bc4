"""Note segmentation: turn a pitch track into notes (onset, offset, MIDI note, cents deviation, stability).

A note is a run of voiced frames rounding to one MIDI note. A different note only starts after it has held for
`min_change_s` (so vibrato and one-frame glitches do not split notes); an unvoiced gap longer than `max_gap_s`
ends a note; notes shorter than `min_note_s` are dropped. A live listener also wants to know when a note began
before it ends: `NoteSegmenter.push_events` announces a `NoteOnset` as soon as the note in progress has lasted
`min_note_s`, the moment it can no longer be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flutex.host.pitch.config import note_name
from flutex.host.pitch.tracker import PitchFrames


@dataclass(frozen=True, slots=True)
class Note:
    onset_s: float
    offset_s: float
    midi: int
    cents: float  # median deviation from the equal-tempered note (A4 = 440 Hz), + is sharp
    stability_cents: float  # spread of the pitch inside the note (interquartile range): small = steady

    @property
    def name(self) -> str:
        return note_name(self.midi)


@dataclass(frozen=True, slots=True)
class NoteOnset:
    """A note in progress that has lasted long enough to be kept: its `Note` follows when it ends."""

    onset_s: float
    midi: int
    hz: float  # median f0 of its frames so far


def hz_to_midi(f0_hz: np.ndarray) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(np.maximum(f0_hz, 1e-9) / 440.0)


def segment_notes(
    frames: PitchFrames, min_note_s: float = 0.05, min_change_s: float = 0.03, max_gap_s: float = 0.04
) -> list[Note]:
    """Notes of a whole pitch track, in time order (`NoteSegmenter` does the same on a stream of frames)."""
    if len(frames.time_s) < 2:
        return []
    hop_s = float(np.median(np.diff(frames.time_s)))
    segmenter = NoteSegmenter(hop_s, min_note_s, min_change_s, max_gap_s)
    return segmenter.push(frames) + segmenter.finish()


class NoteSegmenter:
    """Note segmentation of a stream of frames: `push` frames as the tracker finalises them and get the notes that
    have ended; `finish` at the end of the stream gives the last one.

    It keeps only the frames of the note in progress and the few it must look ahead (`min_change_s`), so memory
    does not grow with the length of the stream. The notes are exactly those of `segment_notes` on all the frames.
    """

    def __init__(
        self, hop_s: float, min_note_s: float = 0.05, min_change_s: float = 0.03, max_gap_s: float = 0.04
    ) -> None:
        self.hop_s = hop_s
        self.min_note_s = min_note_s
        self._min_change = max(1, round(min_change_s / hop_s))
        self._max_gap = max(0, round(max_gap_s / hop_s))
        self._reset()

    def _reset(self) -> None:
        self._time_s = np.zeros(0)
        self._pitch = np.zeros(0)  # fractional MIDI note, NaN where unvoiced
        self._label = np.zeros(0, dtype=int)  # nearest MIDI note, -1 where unvoiced
        self._base = 0  # stream index of the first frame kept
        self._next = 0  # stream index of the next frame to examine
        self._start, self._current, self._gap = -1, -1, 0  # the note in progress (current = -1: none)
        self._announced = False  # its NoteOnset is out

    def push(self, frames: PitchFrames) -> list[Note]:
        """Add frames (in time order, following the previous ones); the notes that ended before them."""
        return [event for event in self.push_events(frames) if isinstance(event, Note)]

    def push_events(self, frames: PitchFrames) -> list[NoteOnset | Note]:
        """As `push`, with each note's `NoteOnset` too, in order: a note's onset always comes before its end."""
        voiced = frames.f0_hz > 0
        pitch = np.where(voiced, hz_to_midi(frames.f0_hz), np.nan)
        self._time_s = np.concatenate([self._time_s, frames.time_s])
        self._pitch = np.concatenate([self._pitch, pitch])
        self._label = np.concatenate([self._label, np.where(voiced, np.rint(np.nan_to_num(pitch)), -1).astype(int)])
        notes = self._advance(final=False)
        keep_from = min(self._next, self._start if self._current >= 0 else self._next)
        if keep_from - self._base > 1024:  # forget frames no note will read again
            drop = keep_from - self._base
            self._time_s, self._pitch, self._label = self._time_s[drop:], self._pitch[drop:], self._label[drop:]
            self._base = keep_from
        return notes

    def finish(self) -> list[Note]:
        """The end of the stream: the notes still open (the segmenter starts afresh after this)."""
        return [event for event in self.finish_events() if isinstance(event, Note)]

    def finish_events(self) -> list[NoteOnset | Note]:
        """As `finish`, with the onsets not yet announced (as `push_events`)."""
        notes = self._advance(final=True)
        if self._current >= 0:
            self._close(notes, self._start, self._base + len(self._label) - 1 - self._gap, self._current)
        self._reset()
        return notes

    def _advance(self, final: bool) -> list[NoteOnset | Note]:
        """Examine frames while their lookahead is known: a different note only starts once it has held for
        `min_change` frames; an unvoiced gap longer than `max_gap` frames ends a note."""
        notes: list[NoteOnset | Note] = []
        label, base, min_change = self._label, self._base, self._min_change
        end = base + len(label)
        i = self._next
        while i < end and (final or i + min_change <= end):
            here = label[i - base]
            if here < 0:
                self._gap += 1
                if self._current >= 0 and self._gap > self._max_gap:
                    self._close(notes, self._start, i - self._gap, self._current)
                    self._current = -1
                i += 1
                continue
            self._gap = 0
            if here != self._current:
                held = label[i - base : i - base + min_change]
                if self._current < 0 or (len(held) == min_change and (held == here).all()):
                    if self._current >= 0:
                        self._close(notes, self._start, i - 1, self._current)
                    self._start, self._current, self._announced = i, int(here), False
            if not self._announced and self._lasts(self._start, i):
                self._announce(notes, i)
            i += 1
        self._next = i
        return notes

    def _lasts(self, first: int, last: int) -> bool:
        """Frames first..last (stream indices) make a note long enough to keep."""
        base = self._base
        return float(self._time_s[last - base]) + self.hop_s - float(self._time_s[first - base]) >= self.min_note_s

    def _announce(self, notes: list[NoteOnset | Note], last: int) -> None:
        """The note in progress, frames start..last so far, is long enough: say it began."""
        base, first = self._base, self._start
        pitch = self._pitch[first - base : last - base + 1]
        median = float(np.median(pitch[np.isfinite(pitch)]))
        notes.append(NoteOnset(float(self._time_s[first - base]), self._current, 440.0 * 2.0 ** ((median - 69) / 12)))
        self._announced = True

    def _close(self, notes: list[NoteOnset | Note], first: int, last: int, midi: int) -> None:
        """Append the note of frames first..last (stream indices) unless it is too short."""
        base = self._base
        onset_s, offset_s = float(self._time_s[first - base]), float(self._time_s[last - base]) + self.hop_s
        if not self._lasts(first, last):
            return
        cents = (self._pitch[first - base : last - base + 1] - midi) * 100.0
        cents = cents[np.isfinite(cents)]
        q25, q50, q75 = np.percentile(cents, [25, 50, 75])
        notes.append(Note(onset_s, offset_s, midi, float(q50), float(q75 - q25)))
