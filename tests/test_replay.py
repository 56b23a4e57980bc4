"""Reading back and replaying: damaged files read up to the damage, replays keep time and reproduce the analysis."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from test_recording import session_info
from test_session_pipeline import LATENCY_S, PROFILE, SR, TUNE, audio_inputs, flute_inputs, merged

from flutex.host.audio.synth import melody
from flutex.host.fanout import Notifier
from flutex.host.link.events import BeltSample, FluteSample
from flutex.host.session.events import Stamped
from flutex.host.session.pipeline import Pipeline
from flutex.host.session.playback import INPUT_TYPES, Analysis, Recording, reanalyse, replay, replay_async
from flutex.host.session.recording import Recorder

EVENTS_PER_FLUSH = 20
TYPES = [FluteSample, BeltSample]


@dataclass(frozen=True, slots=True)
class FingersMoved:
    """Stand-in derived event: the closed holes changed."""

    t_s: float
    closed_mask: int
    previous: int


class StandInPipeline:
    """A deterministic analysis with state, as the session's Pipeline is: inputs in, derived events out."""

    def __init__(self, every: int = 1) -> None:
        self._mask: int | None = None
        self._every = every  # report only masks divisible by this (another value makes another analysis)

    def feed(self, stamped: Stamped) -> list[Stamped]:
        event = stamped.event
        if not isinstance(event, FluteSample) or event.closed_mask == self._mask or event.closed_mask % self._every:
            return []
        previous, self._mask = self._mask, event.closed_mask
        return [Stamped(stamped.t_s, FingersMoved(event.t_s, event.closed_mask, -1 if previous is None else previous))]

    def finish(self) -> list[Stamped]:
        return [] if self._mask is None else [Stamped(-1.0, FingersMoved(-1.0, -1, self._mask))]


