"""The soak: the simulated board at full rate for minutes on end, with a fault injected every few seconds, and every
frame accounted for.

A host session runs as a lesson would (armed, clutch engaged, servos moving, armed again after every interruption)
over a `FaultyLine`. Faults come in a fixed rotation: frames corrupted, dropped, repeated, swapped, garbled; a
command to the board corrupted; the board silent for a second; the cable pulled; the board reset behind an open
port; the host silent with the clutch engaged (the watchdog must release it within 100 ms of the last heartbeat).
At the end, the line's ledger is audited against what the host took in.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flutex.firmware import wire
from flutex.hardware import load_pinmap
from flutex.host.errors import FlutexError
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import BoardAlert, LinkRestored
from flutex.host.link.transport import SerialTransport
from flutex.sim.board import SimBoard
from flutex.sim.faults import FaultyLine, Reception, audit, count_resets
from flutex.sim.host_loss import OutputWatch, engage, host_loss
from flutex.sim.world import simulation

FAULT_PERIOD_S = 3.0
BOARD_SILENCE_S = 1.0  # shorter than the host's patience on an open port, so it comes back without reopening it
UNPLUG_S = 0.3
# fault: (the FaultyLine method that injects it, how much)
LINE_FAULTS: dict[str, tuple[str, float]] = {
    "corrupt": ("corrupt", 5),
    "drop": ("drop", 5),
    "duplicate": ("duplicate", 5),
    "reorder": ("reorder", 3),
    "garbage": ("garbage", 64),
    "board silence": ("silence", BOARD_SILENCE_S),
    "corrupt to board": ("corrupt_to_board", 1),
    "unplug": ("unplug", UNPLUG_S),
}
SCHEDULE = (*LINE_FAULTS, "host silence", "board reset")
EXERCISE_PERIOD_S = 0.5  # how often the session moves the servos
PRESS = 600  # permille: inside every profile's travel (the exercise's press)
MISSED = -1.0  # a watchdog trial with no release at all


async def soak(minutes: float, seed: int = 0, report: Callable[[str], None] | None = None) -> dict:
    """Run the soak for `minutes`; the figures of its JSON line. `report` gets a progress line now and then."""
    release_ms: list[float] = []
    missed = 0  # host silences with the clutch engaged that were not followed by a release
    with tempfile.TemporaryDirectory(prefix="flutex-soak-") as directory:
        async with simulation() as board, FaultyLine(board.port, Path(directory), seed) as line:
            watch = OutputWatch(board, load_pinmap())
            client = DeviceClient(SerialTransport(line.port), reconnect_timeout_s=30.0)
            reception = Reception()
            client.tap_frames(reception)
            count_resets(board, line.ledger, reception)
            events = client.subscribe()
            await client.connect()
            helpers = [asyncio.create_task(_keep_engaged(client, events)), asyncio.create_task(_exercise(client))]
            try:
                await engage(client)
                deadline = time.monotonic() + minutes * 60
                started = time.monotonic()
                for count, fault in enumerate(itertools.cycle(SCHEDULE), start=1):
                    if time.monotonic() >= deadline:
                        break
                    outcome = await _inject(fault, line, board, client, watch)
                    if outcome == MISSED:
                        missed += 1
                    elif outcome is not None:
                        release_ms.append(outcome)
                    await asyncio.sleep(FAULT_PERIOD_S)
                    if report is not None and count % len(SCHEDULE) == 0:
                        report(_progress(time.monotonic() - started, minutes, client, len(release_ms)))
                line.stop()
                await asyncio.sleep(0.5)
            finally:
                for helper in helpers:
                    helper.cancel()
                await client.close()
            result = audit(line.ledger, reception)
            faults, restarts = dict(line.ledger.faults), board.restarts
    return {
        "minutes": minutes,
        "frames_sent": result.frames_sent,
        "frames_received": result.frames_received,
        "frames_lost_unexplained": result.frames_lost_unexplained,
        "corrupt_frames_accepted": result.corrupt_frames_accepted,
        "reconnects": client.stats.reconnects,
        "watchdog_releases": len(release_ms),
        "max_release_ms": round(max(release_ms), 3) if release_ms else None,
        "watchdog_missed": missed,
        "faults": faults | {"board reset": restarts},
        "fates": result.fates,
        "unexplained": [[epoch, wire.NAMES.get(kind, kind), seq] for epoch, kind, seq in result.unexplained],
        "host_counted_lost": sum(client.stats.lost.values()),
        "host_duplicates_dropped": sum(client.stats.duplicates.values()),
    }


async def _inject(
    fault: str, line: FaultyLine, board: SimBoard, client: DeviceClient, watch: OutputWatch
) -> float | None:
    """Inject one fault; for the host's silence, the watchdog's release time in ms after the last heartbeat."""
    if fault in LINE_FAULTS:
        method, amount = LINE_FAULTS[fault]
        getattr(line, method)(amount)
    elif fault == "board reset":
        await board.restart()
    elif fault == "host silence":
        trial = await host_loss(client, board, watch)
        if trial is not None:
            return MISSED if trial.release_ms is None else trial.release_ms
    return None


async def _keep_engaged(client: DeviceClient, events: asyncio.Queue) -> None:
    """As a lesson would: after the link comes back, or the board released the clutch on its own, engage again."""
    own_releases = (wire.E_WATCHDOG, wire.E_ENGAGE_TIME)
    while True:
        event = await events.get()
        if isinstance(event, LinkRestored) or (isinstance(event, BoardAlert) and event.code in own_releases):
            await engage(client)


async def _exercise(client: DeviceClient) -> None:
    """Move every servo in and out, so the board answers commands and slews while it streams."""
    for press in itertools.cycle((PRESS, 0)):
        await asyncio.sleep(EXERCISE_PERIOD_S)
        if client.link_up and client.info is not None:
            with contextlib.suppress(FlutexError):
                await client.set_servos([press] * client.info.fingers)


def _progress(elapsed_s: float, minutes: float, client: DeviceClient, releases: int) -> str:
    stats = client.stats
    return (
        f"{elapsed_s / 60:5.1f}/{minutes:g} min  frames {sum(stats.frames.values())}  "
        f"counted lost {sum(stats.lost.values())}  reconnects {stats.reconnects}  watchdog releases {releases}"
    )
