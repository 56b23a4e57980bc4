"""Note segmentation: turn a pitch track into the notes a listener hears (onset, offset, MIDI note, cents, stability).

Players and singers scoop into notes, hold them with vibrato and sit between semitones, so a note is not a run of
frames rounding to one MIDI note. Here a note is a run of voiced frames (an unvoiced gap longer than `max_gap_s` ends
it) that a new note interrupts only when the pitch has moved more than `change_semitones` away from the note's
running median (of its steady part once settled) and stayed on that side, `STAYING` of that far, for `min_change_s`
(longer than half a vibrato period, so vibrato, a scoop and a few frames an octave off never split a note). The new
note begins where the pitch left: its onset is the change point, and a note's onset after a silence is where the
sound began, scoop included.

A note's MIDI note comes from its settled pitch, not its attack: the first stretch of `SETTLE_S` whose frames lie
within `SETTLE_CENTS` of each other, clearly on one note (`CLEAR_CENTS` from a semitone's midpoint: a vibrato crest
over the midpoint is not), or else the latter half of its first `MAX_WAIT_S`. From there on is the note's
steady part: its cents and stability are the median and interquartile range of that part. A
change confirmed before the note in progress has settled makes that unsettled start the attack of the new note
(a scoop from further than `change_semitones`), not a note of its own.

A live listener wants to know that a note began before it ends: `NoteSegmenter.push_events` announces a `NoteOnset`
as soon as the note is sure (it has lasted `min_note_s` and its MIDI note is known), with the onset and MIDI note
its `Note` will have.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from flutex.host.pitch.config import note_name
from flutex.host.pitch.tracker import PitchFrames

SETTLE_S = 0.03  # a note has settled once this long a stretch of its frames ...
SETTLE_CENTS = 20.0  # ... lies within this many cents (a scoop still moves more; vibrato's crests and troughs don't)
MAX_WAIT_S = 0.15  # a note still unsettled this long after its onset takes the latter half as its pitch
CLEAR_CENTS = 20.0  # ... and its median lies this far from a semitone's midpoint (not a vibrato crest over it)
STAYING = 0.5  # once away, the pitch stays away while it is this share of the change off (a new note's vibrato)
LEAVING = 0.75  # a new note starts where the pitch was this share of the change away (vibrato seldom is)


@dataclass(frozen=True, slots=True)
class Note:
    onset_s: float
    offset_s: float
    midi: int
    cents: float  # median deviation of the steady part from the equal-tempered note (A4 = 440 Hz), + is sharp
    stability_cents: float  # spread of the steady part's pitch (interquartile range): small = steady

    @property
    def name(self) -> str:
        return note_name(self.midi)


@dataclass(frozen=True, slots=True)
class NoteOnset:
    """A note in progress that is sure to be kept: its `Note` follows when it ends, with the same onset and MIDI."""

    onset_s: float
    midi: int
    hz: float  # median f0 of its steady part so far


def hz_to_midi(f0_hz: np.ndarray) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(np.maximum(f0_hz, 1e-9) / 440.0)


def segment_notes(
    frames: PitchFrames,
    min_note_s: float = 0.05,
    min_change_s: float = 0.08,
    max_gap_s: float = 0.04,
    change_semitones: float = 0.65,
) -> list[Note]:
    """Notes of a whole pitch track, in time order (`NoteSegmenter` does the same on a stream of frames)."""
    if len(frames.time_s) < 2:
        return []
    hop_s = float(np.median(np.diff(frames.time_s)))
    segmenter = NoteSegmenter(hop_s, min_note_s, min_change_s, max_gap_s, change_semitones)
    return segmenter.push(frames) + segmenter.finish()


def _clear(pitch: float) -> bool:
    """`pitch` (fractional MIDI) says which note it is: it is at least CLEAR_CENTS from a semitone's midpoint."""
    return abs(pitch - round(pitch)) * 100 <= 50 - CLEAR_CENTS


