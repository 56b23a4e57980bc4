"""Transports move bytes to and from a board; they know nothing of frames or meaning.

Every transport has the same small async interface (`Transport`), so the device client never sees which one runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import serial

from flutex.host.errors import FlutexError


class TransportClosed(FlutexError):
    """The link went away (cable pulled, board reset, simulator stopped)."""


class DeviceNotFound(FlutexError):
    """Nothing to open at the address the user gave."""


class Transport(Protocol):
    description: str

    async def open(self) -> None: ...

    async def read(self) -> bytes:
        """The next bytes from the board; raises TransportClosed when the link is gone."""
        ...

    def write(self, data: bytes) -> None:
        """Queue bytes for the board; raises TransportClosed when the link is gone."""
        ...

    async def close(self) -> None: ...


class Inbox:
    """What a transport received, in order, from its callbacks to `Transport.read`: bytes, or the TransportClosed
    that ended the link (raised to the reader in its place)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes | TransportClosed] = asyncio.Queue()

    def put(self, item: bytes | TransportClosed) -> None:
        self._queue.put_nowait(item)

    async def get(self) -> bytes:
        item = await self._queue.get()
        if isinstance(item, TransportClosed):
            raise item
        return item


class SerialTransport:
    """A serial port (USB CDC, USB-UART bridge or pseudo-terminal) through pyserial, read via the event loop."""

    def __init__(self, port: str, baudrate: int = 115200) -> None:
        self.port = port
        self.baudrate = baudrate
        self.description = f"serial port {port}"
        self._serial: serial.Serial | None = None
        self._incoming = Inbox()

    async def open(self) -> None:
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0, write_timeout=1.0, exclusive=True)
        except (serial.SerialException, OSError) as error:
            raise DeviceNotFound(
                f"cannot open {self.port} ({_reason(error)}): check the cable and the port name "
                "(ls /dev/ttyACM* /dev/ttyUSB*), and that no other program holds it"
            ) from None
        self._incoming = Inbox()
        asyncio.get_running_loop().add_reader(self._serial.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        assert self._serial is not None
        try:
            data = self._serial.read(max(1, self._serial.in_waiting))
            if not data:
                raise serial.SerialException("the port returned no data")
        except (serial.SerialException, OSError) as error:
            self._incoming.put(TransportClosed(f"{self.port} went away ({_reason(error)})"))
            self._detach()
            return
        self._incoming.put(data)

    async def read(self) -> bytes:
        return await self._incoming.get()

    def write(self, data: bytes) -> None:
        if self._serial is None:
            raise TransportClosed(f"{self.port} is not open")
        try:
            self._serial.write(data)
        except (serial.SerialException, OSError) as error:
            self._detach()
            raise TransportClosed(f"{self.port} went away ({_reason(error)})") from None

    async def close(self) -> None:
        self._detach()

    def _detach(self) -> None:
        if self._serial is None:
            return
        serial_port, self._serial = self._serial, None
        self._incoming.put(TransportClosed(f"{self.port} was closed"))
        # no running loop, or the descriptor already gone: then nothing is registered any more
        with contextlib.suppress(RuntimeError, ValueError, OSError):
            asyncio.get_running_loop().remove_reader(serial_port.fileno())
        serial_port.close()


def _reason(error: BaseException) -> str:
    text = str(error.args[-1] if isinstance(error, OSError) and error.args else error)
    return text.split(": ", 1)[-1] if text.startswith("[Errno") else text
