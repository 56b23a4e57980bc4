"""Recording: events become MCAP messages that other readers understand, and a killed recorder loses little."""

from __future__ import annotations

import enum
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcap.reader import make_reader

from flutex.host.fanout import Notifier
from flutex.host.link.events import BeltSample, BoardInfo, CommandResult, FluteSample, HapticStatus, LinkRestored
from flutex.host.session.codec import EventCodec, to_json
from flutex.host.session.events import Stamped
from flutex.host.session.playback import Recording
from flutex.host.session.recording import (
    FLUSH_INTERVAL_S,
    Recorder,
    SessionInfo,
    flutex_version,
    recording_path,
    sessions_dir,
)

BOARD = BoardInfo(3, {"flute": 200, "belt": 100}, 8, 7, 4, 100, 1234, {"board": "sim", "profile": "boehm"})


class Mood(enum.Enum):
    CALM = "calm"
    EAGER = "eager"


@dataclass(frozen=True, slots=True)
class Inner:
    label: str
    weights: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Everything:
    """A test event with every kind of field the codec supports."""

    count: int
    ratio: float
    flag: bool
    name: str
    maybe: float | None
    mood: Mood
    pair: tuple[int, str]
    table: dict[str, int]
    inners: tuple[Inner, ...]
    nested: Inner | None


@dataclass(frozen=True, slots=True)
class Chunk:
    """An audio-like event: samples travel as raw bytes."""

    samples: np.ndarray
    sample_rate_hz: int
    first_sample: int


def session_info(**details: object) -> SessionInfo:
    return SessionInfo(time.monotonic_ns(), datetime.now().astimezone(), board=BOARD, profile="boehm", **details)


def link_events() -> list[Stamped]:
    """A little of every link stream, on a timeline of 5 ms steps."""
    events = [
        FluteSample(0.1, 1, 0b1011, 12.5),
        BeltSample(0.1, 1, (1.0, -2.0, 3.5, 0.0)),
        HapticStatus(0.1, 1, True, False, False, False, True, (0, 500, 1000)),
        CommandResult("arm", 2, True, 0.11),
        CommandResult("guide", 3, False, None, 4, "not armed"),
        LinkRestored(9.5, BOARD, rebooted=True),
    ]
    return [Stamped(0.005 * index, event) for index, event in enumerate(events)]


def everything(index: int) -> Everything:
    return Everything(
        count=index,
        ratio=index / 3,
        flag=index % 2 == 0,
        name=f"ev{index} \u266a\n",
        maybe=None if index % 2 else float("nan"),
        mood=Mood.EAGER,
        pair=(index, "x"),
        table={"a": index},
        inners=(Inner("i", (1.0, float("inf"))),),
        nested=Inner("n", ()) if index % 2 else None,
    )


def record(path: Path, events: list[Stamped], info: SessionInfo | None = None) -> Recorder:
    """A closed recording of `events`, made through a timeline as a session would."""
    timeline: Notifier[Stamped] = Notifier()
    with Recorder(path, info or session_info()).listen(timeline) as recorder:
        for stamped in events:
            timeline.publish(stamped)
    return recorder


def same(a: Stamped, b: Stamped) -> bool:
    """Equality that treats NaN as equal to NaN and compares arrays by value (the codec must keep both)."""
    return repr(a) == repr(b) and all(
        np.array_equal(getattr(a.event, name), getattr(b.event, name))
        for name in ("samples",)
        if hasattr(a.event, name)
    )


def test_link_events_come_back_equal(tmp_path: Path) -> None:
    events = link_events()
    record(tmp_path / "s.mcap", events)
    recording = Recording(tmp_path / "s.mcap", [type(stamped.event) for stamped in events])
    assert list(recording) == events
    assert recording.complete and recording.damage is None
    assert recording.counts["/command_result"] == 2


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=5))
def test_every_field_kind_comes_back(tmp_path_factory: pytest.TempPathFactory, indices: list[int]) -> None:
    events = [Stamped(index * 0.01, everything(index)) for index in indices]
    path = tmp_path_factory.mktemp("rec") / "s.mcap"
    record(path, events)
    back = list(Recording(path, [Everything]))
    assert len(back) == len(events) and all(same(a, b) for a, b in zip(events, back, strict=True))
    assert all(type(b.event.inners) is tuple and b.event.mood is Mood.EAGER for b in back)


def test_a_field_added_later_reads_as_its_default_and_a_missing_one_without_is_damage() -> None:
    codec = EventCodec(HapticStatus)
    status = Stamped(1.5, HapticStatus(1.0, 7, True, False, False, False, False, (0, 500), help_held=True))
    message = json.loads(codec.encode(status))
    assert codec.decode(to_json(message)) == status
    del message["help_held"]  # written before the help-me pedal existed
    assert codec.decode(to_json(message)).event.help_held is False
    del message["armed"]
    with pytest.raises(KeyError):
        codec.decode(to_json(message))


