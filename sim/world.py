"""The world around a simulated board: a virtual player whose actions reach the board's sensors in real time, and
whose fingers yield to the board's servos when the clutch couples them to the hand.

A running world can start another performance at a given moment (`World.perform`): from then on the sensors and
every microphone follow the new player, from its time 0. The servos' presses are kept as a bounded history, so a
simulated student can tell which of its notes the servos guided.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
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
PRESS_HISTORY = 4096  # changes of the pressed holes kept: a long lesson's (a few per guided note)


class ServoPress:
    """Which holes the finger servos hold closed, read from the board's outputs: with the clutch engaged, a servo
    whose pulse is at least `YIELD_PERMILLE` of the way to its finger's "pressed" angle closes the hole the profile
    gives that finger. Fed by `SimBoard.on_output`, so reading `pressed_holes` costs the world's loop nothing.
    Given a `clock` (an output's board stamp to `time.monotonic()`'s clock), it keeps `history`: the last
    `PRESS_HISTORY` changes of the pressed holes, as (time, pressed holes after the change)."""

    def __init__(
        self, pinmap: dict[str, Any], profile: InstrumentProfile, clock: Callable[[int], float] | None = None
    ) -> None:
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
        self._clock = clock
        self.history: deque[tuple[float, int]] = deque(maxlen=PRESS_HISTORY)

    @property
    def pressed_holes(self) -> int:
        """Bit i set = hole i of the profile is held closed by its servo."""
        return self._pushing if self._clutch_engaged else 0

    def on_output(self, change: OutputChange) -> None:
        before = self.pressed_holes
        self._follow(change)
        if self._clock is not None and self.pressed_holes != before:
            self.history.append((self._clock(change.t_us), self.pressed_holes))

    def _follow(self, change: OutputChange) -> None:
        if change.gpio == self._clutch_gpio:
            self._clutch_engaged = change.value == self._clutch_on_level
        elif change.gpio in self._servos:
            hole_bit, yield_ns, direction = self._servos[change.gpio]
            # a pulse width of 0 is no pulses at all: the servo holds nothing
            pushing = change.value != 0 and (change.value - yield_ns) * direction >= 0
            self._pushing = self._pushing | hole_bit if pushing else self._pushing & ~hole_bit

    def release(self) -> None:
        """The chip was reset: its clutch and servo outputs dropped, so nothing presses."""
        if self._clock is not None and self.pressed_holes:
            self.history.append((time.monotonic(), 0))
        self._pushing = 0
        self._clutch_engaged = False

    def pressed_during(self, start_s: float, end_s: float) -> int:
        """The holes the servos held closed at any time in [start_s, end_s), from `history` (its clock's times)."""
        held = 0
        for t_s, pressed in self.history:
            if t_s >= end_s:
                break
            held = pressed if t_s <= start_s else held | pressed
        return held


@dataclass(frozen=True, slots=True)
class Act:
    """One performance in the world: `player` from its time 0 at `start_monotonic_s`."""

    start_monotonic_s: float
    player: VirtualPlayer


class World:
    """A running simulated board, the player on its sensors, when, on `time.monotonic()`'s clock, the player's time 0
    was (the world's start: what a simulated microphone and the clock truth need), and the servos' presses. Later
    performances (`perform`) take over the sensors and the microphones; `player` stays the first."""

    def __init__(self, board: SimBoard, player: VirtualPlayer, start_monotonic_s: float, servos: ServoPress) -> None:
        self.board = board
        self.player = player
        self.start_monotonic_s = start_monotonic_s
        self.servos = servos
        self._acts = [Act(start_monotonic_s, player)]  # the one under way (or the first, before any), then those due
        self._microphones: list[LiveSimAudio] = []

    def microphone(self, **options: Any) -> LiveSimAudio:
        """The player's sound as a live microphone hears it, on the world's clock (`LiveSimAudio` options), and
        each later performance's."""
        heard = LiveSimAudio(self.player, self.start_monotonic_s, **options)
        for act in self._acts:
            if act != Act(self.start_monotonic_s, self.player):
                heard.perform(act.player, act.start_monotonic_s)
        self._microphones.append(heard)
        return heard

    def perform(self, player: VirtualPlayer, start_monotonic_s: float) -> None:
        """`player` takes over at `start_monotonic_s` (its time 0 then): the board's sensors and every microphone
        follow it from that moment. It cuts short the performance under way there and drops any due later."""
        self._acts = [act for act in self._acts if act.start_monotonic_s < start_monotonic_s]
        self._acts.append(Act(start_monotonic_s, player))
        for heard in self._microphones:
            heard.perform(player, start_monotonic_s)

    def act_at(self, t_s: float) -> Act:
        """The performance under way at `t_s` (the first, before any began). The world only moves forward: the
        performances before it are forgotten, so ask in time order."""
        while len(self._acts) > 1 and self._acts[1].start_monotonic_s <= t_s:
            self._acts.pop(0)
        return self._acts[0]


@contextlib.asynccontextmanager
async def world(player: VirtualPlayer | None = None, pinmap_path: Path | None = None) -> AsyncIterator[World]:
    """A running simulated board being played by `player` (the default tune if None); `pinmap_path` gives the
    board another pin map (e.g. tighter safety limits in a test)."""
    player = player or VirtualPlayer()
    pinmap = json.loads((pinmap_path or PINMAP_PATH).read_text())
    async with SimBoard(player.inputs_at(0.0), pinmap_path) as board:
        press = ServoPress(pinmap, InstrumentProfile.load(pinmap["profile"]), board.true_monotonic_s)
        board.on_output(press.on_output)
        board.on_restart(press.release)
        running = World(board, player, time.monotonic(), press)
        task = asyncio.create_task(_play(running))
        try:
            yield running
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def simulation(player: VirtualPlayer | None = None, pinmap_path: Path | None = None) -> AsyncIterator[SimBoard]:
    """The board of a running `world`, for callers that need only the board."""
    async with world(player, pinmap_path) as running:
        yield running.board


async def _play(running: World) -> None:
    """Every `INPUT_PERIOD_S`, on a fixed schedule (the player's own work does not stretch the period): the readings
    of the performance under way come `BATCH` ticks at a time (one numpy pass; a new performance starts a new batch
    at its first tick), the servos' presses are applied tick by tick. A loop that falls behind under load skips to
    the present rather than catching up in a burst."""
    board, press, start = running.board, running.servos, running.start_monotonic_s
    last: dict[int, int] = {}
    tick = 0
    first, act, readings = 0, None, None
    while True:
        tick = max(tick, int((time.monotonic() - start) / INPUT_PERIOD_S))
        now = running.act_at(start + tick * INPUT_PERIOD_S)
        if readings is None or now is not act or tick >= first + BATCH:
            act, first = now, tick
            # the world's ticks on the player's clock (exactly the tick times for the world's first player)
            readings = act.player.readings(
                (first + np.arange(BATCH)) * INPUT_PERIOD_S + (start - act.start_monotonic_s)
            )
        pins = act.player.pins(readings, tick - first, press.pressed_holes)
        changed = {gpio: value for gpio, value in pins.items() if last.get(gpio) != value}
        if changed:
            board.set_inputs(changed)
            last = pins
        tick += 1
        await asyncio.sleep(max(0.0, start + tick * INPUT_PERIOD_S - time.monotonic()))
