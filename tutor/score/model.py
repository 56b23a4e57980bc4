"""The score model the tutor works with: plain, immutable, and independent of any file format.

Time is in beats (quarter notes) from the start of the piece; `Score.seconds` turns beats into seconds through the
tempo map. Bars and beats are 1-based, as musicians count ("bar 3, beat 2"). Ties are merged on import, so one
`ScoreNote` is one sounding note (or one rest).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ScoreNote:
    index: int  # position in `Score.notes`, rests included
    midi: int | None  # None: a rest
    onset_beats: float
    duration_beats: float
    bar: int  # 1-based
    beat: float  # 1-based, within the bar, in the time signature's beats
    breath_before: bool = False  # a breath mark (or a phrase boundary) before this note
    segment: int = 0  # the phrase / practice segment it belongs to (0-based)

    @property
    def is_rest(self) -> bool:
        return self.midi is None

    @property
    def end_beats(self) -> float:
        return self.onset_beats + self.duration_beats

    @property
    def where(self) -> str:
        """How a student finds it: "bar 3, beat 2" (fractions of a beat as "2.5")."""
        return f"bar {self.bar}, beat {self.beat:g}"


@dataclass(frozen=True, slots=True)
class TempoChange:
    beat: float  # from this beat (quarter notes from the start) ...
    bpm: float  # ... quarter notes per minute


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of bars practised as one (a phrase, by default), inclusive."""

    index: int
    first_bar: int
    last_bar: int


@dataclass(frozen=True)
class Score:
    title: str
    notes: tuple[ScoreNote, ...]
    tempos: tuple[TempoChange, ...] = (TempoChange(0.0, 100.0),)
    beats_per_bar: float = 4.0  # in the time signature's beat unit
    beat_unit: int = 4  # 4: a quarter note gets the beat; 8: an eighth note
    segments: tuple[Segment, ...] = ()
    source: str = ""  # where it came from (file name, library entry)
    composer: str = ""
    key: str = ""  # the key signature as read ("D major"), "" when the file has none
    warnings: tuple[str, ...] = ()  # what the import guessed or simplified (no tempo, chords reduced to a line...)
    _tempo_starts_s: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tempos or self.tempos[0].beat != 0.0:
            raise ValueError("a score's tempo map starts at beat 0")
        starts = [0.0]
        for before, after in zip(self.tempos, self.tempos[1:], strict=False):
            starts.append(starts[-1] + (after.beat - before.beat) * 60.0 / before.bpm)
        object.__setattr__(self, "_tempo_starts_s", tuple(starts))

    @property
    def sounding(self) -> tuple[ScoreNote, ...]:
        """The notes that are not rests."""
        return tuple(note for note in self.notes if note.midi is not None)

    @property
    def bars(self) -> int:
        return max((note.bar for note in self.notes), default=0)

    @property
    def length_beats(self) -> float:
        return max((note.end_beats for note in self.notes), default=0.0)

    def seconds(self, beats: float) -> float:
        """Seconds from the start at `beats` (quarter notes), through the tempo map."""
        k = bisect.bisect_right([tempo.beat for tempo in self.tempos], beats) - 1
        tempo = self.tempos[max(k, 0)]
        return self._tempo_starts_s[max(k, 0)] + (beats - tempo.beat) * 60.0 / tempo.bpm

    def onset_s(self, note: ScoreNote) -> float:
        return self.seconds(note.onset_beats)

    def duration_s(self, note: ScoreNote) -> float:
        return self.seconds(note.end_beats) - self.seconds(note.onset_beats)