def test_arrays_travel_as_raw_bytes(tmp_path: Path) -> None:
    samples = np.linspace(-1, 1, 256, dtype=np.float32)
    event = Stamped(1.25, Chunk(samples, 44100, 44100))
    data = EventCodec(Chunk).encode(event)
    head, _, raw = data.partition(b"\n")
    assert json.loads(head)["samples"] == {"dtype": "<f4", "shape": [256]}
    assert raw == samples.astype("<f4").tobytes()
    record(tmp_path / "a.mcap", [event])
    (back,) = Recording(tmp_path / "a.mcap", [Chunk])
    assert back.event.samples.dtype == np.float32 and np.array_equal(back.event.samples, samples)
    assert (back.t_s, back.event.first_sample) == (1.25, 44100)


def test_other_readers_decode_it_with_its_schemas(tmp_path: Path) -> None:
    """The mcap library's own reader finds the session metadata, a JSON schema per channel and JSON messages whose
    log time is the monotonic origin plus the timeline time."""
    info = session_info()
    record(tmp_path / "s.mcap", link_events(), info)
    with (tmp_path / "s.mcap").open("rb") as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
        assert summary is not None
        topics = {channel.topic: channel for channel in summary.channels.values()}
        assert {"/flute_sample", "/belt_sample", "/haptic_status", "/command_result", "/link_restored"} <= set(topics)
        assert {channel.message_encoding for channel in topics.values()} == {"json"}
        (metadata,) = reader.iter_metadata()
        assert metadata.metadata["origin_monotonic_ns"] == str(info.origin_ns)
        assert json.loads(metadata.metadata["board"])["details"]["profile"] == "boehm"
        ((schema, _, message),) = reader.iter_messages(topics=["/flute_sample"])
    assert schema.encoding == "jsonschema"
    assert set(json.loads(schema.data)["required"]) == set(json.loads(message.data))
    assert json.loads(message.data)["mouth_pa"] == 12.5
    assert message.log_time == info.origin_ns  # the flute sample is at t_s = 0


def test_metadata_says_what_session_it_was(tmp_path: Path) -> None:
    info = session_info()
    record(tmp_path / "s.mcap", [], info)
    assert Recording(tmp_path / "s.mcap", []).info == replace(info, flutex_version=flutex_version())
    assert flutex_version() != "unknown"


def test_events_that_cannot_be_recorded_are_counted_not_raised(tmp_path: Path) -> None:
    recorder = record(tmp_path / "s.mcap", [Stamped(0.0, "text"), Stamped(0.1, FluteSample(0.1, 1, 0, 0.0))])
    assert recorder.skipped == {"str": 1}
    assert recorder.counts == {"/flute_sample": 1}


def test_default_folder_and_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert sessions_dir() == tmp_path / "data" / "flutex" / "sessions"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert sessions_dir() == Path.home() / ".local" / "share" / "flutex" / "sessions"
    started = datetime(2026, 5, 1, 14, 3, 22)
    first = recording_path(tmp_path / "new", started)
    assert first.name == "2026-05-01_14-03-22.mcap"
    record(first, [])  # creates the folder
    assert recording_path(tmp_path / "new", started).name == "2026-05-01_14-03-22-2.mcap"


# The child records a 500 Hz stream on the real monotonic timeline and writes each published t_s to stdout.
CHILD = """
import os, sys, time
from datetime import datetime
from pathlib import Path
from flutex.host.link.events import FluteSample
from flutex.host.session.events import Stamped
from flutex.host.session.recording import Recorder, SessionInfo
origin = time.monotonic_ns()
recorder = Recorder(Path(sys.argv[1]), SessionInfo(origin, datetime.now().astimezone()))
seq = 0
while True:
    t_s = (time.monotonic_ns() - origin) / 1e9
    recorder(Stamped(t_s, FluteSample(t_s, seq, seq & 0xFF, 1.0)))
    os.write(1, b"%r\\n" % t_s)
    seq += 1
    time.sleep(0.002)
"""


def kill_mid_recording(path: Path, after_s: float = 1.6) -> tuple[list[float], Recording]:
    """Run CHILD recording into `path`, kill -9 it once it has published `after_s` of timeline; returns every t_s
    it published and the recording as read back (also used by benchmarks/recording.py)."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE)
    assert child.stdout is not None
    published: list[float] = []
    while not published or published[-1] < after_s:
        line = child.stdout.readline()
        assert line, "the recording child died"
        published.append(float(line))
    child.send_signal(signal.SIGSTOP)  # freeze it, then read every t_s it reported before the kill
    os.set_blocking(child.stdout.fileno(), False)
    published += [float(line) for line in (child.stdout.read() or b"").split()]
    child.kill()
    child.wait()
    child.stdout.close()
    return published, Recording(path, [FluteSample])


def test_kill_9_loses_at_most_a_fraction_of_a_second(tmp_path: Path) -> None:
    published, recording = kill_mid_recording(tmp_path / "killed.mcap")
    recorded = [stamped.t_s for stamped in recording]
    assert recording.damage is not None and "cut short" in recording.damage.reason
    assert recorded == published[: len(recorded)]  # what is there is exactly what was published, in order
    lost_s = published[-1] - recorded[-1]
    assert lost_s <= 2 * FLUSH_INTERVAL_S, f"lost {lost_s:.3f} s of the timeline"
