"""A virtual player reading a tune: what the board's sensors read at any moment while someone plays it.

It performs the tune (`flutex.sim.performance`: natural deviations, injected mistakes, the truth of what was played),
once or looping; after a single pass it rests (silent, its fingers where they were, quiet breaths). Its breathing
follows the phrases: it breathes in before the first note, at breath marks and in rests, and blows through the
notes; the mouth pressure the board reads is the breathing model's own (attack, wobble, sensor noise), raised above
the profile's overblow threshold for overblown notes. Its fingers close the holes of the note it plays, and any hole
a servo presses closed reads closed. `inputs_at(t_s)` gives raw sensor values by GPIO, computed through the same pin
map and profile the firmware and host use, so the three cannot disagree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flutex.hardware import load_pinmap
from flutex.hardware.instrument import InstrumentProfile
from flutex.sim.breathing import (
    EXHALE,
    HOLD,
    INHALE,
    BeltSensors,
    BreathingModel,
    BreathPattern,
    Segment,
    tidal,
)
from flutex.sim.music import Tune, default_tune
from flutex.sim.performance import LEGATO_S, Mistakes, Performance, PlayedNote, perform

TOUCH_OPEN = 20000  # ESP32-S3 touch reading of an uncovered pad
TOUCH_CLOSED = 60000  # ... and of a pad under a finger
TOUCH_NOISE = 1500
ADC_AMBIENT = 20000  # ADC counts of a pressure sensor at ambient pressure
PLAY_PA = 600.0  # blowing pressure of the low register
OVERBLOW_MARGIN = 1.2  # overblown notes are blown this much above the profile's overblow threshold
FULL_BREATH = 0.85  # lung volume after a breath in (units of the player's range, see `flutex.sim.breathing`)
EXHALE_PER_S = 0.12  # lung volume spent per second of playing
# A sung tone: a strong fundamental, the next harmonics falling off more slowly than the flute's (FLUTE_LIKE).
SUNG = (1.0, 0.7, 0.45, 0.3, 0.18, 0.1, 0.05)


@dataclass(frozen=True, slots=True)
class Moment:
    """The player's state at one instant, in physical units."""

    closed_mask: int
    mouth_pa: float
    belt_pa: tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Moments:
    """`Moment`s at many times, as arrays: closed masks (n,), mouth pressures (n,), belt pressures (n, 4)."""

    closed_mask: np.ndarray
    mouth_pa: np.ndarray
    belt_pa: np.ndarray


@dataclass(frozen=True, slots=True)
class Readings:
    """What the sensors read at many times, before the servos: the fingers' closed masks (n,), the touch pads'
    noise (n, holes), and the pressure ADCs' counts (n, channels) for the GPIOs `adc_gpios`."""

    closed_mask: np.ndarray
    touch_noise: np.ndarray
    adc_gpios: tuple[int, ...]
    adc_counts: np.ndarray


@dataclass(frozen=True, slots=True)
class Voice:
    """At each of some times: the performance note fingered (the next one during a gap), the time since its
    onset, whether it sounds, and the clean blowing pressure."""

    note: np.ndarray
    since_onset_s: np.ndarray
    sounding: np.ndarray
    mouth_pa: np.ndarray


