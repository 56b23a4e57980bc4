"""The simulated microphone: blocks paced in real time, stamped like a driver's, dropped silently on demand."""

import time

import numpy as np

from flutex.sim.audio import PlayerAudio
from flutex.sim.live_audio import LiveSimAudio
from flutex.sim.player import VirtualPlayer

SR, BLOCK = 44100, 256
BLOCK_S = BLOCK / SR


async def take(source: LiveSimAudio, n: int) -> list[tuple[float, object]]:
    """The first `n` blocks and the monotonic time each arrived."""
    out = []
    async for block in source.blocks():
        out.append((time.monotonic(), block))
        if len(out) == n:
            return out
    raise AssertionError("the live source ended")


async def test_each_block_arrives_once_its_last_sample_is_captured():
    source = LiveSimAudio(VirtualPlayer(), time.monotonic(), SR, BLOCK)
    blocks = await take(source, 40)
    for arrived, block in blocks:
        captured_last = source.true_time_s(block.first_sample + BLOCK)
        assert arrived >= captured_last - 0.001
    assert blocks[-1][0] - blocks[0][0] >= 39 * BLOCK_S - 0.002, "real time, not as fast as possible"


async def test_it_sounds_as_the_player_audio_does():
    player = VirtualPlayer()
    start = time.monotonic() - 2.0  # two seconds of sound already due: they come at once
    live = [block.samples for _, block in await take(LiveSimAudio(player, start, SR, BLOCK), 300)]
    offline = PlayerAudio(player, 300 * BLOCK_S, SR, BLOCK).blocks()
    assert all(np.array_equal(a, b) for a, b in zip(live, offline, strict=False))


async def test_a_silent_drop_shifts_the_count_but_not_the_capture_time_and_the_truth_knows():
    source = LiveSimAudio(VirtualPlayer(), time.monotonic() - 1.0, SR, BLOCK, adc_jitter_s=0.0, drop_blocks=(3, 7, 8))
    blocks = [block for _, block in await take(source, 20)]
    assert [b.first_sample for b in blocks] == [i * BLOCK for i in range(20)], "the driver does not count drops"
    source_blocks = [source.source_sample(b.first_sample) // BLOCK for b in blocks]
    assert source_blocks[:9] == [0, 1, 2, 4, 5, 6, 9, 10, 11]
    for b, index in zip(blocks, source_blocks, strict=True):
        assert b.adc_s == source.true_time_s(index * BLOCK)


async def test_capture_times_jitter_as_a_driver_does_and_the_same_seed_jitters_the_same():
    start = time.monotonic() - 5.0

    async def stamps(seed):
        source = LiveSimAudio(VirtualPlayer(), start, SR, BLOCK, adc_jitter_s=0.0003, seed=seed)
        blocks = [block for _, block in await take(source, 500)]
        return np.array([b.adc_s - source.true_time_s(b.first_sample) for b in blocks])

    a, b, c = await stamps(1), await stamps(1), await stamps(2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs(a.mean()) < 0.00005 and 0.00025 < a.std() < 0.00035
