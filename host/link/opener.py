"""Open a board by URL: `serial:///dev/ttyACM0`, `sim://` (the simulator, no hardware) or `ble://NAME`.

This is the host's one door into the simulator (an import contract says so): `sim://` starts the simulated board
and its player here, imported only when asked for, and hands back what a real board would give (a connected
client, a microphone's blocks) plus what only a simulator can know (`ClockTruth`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from flutex.host.audio.blocks import TimedBlock
from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.ble import BleTransport
from flutex.host.link.client import DeviceClient, NoBoardAnswer
from flutex.host.link.transport import SerialTransport, Transport

URL_HELP = "serial:///dev/ttyACM0 (USB), sim:// (simulated board, no hardware) or ble://NAME (Bluetooth LE)"
SAMPLE_RATE_HZ = 44100


@dataclass(frozen=True, slots=True)
class ClockTruth:
    """When, on the host's `time.monotonic()` clock, the board's clock read a stamp (raw microseconds of the
    current boot), and when the microphone captured a sample (its index as the source counts it). Only the
    simulator knows: tests and `flutex bench clock` hold the session clock against it."""

    board_monotonic_s: Callable[[int], float]
    audio_monotonic_s: Callable[[int], float] | None


@dataclass(frozen=True, slots=True)
class Instrument:
    """A connected board, what a microphone in front of it hears (None without one), and on the simulator the
    truth about both clocks."""

    client: DeviceClient
    audio: AsyncIterable[TimedBlock] | None = None
    sample_rate_hz: int = SAMPLE_RATE_HZ
    truth: ClockTruth | None = None


@contextlib.asynccontextmanager
async def open_device(url: str) -> AsyncIterator[DeviceClient]:
    """A connected device client for `url`; the simulator, if any, lives as long as the context."""
    async with open_instrument(url, microphone=None) as instrument:
        yield instrument.client


@contextlib.asynccontextmanager
async def open_instrument(url: str, microphone: str | None = "default") -> AsyncIterator[Instrument]:
    """The board at `url` with a microphone: on `sim://` the simulated flute's own sound (any name but None), on a
    real board the sound card named `microphone` (None: no audio)."""
    parts = urlsplit(url)
    if parts.scheme == "serial" and parts.path:
        async with _connected(SerialTransport(parts.path)) as client, _microphone(microphone) as audio:
            yield Instrument(client, audio)
    elif parts.scheme == "sim":
        from flutex.sim.world import world  # the simulator's dependencies load only when it is used

        async with world() as running:
            board = running.board
            sound = running.microphone(sample_rate_hz=SAMPLE_RATE_HZ) if microphone is not None else None
            truth = ClockTruth(board.true_monotonic_s, sound.true_time_s if sound is not None else None)
            try:
                async with _connected(SerialTransport(board.port)) as client:
                    yield Instrument(client, sound.blocks() if sound is not None else None, SAMPLE_RATE_HZ, truth)
            except NoBoardAnswer:
                if board.exit_error:
                    raise FlutexError(f"the simulated firmware stopped: {board.exit_error}") from None
                raise
    elif parts.scheme == "ble" and parts.netloc:
        from flutex.host.link.ble_bleak import BleakBackend  # bleak loads only when Bluetooth is used

        transport = BleTransport(BleakBackend(unquote(parts.netloc)))
        async with _connected(transport) as client, _microphone(microphone) as audio:
            yield Instrument(client, audio)
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


@contextlib.asynccontextmanager
async def _microphone(name: str | None) -> AsyncIterator[AsyncIterable[TimedBlock] | None]:
    """A real sound card's blocks (PortAudio, the `live` extra), or None when no microphone is asked for."""
    if name is None:
        yield None
        return
    from flutex.host.audio.sources import MicrophoneStream  # PortAudio loads only when a microphone is used

    with MicrophoneStream(SAMPLE_RATE_HZ, device=None if name == "default" else name) as stream:
        yield stream.timed_blocks()
