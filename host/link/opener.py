"""Open a board by URL: `serial:///dev/ttyACM0`, `sim://` (the simulator, no hardware) or `ble://NAME`.

This is the host's one door into the simulator (an import contract says so): `sim://` starts the simulated board
and its player (`flutex.sim.simulated`), imported only when asked for, and hands back what a real board would give
(a connected client, a microphone's blocks) plus what only a simulator can know (`ClockTruth`, the truth of its
performance, its belt's guided calibration). The music the simulated player reads comes as plain data
(`PlainTune`), so host code never holds a simulator type; so does a learning simulated student (`StudentHook`, on
`sim://?student=SEED`). `sim://` takes query parameters: see docs/listening.md and docs/simulator.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

from flutex.hardware import load_pinmap
from flutex.host.audio.blocks import TimedBlock
from flutex.host.breath.calibration import Calibration, calibrate
from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.ble import BleTransport
from flutex.host.link.client import DeviceClient, NoBoardAnswer
from flutex.host.link.events import BeltSample
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
class PlainTune:
    """What the simulated player is to play, as plain data: notes as (MIDI note or None for a rest, onset in beats,
    duration in beats, a breath mark before it), in time order; tempi as (beat, bpm), the first at beat 0; and the
    grader's tolerances, which the player's mistakes land well outside of."""

    notes: tuple[tuple[int | None, float, float, bool], ...]
    tempos: tuple[tuple[float, float], ...]
    timing_tolerance_s: float = 0.150
    pitch_tolerance_cents: float = 50.0

    @property
    def tolerances(self) -> tuple[float, float]:
        return (self.timing_tolerance_s, self.pitch_tolerance_cents)


class StudentHook(Protocol):
    """A simulated student who learns (`sim://?student=SEED`), through plain data only: the lesson asks it to play
    an attempt, then reads what it truly played."""

    def play(self, tune: PlainTune, beat0_monotonic_s: float, mode: str, force_permille: int) -> None:
        """Play `tune` once, its beat 0 at `beat0_monotonic_s` on `time.monotonic()`'s clock (the breath before it),
        with the slips it makes in guidance `mode` at `force_permille`."""
        ...

    def played(self) -> dict:
        """After the attempt: the truth of it (`flutex.sim.truth.performance_truth`'s shape, onsets after beat 0)
        and `"guided_notes"`: the notes during which the servos held a hole closed. The student learns from it."""
        ...


@dataclass(frozen=True, slots=True)
class Instrument:
    """A connected board, what a microphone in front of it hears (None without one), and on the simulator: the
    truth about both clocks, whether the player sings, when the given tune's beat 0 is due on `time.monotonic()`'s
    clock, the truth of its performance as plain dicts (`flutex.sim.truth.performance_truth`), and a learning
    student when the URL asks for one."""

    client: DeviceClient
    audio: AsyncIterable[TimedBlock] | None = None
    sample_rate_hz: int = SAMPLE_RATE_HZ
    truth: ClockTruth | None = None
    sings: bool = False
    beat0_monotonic_s: float | None = None
    performance_truth: Callable[[], dict[str, list[dict]]] | None = None
    belt_calibration: Calibration | None = None  # sim://: the simulated belt's guided calibration
    student: StudentHook | None = None  # sim://?student=SEED: the student who plays each attempt


@contextlib.asynccontextmanager
async def open_device(url: str) -> AsyncIterator[DeviceClient]:
    """A connected device client for `url`; the simulator, if any, lives as long as the context."""
    async with open_instrument(url, microphone=None) as instrument:
        yield instrument.client


@contextlib.asynccontextmanager
async def open_instrument(
    url: str, microphone: str | None = "default", tune: PlainTune | None = None
) -> AsyncIterator[Instrument]:
    """The board at `url` with a microphone: on `sim://` the simulated flute's own sound (any name but None), on a
    real board the sound card named `microphone` (None: no audio). On `sim://` the player plays `tune` (None: its
    default tune) as the URL's query says; a real board's player is a person, who reads the music elsewhere."""
    parts = urlsplit(url)
    if parts.scheme == "serial" and parts.path:
        async with _connected(SerialTransport(parts.path)) as client, _microphone(microphone) as audio:
            yield Instrument(client, audio)
    elif parts.scheme == "sim":
        async with _simulated(parts.query, microphone, tune) as instrument:
            yield instrument
    elif parts.scheme == "ble" and parts.netloc:
        from flutex.host.link.ble_bleak import BleakBackend  # bleak loads only when Bluetooth is used

        transport = BleTransport(BleakBackend(unquote(parts.netloc)))
        async with _connected(transport) as client, _microphone(microphone) as audio:
            yield Instrument(client, audio)
    else:
        raise UsageError(f"unknown device {url!r}: use {URL_HELP}")


def sim_profile(url: str) -> str | None:
    """The profile a `sim://` URL's board runs (its `profile` parameter, else the pin map's); None for a real
    board, whose profile only the board itself tells."""
    parts = urlsplit(url)
    if parts.scheme != "sim":
        return None
    from flutex.sim.simulated import settings  # the simulator's dependencies load only when it is used

    return settings(parts.query).profile or str(load_pinmap()["profile"])


@contextlib.asynccontextmanager
async def _simulated(query: str, microphone: str | None, tune: PlainTune | None) -> AsyncIterator[Instrument]:
    """The simulated board as the query says, played (or sung) by a virtual player reading `tune`."""
    from flutex.sim.simulated import simulate  # the simulator's dependencies load only when it is used

    notes, tempos, tolerances = (None, (), None) if tune is None else (tune.notes, tune.tempos, tune.tolerances)
    async with simulate(query, microphone is not None, notes, tempos, tolerances) as simulation:
        board, sound = simulation.world.board, simulation.microphone
        truth = ClockTruth(board.true_monotonic_s, sound.true_time_s if sound is not None else None)
        try:
            async with _connected(SerialTransport(board.port)) as client:
                assert client.info is not None  # connected
                rest, full = simulation.belt_calibration_steps(client.info.rates_hz["belt"])
                yield Instrument(
                    client,
                    sound.blocks() if sound is not None else None,
                    SAMPLE_RATE_HZ,
                    truth,
                    simulation.sings,
                    simulation.beat0_monotonic_s,
                    simulation.performance_truth,
                    calibrate(_belt_samples(rest), _belt_samples(full)),
                    simulation.student,
                )
        except NoBoardAnswer:
            if board.exit_error:
                raise FlutexError(f"the simulated firmware stopped: {board.exit_error}") from None
            raise


def _belt_samples(channels_pa) -> list[BeltSample]:
    return [
        BeltSample(0.0, seq, (float(a), float(b), float(c), float(d))) for seq, (a, b, c, d) in enumerate(channels_pa)
    ]


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
