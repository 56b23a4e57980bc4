"""Reading recordings back, damaged or not, and replaying them through the same listeners as a live session.

The reader walks the file record by record and checks every chunk's CRC before it yields any of its events, so
what it yields is exactly what was written. At the first record that is cut or does not check out it stops and
says where (`Damage`: byte offset and why); with `Recording.last_t_s` the caller can say how far into the timeline
the good part goes. A recording whose writer was killed simply ends without its summary: that is reported the same
way (everything up to the last flush is there).
"""

from __future__ import annotations

import asyncio
import io
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, TypeAlias

from mcap.exceptions import McapError
from mcap.opcode import Opcode
from mcap.reader import make_reader
from mcap.records import Channel, Chunk, DataEnd, Footer, Message, Metadata, Schema
from mcap.stream_reader import MAGIC_SIZE, StreamReader, breakup_chunk

from flutex.host.fanout import Notifier
from flutex.host.session.codec import EventCodec, codecs_by_name
from flutex.host.session.events import LINK_TYPES, RECORDED_TYPES, AudioChunk, Stamped
from flutex.host.session.recording import SESSION_METADATA, SessionInfo

MAGIC = b"\x89MCAP0\r\n"
RECORD_HEADER = struct.Struct("<BQ")  # opcode, length of the record's body
_KNOWN_OPCODES = {int(opcode) for opcode in Opcode}
# What a damaged record can make the mcap parsers raise (CRC errors are ValueErrors).
_PARSE_ERRORS = (McapError, struct.error, ValueError, KeyError, TypeError, IndexError, OverflowError)

INPUT_TYPES: tuple[type, ...] = (*LINK_TYPES, AudioChunk)  # what a session's pipeline is fed; the rest it derives

Sink: TypeAlias = Notifier[Stamped] | Callable[[Stamped], None]


@dataclass(frozen=True, slots=True)
class Damage:
    """Where reading stopped early: the damage lies at or after byte `offset` (every record before it was read; when
    a record's length may have been damaged, the record it starts was read too); `reason` says what was wrong."""

    offset: int
    reason: str


class _Damaged(Exception):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.damage = Damage(offset, reason)


def _records(stream: BinaryIO, size: int) -> Iterator[tuple[int, object]]:
    """(offset, record) for each top-level record, in file order; raises _Damaged at the first bad one."""
    if stream.read(MAGIC_SIZE) != MAGIC:
        raise _Damaged(0, "not an MCAP recording (its first bytes are not the MCAP magic)")
    offset = MAGIC_SIZE
    previous = offset  # where the record before began: its length, if damaged, led here
    while True:
        head = stream.read(RECORD_HEADER.size)
        if not head:
            raise _Damaged(offset, "the file ends without its summary: the recording was cut short here")
        if len(head) < RECORD_HEADER.size:
            raise _Damaged(offset, "the file is cut inside a record header")
        opcode, length = RECORD_HEADER.unpack(head)
        if opcode not in _KNOWN_OPCODES:
            # either these bytes are damaged, or the length of the record before was and it led to the wrong place
            raise _Damaged(
                previous, f"unknown record type 0x{opcode:02x} at byte {offset}, or a damaged length before it"
            )
        end = offset + RECORD_HEADER.size + length
        if end > size:
            raise _Damaged(offset, f"a record of {length} bytes runs past the end of the file (cut short)")
        body = stream.read(length)
        try:
            record = next(StreamReader(io.BytesIO(head + body), skip_magic=True, emit_chunks=True).records)
            if isinstance(record, Chunk):
                record = breakup_chunk(record, validate_crc=True)
        except _PARSE_ERRORS as error:
            raise _Damaged(offset, f"damaged record: {error}") from None
        yield offset, record
        previous, offset = offset, end
        if isinstance(record, Footer):
            if stream.read(MAGIC_SIZE) != MAGIC:
                raise _Damaged(offset, "the closing magic after the footer is missing or damaged")
            return


