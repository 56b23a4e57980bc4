"""The session on the simulated board: every link event and audio block on one timeline, derived events with it,
published to every kind of listener."""

import asyncio
import itertools
import time

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.blocks import TimedBlock
from flutex.host.audio.latency_store import LatencyStore
from flutex.host.audio.synth import melody
from flutex.host.fanout import Notifier
from flutex.host.link.events import CommandResult, FluteSample, LinkTiming
from flutex.host.link.opener import open_device
from flutex.host.session.events import AudioChunk, FingeringChanged, NoteStarted, Stamped
from flutex.host.session.session import Session

SR = 44100
BLOCK = 256
PROFILE = InstrumentProfile.load("six_hole")


async def wait_for(condition, timeout_s: float = 5.0) -> None:
    async def poll():
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout_s)


async def live_audio(signal: np.ndarray, start_s: float, drop=()):
    """Blocks paced in real time with ADC times (as a sound card would give them); `drop` never arrive."""
    for k, first in enumerate(range(0, len(signal) - BLOCK, BLOCK)):
        adc_s = start_s + first / SR
        await asyncio.sleep(max(0.0, adc_s + BLOCK / SR - time.monotonic()))
        if k not in drop:
            yield TimedBlock(signal[first : first + BLOCK], first - len([d for d in drop if d < k]) * BLOCK, adc_s)


async def test_the_session_stamps_the_board_and_the_audio_on_one_timeline():
    signal, truth = melody([(None, 0.1), (72, 0.35), (None, 0.1), (76, 0.35), (None, 0.2)], SR)
    async with open_device("sim://") as client:
        start_s = time.monotonic() + 0.05
        session = Session(client, profile=PROFILE, audio=live_audio(signal, start_s, drop={50}), input_latency_s=0)
        got: list[Stamped] = []
        session.timeline.add_listener(got.append)
        tap = session.timeline.tap(maxsize=8)
        async with session:
            await wait_for(lambda: session.stats.audio_blocks >= len(signal) // BLOCK - 2)
            result = await client.tare()
            await wait_for(lambda: any(isinstance(s.event, CommandResult) for s in got))
        origin = session.clock.origin_s
    assert result.accepted
    flute = [s for s in got if isinstance(s.event, FluteSample)]
    assert len(flute) > 100
    # stamped when sampled: before now, after the session began, and in the order the board sampled them
    assert all(0 <= s.t_s <= time.monotonic() - origin for s in flute)
    assert all(a.t_s < b.t_s for a, b in itertools.pairwise(flute))
    assert any(isinstance(s.event, FingeringChanged) for s in got)
    chunks = [s for s in got if isinstance(s.event, AudioChunk)]
    assert abs(chunks[0].t_s - (start_s - origin)) < 1e-3  # the first sample where the card captured it
    assert session.stats.audio_dropped_blocks == 1
    notes = [s for s in got if isinstance(s.event, NoteStarted)]
    assert [s.event.midi for s in notes] == [72, 76]
    for stamped, (onset, _, _) in zip(notes, truth, strict=True):
        assert abs(stamped.t_s - (start_s - origin + onset)) < 0.015
    # the tap holds the newest 8 events; everything older was dropped and counted
    assert len(tap.drain()) == 8 and tap.dropped == len(got) - 8
    assert session.stats.clock.board.established and session.stats.clock.board.acks >= 1


async def test_the_input_latency_comes_from_the_store_when_not_given(tmp_path):
    store = LatencyStore(tmp_path / "latency.json")
    store.path.write_text('{"USB mic": {"input_latency_s": 0.0123}}')

    async def no_audio():
        return
        yield

    async with open_device("sim://") as client:
        calibrated = Session(client, profile=PROFILE, audio=no_audio(), audio_device="USB mic", latency_store=store)
        unknown = Session(client, profile=PROFILE, audio=no_audio(), audio_device="other", latency_store=store)
    assert (calibrated.input_latency_s, calibrated.stats.input_latency_source) == (0.0123, "calibrated")
    assert (unknown.input_latency_s, unknown.stats.input_latency_source) == (0.0, "uncalibrated")


class HandFedLink:
    """The client's two hooks the session listens to, fed by hand: a link whose latencies a test chooses."""

    def __init__(self) -> None:
        self.events = Notifier()
        self._timing = Notifier()

    def add_timing_listener(self, callback):
        return self._timing.add_listener(callback)

    def frame(self, sample: FluteSample, received_s: float) -> None:
        self._timing.publish(LinkTiming(sample.t_s, received_s, None))
        self.events.publish(sample)


async def test_a_later_sample_is_never_stamped_before_an_earlier_one_while_the_clock_settles():
    link = HandFedLink()
    session = Session(link, profile=PROFILE, input_latency_s=0.0)
    got: list[Stamped] = []
    session.timeline.add_listener(got.append)
    origin = session.clock.origin_s
    async with session:
        # the first frame came through 12 ms late, the next ones 0.3 ms late: the line drops by more than 5 ms
        link.frame(FluteSample(0.000, 0, 0, 0.0), origin + 1.012)
        link.frame(FluteSample(0.005, 1, 0, 0.0), origin + 1.0053)
        link.frame(FluteSample(0.010, 2, 0, 0.0), origin + 1.0103)
        link.frame(FluteSample(0.020, 3, 0, 0.0), origin + 1.0203)
    stamps = [s.t_s for s in got if isinstance(s.event, FluteSample)]
    assert len(stamps) == 4 and stamps == sorted(stamps) and len(set(stamps)) == 4
    # held back only until the true times pass the first frame's late stamp; then where it truly was
    assert abs(stamps[-1] - 1.020) < 0.001
