"""Open a board by URL: `serial:///dev/ttyACM0`, `sim://` (the simulator, no hardware) or `ble://NAME`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from flutex.client import DeviceClient
from flutex.errors import FlutexError, UsageError
from flutex.transport import SerialTransport

URL_HELP = "serial:///dev/ttyACM0 (USB), sim:// (simulated board, no hardware) or ble://NAME (Bluetooth)"


@contextlib.asynccontextmanager
async def open_device(url: str) -> AsyncIterator[DeviceClient]:
    """A connected device client for `url`; the simulator, if any, lives as long as the context."""
    parts = urlsplit(url)
    if parts.scheme == "serial" and parts.path:
        async with _connected(SerialTransport(parts.path)) as client:
            yield client
    elif parts.scheme == "sim":
        from flutex.sim.world import simulation  # the simulator's dependencies load only when it is used

        async with simulation() as board, _connected(SerialTransport(board.port)) as client:
            yield client
    elif parts.scheme == "ble":
        raise FlutexError("ble:// is not supported yet: connect the board by USB and use serial:///dev/ttyACM0")
    else:
        raise UsageError(f"unknown device {url!r}: use {URL_HELP}")


@contextlib.asynccontextmanager
async def _connected(transport: SerialTransport) -> AsyncIterator[DeviceClient]:
    client = DeviceClient(transport)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()
