"""The world around a simulated board: a virtual player whose actions reach the board's sensors in real time, and
whose fingers yield to the board's servos when the clutch couples them to the hand."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flutex.firmware.actuators import FingerServo
from flutex.hardware import PINMAP_PATH
from flutex.hardware.instrument import InstrumentProfile
from flutex.sim.board import OutputChange, SimBoard
from flutex.sim.live_audio import LiveSimAudio
from flutex.sim.player import VirtualPlayer

INPUT_PERIOD_S = 0.002  # how often the world updates the sensors: finer than the fastest sampling (5 ms)
BATCH = 10  # ticks of the player's readings computed at once
# How far into its travel toward "pressed" a servo must be to overcome the player's finger: a GUIDE at full force
# (1000) closes the hole, one at a light force (its presses scaled below this) is felt but does not.
YIELD_PERMILLE = 500


class ServoPress:
    """Which holes the finger servos hold closed, read from the board's outputs: with the clutch engaged, a servo
    whose pulse is at least `YIELD_PERMILLE` of the way to its finger's "pressed" angle closes the hole the profile
    gives that finger. Fed by `SimBoard.on_output`, so reading `pressed_holes` costs the world's loop nothing."""

    def __init__(self, pinmap: dict[str, Any], profile: InstrumentProfile) -> None:
        clutch = pinmap["clutch"]
        self._clutch_gpio = clutch["gpio"]
        self._clutch_on_level = 1 if clutch["active_high"] else 0
        servos = pinmap["servos"]
        by_finger = {finger["finger"]: finger for finger in servos["fingers"]}
        # per servo GPIO: (hole bit it closes, pulse at the yield point, +1 or -1: the direction of "pressed")
        self._servos: dict[int, tuple[int, int, int]] = {}
        for index, name in enumerate(profile.fingers):
            servo = FingerServo(None, by_finger[name], servos["min_pulse_us"], servos["max_pulse_us"])
            direction = 1 if servo.pulse_us(1000) >= servo.pulse_us(0) else -1
            hole_bit = profile.holes_pressed_by([index])
            self._servos[by_finger[name]["gpio"]] = (hole_bit, servo.pulse_us(YIELD_PERMILLE) * 1000, direction)
        self._pushing = 0  # holes whose servo is past the yield point, clutch or not
        self._clutch_engaged = False

    @property
    def pressed_holes(self) -> int:
        """Bit i set = hole i of the profile is held closed by its servo."""
        return self._pushing if self._clutch_engaged else 0

    def on_output(self, change: OutputChange) -> None:
        if change.gpio == self._clutch_gpio:
            self._clutch_engaged = change.value == self._clutch_on_level
        elif change.gpio in self._servos:
            hole_bit, yield_ns, direction = self._servos[change.gpio]
            # a pulse width of 0 is no pulses at all: the servo holds nothing
            pushing = change.value != 0 and (change.value - yield_ns) * direction >= 0
            self._pushing = self._pushing | hole_bit if pushing else self._pushing & ~hole_bit

    def release(self) -> None:
        """The chip was reset: its clutch and servo outputs dropped, so nothing presses."""
        self._pushing = 0
        self._clutch_engaged = False


@dataclass(frozen=True, slots=True)
class World:
    """A running simulated board, the player on its sensors, and when, on `time.monotonic()`'s clock, the player's
    time 0 was: what a simulated microphone and the clock truth need."""

    board: SimBoard
    player: VirtualPlayer
    start_monotonic_s: float

    def microphone(self, **options: Any) -> LiveSimAudio:
        """The player's sound as a live microphone hears it, on the world's clock (`LiveSimAudio` options)."""
        return LiveSimAudio(self.player, self.start_monotonic_s, **options)


@contextlib.asynccontextmanager
async def world(player: VirtualPlayer | None = None, pinmap_path: Path | None = None) -> AsyncIterator[World]:
    """A running simulated board being played by `player` (the default tune if None); `pinmap_path` gives the
    board another pin map (e.g. tighter safety limits in a test)."""
    player = player or VirtualPlayer()
    pinmap = json.loads((pinmap_path or PINMAP_PATH).read_text())
    press = ServoPress(pinmap, InstrumentProfile.load(pinmap["profile"]))
    async with SimBoard(player.inputs_at(0.0), pinmap_path) as board:
        board.on_output(press.on_output)
        board.on_restart(press.release)
        start_s = time.monotonic()
        task = asyncio.create_task(_play(board, player, press, start_s))
        try:
            yield World(board, player, start_s)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def simulation(player: VirtualPlayer | None = None, pinmap_path: Path | None = None) -> AsyncIterator[SimBoard]:
    """The board of a running `world`, for callers that need only the board."""
    async with world(player, pinmap_path) as running:
        yield running.board


async def _play(board: SimBoard, player: VirtualPlayer, press: ServoPress, start: float) -> None:
    """Every `INPUT_PERIOD_S`, on a fixed schedule (the player's own work does not stretch the period): the player's
    readings come `BATCH` ticks at a time (one numpy pass), the servos' presses are applied tick by tick. A loop
    that falls behind under load skips to the present rather than catching up in a burst."""
    last: dict[int, int] = {}
    tick = first = 0
    readings = player.readings(np.arange(BATCH) * INPUT_PERIOD_S)
    while True:
        tick = max(tick, int((time.monotonic() - start) / INPUT_PERIOD_S))
        if tick >= first + BATCH:
            first = tick
            readings = player.readings((first + np.arange(BATCH)) * INPUT_PERIOD_S)
        pins = player.pins(readings, tick - first, press.pressed_holes)
        changed = {gpio: value for gpio, value in pins.items() if last.get(gpio) != value}
        if changed:
            board.set_inputs(changed)
            last = pins
        tick += 1
        await asyncio.sleep(max(0.0, start + tick * INPUT_PERIOD_S - time.monotonic()))
