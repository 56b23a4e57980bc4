"""The world around a simulated board: a virtual player whose actions reach the board's sensors in real time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from flutex.sim.board import SimBoard
from flutex.sim.player import VirtualPlayer

INPUT_PERIOD_S = 0.002  # how often the world updates the sensors: finer than the fastest sampling (5 ms)


@contextlib.asynccontextmanager
async def simulation(player: VirtualPlayer | None = None, pinmap_path: Path | None = None) -> AsyncIterator[SimBoard]:
    """A running simulated board being played by `player` (the default tune if None); `pinmap_path` gives the
    board another pin map (e.g. tighter safety limits in a test)."""
    player = player or VirtualPlayer()
    async with SimBoard(player.inputs_at(0.0), pinmap_path) as board:
        task = asyncio.create_task(_play(board, player))
        try:
            yield board
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _play(board: SimBoard, player: VirtualPlayer) -> None:
    start = time.monotonic()
    last: dict[int, int] = {}
    while True:
        pins = player.inputs_at(time.monotonic() - start)
        changed = {gpio: value for gpio, value in pins.items() if last.get(gpio) != value}
        if changed:
            board.set_inputs(changed)
            last = pins
        await asyncio.sleep(INPUT_PERIOD_S)
