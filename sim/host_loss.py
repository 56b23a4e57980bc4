"""A host that goes silent mid-session, on the simulated board: how soon, on the board's own clock, the clutch lets
go and the servos head back to neutral after the last heartbeat the board heard.

Shared by `flutex bench watchdog` (many trials in a row) and the soak (one trial among its other faults).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from flutex.host.errors import FlutexError
from flutex.host.link.client import DeviceClient
from flutex.host.link.timing import silence_before_us
from flutex.sim.board import OutputChange, SimBoard

RELEASE_TIMEOUT_S = 1.0  # no release by then: the trial failed
PARK_TIMEOUT_S = 1.0  # a full press parks in 250 ms at the default slew rate
PRESS = 600  # permille, inside every profile's travel
PRESS_SETTLE_S = 0.1  # the servos are well away from neutral by then


@dataclass(frozen=True, slots=True)
class HostLoss:
    """Milliseconds after the last heartbeat: clutch released, first servo step toward neutral, every servo at
    neutral. None where it did not happen within a second."""

    release_ms: float | None
    park_start_ms: float | None = None
    parked_ms: float | None = None


class OutputWatch:
    """The board's output changes as they happen, for one trial at a time."""

    def __init__(self, board: SimBoard, pinmap: dict[str, Any]) -> None:
        self._changes: asyncio.Queue[OutputChange] = asyncio.Queue()
        self.clutch_gpio = pinmap["clutch"]["gpio"]
        self.released_level = 0 if pinmap["clutch"]["active_high"] else 1
        servos = pinmap["servos"]
        span_us = servos["max_pulse_us"] - servos["min_pulse_us"]
        # the pulse of each finger at neutral, as the firmware's FingerServo computes it
        self.neutral_ns = {
            f["gpio"]: (servos["min_pulse_us"] + span_us * f["neutral_deg"] * 1000 // 180000) * 1000
            for f in servos["fingers"]
        }
        board.on_output(self._changes.put_nowait)

    def forget(self) -> None:
        while not self._changes.empty():
            self._changes.get_nowait()

    async def until(self, accept, timeout_s: float) -> OutputChange | None:
        """The next change `accept` takes, or None after `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                while not accept(change := await self._changes.get()):
                    pass
                return change
        except TimeoutError:
            return None


async def engage(client: DeviceClient) -> bool:
    """Arm and engage the clutch; False if the board could not be reached or refused."""
    try:
        return (await client.arm()).accepted and (await client.set_clutch(True)).accepted
    except FlutexError:
        return False


async def host_loss(client: DeviceClient, board: SimBoard, watch: OutputWatch, press: bool = False) -> HostLoss | None:
    """Arm, engage the clutch (and press every finger if `press`), then stop the heartbeats and time what the board
    does; heartbeats resume afterwards. None if the board could not be armed (the link is down)."""
    if not await engage(client):
        return None
    if press:
        try:
            if not (await client.set_servos([PRESS] * len(watch.neutral_ns))).accepted:
                return None
        except FlutexError:
            return None
        await asyncio.sleep(PRESS_SETTLE_S)
    watch.forget()
    await client.pause_heartbeats()
    try:
        release = await watch.until(
            lambda c: c.gpio == watch.clutch_gpio and c.value == watch.released_level, RELEASE_TIMEOUT_S
        )
        if release is None:
            return HostLoss(None)
        parked = await _park(watch) if press else (None, None)
    finally:
        client.resume_heartbeats()
    heard = board.heartbeat_times_us

    def after_heartbeat_ms(t_us: int | None) -> float | None:
        gap_us = None if t_us is None else silence_before_us(t_us, heard)
        return None if gap_us is None else gap_us / 1000

    return HostLoss(*(after_heartbeat_ms(t_us) for t_us in (release.t_us, *parked)))


async def _park(watch: OutputWatch) -> tuple[int | None, int | None]:
    """Board times of the first servo step after the release and of the step that put the last servo at neutral."""
    away = set(watch.neutral_ns)
    first = last = None
    while away:
        step = await watch.until(lambda c: c.gpio in watch.neutral_ns, PARK_TIMEOUT_S)
        if step is None:
            return first, None
        first = step.t_us if first is None else first
        last = step.t_us
        if step.value == watch.neutral_ns[step.gpio]:
            away.discard(step.gpio)
    return first, last
