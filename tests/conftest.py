"""Shared fixtures: a simulated board being played, and a device client connected to it over its pty."""

import pytest_asyncio
from hypothesis import HealthCheck, settings

from flutex.host.link.client import DeviceClient
from flutex.host.link.transport import SerialTransport
from flutex.sim.world import simulation

# CI runs on two shared cores: time limits on single examples would fail on load, not on bugs.
settings.register_profile("flutex", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("flutex")


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
