"""Shared by the device tests: waiting for the next event of a kind, and a board behind a stable port name."""

import asyncio
import os

from flutex.host.link.client import DeviceClient
from flutex.host.link.events import FluteSample
from flutex.host.link.transport import SerialTransport
from flutex.sim.world import simulation


async def next_event(queue: asyncio.Queue, kind: type, timeout_s: float = 5.0):
    async def wait():
        while True:
            event = await queue.get()
            if isinstance(event, kind):
                return event

    return await asyncio.wait_for(wait(), timeout_s)


async def connect_then_unplug(stable_port, reconnect_timeout_s: float) -> tuple[DeviceClient, asyncio.Queue]:
    """A client connected through `stable_port` (a symlink, like /dev/serial/by-id/...) to a board that then
    goes away; returns the client and its event queue."""
    async with simulation() as board:
        os.symlink(board.port, stable_port)
        client = DeviceClient(SerialTransport(str(stable_port)), reconnect_timeout_s=reconnect_timeout_s)
        events = client.subscribe()
        await client.connect()
        await next_event(events, FluteSample, 2.0)
    stable_port.unlink()
    return client, events


async def board_shows(condition, timeout_s: float = 2.0) -> None:
    """Wait until `condition()` holds for the simulated board's outputs. The board reports its pins to the
    simulator and its answers to the host on two separate channels, so an ACK can overtake the pin change."""

    async def poll():
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout_s)
