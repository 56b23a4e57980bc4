"""`flutex bench clock`: how far from the truth the session timeline places board samples and audio blocks.

On `sim://` only the simulator knows when the board's clock read a stamp and when its microphone captured a sample
(`ClockTruth`). A session runs with the simulated flute's sound; every FLUTE and BELT sample and every audio block
the session stamps is compared with the truth, live. Half-way the host stalls (no heartbeats) until the board ends
the session and the link is re-established, so the figures include a reconnect. The first `WARMUP_S` of the
session, while the clock model has seen too few frames to know the link's fastest path, are reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable

from flutex.firmware import wire
from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import FlutexError
from flutex.host.fanout import Subscription
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import BeltSample, FluteSample, LinkLost, LinkRestored
from flutex.host.link.opener import ClockTruth, open_instrument
from flutex.host.link.timing import spread
from flutex.host.session.events import AudioChunk, Stamped
from flutex.host.session.session import Session

WARMUP_S = 2.0
STREAM_TYPES = {FluteSample: wire.FLUTE, BeltSample: wire.BELT}
RECONNECT_TIMEOUT_S = 15.0
REPORT_PERIOD_S = 10.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "On the simulator: run a session with the simulated flute's sound for MINUTES, with a reconnect half-way, "
        "and compare where the session timeline puts every board sample and audio block with the simulator's "
        f"truth. Prints the error's p50, p99 and max in ms (after the first {WARMUP_S:g} s; the goal is p99 <= 2 ms)."
    )
    parser.add_argument("--minutes", type=_minutes, default=1.0, help="how long (default 1)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object, last line")
    parser.set_defaults(run=run)


def _minutes(text: str) -> float:
    value = float(text)
    if not 0.1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"minutes must be between 0.1 and 600, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    result = asyncio.run(bench_clock(args.minutes, report=lambda line: print(line, file=sys.stderr)))
    if args.json:
        print(json.dumps(result))
        return 0
    for name in ("board_ms", "audio_ms"):
        error = result[name]
        print(
            f"{name[:-3]:5} timeline error: p50 {error['p50']} ms, p99 {error['p99']} ms, max {error['max']} ms "
            f"over {result['samples'][name]} (warm-up: max {result['warmup_max_ms'][name]} ms)"
        )
    print(f"reconnects {result['reconnects']}, audio blocks dropped {result['audio_dropped_blocks']}")
    return 0


class TruthCheck:
    """A timeline listener that holds every stamped board sample and audio block against the truth, as it comes
    (the truth maps a raw board stamp of the current boot, so it must be read while that boot runs)."""

    def __init__(self, truth: ClockTruth, origin_s: float) -> None:
        if truth.audio_monotonic_s is None:
            raise FlutexError("the clock bench needs the simulated microphone")
        self._truth = truth
        self._origin_s = origin_s
        self._raw_us: dict[tuple[int, int], int] = {}
        self.board_ms: list[float] = []
        self.audio_ms: list[float] = []
        self.warmup_ms = {"board_ms": 0.0, "audio_ms": 0.0}

    def on_frame(self, msg_type: int, seq: int, payload: bytes) -> None:
        """The client's raw frame tap: each sample's stamp as the board sent it, before it is unwrapped."""
        if msg_type in (wire.FLUTE, wire.BELT):
            self._raw_us[msg_type, seq] = wire.decode(msg_type, payload)["t_us"]

    def __call__(self, stamped: Stamped) -> None:
        event = stamped.event
        msg_type = STREAM_TYPES.get(type(event))
        if msg_type is not None:
            raw_us = self._raw_us.pop((msg_type, event.seq), None)
            if raw_us is not None:
                self._note("board_ms", stamped.t_s, self._truth.board_monotonic_s(raw_us))
        elif isinstance(event, AudioChunk):
            assert self._truth.audio_monotonic_s is not None
            self._note("audio_ms", stamped.t_s, self._truth.audio_monotonic_s(event.first_sample))

    def _note(self, name: str, t_s: float, true_monotonic_s: float) -> None:
        error_ms = abs(t_s - (true_monotonic_s - self._origin_s)) * 1000
        if t_s < WARMUP_S:
            self.warmup_ms[name] = max(self.warmup_ms[name], error_ms)
        else:
            getattr(self, name).append(error_ms)


async def bench_clock(minutes: float, report: Callable[[str], None] = lambda line: None) -> dict:
    seconds = minutes * 60
    async with open_instrument("sim://") as instrument:
        client, truth = instrument.client, instrument.truth
        assert client.info is not None and truth is not None  # sim:// connected
        session = Session(
            client,
            profile=InstrumentProfile.load(client.info.details.get("profile", "six_hole")),
            audio=instrument.audio,
            sample_rate_hz=instrument.sample_rate_hz,
            input_latency_s=0.0,
        )
        check = TruthCheck(truth, session.clock.origin_s)
        client.tap_frames(check.on_frame)
        session.timeline.add_listener(check)
        link = session.timeline.subscribe()
        async with session:
            start = time.monotonic()
            await _pace(start, seconds / 2, report, check)
            await stall_until_reconnected(client, link)
            report(f"{time.monotonic() - start:6.1f} s  reconnected")
            await _pace(start, seconds, report, check)
        stats = session.stats
    return {
        "minutes": minutes,
        "board_ms": spread(sorted(check.board_ms)),
        "audio_ms": spread(sorted(check.audio_ms)),
        "reconnects": client.stats.reconnects,
        "samples": {"board_ms": len(check.board_ms), "audio_ms": len(check.audio_ms)},
        "warmup_max_ms": {name: round(value, 3) for name, value in check.warmup_ms.items()},
        "audio_dropped_blocks": stats.audio_dropped_blocks,
    }


async def _pace(start: float, until_s: float, report: Callable[[str], None], check: TruthCheck) -> None:
    while (remaining := start + until_s - time.monotonic()) > 0:
        await asyncio.sleep(min(remaining, REPORT_PERIOD_S))
        board = spread(sorted(check.board_ms))
        report(f"{time.monotonic() - start:6.1f} s  board p99 {board['p99']} ms over {len(check.board_ms)}")


async def stall_until_reconnected(client: DeviceClient, link: Subscription[Stamped]) -> None:
    """The host stalls: no heartbeats until the board ends the session and the client finds it again."""
    await client.pause_heartbeats()
    try:
        await _next(link, LinkLost)
    finally:
        client.resume_heartbeats()
    restored = await _next(link, LinkRestored)
    if restored.event.rebooted:
        raise FlutexError("the board restarted instead of reconnecting")


async def _next(link: Subscription[Stamped], kind: type) -> Stamped:
    async with asyncio.timeout(RECONNECT_TIMEOUT_S):
        while True:
            stamped = await link.get()
            if isinstance(stamped.event, kind):
                if isinstance(stamped.event, LinkLost) and stamped.event.final:
                    raise FlutexError(f"lost the board: {stamped.event.reason}")
                return stamped
