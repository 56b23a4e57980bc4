"""The session timeline end to end on the simulator: the demo records its session and a replay's analysis equals
the live one; the session clock holds to the simulator's truth across a reconnect and a reboot."""

import asyncio
from pathlib import Path

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.commands.bench_clock import WARMUP_S, TruthCheck, stall_until_reconnected
from flutex.host.commands.demo import run_session
from flutex.host.link.client import DeviceClient
from flutex.host.link.events import LinkRestored
from flutex.host.link.opener import ClockTruth
from flutex.host.link.timing import percentile
from flutex.host.link.transport import SerialTransport
from flutex.host.session.events import NoteStarted
from flutex.host.session.pipeline import Pipeline
from flutex.host.session.playback import Recording, reanalyse
from flutex.host.session.session import Session
from flutex.sim.world import world

CLOCK_GOAL_MS = 2.0  # the goal for the timeline's p99 error


async def test_the_demo_records_a_session_whose_replay_gives_what_it_gave_live(tmp_path):
    summary = await run_session("sim://", 5.0, progress=False, recordings=tmp_path)
    recording = Recording(Path(summary["recording"]))
    again = reanalyse(recording, Pipeline(InstrumentProfile.load("six_hole"), input_latency_s=0.0))
    assert recording.complete and recording.damage is None
    assert recording.info is not None and recording.info.board is not None
    assert recording.counts["/flute_sample"] >= 0.9 * 5 * 200
    notes = [s for s in again.live if isinstance(s.event, NoteStarted)]
    assert len(notes) >= 3 and summary["timeline"]["notes"] == len(notes)
    assert again.replayed == again.live


async def wait_until(condition, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.05)


async def test_the_session_clock_holds_to_the_simulators_truth_across_astall_until_reconnected_and_a_reboot():
    async with world() as running:
        microphone = running.microphone()
        client = DeviceClient(SerialTransport(running.board.port))
        await client.connect()
        try:
            session = Session(
                client,
                profile=InstrumentProfile.load("six_hole"),
                audio=microphone.blocks(),
                input_latency_s=0.0,
            )
            check = TruthCheck(
                ClockTruth(running.board.true_monotonic_s, microphone.true_time_s), session.clock.origin_s
            )
            client.tap_frames(check.on_frame)
            session.timeline.add_listener(check)
            link = session.timeline.subscribe()
            async with session:
                await wait_until(lambda: session.clock.now() > WARMUP_S + 3, 15)
                await stall_until_reconnected(client, link)
                reconnected = len(check.board_ms)
                await wait_until(lambda: len(check.board_ms) > reconnected + 600, 15)
                rebooted_at = len(check.board_ms)
                await running.board.restart()
                restored = await link.get()
                while not isinstance(restored.event, LinkRestored):
                    restored = await asyncio.wait_for(link.get(), 15)
                assert restored.event.rebooted
                await wait_until(lambda: len(check.board_ms) > rebooted_at + 600, 15)
        finally:
            await client.close()
    assert client.stats.reconnects == 2 and client.stats.reboots == 1
    for name in ("board_ms", "audio_ms"):
        errors = sorted(getattr(check, name))
        assert len(errors) > 500, name
        assert percentile(errors, 99) <= CLOCK_GOAL_MS, (name, percentile(errors, 99), errors[-1])
    after_reboot = sorted(check.board_ms[rebooted_at:])
    assert percentile(after_reboot, 99) <= CLOCK_GOAL_MS
