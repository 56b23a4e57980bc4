"""The device client survives the board going away and coming back (unplug and replug)."""

import asyncio
import os

from flutex.client import DeviceClient
from flutex.events import FluteSample, LinkLost, LinkRestored
from flutex.sim.world import simulation
from flutex.transport import SerialTransport


async def _next(queue, kind):
    while True:
        event = await queue.get()
        if isinstance(event, kind):
            return event


async def test_reconnects_when_the_port_disappears_and_returns(tmp_path):
    # A stable name for the port, like /dev/serial/by-id/..., that udev points at whatever enumerates.
    stable = tmp_path / "flutex-board"
    async with simulation() as first:
        os.symlink(first.port, stable)
        client = DeviceClient(SerialTransport(str(stable)), reconnect_timeout_s=15.0)
        events = client.subscribe()
        await client.connect()
        await asyncio.wait_for(_next(events, FluteSample), 2.0)
    lost = await asyncio.wait_for(_next(events, LinkLost), 5.0)
    assert not lost.final
    stable.unlink()
    async with simulation() as second:
        os.symlink(second.port, stable)
        restored = await asyncio.wait_for(_next(events, LinkRestored), 15.0)
        assert restored.info.protocol_version == client.info.protocol_version
        sample = await asyncio.wait_for(_next(events, FluteSample), 2.0)
        assert sample.t_s >= 0
        assert (await client.arm()).accepted, "commands work again after the reconnect"
        await client.close()


async def test_gives_up_with_a_final_event_when_the_board_stays_away(tmp_path):
    stable = tmp_path / "flutex-board"
    async with simulation() as board:
        os.symlink(board.port, stable)
        client = DeviceClient(SerialTransport(str(stable)), reconnect_timeout_s=0.5)
        events = client.subscribe()
        await client.connect()
    await asyncio.wait_for(_next(events, LinkLost), 5.0)
    final = await asyncio.wait_for(_next(events, LinkLost), 5.0)
    assert final.final and "gave up" in final.reason
    await client.close()