def stream(count: int) -> list[Stamped]:
    """Flute at 200 Hz (fingers changing every 7 samples), belt at 100 Hz, on a timeline of 5 ms steps."""
    events = []
    for index in range(count):
        t_s = index * 0.005
        events.append(Stamped(t_s, FluteSample(t_s, index, (index // 7) % 16, 10.0 + index / 3)))
        if index % 2 == 0:
            events.append(Stamped(t_s, BeltSample(t_s, index // 2, (index / 7, 0.5, -1.0, 2.0))))
    return events


@pytest.fixture(scope="module")
def flushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Stamped], list[int]]:
    """A recording flushed every EVENTS_PER_FLUSH events, the events, and the file's size after each flush."""
    path = tmp_path_factory.mktemp("flushed") / "s.mcap"
    events = stream(60)
    sizes = []
    with Recorder(path, session_info(), flush_interval_s=3600) as recorder:
        for index, stamped in enumerate(events, 1):
            recorder(stamped)
            if index % EVENTS_PER_FLUSH == 0:
                recorder.flush()
                sizes.append(path.stat().st_size)
    return path, events, sizes


@given(cut_fraction=st.floats(0, 1, exclude_max=True))
def test_a_cut_file_reads_up_to_the_cut(
    flushed: tuple[Path, list[Stamped], list[int]], tmp_path_factory: pytest.TempPathFactory, cut_fraction: float
) -> None:
    path, events, sizes = flushed
    data = path.read_bytes()
    cut = int(cut_fraction * len(data))
    cut_path = tmp_path_factory.mktemp("cut") / "cut.mcap"
    cut_path.write_bytes(data[:cut])
    recording = Recording(cut_path, TYPES)
    back = list(recording)
    assert back == events[: len(back)]
    flushed_before = EVENTS_PER_FLUSH * sum(size <= cut for size in sizes)
    # a chunk whose trailing message indexes were cut still reads: at most one chunk more than fully flushed
    assert flushed_before <= len(back) <= flushed_before + EVENTS_PER_FLUSH
    assert recording.damage is not None and recording.damage.offset <= cut and not recording.complete
    assert f"stops at byte {recording.damage.offset}" in recording.stop_description()
    if back:
        assert f"t = {back[-1].t_s:.3f} s" in recording.stop_description()


@given(position_fraction=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255))
@example(position_fraction=0.0027819324192115413, flip=2)  # a damaged length: reading went astray further on
def test_flipped_bytes_never_give_wrong_events(
    flushed: tuple[Path, list[Stamped], list[int]],
    tmp_path_factory: pytest.TempPathFactory,
    position_fraction: float,
    flip: int,
) -> None:
    path, events, _ = flushed
    data = bytearray(path.read_bytes())
    position = int(position_fraction * len(data))
    data[position] ^= flip
    damaged_path = tmp_path_factory.mktemp("flip") / "flipped.mcap"
    damaged_path.write_bytes(bytes(data))
    recording = Recording(damaged_path, TYPES)
    back = list(recording)
    assert back == events[: len(back)]
    assert recording.damage is not None or back == events  # undetected only where no event lives (an index)
    if recording.damage is not None:
        assert recording.damage.offset <= position


def test_not_a_recording_is_said_plainly(tmp_path: Path) -> None:
    path = tmp_path / "notes.mcap"
    path.write_text("not a recording")
    recording = Recording(path, TYPES)
    assert list(recording) == [] and recording.info is None
    assert recording.stop_description().startswith("stops at byte 0 of 15, before any event: not an MCAP recording")


def test_a_complete_recording_replays_everything_as_fast_as_possible(tmp_path: Path) -> None:
    events = stream(50)
    with Recorder(tmp_path / "s.mcap", session_info()) as recorder:
        for stamped in events:
            recorder(stamped)
    timeline: Notifier[Stamped] = Notifier()
    heard: list[Stamped] = []
    timeline.add_listener(heard.append)
    report = replay(Recording(tmp_path / "s.mcap", TYPES), timeline, speed=None)
    assert heard == events
    assert report.complete and report.damage is None and report.stop == "complete"
    assert report.counts == {"/flute_sample": 50, "/belt_sample": 25}
    assert (report.first_t_s, report.last_t_s) == (0.0, events[-1].t_s)


def test_replay_keeps_the_timeline_pace(tmp_path: Path) -> None:
    events = stream(80)  # 0.395 s of timeline
    with Recorder(tmp_path / "s.mcap", session_info()) as recorder:
        for stamped in events:
            recorder(stamped)
    speed = 2.0
    heard: list[tuple[float, float]] = []
    replay(Recording(tmp_path / "s.mcap", TYPES), lambda s: heard.append((time.monotonic(), s.t_s)), speed=speed)
    start, first_t_s = heard[0]
    assert all(now - start >= (t_s - first_t_s) / speed - 0.001 for now, t_s in heard)  # never early
    assert heard[-1][0] - start >= events[-1].t_s / speed - 0.001
    with pytest.raises(ValueError, match="above 0"):
        replay(Recording(tmp_path / "s.mcap", TYPES), heard.append, speed=0)


def test_replay_async_feeds_the_loops_subscribers(tmp_path: Path) -> None:
    events = stream(10)
    with Recorder(tmp_path / "s.mcap", session_info()) as recorder:
        for stamped in events:
            recorder(stamped)

    async def main() -> list[Stamped]:
        timeline: Notifier[Stamped] = Notifier()
        subscription = timeline.subscribe()
        await replay_async(Recording(tmp_path / "s.mcap", TYPES), timeline, speed=10.0)
        return [subscription.get_nowait() for _ in range(len(subscription))]

    assert asyncio.run(main()) == events


def live_session(path: Path, inputs: list[Stamped], pipeline: Analysis) -> None:
    """Inputs and the analysis's derived events on one timeline, recorded, as a live session does it."""
    timeline: Notifier[Stamped] = Notifier()

    def analyse(stamped: Stamped) -> None:
        if isinstance(stamped.event, INPUT_TYPES):
            for derived in pipeline.feed(stamped):
                timeline.publish(derived)

    with Recorder(path, session_info()).listen(timeline):
        timeline.add_listener(analyse)
        for stamped in inputs:
            timeline.publish(stamped)
        for derived in pipeline.finish():
            timeline.publish(derived)


def test_analysis_of_a_replay_gives_what_it_gave_live(tmp_path: Path) -> None:
    live_session(tmp_path / "s.mcap", stream(300), StandInPipeline())
    again = reanalyse(Recording(tmp_path / "s.mcap", [*TYPES, FingersMoved]), StandInPipeline())
    assert len(again.live) > 20
    assert again.replayed == again.live
    other = reanalyse(Recording(tmp_path / "s.mcap", [*TYPES, FingersMoved]), StandInPipeline(every=2))
    assert other.replayed != other.live  # the comparison does tell analyses apart


def test_the_session_pipeline_replays_bit_for_bit(tmp_path: Path) -> None:
    """The real pipeline on a played tune (audio chunks and the flute stream): notes, pitch frames and fingerings
    derived from the recording equal those recorded live."""
    signal, truth = melody(TUNE, SR)
    inputs = merged(audio_inputs(signal), flute_inputs(truth, len(signal) / SR))
    live_session(tmp_path / "s.mcap", inputs, Pipeline(PROFILE, input_latency_s=LATENCY_S))
    recording = Recording(tmp_path / "s.mcap")
    again = reanalyse(recording, Pipeline(PROFILE, input_latency_s=LATENCY_S))
    assert {"/note_started", "/pitch_frame", "/fingering_changed", "/audio_chunk"} <= set(recording.counts)
    assert again.replayed == again.live
