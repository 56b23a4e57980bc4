"""A simulated student who learns: per note-in-context error probabilities that fall with practice, rise again
with forgetting between days, and depend on how much of the practice was guided.

Every parameter, its value, range and source is in docs/student-model.md; they were fixed before any policy ran and
are never tuned to make a policy win. Items are notes in context: the transition (previous MIDI note, this MIDI
note) of a tune, and (FIRST, midi) for a tune's first note, because a fingering change is what a player learns.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.sim.music import Tune
from flutex.sim.performance import (
    EARLY,
    LATE,
    MISSED,
    OCTAVE,
    PITCH,
    WRONG_FINGERING,
    Mistakes,
    Performance,
    Tolerances,
    perform,
)

FIRST = -1  # the "previous note" of a tune's first note
Item = tuple[int, int]  # (previous MIDI note or FIRST, MIDI note)

# The mix of a flute beginner's slips (docs/student-model.md): mostly fingering, then timing.
FLUTE_KINDS: dict[str, float] = {WRONG_FINGERING: 0.45, LATE: 0.2, EARLY: 0.1, MISSED: 0.05, OCTAVE: 0.1, PITCH: 0.1}
# The guidance modes (plain strings, as the tutor names them in flutex.tutor.lesson.modes, which the simulator may not
# import: the host reaches it through the sim:// opener) that place the finger, from this force in permille.
PLACES_FINGER = {"guided": 0, "hint": 500}
FALLBACK_KIND = PITCH  # a slip that cannot be made unambiguously on a note becomes a pitch slip (always possible)
NEW_DAY = 0.5  # practice this many days after the last counts as a new (spaced) practice day
# Per-learner spread around the population's values (lognormal sigmas) and the plausible ranges they are kept in.
SPREAD: dict[str, tuple[float, float, float]] = {
    "e0": (0.3, 0.10, 0.35),
    "alpha": (0.45, 0.05, 0.5),
    "g": (0.25, 0.0, 1.0),
    "s0_days": (0.5, 0.5, 10.0),
}


def places_finger(mode: str, force_permille: int) -> bool:
    """Whether guidance in `mode` at `force_permille` puts the finger on the hole (then no fingering slip)."""
    return mode in PLACES_FINGER and force_permille >= PLACES_FINGER[mode]


def items_of(tune: Tune) -> list[tuple[int, Item]]:
    """(tune note index, item) for every sounding note of `tune`, in order: a rest does not break a transition."""
    items, before = [], FIRST
    for index, note in enumerate(tune.notes):
        if note.midi is not None:
            items.append((index, (before, note.midi)))
            before = note.midi
    return items


@dataclass(frozen=True)
class LearnerParams:
    """One learner's rates (or, for `drawn`, the population's centre). Documented in docs/student-model.md."""

    e0: float = 0.25  # unguided error probability of a new note in context
    e_floor: float = 0.02  # the error left after unlimited practice
    alpha: float = 0.2  # exponential learning rate per unguided practice of an item
    g: float = 0.5  # credit of a guided practice, as a fraction of an unguided one (for a novice)
    g_skill_slope: float = 1.0  # g_eff = g * exp(-slope * skill): guidance helps the skilled less
    dependence_gain: float = 0.15  # each guided practice moves dependence this fraction toward 1
    dependence_decay: float = 0.3  # each unguided practice removes this fraction of the dependence
    dependence_cost: float = 0.5  # full dependence pulls the unguided error this fraction back toward e0
    w20: float = 0.1542  # FSRS-6 forgetting-curve decay
    s0_days: float = 2.307  # stability (days to 90% retrievability) after the first day of practice
    stability_growth: float = 2.5  # stability multiplies by this on each further spaced practice day

    def drawn(self, rng: np.random.Generator) -> LearnerParams:
        """A learner of the population centred on these values: e0, alpha, g and s0 vary per learner."""
        changes = {}
        for name, (sigma, low, high) in SPREAD.items():
            changes[name] = float(np.clip(getattr(self, name) * rng.lognormal(0.0, sigma), low, high))
        return dataclasses.replace(self, **changes)


# Named populations a simulated student is drawn from (sim://?student=SEED&learner=NAME). "quick" sits at the
# quick end of every plausible range (fewest slips on a new tune, fastest learning), chosen from the ranges in
# docs/student-model.md, not from any policy's result: it lets a two-minute demo show guidance fading.
PRESETS = {
    "typical": LearnerParams(),
    "quick": LearnerParams(e0=SPREAD["e0"][1], alpha=SPREAD["alpha"][2]),
}


@dataclass
class _ItemState:
    n: float = 0.0  # effective practice
    dependence: float = 0.0  # 0..1 reliance on guidance
    stability: float = 0.0  # days; set on the first practice day
    last_day: float | None = None
    days: int = 0  # distinct (spaced) practice days


class Learner:
    """One student: item states and a seeded generator for the slips it makes."""

    def __init__(self, params: LearnerParams, seed: int) -> None:
        self.params = params
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._items: dict[Item, _ItemState] = {}

    def _learned(self, state: _ItemState) -> float:
        p = self.params
        return p.e_floor + (p.e0 - p.e_floor) * math.exp(-p.alpha * state.n)

    def _retrievability(self, state: _ItemState, day: float) -> float:
        """FSRS-6's power forgetting curve; 1 on the day of practice."""
        if state.last_day is None or day <= state.last_day:
            return 1.0
        w20 = self.params.w20
        factor = 0.9 ** (-1.0 / w20) - 1.0
        return (1.0 + factor * (day - state.last_day) / state.stability) ** -w20

    def _recalled(self, state: _ItemState, day: float) -> float:
        """The unguided error without dependence: the learned error pulled back toward e0 by what was forgotten."""
        e0 = self.params.e0
        return e0 - (e0 - self._learned(state)) * self._retrievability(state, day)

    def error_probability(self, item: Item, guided: bool, day: float) -> float:
        """The chance of a slip on `item` at `day`: guided, no fingering slip (the finger is placed) and no
        dependence cost; unguided, dependence pulls the error toward e0."""
        p = self.params
        state = self._items.get(item, _ItemState())
        error = self._recalled(state, day)
        if guided:
            return error * (1.0 - FLUTE_KINDS[WRONG_FINGERING])
        return error + p.dependence_cost * state.dependence * (p.e0 - error)

    def mistakes_for(
        self, tune_items: Sequence[tuple[int, Item]], mode: str, force_permille: int, day: float
    ) -> tuple[tuple[int, str], ...]:
        """(tune note index, simulator mistake kind) for one attempt. Under a mode of PLACES_FINGER at its force,
        the finger is placed: no fingering slip. A note right after a slipped one is played right (the simulator
        keeps slips apart so each stays unambiguous). Draws the same number of numbers whatever happens."""
        guided = places_finger(mode, force_permille)
        kinds = [kind for kind in FLUTE_KINDS if not (guided and kind == WRONG_FINGERING)]
        weights = np.array([FLUTE_KINDS[kind] for kind in kinds])
        weights /= weights.sum()
        mistakes: list[tuple[int, str]] = []
        previous_slipped = False
        for index, item in tune_items:
            draw, kind = self._rng.random(), kinds[int(self._rng.choice(len(kinds), p=weights))]
            slipped = not previous_slipped and draw < self.error_probability(item, guided, day)
            if slipped:
                mistakes.append((index, kind))
            previous_slipped = slipped
        return tuple(mistakes)

    def practised(self, items_guided: Sequence[tuple[Item, bool]], day: float) -> None:
        """Learning from one attempt: each played item gains 1 (unguided) or g_eff (guided) practice; guided
        practice builds dependence, unguided practice wears it away. The first practice after a gap first loses
        what was forgotten (relearning) and makes the memory more stable (spacing)."""
        p = self.params
        for item, guided in items_guided:
            state = self._items.setdefault(item, _ItemState())
            if state.last_day is None:
                state.stability, state.days = p.s0_days, 1
            elif day - state.last_day >= NEW_DAY:
                state.n = self._practice_for(self._recalled(state, day))
                state.stability *= p.stability_growth
                state.days += 1
            skill = (p.e0 - self._learned(state)) / (p.e0 - p.e_floor)
            if guided:
                state.n += p.g * math.exp(-p.g_skill_slope * skill)
                state.dependence += p.dependence_gain * (1.0 - state.dependence)
            else:
                state.n += 1.0
                state.dependence *= 1.0 - p.dependence_decay
            state.last_day = day

    def _practice_for(self, error: float) -> float:
        """The practice whose learned error is `error` (the inverse of the exponential curve)."""
        p = self.params
        return max(0.0, -math.log(max(error - p.e_floor, 1e-12) / (p.e0 - p.e_floor)) / p.alpha)

    def state(self) -> dict[str, Any]:
        """Everything, as JSON-ready data, so a student persists across days (its generator included)."""
        return {
            "params": dataclasses.asdict(self.params),
            "seed": self.seed,
            "rng": self._rng.bit_generator.state,
            "items": [[list(item), dataclasses.asdict(state)] for item, state in self._items.items()],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Learner:
        learner = cls(LearnerParams(**state["params"]), int(state["seed"]))
        learner._rng.bit_generator.state = state["rng"]
        learner._items = {(int(a), int(b)): _ItemState(**values) for (a, b), values in state["items"]}
        return learner


def realised(
    tune: Tune, profile: InstrumentProfile, wanted: Sequence[tuple[int, str]], seed: int, tolerances: Tolerances
) -> tuple[Mistakes, Performance]:
    """The learner's slips made on the simulated player: each in note order, and one that cannot be made
    unambiguously on its note (a timing slip on a short note, an octave slip without a distinct other register)
    becomes a FALLBACK_KIND slip. The simulator draws a slip's details in note order, so adding a later slip never
    changes an earlier one and the last accepted performance is the attempt's."""
    accepted: list[tuple[int, str]] = []
    mistakes = Mistakes(seed=seed, tolerances=tolerances)
    performance = perform(tune, profile, mistakes, seed)
    for index, kind in sorted(wanted):
        for candidate in dict.fromkeys((kind, FALLBACK_KIND)):
            trial = Mistakes(at=(*accepted, (index, candidate)), seed=seed, tolerances=tolerances)
            try:
                performance = perform(tune, profile, trial, seed)
            except ValueError:
                continue
            accepted.append((index, candidate))
            mistakes = trial
            break
    return mistakes, performance
