"""The device client survives the board going away and coming back (unplug and replug)."""

import os

from device_helpers import connect_then_unplug, next_event

from flutex.host.link.events import FluteSample, LinkLost, LinkRestored
from flutex.sim.world import simulation


async def test_reconnects_when_the_port_disappears_and_returns(tmp_path):
    stable = tmp_path / "flutex-board"
    client, events = await connect_then_unplug(stable, reconnect_timeout_s=15.0)
    lost = await next_event(events, LinkLost)
    assert not lost.final
    async with simulation() as second:
        os.symlink(second.port, stable)
        restored = await next_event(events, LinkRestored, 15.0)
        assert restored.info.protocol_version == client.info.protocol_version
        sample = await next_event(events, FluteSample, 2.0)
        assert sample.t_s >= 0
        assert (await client.arm()).accepted, "commands work again after the reconnect"
        await client.close()


async def test_gives_up_with_a_final_event_when_the_board_stays_away(tmp_path):
    client, events = await connect_then_unplug(tmp_path / "flutex-board", reconnect_timeout_s=0.5)
    assert not (await next_event(events, LinkLost)).final
    final = await next_event(events, LinkLost)
    assert final.final and "gave up" in final.reason
    await client.close()
