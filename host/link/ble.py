"""Bluetooth LE transport: the board's framed bytes through the Nordic UART Service (NUS).

`BleTransport` is a `Transport` over any `BleBackend` (bleak on a real radio, bumble in the tests), so the device
client never sees which one runs. Receiving needs no reassembly: notifications are byte chunks and the client's
stream decoder splits frames at their delimiters. Sending must fit the link: every frame is cut into writes of at
most MTU - 3 bytes, sent in order by one writer task. The service UUIDs and the cutting come from the firmware's
`link_ble`, the one definition both sides use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from flutex.firmware import link_ble
from flutex.host.link.transport import Inbox, TransportClosed

# What every backend tells a user whose pairing failed or whose board refused an unpaired link (firmware/link_ble.py
# `may_bond`): only someone at the board can let a new host in.
PAIRING_HINT = (
    f"the board takes a new host only in its pairing window: within {link_ble.PAIRING_WINDOW_MS // 1000} s of "
    "switching it on, press the e-stop in, connect, then release it"
)


class BleBackend(Protocol):
    """One way to reach a board's NUS (a platform's BLE stack). It raises DeviceNotFound when the board cannot be
    found, connected or paired and TransportClosed when a write fails, so the client's reconnect logic sees one kind
    of error whatever the stack. A backend secures the link before the first byte of the protocol: the board moves
    the instrument only for a host on an encrypted link with a bond (docs/security.md)."""

    description: str

    async def connect(self, on_data: Callable[[bytes], None], on_lost: Callable[[str], None]) -> int:
        """Find the board, connect, encrypt (with a stored bond, or by pairing), and subscribe to TX notifications;
        returns the negotiated ATT MTU. Called again after every disconnect: a new connection needs a new
        subscription, and encryption again."""
        ...

    async def send(self, chunk: bytes) -> None:
        """Write one chunk (at most MTU - 3 bytes) to RX without response."""
        ...

    async def disconnect(self) -> None: ...


class BleTransport:
    """A `Transport` over a BLE backend; `mtu` is the ATT MTU of the current connection."""

    def __init__(self, backend: BleBackend) -> None:
        self.description = backend.description
        self.mtu = link_ble.DEFAULT_MTU
        self._backend = backend
        self._incoming = Inbox()
        self._outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._incoming = Inbox()
        self._outgoing = asyncio.Queue()
        self.mtu = await self._backend.connect(self._incoming.put, self._on_lost)
        self._writer = asyncio.create_task(self._write_forever())

    async def read(self) -> bytes:
        return await self._incoming.get()

    def write(self, data: bytes) -> None:
        if self._writer is None:
            raise TransportClosed(f"{self.description} is not connected")
        for chunk in link_ble.chunks(data, self.mtu):
            self._outgoing.put_nowait(chunk)

    async def close(self) -> None:
        writer = self._detach(f"{self.description} was closed")
        if writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        await self._backend.disconnect()

    async def _write_forever(self) -> None:
        """One writer, so the chunks of a frame reach the board in order and never interleave with another's."""
        while True:
            chunk = await self._outgoing.get()
            try:
                await self._backend.send(chunk)
            except TransportClosed as error:
                self._on_lost(str(error))
                return

    def _on_lost(self, reason: str) -> None:
        self._detach(f"{self.description} went away ({reason})")

    def _detach(self, reason: str) -> asyncio.Task[None] | None:
        """Stop writing and make the next read raise TransportClosed; returns the writer if it must be awaited."""
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        self._incoming.put(TransportClosed(reason))
        if writer is asyncio.current_task():
            return None
        writer.cancel()
        return writer
