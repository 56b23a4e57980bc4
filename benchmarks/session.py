"""What the session timeline costs: per listener, and over an hour of play.

1. Fan-out: microseconds per published event with no listener (the baseline), then with one callback, one
   subscription, one thread tap, and ten subscriptions, as ratios to the baseline; and the drop count and queue
   length of a subscription that never reads (memory stays bounded: the queue never exceeds its size).
2. An hour of play, faster than real time: a `Session` fed the streams of the 200 Hz flute, the 100 Hz belt, their
   link timing and 44.1 kHz audio in 256-sample blocks (the simulated player's sound), every event recorded to an
   MCAP file in a temporary folder, as `flutex demo` does. Prints the host's resident memory (RSS) at 1, 10 and 60
   minutes of timeline, the file's size, and how much faster than real time it ran. The device client needs a
   board in real time, so the streams come from a stand-in with the client's two hooks (`SessionClient`).

Usage: python benchmarks/session.py [--minutes 60] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.blocks import TimedBlock
from flutex.host.fanout import Notifier
from flutex.host.link.events import BeltSample, Event, FluteSample, LinkTiming
from flutex.host.session.recording import Recorder, SessionInfo
from flutex.host.session.session import Session
from flutex.sim.audio import PlayerAudio
from flutex.sim.player import VirtualPlayer

SR = 44100
BLOCK = 256
FLUTE_HZ = 200
BELT_HZ = 100
LINK_LATENCY_S = 0.0004
RSS_AT_MIN = (1, 10, 60)
AUDIO_LOOP_S = 30.0  # the player's sound is rendered once for this long and played round


def rss_mb() -> float:
    """Resident memory of this process now (not the peak)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def publish_cost_us(notifier: Notifier[int], events: int) -> float:
    start = time.perf_counter()
    for event in range(events):
        notifier.publish(event)
    return (time.perf_counter() - start) / events * 1e6


def fanout(events: int) -> dict:
    """Cost per publish for each kind of listener, and what a reader that never reads costs."""
    kinds: dict[str, Callable[[Notifier[int]], object]] = {
        "none": lambda notifier: None,
        "callback": lambda notifier: notifier.add_listener(lambda event: None),
        "subscription": lambda notifier: notifier.subscribe(),
        "tap": lambda notifier: notifier.tap(),
        "10 subscriptions": lambda notifier: [notifier.subscribe() for _ in range(10)],
    }
    costs = {}
    for name, attach in kinds.items():
        notifier: Notifier[int] = Notifier()
        attach(notifier)
        costs[name] = publish_cost_us(notifier, events)
    stalled_notifier: Notifier[int] = Notifier()
    stalled = stalled_notifier.subscribe(maxsize=4096)
    publish_cost_us(stalled_notifier, events)
    return {
        "publish_us": {name: round(cost, 3) for name, cost in costs.items()},
        "ratio_to_none": {name: round(cost / costs["none"], 2) for name, cost in costs.items()},
        "never_read": {"published": events, "queued": len(stalled), "dropped": stalled.dropped},
    }


class StandInLink:
    """The device client's two hooks the session uses, fed by hand (a board cannot run faster than real time)."""

    def __init__(self) -> None:
        self.events: Notifier[Event] = Notifier()
        self._timing: Notifier[LinkTiming] = Notifier()

    def add_timing_listener(self, callback: Callable[[LinkTiming], None]) -> Callable[[], None]:
        return self._timing.add_listener(callback)

    def frame(self, event: FluteSample | BeltSample, host_s: float) -> None:
        self._timing.publish(LinkTiming(event.t_s, host_s + LINK_LATENCY_S, None))
        self.events.publish(event)


async def hour(minutes: float, folder: Path) -> dict:
    profile = InstrumentProfile.load("six_hole")
    player = VirtualPlayer()
    sound = list(PlayerAudio(player, AUDIO_LOOP_S, SR, BLOCK).blocks())
    link = StandInLink()
    session = Session(link, profile=profile, sample_rate_hz=SR, input_latency_s=0.0)
    origin = session.clock.origin_s
    info = SessionInfo(round(origin * 1e9), datetime.now().astimezone(), profile=profile.name)
    recorder = Recorder(folder / "hour.mcap", info).listen(session.timeline)
    rss = {"start": round(rss_mb(), 1)}
    checkpoints = [m for m in RSS_AT_MIN if m <= minutes]
    blocks_per_s = SR / BLOCK
    started = time.perf_counter()
    await session.start()
    second = 0
    while second < minutes * 60:
        # one second of timeline: the flute's frames, the belt's, and the audio blocks captured in it
        for k in range(FLUTE_HZ):
            t_s = second + k / FLUTE_HZ
            moment = player.moment(t_s)
            link.frame(FluteSample(t_s, second * FLUTE_HZ + k, moment.closed_mask, moment.mouth_pa), origin + t_s)
            if k % (FLUTE_HZ // BELT_HZ) == 0:
                link.frame(BeltSample(t_s, second * BELT_HZ + k // 2, moment.belt_pa), origin + t_s)
        first_block = round(second * blocks_per_s)
        for index in range(first_block, round((second + 1) * blocks_per_s)):
            samples = sound[index % len(sound)]
            session.on_audio_block(TimedBlock(samples, index * BLOCK, origin + index * BLOCK / SR), origin)
        second += 1
        if checkpoints and second == checkpoints[0] * 60:
            rss[f"{checkpoints.pop(0)} min"] = round(rss_mb(), 1)
            print(f"{second // 60} min of timeline: RSS {rss_mb():.1f} MB", flush=True)
    await session.stop()
    elapsed = time.perf_counter() - started
    recorder.close()
    return {
        "minutes": minutes,
        "rss_mb": rss,
        "events": session.stats.published,
        "recording_mb": round((folder / "hour.mcap").stat().st_size / 1e6, 1),
        "times_real_time": round(minutes * 60 / elapsed, 2),
        "listener_drops": list(session.stats.listener_drops),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of timeline to play (default 60)")
    parser.add_argument("--events", type=int, default=200_000, help="events per fan-out measurement")
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object, last line")
    args = parser.parse_args()
    result = {"fanout": fanout(args.events)}
    print(json.dumps(result["fanout"]), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        result["session"] = asyncio.run(hour(args.minutes, Path(folder)))
    if args.json:
        print(json.dumps(result))
        return
    for name, cost in result["fanout"]["publish_us"].items():
        print(f"publish to {name:16}: {cost:.3f} us ({result['fanout']['ratio_to_none'][name]}x no listener)")
    never = result["fanout"]["never_read"]
    print(f"a subscription never read: {never['queued']} queued, {never['dropped']} dropped of {never['published']}")
    session = result["session"]
    print(
        f"{session['minutes']:g} min of timeline, {session['events']} events, {session['times_real_time']}x real "
        f"time; RSS MB {session['rss_mb']}; recording {session['recording_mb']} MB"
    )


if __name__ == "__main__":
    main()