class VirtualPlayer:
    def __init__(
        self,
        tune: Tune | Sequence[tuple[int, float]] | None = None,
        mistakes: Mistakes | None = None,
        profile: InstrumentProfile | None = None,
        pinmap: dict[str, Any] | None = None,
        seed: int = 0,
        loop: bool = True,
        sensors: BeltSensors | None = None,
        steady: bool = True,
        sings: bool = False,
    ) -> None:
        """`tune` (default: `default_tune()`; a list of (MIDI note, seconds) is read as consecutive notes) is
        played once or, with `loop`, again and again, the same performance each pass. A `steady` player's blowing
        pressure wavers by about 1%, an unsteady one's by about 14%. A player that `sings` has no fingers on the
        board and does not blow into the flute (the belt still feels its breathing); its sound is the voice's."""
        self.pinmap = pinmap or load_pinmap()
        self.profile = profile or InstrumentProfile.load(self.pinmap["profile"])
        tune = tune if isinstance(tune, Tune) else Tune.from_seconds(tune) if tune else default_tune()
        self.tune = tune
        self.seed = seed
        self.performance = perform(tune, self.profile, mistakes, seed)
        self.loop = loop
        self.sings = sings
        notes = self.performance.notes
        self._onsets = np.array([note.onset_s for note in notes])
        self._ends = np.array([note.end_s for note in notes])
        self._masks = np.array([note.mask for note in notes])
        self._midis = np.array([note.midi or 0 for note in notes])
        overblow_pa = self.profile.overblow_rise_pa * OVERBLOW_MARGIN
        # an overblown note is blown this much harder, on top of the breath's own pressure and wobble
        overblow_pa = self.profile.overblow_rise_pa * OVERBLOW_MARGIN - PLAY_PA
        self._extra_pa = np.array([overblow_pa if note.overblown else 0.0 for note in notes])
        wobble_pa = (0.01 if steady else 0.14) * PLAY_PA * math.sqrt(2)
        pattern = BreathPattern("performance", _breath_segments(self.performance), 0.85, mouth_wobble_pa=wobble_pa)
        self.breathing = BreathingModel(pattern, sensors or BeltSensors(), seed=seed)
        # after a single pass the player rests: quiet breaths from where the pass left its lungs
        self.rest_from_s = pattern.cycle_s
        self._resting = None if loop else BreathingModel(_at_rest(pattern), self.breathing.sensors, seed=seed + 2)
        self._rng = np.random.default_rng(seed)
        pads = {pad["hole"]: pad["gpio"] for pad in self.pinmap["touch"]["pads"]}
        self._touch_gpios = [pads[hole] for hole in self.profile.holes]  # bit i of the mask = hole i
        self._idle_gpios = sorted(set(pads.values()) - set(self._touch_gpios))  # pads this profile does not use
        pressure = self.pinmap["pressure"]
        self._mouth = (pressure["mouth"]["gpio"], pressure["mouth"]["pa_per_count"])
        self._belt = [(channel["gpio"], channel["pa_per_count"]) for channel in pressure["belt"]]
        # the e-stop and the help-me pedal, never touched by the player (tests press them): their released levels
        self._buttons_released = {
            self.pinmap[name]["gpio"]: 1 if self.pinmap[name]["active_low"] else 0 for name in ("estop", "help")
        }

    def voice(self, t_s: np.ndarray) -> Voice:
        """What the player does at each time (see `Voice`); after a single pass it holds its last fingering."""
        t = np.asarray(t_s, dtype=float)
        note, since, sounding = self._fingered(t)
        return Voice(note, since, sounding, self._blown(self.breathing.clean_mouth_pa(t), note, sounding))

    def _fingered(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        period = self.performance.period_s
        into = np.mod(t, period) if self.loop else t
        note = np.searchsorted(self._ends, into, side="right")
        note = np.where(note < len(self._ends), note, 0 if self.loop else len(self._ends) - 1)
        since = into - self._onsets[note]
        sounding = (since >= 0) & (into < self._ends[note]) & (self._midis[note] > 0)
        return note, since, sounding

    def moment(self, t_s: float) -> Moment:
        """What the board's sensors see the player do at `t_s` (sensor noise included)."""
        moments = self.moments(np.array([t_s]))
        belt = moments.belt_pa[0]
        belt_pa = (float(belt[0]), float(belt[1]), float(belt[2]), float(belt[3]))
        return Moment(int(moments.closed_mask[0]), float(moments.mouth_pa[0]), belt_pa)

    def moments(self, t_s: np.ndarray) -> Moments:
        """`moment` at many times at once (one pass of numpy: what keeps a live world's loop cheap)."""
        notes, _, sounding = self._fingered(t_s)
        mouth_pa, belt_pa = self._breath(np.asarray(t_s, dtype=float))
        if self.sings:
            return Moments(np.zeros_like(notes), np.zeros(len(notes)), belt_pa)
        return Moments(self._masks[notes], self._blown(mouth_pa, notes, sounding), belt_pa)

    def _breath(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mouth and belt pressures, noise drawn: the performance's breathing, then (after a single pass) the
        resting breaths, which blow nothing."""
        breath = self.breathing.sample(t)
        resting = t >= self.rest_from_s
        if self._resting is None or not resting.any():
            return breath.mouth_pa, breath.channels_pa
        rest = self._resting.sample(t[resting] - self.rest_from_s)
        belt_pa = breath.channels_pa.copy()
        belt_pa[resting] = rest.channels_pa
        return np.where(resting, 0.0, breath.mouth_pa), belt_pa

    def _blown(self, breath_pa: np.ndarray, note: np.ndarray, sounding: np.ndarray) -> np.ndarray:
        """Mouth pressure: the breath's own while a note sounds (0 otherwise), raised for an overblown note as
        soon as the breath's attack is half-way."""
        extra = self._extra_pa[note] * np.clip(breath_pa / (PLAY_PA / 2), 0.0, 1.0)
        return np.where(sounding, np.maximum(breath_pa + extra, 0.0), 0.0)  # a wobble cannot suck

    def sounding(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free truth at each time: the MIDI note the flute sounds (0 = silent) and the blowing pressure."""
        voice = self.voice(t_s)
        return np.where(voice.sounding, self._midis[voice.note], 0), voice.mouth_pa

    def played(self, until_s: float) -> list[PlayedNote]:
        """Truth: every note played from time 0 until `until_s`, on the player's clock (missed notes included,
        with `midi` None); each pass repeats the performance, mistakes included."""
        period = self.performance.period_s
        passes = math.ceil(until_s / period) if self.loop else 1
        return [
            dataclasses.replace(note, onset_s=note.onset_s + k * period, end_s=note.end_s + k * period)
            for k in range(passes)
            for note in self.performance.notes
            if note.onset_s + k * period < until_s
        ]

    def inputs_at(self, t_s: float, pressed_holes: int = 0) -> dict[int, int]:
        """Raw sensor readings by GPIO: touch values and ADC counts, with sensor noise. `pressed_holes` (bit i =
        hole i of the profile) are held closed by the servos, whatever the fingers do."""
        return self.pins(self.readings(np.array([t_s])), 0, pressed_holes)

    def readings(self, t_s: np.ndarray) -> Readings:
        """The sensors' raw readings at many times, noise drawn, before any servo presses a hole."""
        moments = self.moments(t_s)
        noise = self._rng.integers(-TOUCH_NOISE, TOUCH_NOISE, (len(moments.closed_mask), len(self._touch_gpios)))
        mouth_gpio, mouth_pa_per_count = self._mouth
        columns = [(mouth_gpio, _counts(moments.mouth_pa, mouth_pa_per_count))]
        columns += [(gpio, _counts(moments.belt_pa[:, k], per)) for k, (gpio, per) in enumerate(self._belt)]
        return Readings(
            moments.closed_mask, noise, tuple(gpio for gpio, _ in columns), np.stack([c for _, c in columns], 1)
        )

    def pins(self, readings: Readings, index: int, pressed_holes: int = 0) -> dict[int, int]:
        """The readings at `readings`' `index`-th time by GPIO, with the holes in `pressed_holes` held closed."""
        if not 0 <= pressed_holes < 1 << len(self._touch_gpios):
            raise ValueError(f"pressed_holes {pressed_holes:#x} names holes the {self.profile.name} profile lacks")
        closed = int(readings.closed_mask[index]) | pressed_holes
        noise = readings.touch_noise[index].tolist()
        pins = {
            gpio: (TOUCH_CLOSED if closed >> bit & 1 else TOUCH_OPEN) + noise[bit]
            for bit, gpio in enumerate(self._touch_gpios)
        }
        pins.update(dict.fromkeys(self._idle_gpios, TOUCH_OPEN))
        pins.update(zip(readings.adc_gpios, readings.adc_counts[index].tolist(), strict=True))
        pins.update(self._buttons_released)
        return pins


def _breath_segments(performance: Performance) -> tuple[Segment, ...]:
    """The breathing of one pass: a breath in before each phrase that starts with one (else the breath is held
    over the gap), one long blow through each phrase, and after the last phrase the breath in for the next pass
    begins (split in two segments so the loop does not join two breaths in)."""
    phrases: list[list[PlayedNote]] = []
    for note in performance.notes:
        if phrases and abs(note.onset_s - phrases[-1][-1].end_s) < LEGATO_S:
            phrases[-1].append(note)
        else:
            phrases.append([note])
    segments, volume, clock = [], FULL_BREATH, 0.0
    for phrase in phrases:
        start, end = phrase[0].onset_s, phrase[-1].end_s
        if start > clock:
            segments.append(
                Segment(INHALE, start - clock, FULL_BREATH)
                if phrase[0].breath_before
                else Segment(HOLD, start - clock, volume)
            )
            volume = segments[-1].volume
        volume -= EXHALE_PER_S * (end - start)
        segments.append(Segment(EXHALE, end - start, volume, PLAY_PA))
        clock = end
    if performance.period_s - clock > LEGATO_S:
        segments.append(Segment(INHALE, performance.period_s - clock, (volume + FULL_BREATH) / 2))
    return tuple(segments)


def _at_rest(performance: BreathPattern) -> BreathPattern:
    """Quiet breathing at rest (`tidal`), its breaths taken from the lung volume a pass of `performance` ends at."""
    quiet = tidal()
    volume = performance.segments[-1].volume - quiet.segments[-1].volume
    segments = tuple(dataclasses.replace(segment, volume=segment.volume + volume) for segment in quiet.segments)
    return dataclasses.replace(quiet, name="at rest", segments=segments)


def _counts(pa: np.ndarray, pa_per_count: float) -> np.ndarray:
    """ADC readings (read_u16 range) for pressures above ambient."""
    return np.clip(ADC_AMBIENT + np.round(pa / pa_per_count), 0, 65535).astype(np.int64)
