"""An instrument profile as the host uses it: which holes a note closes, which note a fingering plays, and which
servo presses which hole (the servos are named by finger, the holes by hole: the two lists differ, e.g. the Boehm
flute's first key is the left thumb's, which has no servo)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from flutex.hardware import load_profile

PRESSED = 1000  # servo target (permille of travel) that presses a finger onto its hole


class OpenPolicy(IntEnum):
    """What a servo does over a hole the fingering leaves open: the target, in permille of travel."""

    RELEASE = 0  # back to neutral: the player's finger is free, neither pressed nor held up
    LIFT = -1000  # lifted: the servo holds the finger off the hole


@dataclass(frozen=True, slots=True)
class ServoTargets:
    """Per-finger servo targets for a fingering, and the holes it closes that no servo can press (the player must
    close those alone: a guide cannot show them, so the caller decides how to tell)."""

    targets: tuple[int, ...]  # permille, one per finger in the profile's order of `fingers`
    unguided: tuple[str, ...]  # names of closed holes without a servo, in the profile's order of `holes`


@dataclass(frozen=True, slots=True)
class Fingering:
    midi: int
    closed_mask: int  # bit i set = hole i closed
    register: int = 1  # 2: a fingering of the overblown register (its `midi` is already the overblown note)


@dataclass(frozen=True, slots=True)
class InstrumentProfile:
    name: str
    holes: tuple[str, ...]
    fingers: tuple[str, ...]
    servo_holes: tuple[int, ...]  # per finger (order of `fingers`): the index of the hole its servo presses
    fingerings: tuple[Fingering, ...]
    overblow_semitones: int
    overblow_rise_pa: float  # mouth pressure above which the instrument jumps to the upper register
    overblow_fall_pa: float  # ... and below which it falls back (hysteresis)
    sounding_pa: float  # mouth pressure above which the instrument sounds at all

    @classmethod
    def load(cls, name: str = "six_hole") -> InstrumentProfile:
        return cls.from_data(load_profile(name))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> InstrumentProfile:
        """A profile from its JSON; raises ValueError naming the profile and the entry to fix."""
        name = data["name"]
        holes = tuple(data["holes"])
        fingers = tuple(data["fingers"])
        servo_holes = _servo_holes(name, holes, fingers, data["servo_holes"], data["holes_without_servo"])
        fingerings = tuple(
            Fingering(entry["midi"], _mask(name, holes, entry), entry.get("register", 1))
            for entry in data["fingerings"]
        )
        overblow = data["overblow"]
        return cls(
            name,
            holes,
            fingers,
            servo_holes,
            fingerings,
            overblow["semitones"],
            overblow["mouth_pressure_pa"]["rise_above"],
            overblow["mouth_pressure_pa"]["fall_below"],
            overblow["sounding_above_pa"],
        )

    def fingering_for(self, midi: int) -> tuple[int, bool]:
        """(closed mask, overblown) that plays `midi`; raises ValueError if the instrument cannot play it."""
        for fingering in self.fingerings:
            if fingering.midi == midi:
                return fingering.closed_mask, fingering.register == 2
        for fingering in self._low_register():
            if fingering.midi + self.overblow_semitones == midi:
                return fingering.closed_mask, True
        raise ValueError(f"the {self.name} profile has no fingering for MIDI note {midi}")

    def midi_for(self, closed_mask: int, overblown: bool = False) -> int | None:
        """The note a fingering plays (None for a fingering outside the chart): a fingering of the overblown
        register when there is one, else the low-register fingering, an overblow higher if `overblown`."""
        if overblown:
            for fingering in self.fingerings:
                if fingering.register == 2 and fingering.closed_mask == closed_mask:
                    return fingering.midi
        for fingering in self._low_register():
            if fingering.closed_mask == closed_mask:
                return fingering.midi + (self.overblow_semitones if overblown else 0)
        return None

    def servo_targets(
        self, closed_mask: int, open_policy: OpenPolicy = OpenPolicy.RELEASE, press_permille: int = PRESSED
    ) -> ServoTargets:
        """The servo targets that show the fingering `closed_mask` (bit i = hole i closed): a finger whose hole is
        closed is pressed to `press_permille` (a light press, below about half the travel, is felt but does not
        hold a finger down), one whose hole is open follows `open_policy`; closed holes without a servo are
        returned as `unguided`, never dropped. Raises ValueError for a mask with bits beyond the profile's holes
        or a press outside 1..1000."""
        if not 0 <= closed_mask < 1 << len(self.holes):
            raise ValueError(f"closed mask {closed_mask:#x} names holes the {self.name} profile does not have")
        if not 0 < press_permille <= PRESSED:
            raise ValueError(f"a press of {press_permille} permille is outside 1..{PRESSED}")
        targets = tuple(press_permille if closed_mask >> hole & 1 else int(open_policy) for hole in self.servo_holes)
        unguided_mask = closed_mask & ~self.holes_pressed_by(range(len(self.fingers)))
        unguided = tuple(hole for bit, hole in enumerate(self.holes) if unguided_mask >> bit & 1)
        return ServoTargets(targets, unguided)

    def holes_pressed_by(self, fingers: Iterable[int]) -> int:
        """The mask of the holes the servos of `fingers` (indices into `fingers`) close when they press."""
        mask = 0
        for finger in fingers:
            mask |= 1 << self.servo_holes[finger]
        return mask

    @property
    def playable(self) -> tuple[int, ...]:
        low = [f.midi for f in self._low_register()]
        high = [f.midi for f in self.fingerings if f.register == 2]
        return tuple(sorted({*low, *high, *(m + self.overblow_semitones for m in low)}))

    def _low_register(self) -> tuple[Fingering, ...]:
        return tuple(f for f in self.fingerings if f.register == 1)


def _servo_holes(
    name: str, holes: tuple[str, ...], fingers: tuple[str, ...], pressed: dict[str, str], without_servo: list[str]
) -> tuple[int, ...]:
    """Each finger's hole index, checking that every finger presses one known hole of its own and that every hole
    is either pressed by a servo or declared without one."""
    where = f"profile {name!r}: servo_holes"
    if set(pressed) != set(fingers):
        raise ValueError(f"{where} must name exactly the fingers {list(fingers)}, it names {sorted(pressed)}")
    unknown = sorted(set(pressed.values()) - set(holes))
    if unknown:
        raise ValueError(f"{where} names holes {unknown} that are not in holes {list(holes)}")
    if len(set(pressed.values())) != len(pressed):
        raise ValueError(f"{where} gives two fingers the same hole: {pressed}")
    undeclared = set(holes) - set(pressed.values()) - set(without_servo)
    both = set(pressed.values()) & set(without_servo)
    if undeclared or both or not set(without_servo) <= set(holes):
        raise ValueError(
            f"profile {name!r}: holes_without_servo must list exactly the holes no servo presses, "
            f"{sorted(set(holes) - set(pressed.values()))}, it lists {sorted(without_servo)}"
        )
    return tuple(holes.index(pressed[finger]) for finger in fingers)


def _mask(name: str, holes: tuple[str, ...], entry: dict[str, Any]) -> int:
    unknown = [hole for hole in entry["closed"] if hole not in holes]
    if unknown:
        raise ValueError(f"profile {name!r}: the fingering of MIDI {entry['midi']} closes unknown holes {unknown}")
    return sum(1 << holes.index(hole) for hole in entry["closed"])
