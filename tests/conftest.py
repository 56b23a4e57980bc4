"""Shared fixtures: a simulated board being played, and a device client connected to it over its pty."""

import pytest_asyncio

from flutex.client import DeviceClient
from flutex.sim.world import simulation
from flutex.transport import SerialTransport


@pytest_asyncio.fixture
async def board():
    async with simulation() as sim_board:
        yield sim_board


@pytest_asyncio.fixture
async def client(board):
    device = DeviceClient(SerialTransport(board.port))
    await device.connect()
    yield device
    await device.close()