class _RunningMedian:
    """The median of the values added since the last reset, kept sorted so that each update is a bisection."""

    def __init__(self) -> None:
        self._sorted: list[float] = []

    def reset(self, values: list[float]) -> None:
        self._sorted = sorted(values)

    def add(self, value: float) -> None:
        bisect.insort(self._sorted, value)

    def median(self) -> float:
        values, n = self._sorted, len(self._sorted)
        return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


class NoteSegmenter:
    """Note segmentation of a stream of frames: `push` frames as the tracker finalises them and get the notes that
    have ended; `finish` at the end of the stream gives the last one.

    It looks at each frame once, in order, and keeps only the voiced frames of the note in progress (and of a change
    not yet confirmed), so memory does not grow with the stream and the notes do not depend on how it is cut: they
    are exactly those of `segment_notes` on all the frames.
    """

    def __init__(
        self,
        hop_s: float,
        min_note_s: float = 0.05,
        min_change_s: float = 0.08,
        max_gap_s: float = 0.04,
        change_semitones: float = 0.65,
    ) -> None:
        self.hop_s = hop_s
        self.min_note_s = min_note_s
        self.min_change_s = min_change_s
        self.change_semitones = change_semitones
        self._max_gap = max(0, round(max_gap_s / hop_s))
        self._settle = max(2, round(SETTLE_S / hop_s))
        self._reference = _RunningMedian()
        self._reset()

    def _reset(self) -> None:
        self._times: list[float] = []  # voiced frames of the note in progress (none: no note)
        self._pitches: list[float] = []  # their fractional MIDI notes
        self._run_times: list[float] = []  # voiced frames that left the note, on one side, not yet a change
        self._run_pitches: list[float] = []
        self._run_side = 0.0
        self._gap = 0  # unvoiced frames since the last voiced one
        self._midi = -1  # the note's MIDI note once announced, -1 before
        self._steady_from = 0  # index in _times where its steady part begins

    def push(self, frames: PitchFrames) -> list[Note]:
        """Add frames (in time order, following the previous ones); the notes that ended before them."""
        return [event for event in self.push_events(frames) if isinstance(event, Note)]

    def push_events(self, frames: PitchFrames) -> list[NoteOnset | Note]:
        """As `push`, with each note's `NoteOnset` too, in order: a note's onset always comes before its end."""
        events: list[NoteOnset | Note] = []
        voiced = frames.f0_hz > 0
        pitches = np.where(voiced, hz_to_midi(frames.f0_hz), np.nan)
        for t_s, pitch in zip(frames.time_s.tolist(), pitches.tolist(), strict=True):
            if pitch == pitch:  # voiced (NaN is not equal to itself)
                self._voiced(t_s, pitch, events)
            else:
                self._gap += 1
                if self._gap > self._max_gap and self._times:
                    self._end_note(events)
        return events

    def finish(self) -> list[Note]:
        """The end of the stream: the notes still open (the segmenter starts afresh after this)."""
        return [event for event in self.finish_events() if isinstance(event, Note)]

    def finish_events(self) -> list[NoteOnset | Note]:
        """As `finish`, with the onsets not yet announced (as `push_events`)."""
        events: list[NoteOnset | Note] = []
        if self._times:
            self._end_note(events)
        self._reset()
        return events

    def _voiced(self, t_s: float, pitch: float, events: list[NoteOnset | Note]) -> None:
        self._gap = 0
        if not self._times:
            self._start([t_s], [pitch], events)
            return
        away = pitch - self._reference.median()
        staying = self._run_times and away * self._run_side > self.change_semitones * STAYING
        if self._run_times and not staying:
            self._absorb_run(events)  # back (or gone to the other side): what left was part of this note
        if not staying and abs(away) <= self.change_semitones:
            self._add(t_s, pitch, events)
            return
        self._run_times.append(t_s)
        self._run_pitches.append(pitch)
        self._run_side = 1.0 if away > 0 else -1.0
        if t_s + self.hop_s - self._run_times[0] >= self.min_change_s - 1e-9:
            self._change(events)

    def _start(self, times: list[float], pitches: list[float], events: list[NoteOnset | Note]) -> None:
        self._times, self._pitches, self._midi, self._steady_from = times, pitches, -1, 0
        self._run_times, self._run_pitches = [], []
        self._reference.reset(pitches)
        self._try_announce(events)

    def _add(self, t_s: float, pitch: float, events: list[NoteOnset | Note]) -> None:
        self._times.append(t_s)
        self._pitches.append(pitch)
        self._reference.add(pitch)
        if self._midi < 0:
            self._try_announce(events)

    def _absorb_run(self, events: list[NoteOnset | Note]) -> None:
        times, pitches = self._run_times, self._run_pitches
        self._run_times, self._run_pitches = [], []
        for t_s, pitch in zip(times, pitches, strict=True):
            self._add(t_s, pitch, events)

    def _change(self, events: list[NoteOnset | Note]) -> None:
        """The pitch has held away long enough: a new note from where it left, unless the note in progress never
        settled, in which case it was the new note's attack."""
        times, pitches = self._run_times, self._run_pitches
        if self._midi >= 0:
            moved = self._leaving_frames()
            times, pitches = (
                self._times[len(self._times) - moved :] + times,
                self._pitches[len(self._pitches) - moved :] + pitches,
            )
            del self._times[len(self._times) - moved :], self._pitches[len(self._pitches) - moved :]
            self._close(events)
            self._start(times, pitches, events)
            return
        self._times += times
        self._pitches += pitches
        self._run_times, self._run_pitches = [], []
        self._reference.reset(pitches)
        self._try_announce(events)

    def _leaving_frames(self) -> int:
        """How many of the note's last frames were already on their way to the new note (past LEAVING of the change, on
        its side): the new note began with them. The note keeps its first steady frame and `min_note_s`, since its
        `NoteOnset` is out."""
        reference, side, times = self._reference.median(), self._run_side, self._times
        moved = 0
        while len(times) - moved - 1 > self._steady_from and self._lasts(len(times) - moved - 2):
            away = self._pitches[-1 - moved] - reference
            if away * side <= 0 or abs(away) <= self.change_semitones * LEAVING:
                break
            moved += 1
        return moved

    def _end_note(self, events: list[NoteOnset | Note]) -> None:
        """Silence (or the stream's end): the note in progress ends at its last voiced frame."""
        self._absorb_run(events)
        self._close(events)
        self._times, self._pitches = [], []

    def _lasts(self, last: int) -> bool:
        """The note's frames up to index `last` make a note long enough to keep."""
        return self._times[last] + self.hop_s - self._times[0] >= self.min_note_s - 1e-9

    def _try_announce(self, events: list[NoteOnset | Note]) -> None:
        """Announce the note once it is long enough to keep and its MIDI note is known: from its first settled
        stretch, or after MAX_WAIT_S from the latter half."""
        if not self._lasts(-1):
            return
        n = len(self._pitches)
        recent = self._pitches[n - self._settle :] if n >= self._settle else []
        if recent and (max(recent) - min(recent)) * 100 <= SETTLE_CENTS and _clear(float(np.median(recent))):
            self._announce(events, n - self._settle)
        elif self._times[-1] + self.hop_s - self._times[0] >= MAX_WAIT_S:
            self._announce(events, n // 2)

    def _announce(self, events: list[NoteOnset | Note], steady_from: int) -> None:
        median = float(np.median(self._pitches[steady_from:]))
        self._midi, self._steady_from = round(median), steady_from
        self._reference.reset(self._pitches[steady_from:])  # changes are measured from the steady part from now on
        events.append(NoteOnset(self._times[0], self._midi, 440.0 * 2.0 ** ((median - 69) / 12)))

    def _close(self, events: list[NoteOnset | Note]) -> None:
        """The note in progress ends: its `Note` (after its `NoteOnset`, if that is not out yet) unless too short."""
        if not self._lasts(-1):
            return
        if self._midi < 0:
            self._announce(events, len(self._pitches) // 2)
        cents = (np.asarray(self._pitches[self._steady_from :]) - self._midi) * 100.0
        q25, q50, q75 = np.percentile(cents, [25, 50, 75])
        onset_s, offset_s = self._times[0], self._times[-1] + self.hop_s
        events.append(Note(onset_s, offset_s, self._midi, float(q50), float(q75 - q25)))