class Recording:
    """A recording opened for reading. `info` describes the session (None if its metadata is missing or damaged);
    iterating yields its events in the order they were published. After iterating: `complete` (the file was
    closed properly), `damage` (where and why reading stopped early, or None), `counts` (events by topic),
    `unknown` (messages of types not in `event_types`, by topic: skipped), `first_t_s` and `last_t_s`.
    """

    def __init__(self, path: Path, event_types: Iterable[type] = RECORDED_TYPES) -> None:
        self.path = path
        self.size_bytes = path.stat().st_size
        self._codecs = codecs_by_name(event_types)
        self.info = self._read_info()
        self.complete = False
        self.damage: Damage | None = None
        self.counts: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.first_t_s: float | None = None
        self.last_t_s: float | None = None

    def __iter__(self) -> Iterator[Stamped]:
        self.complete, self.damage, self.first_t_s, self.last_t_s = False, None, None, None
        self.counts.clear()
        self.unknown.clear()
        schemas: dict[int, str] = {}
        channels: dict[int, tuple[str, EventCodec | None]] = {}
        with self.path.open("rb") as stream:
            try:
                for offset, record in _records(stream, self.size_bytes):
                    records = record if isinstance(record, list) else [record]
                    for inner in records:
                        if isinstance(inner, Schema):
                            schemas[inner.id] = inner.name
                        elif isinstance(inner, Channel):
                            channels[inner.id] = (inner.topic, self._codecs.get(schemas.get(inner.schema_id, "")))
                    yield from self._decode(
                        offset, [inner for inner in records if isinstance(inner, Message)], channels
                    )
                self.complete = True
            except _Damaged as damaged:
                self.damage = damaged.damage

    def stop_description(self) -> str:
        """One line on where the good part of the recording ends, for people."""
        if self.damage is None:
            return "complete" if self.complete else "not read yet"
        at = "before any event" if self.last_t_s is None else f"after the event at t = {self.last_t_s:.3f} s"
        return f"stops at byte {self.damage.offset} of {self.size_bytes}, {at}: {self.damage.reason}"

    def _decode(
        self, offset: int, messages: list[Message], channels: dict[int, tuple[str, EventCodec | None]]
    ) -> Iterator[Stamped]:
        decoded = []
        for message in messages:
            if message.channel_id not in channels:
                raise _Damaged(offset, f"a message on channel {message.channel_id}, which was never opened")
            topic, codec = channels[message.channel_id]
            if codec is None:
                self.unknown[topic] += 1
                continue
            try:
                decoded.append((topic, codec.decode(message.data)))
            except (ValueError, KeyError, TypeError) as error:
                raise _Damaged(offset, f"a message on {topic} does not fit its schema: {error}") from None
        for topic, stamped in decoded:  # the whole chunk decoded: now hand it out
            self.counts[topic] += 1
            if self.first_t_s is None:
                self.first_t_s = stamped.t_s
            self.last_t_s = stamped.t_s
            yield stamped

    def _read_info(self) -> SessionInfo | None:
        """The session's metadata record, written right after the header, before any chunk."""
        with self.path.open("rb") as stream:
            try:
                for _, record in _records(stream, self.size_bytes):
                    if isinstance(record, Metadata) and record.name == SESSION_METADATA:
                        return SessionInfo.from_metadata(record.metadata)
                    if isinstance(record, list | DataEnd):
                        return None
            except (_Damaged, ValueError, KeyError):
                return None
        return None


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """What a replay published: events by topic, the timeline span, and where a damaged recording stopped."""

    path: Path
    counts: dict[str, int]
    first_t_s: float | None
    last_t_s: float | None
    complete: bool
    damage: Damage | None
    stop: str  # Recording.stop_description()

    @classmethod
    def of(cls, recording: Recording) -> ReplayReport:
        return cls(
            recording.path,
            dict(recording.counts),
            recording.first_t_s,
            recording.last_t_s,
            recording.complete,
            recording.damage,
            recording.stop_description(),
        )


class _Pacer:
    """When each event is due: its timeline time after the first event's, divided by `speed`, on the monotonic
    clock (None: at once)."""

    def __init__(self, speed: float | None) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"a replay speed must be above 0 (or None for as fast as possible), not {speed}")
        self._speed = speed
        self._anchor: tuple[float, float] | None = None

    def wait_s(self, t_s: float) -> float:
        if self._speed is None:
            return 0.0
        if self._anchor is None:
            self._anchor = (time.monotonic(), t_s)
        start, first_t_s = self._anchor
        return max(0.0, start + (t_s - first_t_s) / self._speed - time.monotonic())


