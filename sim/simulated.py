"""The simulator as the host opens it: a `sim://` URL's settings, a virtual player reading a tune given as plain
data, the world around the board, the microphone, the belt's guided calibration and the truth of the performance.

`flutex.host.link.opener` is the host's one door into the simulator, and this is what it calls: the host never holds
a simulator type. `sim://` takes the board's profile and the player's settings as query parameters
(`SIM_PARAMETERS`), e.g. `sim://?profile=boehm&seed=7&errors=0.1` or
`sim://?errors=late:0.05,missed:0.02&instrument=voice`. With `student=SEED` the player is a student who learns
(`flutex.sim.student`), drawn from the population (`learner=`: which one), playing each attempt the host asks for.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import numpy as np

from flutex.hardware import PROFILES_DIR, load_pinmap
from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.sim.breathing import BreathingModel, calibration_breath
from flutex.sim.learner import PRESETS, Learner
from flutex.sim.live_audio import LiveSimAudio
from flutex.sim.music import Tune
from flutex.sim.performance import LEAD_IN_S, Mistakes, Tolerances
from flutex.sim.player import SUNG, VirtualPlayer
from flutex.sim.student import SimStudent, music_of
from flutex.sim.truth import performance_truth
from flutex.sim.world import World, world

SAMPLE_RATE_HZ = 44100
CALIBRATION_REST_S = 8.0  # the calibration pattern's quiet breaths; the full breath follows
# The player's mistakes by the names a grader reports them, and the simulator's own names for them.
MISTAKES = {
    "fingering": "wrong_fingering",
    "pitch": "pitch",
    "octave": "octave",
    "early": "early",
    "late": "late",
    "missed": "missed",
    "extra": "extra",
    "no_breath": "no_breath",
}
INSTRUMENTS = ("flute", "voice")
# The populations a learning student is drawn from: their centres (docs/student-model.md).
SIM_PARAMETERS = {
    "profile": "an instrument profile: " + ", ".join(sorted(path.stem for path in PROFILES_DIR.glob("*.json"))),
    "seed": "a whole number >= 0 (the player's natural playing and its mistakes)",
    "errors": "a probability R in [0, 1] (a mistake on each note with probability R, its kind drawn evenly) or "
    "KIND:R,KIND:R,... with KIND one of " + ", ".join(MISTAKES) + " (the R's summing to at most 1)",
    "instrument": " or ".join(INSTRUMENTS) + " (voice: the player sings, no fingers on the board)",
    "loop": "0 (play the tune once) or 1 (again and again)",
    "student": "a whole number >= 0: a student who learns, drawn from the population with that seed, plays the "
    "attempts a lesson asks for (without it: the fixed-mistakes player)",
    "learner": " or ".join(PRESETS) + " (the population a student= is drawn from; default typical)",
}
# A player given a tune waits this long after the board starts before its lead-in, so that a host connecting
# under load still hears the whole piece.
PLAYER_WAIT_S = 1.0


@dataclass(frozen=True, slots=True)
class SimSettings:
    """A `sim://` URL's query: the board's profile (None: the pin map's), the player's seed, its mistakes as
    (simulator kind, probability) pairs, whether it sings, whether it loops (None: the default tune loops, a given
    tune is played once), and a learning student's seed (None: no student) and population."""

    profile: str | None = None
    seed: int = 0
    errors: tuple[tuple[str, float], ...] = ()
    voice: bool = False
    loop: bool | None = None
    student: int | None = None  # a learning student's seed
    learner: str = "typical"


@dataclass(frozen=True, slots=True)
class Simulation:
    """A running simulated instrument: the world (board and player), its microphone (None without one), when the
    given tune's beat 0 is due on `time.monotonic()`'s clock, whether the player sings, and the learning student
    (None without `student=`)."""

    world: World
    microphone: LiveSimAudio | None
    beat0_monotonic_s: float | None
    sings: bool
    _tune: Tune
    student: SimStudent | None = None

    def performance_truth(self) -> dict[str, list[dict]]:
        """Per note of the tune, every error a correct grader reports, and the extra notes (see sim/truth.py); a
        student's: its last attempt's."""
        if self.student is not None:
            return self.student.truth()
        player = self.world.player
        return performance_truth(self._tune, player.performance, self.sings, LEAD_IN_S + PLAYER_WAIT_S)

    def belt_calibration_steps(self, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
        """What this player's belt reads during a guided calibration (quiet breaths, then one full breath), as
        (rest, full) arrays of channel pressures sampled at `rate_hz`: what a lesson's calibration step records."""
        sensors = self.world.player.breathing.sensors
        model = BreathingModel(calibration_breath(), sensors, seed=self.world.player.seed + 1)
        channels = model.record(model.pattern.cycle_s, rate_hz).channels_pa
        split = round(CALIBRATION_REST_S * rate_hz)
        return channels[:split], channels[split:]


@contextlib.asynccontextmanager
async def simulate(
    query: str,
    microphone: bool,
    notes: Sequence[tuple[int | None, float, float, bool]] | None = None,
    tempos: Sequence[tuple[float, float]] = (),
    tolerances: tuple[float, float] | None = None,
) -> AsyncIterator[Simulation]:
    """The simulated board running the query's profile, played (or sung) by a virtual player reading `notes`
    ((MIDI or None, onset beats, duration beats, breath mark before); None: its default tune, looping) at `tempos`
    ((beat, bpm), the first at beat 0); `tolerances` (timing s, pitch cents) are the grader's, which the player's
    mistakes land well outside of."""
    chosen = settings(query)
    tolerance = Tolerances() if tolerances is None else Tolerances(*tolerances)
    rate = min(1.0, sum(rate for _, rate in chosen.errors))
    kinds = kinds_weighted(chosen.errors) if chosen.errors else ()
    mistakes = Mistakes(rate, kinds=kinds, seed=chosen.seed, tolerances=tolerance) if kinds else None
    tune = None if notes is None else music_of(notes, tempos, 0.0 if chosen.student is not None else PLAYER_WAIT_S)
    loop = chosen.loop if chosen.loop is not None else tune is None
    with _pinmap_for(chosen.profile) as (pinmap_path, pinmap):
        profile = InstrumentProfile.load(pinmap["profile"])
        try:
            player = (
                _resting(profile, pinmap, chosen)
                if chosen.student is not None
                else VirtualPlayer(tune, mistakes, profile, pinmap, seed=chosen.seed, loop=loop, sings=chosen.voice)
            )
        except ValueError as error:  # a note the profile cannot finger
            raise UsageError(f"the simulated player cannot play this tune: {error}") from None
        async with world(player, pinmap_path) as running:
            beat0 = None if tune is None else running.start_monotonic_s + LEAD_IN_S + PLAYER_WAIT_S
            student = None
            if chosen.student is not None:
                running.perform(player, running.start_monotonic_s - player.rest_from_s)  # already at rest
                student = _student(running, profile, pinmap, chosen)
                if tune is not None and beat0 is not None:  # the given tune is its first attempt, unguided
                    student.perform(tune, tolerance, beat0, "free", 0)
            options: dict[str, Any] = {"harmonics": SUNG} if chosen.voice else {}
            sound = running.microphone(sample_rate_hz=SAMPLE_RATE_HZ, **options) if microphone else None
            yield Simulation(running, sound, beat0, chosen.voice, tune or player.tune, student)


def _resting(profile: InstrumentProfile, pinmap: dict[str, Any], chosen: SimSettings) -> VirtualPlayer:
    """A student between attempts, before the first: one short note played once (so it rests after it), hands on
    the flute at that note's fingering."""
    note = Tune.from_seconds(((profile.playable[0], 0.1),))
    return VirtualPlayer(note, None, profile, pinmap, seed=chosen.seed, loop=False, sings=chosen.voice)


def _student(running: World, profile: InstrumentProfile, pinmap: dict[str, Any], chosen: SimSettings) -> SimStudent:
    """The learning student `chosen.student` seeds: drawn from the `chosen.learner` population, on `running`."""
    assert chosen.student is not None
    params = PRESETS[chosen.learner].drawn(np.random.default_rng(chosen.student))
    learner = Learner(params, chosen.student)
    return SimStudent(running, learner, profile, pinmap, seed=chosen.student, sings=chosen.voice)


def settings(query: str) -> SimSettings:
    """The settings a `sim://` URL's query (after the `?`) asks for; a UsageError names a bad parameter and what
    it allows."""
    try:
        fields = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise UsageError(f"cannot read the sim:// parameters {query!r}: write NAME=VALUE&NAME=VALUE") from None
    for name, values in fields.items():
        if name not in SIM_PARAMETERS:
            raise UsageError(f"unknown sim:// parameter {name!r}: the parameters are {', '.join(SIM_PARAMETERS)}")
        if len(values) > 1:
            raise UsageError(f"the sim:// parameter {name!r} is given {len(values)} times: give it once")
    value = {name: values[0] for name, values in fields.items()}
    profile = value.get("profile")
    if profile is not None and not (PROFILES_DIR / f"{profile}.json").is_file():
        raise _bad("profile", profile)
    seed = value.get("seed", "0")
    if not seed.isdigit():
        raise _bad("seed", seed)
    instrument = value.get("instrument", "flute")
    if instrument not in INSTRUMENTS:
        raise _bad("instrument", instrument)
    loop = value.get("loop")
    if loop not in (None, "0", "1"):
        raise _bad("loop", loop)
    student = value.get("student")
    if student is not None and not student.isdigit():
        raise _bad("student", student)
    learner = value.get("learner", "typical")
    if learner not in PRESETS:
        raise _bad("learner", learner)
    if "learner" in value and student is None:
        raise UsageError(f"the sim:// parameter learner={learner} chooses a learning student: give student=SEED too")
    for fixed in ("errors", "loop"):
        if fixed in value and student is not None:
            raise UsageError(
                f"the sim:// parameter {fixed}= is the fixed-mistakes player's: a student= plays each "
                "attempt once and makes the mistakes it has not yet learned to avoid; drop one of them"
            )
    # a singer has no fingering to get wrong
    kinds = {name: kind for name, kind in MISTAKES.items() if instrument == "flute" or name != "fingering"}
    errors = _errors(value.get("errors", "0"), kinds)
    return SimSettings(
        profile,
        int(seed),
        errors,
        instrument == "voice",
        None if loop is None else loop == "1",
        None if student is None else int(student),
        learner,
    )


def _errors(text: str, kinds: dict[str, str]) -> tuple[tuple[str, float], ...]:
    """`R` (every kind of `kinds`, evenly) or `KIND:R,...` as (simulator kind, probability) pairs, none at
    probability 0."""
    if ":" not in text:
        rate = _probability(text)
        return tuple((kind, rate / len(kinds)) for kind in kinds.values()) if rate else ()
    pairs = []
    for item in text.split(","):
        name, _, rate = item.partition(":")
        if name not in kinds:
            allowed = ", ".join(kinds)
            raise UsageError(f"bad sim:// parameter errors={text!r}: {name!r} is not one of {allowed} (KIND:R,...)")
        pairs.append((kinds[name], _probability(rate)))
    if len({kind for kind, _ in pairs}) < len(pairs) or sum(rate for _, rate in pairs) > 1 + 1e-9:
        raise _bad("errors", text)
    return tuple((kind, rate) for kind, rate in pairs if rate)


def _probability(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise _bad("errors", text) from None
    if not 0.0 <= rate <= 1.0:
        raise _bad("errors", text)
    return rate


def _bad(name: str, value: str) -> UsageError:
    return UsageError(f"bad sim:// parameter {name}={value!r}: {name} is {SIM_PARAMETERS[name]}")


def kinds_weighted(errors: tuple[tuple[str, float], ...]) -> tuple[str, ...]:
    """The kinds repeated in proportion to their probabilities (what the player draws a mistake's kind from)."""
    weights = [Fraction(rate).limit_denominator(1000) for _, rate in errors]
    scale = math.lcm(*(weight.denominator for weight in weights))
    counts = [int(weight * scale) for weight in weights]
    common = math.gcd(*counts)
    return tuple(kind for (kind, _), count in zip(errors, counts, strict=True) for _ in range(count // common))


@contextlib.contextmanager
def _pinmap_for(profile: str | None) -> Iterator[tuple[Path | None, dict[str, Any]]]:
    """The pin map with its profile changed to `profile` (the firmware reads the profile there), written to a
    temporary file for the simulated board's filesystem: (its path, None when unchanged; the pin map)."""
    pinmap = load_pinmap()
    if profile is None or profile == pinmap["profile"]:
        yield None, pinmap
        return
    pinmap["profile"] = profile
    with tempfile.TemporaryDirectory(prefix="flutex-sim-") as folder:
        path = Path(folder) / "pinmap.json"
        path.write_text(json.dumps(pinmap))
        yield path, pinmap
