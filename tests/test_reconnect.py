"""The device client survives the board going away and coming back (unplug and replug)."""

import asyncio
import json
import os
import time

import pytest
from device_helpers import connect_then_unplug, next_event

from flutex.hardware import load_pinmap
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
        assert lost.host_s < restored.host_s <= time.monotonic(), "both stamped with the host's clock when noticed"
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


@pytest.mark.parametrize(
    ("change", "what"),
    [({"ble_name": "another-flute"}, "id"), ({"profile": "boehm"}, "profile")],
    ids=["another chip", "another profile"],
)
async def test_a_different_board_answering_the_reconnect_is_refused_not_mixed_in(tmp_path, change, what):
    """The stable port now leads to another board (another chip, simulated by another pin map; or the same kind of
    chip driving another instrument): the session ends with a final LinkLost that says so, and nothing of the
    other board's streams reaches the listeners."""
    pinmap = load_pinmap() | change
    other_pinmap = tmp_path / "pinmap.json"
    other_pinmap.write_text(json.dumps(pinmap))
    stable = tmp_path / "flutex-board"
    client, events = await connect_then_unplug(stable, reconnect_timeout_s=15.0)
    first = client.info
    assert not (await next_event(events, LinkLost)).final
    async with simulation(pinmap_path=other_pinmap) as other:
        os.symlink(other.port, stable)
        final = await next_event(events, LinkLost, 15.0)
        assert final.final and "a different board answered" in final.reason
        assert "not mixed into this session" in final.reason and first.details[what] in final.reason
        assert change.get("profile", first.details["profile"]) in final.reason
        assert client.info is first, "the session's board is still the one it began with"
        received = client.stats.bytes_received
        await _until(lambda: client.stats.bytes_received > received + 200)  # the other board streams on meanwhile
        assert not any(isinstance(event, (FluteSample, LinkRestored)) for event in _drain(events))
        await client.close()


async def _until(condition, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.01)


def _drain(events):
    while (event := events.get_nowait()) is not None:
        yield event