def _publisher(sink: Sink) -> Callable[[Stamped], None]:
    return sink.publish if isinstance(sink, Notifier) else sink


def replay(recording: Recording, sink: Sink, speed: float | None = 1.0) -> ReplayReport:
    """Publish every event of `recording` to `sink` (a Notifier or a callback) with its original `t_s`, paced at
    `speed` times real time against the monotonic clock, or as fast as possible when `speed` is None. Blocks until
    done; from an event loop use `replay_async` (a Notifier's subscriptions belong to the loop's thread)."""
    publish, pacer = _publisher(sink), _Pacer(speed)
    for stamped in recording:
        wait_s = pacer.wait_s(stamped.t_s)
        if wait_s > 0:
            time.sleep(wait_s)
        publish(stamped)
    return ReplayReport.of(recording)


async def replay_async(recording: Recording, sink: Sink, speed: float | None = 1.0) -> ReplayReport:
    """`replay` for the event loop: waits with asyncio.sleep between events, so the loop keeps running."""
    publish, pacer = _publisher(sink), _Pacer(speed)
    for stamped in recording:
        wait_s = pacer.wait_s(stamped.t_s)
        if wait_s > 0:
            await asyncio.sleep(wait_s)
        publish(stamped)
    return ReplayReport.of(recording)


@dataclass(frozen=True, slots=True)
class Reanalysis:
    """Derived events as recorded live, and as a fresh pipeline derives them again from the recorded inputs."""

    live: list[Stamped]
    replayed: list[Stamped]


class Analysis(Protocol):
    """What `reanalyse` drives: the session's `Pipeline`, or any analysis of the same shape."""

    def feed(self, stamped: Stamped) -> Sequence[Stamped]: ...

    def finish(self) -> Sequence[Stamped]: ...


def reanalyse(recording: Recording, pipeline: Analysis, input_types: tuple[type, ...] = INPUT_TYPES) -> Reanalysis:
    """Feed the recording's input events (those of `input_types`) to `pipeline`, a fresh one, in recorded order;
    every other recorded event is taken as derived live. A recording that was closed properly ends with
    `pipeline.finish()`, as the live session did; one cut short never finished live, so not here either. Equal
    lists mean the analysis of a replay gives exactly what it gave live."""
    live: list[Stamped] = []
    replayed: list[Stamped] = []
    for stamped in recording:
        if isinstance(stamped.event, input_types):
            replayed.extend(pipeline.feed(stamped))
        else:
            live.append(stamped)
    if recording.complete:
        replayed.extend(pipeline.finish())
    return Reanalysis(live, replayed)


@dataclass(frozen=True, slots=True)
class Summary:
    """What a listing shows of one recording, without replaying it when its summary section is there."""

    path: Path
    info: SessionInfo | None
    size_bytes: int
    counts: dict[str, int]
    duration_s: float | None
    complete: bool
    stop: str  # Recording.stop_description()


def summarize(path: Path) -> Summary:
    """Counts and duration from the file's own summary when it was closed properly; otherwise (a crash cut it)
    by reading it through."""
    recording = Recording(path)
    statistics, channels = None, {}
    with path.open("rb") as stream:
        try:
            summary = make_reader(stream).get_summary()
        except _PARSE_ERRORS:
            summary = None
        if summary is not None and summary.statistics is not None:
            statistics, channels = summary.statistics, summary.channels
    if statistics is not None:
        counts = {
            channels[id].topic: count for id, count in statistics.channel_message_counts.items() if id in channels
        }
        span_ns = statistics.message_end_time - statistics.message_start_time
        duration_s = span_ns / 1e9 if statistics.message_count else None
        return Summary(path, recording.info, recording.size_bytes, counts, duration_s, True, "complete")
    for _ in recording:
        pass
    first, last = recording.first_t_s, recording.last_t_s
    duration_s = None if first is None or last is None else last - first
    counts = dict(recording.counts + recording.unknown)
    return Summary(path, recording.info, recording.size_bytes, counts, duration_s, False, recording.stop_description())
