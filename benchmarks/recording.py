"""What recording a session costs: time per event, bytes per minute, and what a kill -9 loses.

Prints, for a FLUTE-like event and for a 256-sample float32 audio chunk, microseconds per `Recorder` call, each
with ratios to baselines run in the same process: `json.dumps` of the same fields alone (the encoding's floor) and
an unchunked MCAP writer given the same bytes (what the chunks and the flushing add). Then the file size of one
minute of timeline (200 Hz flute, 100 Hz belt, 44.1 kHz audio in 256-sample chunks, flushed every 0.25 s of
timeline as the live flusher does) against the raw audio bytes alone; then the timeline lost by recorders killed
with SIGKILL mid-recording (the test's child, run `--kills` times).
Usage: python benchmarks/recording.py [--events N] [--kills N] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from mcap.writer import CompressionType, Writer

from flutex.host.link.events import BeltSample, FluteSample
from flutex.host.session.codec import EventCodec
from flutex.host.session.events import AudioChunk, Stamped
from flutex.host.session.recording import FLUSH_INTERVAL_S, Recorder, SessionInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_recording import kill_mid_recording  # the crash test's own child and measurement

SR = 44100
BLOCK = 256


def info() -> SessionInfo:
    return SessionInfo(time.monotonic_ns(), datetime.now().astimezone(), profile="boehm")


def per_call_us(action: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        action(i)
    return (time.perf_counter() - start) / n * 1e6


def flute(i: int) -> Stamped:
    return Stamped(i * 0.005, FluteSample(i * 0.005, i, i & 0x7F, 600.0 + (i % 50) * 0.37))


def audio(i: int) -> Stamped:
    samples = np.sin(np.arange(i * BLOCK, (i + 1) * BLOCK, dtype=np.float32) * 0.0627).astype(np.float32)
    return Stamped(i * BLOCK / SR, AudioChunk(samples, SR, i * BLOCK))


def costs(make: Callable[[int], Stamped], n: int, folder: Path, name: str) -> dict[str, float]:
    events = [make(i) for i in range(n)]
    codec = EventCodec(type(events[0].event))
    fields = [{"timeline_s": s.t_s, **{k: getattr(s.event, k) for k in s.event.__slots__}} for s in events]
    if isinstance(events[0].event, AudioChunk):
        for field in fields:
            field["samples"] = field["samples"].tolist()  # the floor for JSON is the samples as a JSON list
    dumps_us = per_call_us(lambda i: json.dumps(fields[i]), n)
    encoded = [codec.encode(s) for s in events]
    with (folder / f"{name}-unchunked.mcap").open("wb") as stream:
        writer = Writer(stream, use_chunking=False, compression=CompressionType.NONE)
        writer.start()
        channel = writer.register_channel("/x", codec.encoding, writer.register_schema("x", "jsonschema", b"{}"))
        unchunked_us = per_call_us(lambda i: writer.add_message(channel, i, encoded[i], i), n)
        writer.finish()
    with Recorder(folder / f"{name}.mcap", info(), flush_interval_s=FLUSH_INTERVAL_S) as recorder:
        recorder_us = per_call_us(lambda i: recorder(events[i]), n)
    return {
        "recorder_us": recorder_us,
        "json_dumps_us": dumps_us,
        "vs_json_dumps": recorder_us / dumps_us,
        "unchunked_writer_us": unchunked_us,
        "vs_unchunked_writer": recorder_us / unchunked_us,
    }


def minute_size(folder: Path, minutes: float = 1.0) -> dict[str, float]:
    """Bytes for `minutes` of the three streams, merged on the timeline and flushed every FLUSH_INTERVAL_S."""
    end_s = minutes * 60
    streams = [
        (np.arange(0, end_s, 0.005), lambda i, t: FluteSample(t, i, i & 0x7F, 600.0 + (i % 50) * 0.37)),
        (np.arange(0, end_s, 0.01), lambda i, t: BeltSample(t, i, (0.1 * i, 2.0, -3.5, 0.25))),
        (np.arange(0, end_s, BLOCK / SR), lambda i, t: audio(i).event),
    ]
    timeline = sorted((float(t), k, i) for k, (times, _) in enumerate(streams) for i, t in enumerate(times))
    path = folder / "minute.mcap"
    next_flush_s = FLUSH_INTERVAL_S
    with Recorder(path, info(), flush_interval_s=3600) as recorder:
        for t_s, k, i in timeline:
            if t_s >= next_flush_s:
                recorder.flush()
                next_flush_s += FLUSH_INTERVAL_S
            recorder(Stamped(t_s, streams[k][1](i, t_s)))
    size = path.stat().st_size
    audio_bytes = len(streams[2][0]) * BLOCK * 4
    return {"mb_per_min": size / 1e6 / minutes, "vs_raw_audio": size / audio_bytes, "events": len(timeline)}


def crash_loss(folder: Path, kills: int) -> dict[str, float]:
    losses = []
    for k in range(kills):
        published, recording = kill_mid_recording(folder / f"killed-{k}.mcap", after_s=1.0 + 0.13 * k)
        recorded = [stamped.t_s for stamped in recording]
        losses.append(published[-1] - (recorded[-1] if recorded else 0.0))
    return {"kills": kills, "max_lost_s": max(losses), "mean_lost_s": sum(losses) / kills}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = {
            "flute": costs(flute, args.events, folder, "flute"),
            "audio_256": costs(audio, args.events // 4, folder, "audio"),
            "session_minute": minute_size(folder),
            "crash": crash_loss(folder, args.kills),
        }
    if args.json:
        print(json.dumps(result))
        return
    for name in ("flute", "audio_256"):
        r = result[name]
        print(
            f"{name:>10}: {r['recorder_us']:.1f} us per event; json.dumps alone {r['json_dumps_us']:.1f} us "
            f"(x{r['vs_json_dumps']:.2f}); unchunked writer {r['unchunked_writer_us']:.1f} us "
            f"(x{r['vs_unchunked_writer']:.2f})"
        )
    minute = result["session_minute"]
    print(
        f"one minute of flute 200 Hz + belt 100 Hz + 44.1 kHz audio: {minute['mb_per_min']:.2f} MB "
        f"(x{minute['vs_raw_audio']:.3f} the raw float32 audio), {minute['events']} events"
    )
    crash = result["crash"]
    print(
        f"kill -9 mid-recording, {crash['kills']} runs: lost at most {crash['max_lost_s'] * 1000:.0f} ms of timeline "
        f"(mean {crash['mean_lost_s'] * 1000:.0f} ms; flush interval {FLUSH_INTERVAL_S * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
