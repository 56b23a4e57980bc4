"""How the virtual player performs a tune: its natural playing, the mistakes it is told to make, and the truth.

A pass of the tune starts with LEAD_IN_S of breathing in; every time in a `Performance` counts from the pass start.
Natural playing stays inside a third of the grading tolerances (onsets jitter, the overblown register comes out a
little sharp, some notes are scooped into); an injected mistake lands at least 1.5x a tolerance off, so a grader
with those tolerances cannot mistake one for the other. Everything is drawn from seeded generators.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.sim.music import Tune

LEAD_IN_S = 1.0  # the breath before the first note
BREATH_S = 0.3  # the most a breath mark takes from the end of the note before it
MIN_PART_S = 0.1  # the shortest stretch (note, gap) a timing mistake may leave behind
OFF_BY = (1.5, 1.8)  # a mistake lands this many tolerances off (early, late, pitch)
LEGATO_S = 1e-9  # two notes closer than this are joined without a gap
# A note followed at once by the same note is tongued: the air stops this long before the repeat (a player cannot
# sound the same note again without interrupting it; beginners' detached tonguing leaves 50-80 ms)
TONGUE_S = 0.06

WRONG_FINGERING, PITCH, OCTAVE, EARLY, LATE, MISSED, EXTRA, NO_BREATH = (
    "wrong_fingering",
    "pitch",
    "octave",
    "early",
    "late",
    "missed",
    "extra",
    "no_breath",
)
KINDS = (WRONG_FINGERING, PITCH, OCTAVE, EARLY, LATE, MISSED, EXTRA, NO_BREATH)


@dataclass(frozen=True, slots=True)
class Tolerances:
    """How far off a grader still calls a note right."""

    timing_s: float = 0.150
    pitch_cents: float = 50.0


@dataclass(frozen=True, slots=True)
class PlayedNote:
    """What the player really did for one note; times from the pass start."""

    score_index: int | None  # the tune's note this stands for; None for an extra note
    midi: int | None  # the note that sounded; None: not played (missed), the player does not blow
    mask: int  # holes the fingers close (bit i = hole i of the profile)
    overblown: bool  # blown into the upper register
    onset_s: float
    end_s: float
    cents: float  # the steady pitch's offset from equal temperament (scoop and vibrato average out around it)
    breath_before: bool  # the player breathed in just before this note
    scoop_cents: float = 0.0  # the note starts this far off (negative: flat) ...
    scoop_s: float = 0.0  # ... and settles within this time
    vibrato_cents: float = 0.0  # peak depth of a sinusoidal vibrato
    vibrato_hz: float = 5.0


@dataclass(frozen=True, slots=True)
class Injected:
    """One mistake, as truth: the tune's note index, the kind, and how much (early/late: seconds, signed; pitch:
    cents; wrong_fingering, octave and extra: semitones from the written note; missed, no_breath: 0)."""

    index: int
    kind: str
    amount: float


@dataclass(frozen=True, slots=True)
class Performance:
    """One pass of a tune as played, `period_s` long (lead-in included), and the mistakes in it."""

    notes: tuple[PlayedNote, ...]
    injected: tuple[Injected, ...]
    period_s: float


@dataclass(frozen=True, slots=True)
class Mistakes:
    """Which mistakes to make: each note at random with probability `rate` (a kind drawn from `kinds`; a note
    where that kind cannot be unambiguous is skipped), and/or exactly `at` ((tune note index, kind) pairs, refused
    when impossible). Never two on neighbouring notes, so each stays unambiguous."""

    rate: float = 0.0
    at: tuple[tuple[int, str], ...] = ()
    kinds: tuple[str, ...] = KINDS
    seed: int = 0
    tolerances: Tolerances = Tolerances()

    def __post_init__(self) -> None:
        unknown = ({kind for _, kind in self.at} | set(self.kinds)) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown mistake kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"a mistake rate is a probability in [0, 1], not {self.rate}")


def perform(tune: Tune, profile: InstrumentProfile, mistakes: Mistakes | None = None, seed: int = 0) -> Performance:
    """One pass of `tune` on `profile`, played naturally (seeded by `seed`) with `mistakes` made."""
    mistakes = mistakes or Mistakes()
    played = _natural(tune, profile, mistakes.tolerances, np.random.default_rng(seed))
    injected = _Injector(tune, profile, mistakes, played).run()
    return Performance(tuple(played), tuple(injected), LEAD_IN_S + tune.duration_s)


def _natural(
    tune: Tune, profile: InstrumentProfile, tolerances: Tolerances, rng: np.random.Generator
) -> list[PlayedNote]:
    """Every written note played as written, with the small deviations of real playing, each within a third of
    the tolerances: onsets jitter, the overblown register is sharp, some notes are scooped, all have vibrato."""
    notes = [(index, note) for index, note in enumerate(tune.notes) if note.midi is not None]
    jitter = (rng.uniform(-1.0, 1.0, len(notes)) * tolerances.timing_s / 6).tolist()
    onsets = [
        LEAD_IN_S + tune.seconds(note.onset_beats) + shift for (_, note), shift in zip(notes, jitter, strict=True)
    ]
    in_tune = 0.9 * tolerances.pitch_cents / 3
    played = []
    for k, (index, note) in enumerate(notes):
        assert note.midi is not None
        mask, overblown = profile.fingering_for(note.midi)
        end = LEAD_IN_S + tune.seconds(note.end_beats)
        after = notes[k + 1][1] if k + 1 < len(notes) else None
        if after is not None and abs(after.onset_beats - note.end_beats) < LEGATO_S:
            end = onsets[k + 1]
            if after.breath_before:
                end -= min(BREATH_S, (end - onsets[k]) / 2)
            elif after.midi == note.midi:
                end -= min(TONGUE_S, (end - onsets[k]) / 3)
        before = notes[k - 1][1] if k else None
        sharp = rng.uniform(5.0, 15.0) if overblown else rng.uniform(-3.0, 3.0)
        scooped = rng.random() < 0.4
        played.append(
            PlayedNote(
                index,
                note.midi,
                mask,
                overblown,
                onsets[k],
                end,
                float(np.clip(sharp, -in_tune, in_tune)),
                before is None or note.breath_before or note.onset_beats - before.end_beats > LEGATO_S,
                -float(rng.uniform(20.0, 50.0)) if scooped else 0.0,
                float(rng.uniform(0.05, 0.1)),
                float(rng.uniform(8.0, 15.0)),
                float(rng.uniform(4.6, 5.4)),
            )
        )
    return played


class _Injector:
    """Applies mistakes to a natural performance, one note at a time, checking each stays unambiguous."""

    def __init__(self, tune: Tune, profile: InstrumentProfile, mistakes: Mistakes, played: list[PlayedNote]) -> None:
        self.tune, self.profile, self.mistakes, self.played = tune, profile, mistakes, played
        self.rng = np.random.default_rng(mistakes.seed)
        self.tolerances = mistakes.tolerances

    def run(self) -> list[Injected]:
        wanted = dict(self.mistakes.at)
        written = [note.score_index for note in self.played]
        if set(wanted) - set(written):
            raise ValueError(f"mistakes asked at {sorted(set(wanted) - set(written))}: not notes of the tune (rests?)")
        injected: list[Injected] = []
        for position, index in enumerate(written):
            assert index is not None
            random_kind = str(self.rng.choice(self.mistakes.kinds))
            draw = self.rng.random()
            kind = wanted.get(index) or (random_kind if draw < self.mistakes.rate else None)
            neighbour = injected and injected[-1].index == written[position - 1]
            if kind is None or (neighbour and index not in wanted):
                continue
            if neighbour:
                raise ValueError(f"mistakes at notes {injected[-1].index} and {index}: not on neighbouring notes")
            result = self._apply(self._position(index), kind)
            if isinstance(result, str) and index in wanted:
                raise ValueError(f"cannot make the mistake {kind!r} at note {index} unambiguously: {result}")
            if isinstance(result, Injected):
                injected.append(result)
        return injected

    def _position(self, index: int) -> int:
        return next(p for p, note in enumerate(self.played) if note.score_index == index)

    def _apply(self, p: int, kind: str) -> Injected | str:
        """Make mistake `kind` on the played note at position `p`; the reason it cannot be done otherwise."""
        note = self.played[p]
        index = note.score_index
        assert index is not None and note.midi is not None
        timing, pitch = self.tolerances.timing_s, self.tolerances.pitch_cents
        if kind in (EARLY, LATE):
            shift = float(self.rng.uniform(*OFF_BY)) * timing * (1 if kind == LATE else -1)
            onset = self._written_onset(index) + shift
            earliest = self._earliest_onset(p) + MIN_PART_S
            if not earliest <= onset <= note.end_s - MIN_PART_S:
                return (
                    f"the note would start at {onset:.3f} s, outside [{earliest:.3f}, {note.end_s - MIN_PART_S:.3f}] s"
                )
            self._move_onset(p, onset)
            return Injected(index, kind, shift)
        if kind == PITCH:
            cents = self.rng.choice((-1.0, 1.0)) * self.rng.uniform(*OFF_BY) * pitch
            self.played[p] = dataclasses.replace(note, cents=float(cents))
            return Injected(index, kind, float(cents))
        if kind == OCTAVE:
            midi = self.profile.midi_for(note.mask, not note.overblown)
            if midi is None or midi in self._neighbours(p):
                return "the other register of this fingering is not a distinct note"
            self.played[p] = dataclasses.replace(note, midi=midi, overblown=not note.overblown)
            return Injected(index, kind, float(midi - note.midi))
        if kind in (WRONG_FINGERING, EXTRA):
            return self._other_note(p, kind)
        if kind == MISSED:
            mask = self.played[p - 1].mask if p else note.mask  # the fingers stay where they were
            self.played[p] = dataclasses.replace(note, midi=None, mask=mask)
            return Injected(index, kind, 0.0)
        return self._skip_breath(p)

    def _written_onset(self, index: int) -> float:
        return LEAD_IN_S + self.tune.seconds(self.tune.notes[index].onset_beats)

    def _earliest_onset(self, p: int) -> float:
        """How early the note can start: the note before's onset when joined to it, else the end of the gap."""
        if p == 0:
            return 0.0
        before = self.played[p - 1]
        return before.onset_s if self._joined(p) else before.end_s

    def _joined(self, p: int) -> bool:
        return p > 0 and abs(self.played[p].onset_s - self.played[p - 1].end_s) < LEGATO_S

    def _move_onset(self, p: int, onset_s: float) -> None:
        if self._joined(p):  # the note before is held until this one starts
            self.played[p - 1] = dataclasses.replace(self.played[p - 1], end_s=onset_s)
        self.played[p] = dataclasses.replace(self.played[p], onset_s=onset_s)

    def _neighbours(self, p: int) -> set[int | None]:
        note = self.played[p]
        return {other.midi for other in self.played[max(0, p - 1) : p + 2] if other is not note}

    def _other_note(self, p: int, kind: str) -> Injected | str:
        """A wrong fingering (another note's, a few semitones away) for the whole note, or an extra such note
        taking its second half."""
        note = self.played[p]
        assert note.midi is not None and note.score_index is not None
        split = (note.onset_s + note.end_s) / 2
        clear = min(abs(split - self._written_onset(i)) for i, n in enumerate(self.tune.notes) if n.midi is not None)
        if kind == EXTRA and (clear < OFF_BY[0] * self.tolerances.timing_s or split - note.onset_s < MIN_PART_S):
            return f"the note lasts {note.end_s - note.onset_s:.3f} s: too short for an extra note clear of the onsets"
        near = [
            midi
            for midi in self.profile.playable
            if (2 if kind == EXTRA else 1) <= abs(midi - note.midi) <= 4 and midi not in self._neighbours(p)
        ]
        if not near:
            return "no other playable note near it"
        midi = int(self.rng.choice(near))
        mask, overblown = self.profile.fingering_for(midi)
        other = dataclasses.replace(note, midi=midi, mask=mask, overblown=overblown, scoop_cents=0.0)
        if kind == WRONG_FINGERING:
            self.played[p] = other
        else:
            self.played[p] = dataclasses.replace(note, end_s=split)
            extra = dataclasses.replace(other, score_index=None, onset_s=split, breath_before=False)
            self.played.insert(p + 1, extra)
        return Injected(note.score_index, kind, float(midi - note.midi))

    def _skip_breath(self, p: int) -> Injected | str:
        """No breath at a breath mark: the player plays on through the time the breath would have taken (or holds
        its breath through a rest)."""
        note = self.played[p]
        assert note.score_index is not None
        if p == 0 or not self.tune.notes[note.score_index].breath_before:
            return "there is no breath mark before this note"
        before = self.tune.notes[note.score_index - 1]
        if before.midi is not None and abs(before.end_beats - self.tune.notes[note.score_index].onset_beats) < LEGATO_S:
            self.played[p - 1] = dataclasses.replace(self.played[p - 1], end_s=note.onset_s)
        self.played[p] = dataclasses.replace(note, breath_before=False)
        return Injected(note.score_index, NO_BREATH, 0.0)
