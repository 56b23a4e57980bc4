"""A simulated student who learns, playing attempt after attempt on the running simulated board.

The `Learner` (sim/learner.py) decides each attempt's slips from what it has practised; the student makes them
through a `VirtualPlayer` that the running `World` starts at the attempt's moment (the microphone follows). After
the attempt it reads, from the servos' press history the world keeps, which of its notes the servos guided, learns
from what it felt, and reports the truth of what it played. The host reaches it as a `StudentHook` (plain data
only: `flutex.host.link.opener`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flutex.hardware.instrument import Fingering, InstrumentProfile
from flutex.host.errors import FlutexError, UsageError
from flutex.sim.learner import Item, Learner, items_of, realised
from flutex.sim.music import Note, Tune
from flutex.sim.performance import LEAD_IN_S, Tolerances
from flutex.sim.player import VirtualPlayer
from flutex.sim.truth import performance_truth
from flutex.sim.world import World

# A guided press for a note starts ahead of it (the lesson's lead, ~0.2 s) and closes a hole ~0.1 s later, during the
# note before: the servos' presses in a note's last NEXT_PRESS_S belong to the next note.
NEXT_PRESS_S = 0.15
SINGABLE = range(40, 85)  # E2 to C6: a bass's low notes to a soprano's high ones
PlainNote = tuple[int | None, float, float, bool]  # (MIDI or None for a rest, onset beats, duration beats, breath)


class PlainMusic(Protocol):
    """What the host's `PlainTune` carries (the simulator does not import host types)."""

    @property
    def notes(self) -> Sequence[PlainNote]: ...
    @property
    def tempos(self) -> Sequence[tuple[float, float]]: ...
    @property
    def tolerances(self) -> tuple[float, float]: ...


def music_of(notes: Sequence[PlainNote], tempos: Sequence[tuple[float, float]], wait_s: float = 0.0) -> Tune:
    """The plain notes as a `Tune` at `tempos` ((beat, bpm), the first at beat 0), moved later by `wait_s` at the
    first tempo (the tune's beat 0 stays the score's); a tune the player cannot read is a UsageError."""
    if not tempos:
        raise UsageError("the simulated player needs the tune's tempo: give at least one (beat, bpm), at beat 0")
    _, bpm = tempos[0]
    wait = wait_s * bpm / 60.0
    try:
        return Tune(
            tuple(Note(midi, onset + wait, length, breath) for midi, onset, length, breath in notes),
            bpm,
            tuple((beat + wait, later_bpm) for beat, later_bpm in tempos[1:]),
        )
    except ValueError as error:
        raise UsageError(f"the simulated player cannot play this tune: {error}") from None


@dataclass(frozen=True, slots=True)
class _Attempt:
    tune: Tune
    items: tuple[tuple[int, Item], ...]
    player: VirtualPlayer
    start_monotonic_s: float  # the pass's time 0: beat 0 is LEAD_IN_S later


def sung(profile: InstrumentProfile) -> InstrumentProfile:
    """The flute's profile for a singer: every note of a voice's range (`SINGABLE`) "fingered" with no hole closed,
    in one register, since a singer has no fingers on the board and sings below the flute as readily as on it."""
    return dataclasses.replace(profile, fingerings=tuple(Fingering(midi, 0) for midi in SINGABLE))


class SimStudent:
    """A `Learner` playing the running `world`'s board (a `StudentHook`). `day` is the learner's day (0: the first
    lesson; the caller moves it on between lessons). Each attempt's natural playing is seeded by `seed` and the
    attempt's number."""

    def __init__(
        self,
        world: World,
        learner: Learner,
        profile: InstrumentProfile,
        pinmap: dict[str, Any],
        seed: int = 0,
        sings: bool = False,
        day: float = 0.0,
    ) -> None:
        self.world = world
        self.learner = learner
        self.profile = sung(profile) if sings else profile
        self.pinmap = pinmap
        self.seed = seed
        self.sings = sings
        self.day = day
        self.attempts = 0
        self._attempt: _Attempt | None = None
        self._played: dict | None = None

    def play(self, tune: PlainMusic, beat0_monotonic_s: float, mode: str, force_permille: int) -> None:
        """Play `tune` once, its beat 0 at `beat0_monotonic_s` (the lead-in's breath before it), making the slips
        the learner makes in `mode` at `force_permille`; a performance under way is cut short."""
        self.perform(
            music_of(tune.notes, tune.tempos), Tolerances(*tune.tolerances), beat0_monotonic_s, mode, force_permille
        )

    def perform(self, tune: Tune, tolerances: Tolerances, beat0_monotonic_s: float, mode: str, force: int) -> None:
        """`play` with the music as the simulator reads it."""
        self.attempts += 1
        items = tuple(items_of(tune))
        seed = self.seed + self.attempts
        wanted = self.learner.mistakes_for(items, mode, force, self.day)
        mistakes, _ = realised(tune, self.profile, wanted, seed, tolerances)
        try:
            player = VirtualPlayer(
                tune,
                mistakes,
                self.profile,
                self.pinmap,
                seed,
                loop=False,
                sensors=self.world.player.breathing.sensors,
                sings=self.sings,
            )
        except ValueError as error:  # a note the profile cannot finger
            raise UsageError(f"the simulated student cannot play this tune: {error}") from None
        start_s = beat0_monotonic_s - LEAD_IN_S
        self.world.perform(player, start_s)
        self._attempt = _Attempt(tune, items, player, start_s)
        self._played = None

    def truth(self) -> dict[str, list[dict]]:
        """The last attempt's truth (sim/truth.py), onset times after its beat 0."""
        attempt = self._last()
        return performance_truth(attempt.tune, attempt.player.performance, self.sings, LEAD_IN_S)

    def guided_notes(self) -> list[int]:
        """The last attempt's notes during which the servos held a hole closed, as the world saw it (up to
        `NEXT_PRESS_S` before a note's end: a press for the next note, made ahead of it, is not this note's)."""
        attempt = self._last()
        start, servos = attempt.start_monotonic_s, self.world.servos
        return sorted(
            {
                note.score_index
                for note in attempt.player.performance.notes
                if note.score_index is not None
                and servos.pressed_during(start + note.onset_s, start + max(note.onset_s, note.end_s - NEXT_PRESS_S))
            }
        )

    def played(self) -> dict:
        """After the attempt: its truth and `"guided_notes"`; the learner learns from it (once per attempt)."""
        if self._played is None:
            attempt = self._last()
            guided = self.guided_notes()
            felt = set(guided)
            self.learner.practised([(item, index in felt) for index, item in attempt.items], self.day)
            self._played = {**self.truth(), "guided_notes": guided}
        return self._played

    def _last(self) -> _Attempt:
        if self._attempt is None:
            raise FlutexError("the simulated student has played no attempt yet: call play() first")
        return self._attempt
