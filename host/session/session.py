"""The session: one device, an optional audio source and the analysers, publishing every event on one timeline.

`Session` owns the stamping. It listens to the device client's timing (every frame's arrival, every ACK's round
trip) to keep the clock model, places each link event and audio block on the timeline, runs the pipeline, and
publishes every `Stamped` (inputs and derived events, in that order) on `session.timeline`, a `Notifier`: a
recorder adds a callback, the tutor subscribes, a Qt window taps. All of it runs on the event loop, in the client's
publishing call: no thread, no queue of its own, a few microseconds per event.

    async with Session(client, profile=profile, audio=microphone.timed_blocks()) as session:
        async for stamped in session.timeline.subscribe():
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Protocol

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.blocks import TimedBlock
from flutex.host.audio.latency_store import LatencyStore
from flutex.host.breath.calibration import Calibration
from flutex.host.errors import UsageError
from flutex.host.fanout import Notifier
from flutex.host.link.events import BeltSample, Event, FluteSample, HapticStatus, LinkLost, LinkRestored, LinkTiming
from flutex.host.pitch.config import FLUTE, TrackerConfig
from flutex.host.session.clock import ClockState, SessionClock
from flutex.host.session.events import AudioChunk, Stamped
from flutex.host.session.haptics import HapticClient, Haptics
from flutex.host.session.pipeline import Pipeline

STREAMED = (FluteSample, BeltSample, HapticStatus)  # the board's sampled streams: stamped in their own order
MIN_STEP_S = 1e-6


class SessionClient(HapticClient, Protocol):
    """What the session needs of the device client (`DeviceClient`): its events and timing, and the commands
    `session.haptics` moves the fingers with."""

    events: Notifier[Event]

    def add_timing_listener(self, callback: Callable[[LinkTiming], None]) -> Callable[[], None]: ...


@dataclass(frozen=True, slots=True)
class SessionStats:
    published: int  # Stamped events on the timeline
    listeners: int
    listener_drops: tuple[int, ...]  # per subscription and tap: events it lost by falling behind
    listener_errors: int  # callbacks that raised (logged; the others still got the event)
    audio_blocks: int
    audio_dropped_blocks: int  # by the source (gaps it knows of) and by the driver (found from its ADC times)
    input_latency_s: float
    input_latency_source: str  # "given", "calibrated" (the latency store) or "uncalibrated" (0)
    clock: ClockState


class Session:
    """One lesson's timeline. Use `async with` (or `start()` / `stop()`); read `timeline`, `clock`, `stats`.

    `profile` is the instrument's. `audio` yields `TimedBlock`s of mono samples at `sample_rate_hz`.
    `input_latency_s` is how late sound shows up in that input; None reads the calibration of `audio_device` from
    the latency store (`flutex calibrate latency`), and 0 when it was never calibrated (`stats.input_latency_source`
    says which).
    """

    def __init__(
        self,
        client: SessionClient,
        *,
        profile: InstrumentProfile,
        audio: AsyncIterable[TimedBlock] | None = None,
        sample_rate_hz: int = 44100,
        input_latency_s: float | None = None,
        audio_device: str = "default",
        tracker: TrackerConfig = FLUTE,
        breath_calibration: Calibration | None = None,
        latency_store: LatencyStore | None = None,
    ) -> None:
        if sample_rate_hz <= 0:
            raise UsageError(f"the audio sample rate must be positive, not {sample_rate_hz} Hz")
        self.client = client
        self.profile = profile
        self.audio = audio
        self.sample_rate_hz = sample_rate_hz
        self.input_latency_source = "given"
        if input_latency_s is None and audio is not None:
            input_latency_s = (latency_store or LatencyStore()).input_latency_s(audio_device)
            self.input_latency_source = "uncalibrated" if input_latency_s is None else "calibrated"
        self.input_latency_s = input_latency_s or 0.0
        self.pipeline = Pipeline(
            profile, tracker=tracker, input_latency_s=self.input_latency_s, breath_calibration=breath_calibration
        )
        self.timeline: Notifier[Stamped] = Notifier()
        self.clock = SessionClock()
        self.haptics = Haptics(client, self.timeline, self.clock, profile)  # the one way lesson code moves fingers
        self.published = 0
        self._audio_task: asyncio.Task[None] | None = None
        self._removers: list[Callable[[], None]] = []
        self._audio_source_dropped = 0
        self._next_audio_sample = 0
        self._last_stamp: dict[type, float] = {}  # per board stream: the newest stamp

    async def __aenter__(self) -> Session:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen to the client and read the audio (the timeline began when the session was made)."""
        if self._removers:
            raise UsageError("this session has already started; a session runs once")
        self._removers = [self.client.add_timing_listener(self.clock.board.observe)]
        self._removers.append(self.client.events.add_listener(self.on_link_event))
        if self.audio is not None:
            self._audio_task = asyncio.create_task(self._read_audio(self.audio))

    async def stop(self) -> None:
        """Stop listening and publish what the analysers still hold (the note still sounding, the open breath)."""
        for remove in self._removers:
            remove()
        self._removers = []
        if self._audio_task is not None:
            self._audio_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._audio_task
            self._audio_task = None
        for derived in self.pipeline.finish():
            self._publish(derived)

    def on_link_event(self, event: Event) -> None:
        """Stamp one event of the client (board time through the clock model; host time for the link's own), run
        the pipeline on it, publish both."""
        clock = self.clock
        if isinstance(event, LinkLost | LinkRestored):
            t_s = clock.from_host(event.host_s)
            if isinstance(event, LinkRestored) and event.rebooted:
                clock.board.restart()
        else:
            board_t_s = getattr(event, "t_s", None)  # None: a refused command, which the board never applied
            t_s = clock.from_board(board_t_s) if board_t_s is not None and clock.board.established else clock.now()
            if isinstance(event, STREAMED):
                # While the clock settles (its first frames), a frame that came through faster lowers the line by
                # more than a sampling period: a later sample must still not be stamped before an earlier one.
                kind = type(event)
                t_s = max(t_s, self._last_stamp.get(kind, -math.inf) + MIN_STEP_S)
                self._last_stamp[kind] = t_s
        self._run(Stamped(t_s, event))

    def on_audio_block(self, block: TimedBlock, arrival_s: float) -> None:
        """Stamp one block (arrived at host time `arrival_s`) at its first sample's capture, run the pipeline."""
        if block.first_sample > self._next_audio_sample and len(block.samples):
            self._audio_source_dropped += round((block.first_sample - self._next_audio_sample) / len(block.samples))
        self._next_audio_sample = block.first_sample + len(block.samples)
        index, t_s = self.clock.place_audio(block, self.sample_rate_hz, arrival_s)
        self._run(Stamped(t_s, AudioChunk(block.samples, self.sample_rate_hz, index)))

    async def _read_audio(self, audio: AsyncIterable[TimedBlock]) -> None:
        async for block in audio:
            self.on_audio_block(block, time.monotonic())

    def _run(self, stamped: Stamped) -> None:
        self._publish(stamped)
        for derived in self.pipeline.feed(stamped):
            self._publish(derived)

    def _publish(self, stamped: Stamped) -> None:
        self.published += 1
        self.timeline.publish(stamped)

    @property
    def stats(self) -> SessionStats:
        clock = self.clock.state
        audio = clock.audio
        return SessionStats(
            published=self.published,
            listeners=self.timeline.listeners,
            listener_drops=tuple(buffer.dropped for buffer in self.timeline.buffers),
            listener_errors=self.timeline.callback_errors,
            audio_blocks=0 if audio is None else audio.blocks,
            audio_dropped_blocks=self._audio_source_dropped + (0 if audio is None else audio.dropped_blocks),
            input_latency_s=self.input_latency_s,
            input_latency_source=self.input_latency_source,
            clock=clock,
        )
