"""Open a board by URL: `serial:///dev/ttyACM0`, `sim://` (the simulator, no hardware) or `ble://NAME`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import unquote, urlsplit

from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.ble import BleTransport
from flutex.host.link.client import DeviceClient, NoBoardAnswer
from flutex.host.link.transport import SerialTransport, Transport

URL_HELP = "serial:///dev/ttyACM0 (USB), sim:// (simulated board, no hardware) or ble://NAME (Bluetooth LE)"


@contextlib.asynccontextmanager
async def open_device(url: str) -> AsyncIterator[DeviceClient]:
    """A connected device client for `url`; the simulator, if any, lives as long as the context."""
    parts = urlsplit(url)
    if parts.scheme == "serial" and parts.path:
        async with _connected(SerialTransport(parts.path)) as client:
            yield client
    elif parts.scheme == "sim":
        from flutex.sim.world import simulation  # the simulator's dependencies load only when it is used

        async with simulation() as board:
            try:
                async with _connected(SerialTransport(board.port)) as client:
                    yield client
            except NoBoardAnswer:
                if board.exit_error:
                    raise FlutexError(f"the simulated firmware stopped: {board.exit_error}") from None
                raise
    elif parts.scheme == "ble" and parts.netloc:
        from flutex.host.link.ble_bleak import BleakBackend  # bleak loads only when Bluetooth is used

        async with _connected(BleTransport(BleakBackend(unquote(parts.netloc)))) as client:
            yield client
    else:
        raise UsageError(f"unknown device {url!r}: use {URL_HELP}")


@contextlib.asynccontextmanager
async def _connected(transport: Transport) -> AsyncIterator[DeviceClient]:
    client = DeviceClient(transport)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()
