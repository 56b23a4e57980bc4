"""Recording a session timeline into an MCAP file that outlives the process, even a killed one.

MCAP (https://mcap.dev) is a standard container that other tools read (the `mcap` CLI, Foxglove): one channel per
event class, each message a Stamped event (see codec.py), its log time the host monotonic clock in nanoseconds
(`origin_ns`, the timeline's zero, plus `t_s`). The session's description is a metadata record written first.

Crash safety: the mcap writer builds each chunk in memory; a background thread closes the chunk and hands it to the
operating system every `flush_interval_s`, so a `kill -9` loses at most that much of the timeline (the kernel keeps
what was written; a power cut may lose what it had not yet put on disk). A file cut short has no summary at its end:
the reader in playback.py reads it up to the cut.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import TracebackType

from mcap.writer import CompressionType, Writer

from flutex.firmware import wire
from flutex.host.fanout import Notifier
from flutex.host.link.events import BoardInfo
from flutex.host.session.codec import SCHEMA_ENCODING, EventCodec, dataclass_from_json, dataclass_to_json
from flutex.host.session.events import Stamped

SESSION_METADATA = "flutex.session"  # name of the metadata record that describes the session
MCAP_PROFILE = "flutex"
FLUSH_INTERVAL_S = 0.25  # the most of the timeline a killed process can lose
CHUNK_BYTES = 4 * 1024 * 1024  # a cap only: chunks are closed by time long before, at any realistic rate
SUFFIX = ".mcap"


def flutex_version() -> str:
    try:
        return version("flutex")
    except PackageNotFoundError:
        return "unknown"


def sessions_dir() -> Path:
    """Where recordings go by default: `$XDG_DATA_HOME/flutex/sessions` (`~/.local/share/flutex/sessions`)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "flutex" / "sessions"


def recording_path(directory: Path, started_at: datetime) -> Path:
    """A new file in `directory` named after the start time (`2026-05-01_14-03-22.mcap`), never an existing one."""
    stem = started_at.strftime("%Y-%m-%d_%H-%M-%S")
    path = directory / f"{stem}{SUFFIX}"
    number = 1
    while path.exists():
        number += 1
        path = directory / f"{stem}-{number}{SUFFIX}"
    return path


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What a recording says about its session. `origin_ns`: the host's `time.monotonic_ns()` at timeline zero;
    `started_at`: the wall clock then (timezone-aware)."""

    origin_ns: int
    started_at: datetime
    board: BoardInfo | None = None
    profile: str = ""
    flutex_version: str = ""
    protocol_version: int = wire.VERSION

    def to_metadata(self) -> dict[str, str]:
        return {
            "flutex_version": self.flutex_version or flutex_version(),
            "protocol_version": str(self.protocol_version),
            "started_at": self.started_at.isoformat(),
            "origin_monotonic_ns": str(self.origin_ns),
            "profile": self.profile,
            "board": "" if self.board is None else dataclass_to_json(self.board),
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> SessionInfo:
        """Raises ValueError/KeyError when the record is not one this module wrote."""
        board = metadata.get("board", "")
        return cls(
            origin_ns=int(metadata["origin_monotonic_ns"]),
            started_at=datetime.fromisoformat(metadata["started_at"]),
            board=dataclass_from_json(BoardInfo, board) if board else None,
            profile=metadata.get("profile", ""),
            flutex_version=metadata.get("flutex_version", ""),
            protocol_version=int(metadata.get("protocol_version", "0")),
        )


class Recorder:
    """Appends every Stamped event it is called with to a new MCAP file: a listener for a session's timeline
    (`timeline.add_listener(recorder)`, or `recorder.listen(timeline)`, removed again at `close()`).

    A channel is opened for each event class the first time one is seen. An event that is not a dataclass of
    recordable fields is not written, and counted in `skipped` by class name, so a new event type can never stop a
    live session. Thread-safe against its own flushing thread; events come from one publishing thread.
    """

    def __init__(self, path: Path, info: SessionInfo, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.counts: Counter[str] = Counter()  # events written, by topic
        self.skipped: Counter[str] = Counter()  # events not recordable, by class name
        self._origin_ns = info.origin_ns
        self._file = open(path, "xb")  # noqa: SIM115 (closed by close(): the file lives as long as the recorder)
        self._writer = Writer(self._file, chunk_size=CHUNK_BYTES, compression=CompressionType.NONE)
        self._writer.start(profile=MCAP_PROFILE, library=f"flutex {info.flutex_version or flutex_version()}")
        self._writer.add_metadata(SESSION_METADATA, info.to_metadata())
        self._file.flush()
        self._channels: dict[type, tuple[int, EventCodec] | None] = {}
        self._lock = threading.Lock()
        self._unflushed = False
        self._closing = threading.Event()
        self._remove_listener: Callable[[], None] | None = None
        self._flusher = threading.Thread(
            target=self._flush_every, args=(flush_interval_s,), name="flutex-recording-flush", daemon=True
        )
        self._flusher.start()

    def listen(self, timeline: Notifier[Stamped]) -> Recorder:
        """Record every event `timeline` publishes from now until `close()`."""
        self._remove_listener = timeline.add_listener(self)
        return self

    def __call__(self, stamped: Stamped) -> None:
        cls = type(stamped.event)
        channel = self._channels[cls] if cls in self._channels else self._open_channel(cls)
        if channel is None:
            self.skipped[cls.__name__] += 1
            return
        channel_id, codec = channel
        data = codec.encode(stamped)
        log_time_ns = max(0, self._origin_ns + round(stamped.t_s * 1e9))
        sequence = self.counts[codec.topic]
        with self._lock:
            if self._closing.is_set():
                return
            self._writer.add_message(channel_id, log_time_ns, data, log_time_ns, sequence & 0xFFFFFFFF)
            self._unflushed = True
        self.counts[codec.topic] = sequence + 1

    def flush(self) -> None:
        """Close the chunk being built and hand everything to the operating system."""
        with self._lock:
            if self._unflushed and not self._file.closed:
                self._writer.flush()
                self._unflushed = False

    def close(self) -> None:
        """Stop listening, write the summary (indexes, statistics) and close the file. Safe to call twice."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        self._closing.set()
        self._flusher.join()
        with self._lock:
            if not self._file.closed:
                self._writer.finish()
                self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def _open_channel(self, cls: type) -> tuple[int, EventCodec] | None:
        try:
            codec = EventCodec(cls)
        except TypeError:
            channel = None
        else:
            with self._lock:
                schema_id = self._writer.register_schema(codec.name, SCHEMA_ENCODING, codec.schema)
                channel_id = self._writer.register_channel(codec.topic, codec.encoding, schema_id)
            channel = (channel_id, codec)
        self._channels[cls] = channel
        return channel

    def _flush_every(self, interval_s: float) -> None:
        while not self._closing.wait(interval_s):
            self.flush()


def record_timeline(
    directory: Path, timeline: Notifier[Stamped], origin_s: float, board: BoardInfo | None, profile: str
) -> Recorder:
    """A new recording in `directory` of everything `timeline` publishes from now on; `origin_s` is the timeline's
    zero on the host's monotonic clock (`SessionClock.origin_s`)."""
    info = SessionInfo(round(origin_s * 1e9), datetime.now().astimezone(), board, profile)
    return Recorder(recording_path(directory, info.started_at), info).listen(timeline)
