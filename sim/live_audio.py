"""The simulated flute heard live: the player's sound paced in real time, like a microphone and its driver.

Each block comes out when its last sample would have been captured. It carries the index of its first sample as a
driver counts it and the capture time of that sample on `time.monotonic()`'s clock, with a little seeded jitter as
a driver's timestamps have. Blocks listed in `drop_blocks` are lost silently, as in a driver overflow: the next
block's `first_sample` runs on as if nothing was lost, only its `adc_s` shows the gap. The simulator alone knows
the truth (`true_time_s`, `source_sample`), so tests can check a session clock against it.

The microphone can be told that another performance starts (`perform`): from that sample on it hears the new
player, from the new player's time 0, to the sample.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence

import numpy as np

from flutex.host.audio.blocks import TimedBlock
from flutex.host.audio.synth import FLUTE_LIKE
from flutex.sim.audio import PlayerAudio
from flutex.sim.player import VirtualPlayer

ADC_JITTER_S = 0.0002  # spread of a driver's capture timestamps


class LiveSimAudio:
    """The sound of `player` from player time 0 = `start_monotonic_s` on `time.monotonic()`'s clock (sample 0), then
    of each player `perform` starts."""

    def __init__(
        self,
        player: VirtualPlayer,
        start_monotonic_s: float,
        sample_rate_hz: int = 44100,
        block: int = 256,
        adc_jitter_s: float = ADC_JITTER_S,
        drop_blocks: Iterable[int] = (),
        seed: int = 0,
        harmonics: Sequence[float] = FLUTE_LIKE,
    ) -> None:
        """`drop_blocks`: indices of the source's blocks (0 = the first captured) the driver loses silently."""
        self.start_monotonic_s = start_monotonic_s
        self.sample_rate_hz = sample_rate_hz
        self.block = block
        self.adc_jitter_s = adc_jitter_s
        self.dropped = tuple(sorted(set(drop_blocks)))
        self.harmonics = tuple(harmonics)
        self.seed = seed
        self._sound = _Rendered(PlayerAudio(player, None, sample_rate_hz, block, self.harmonics, seed))
        self._coming: list[tuple[int, VirtualPlayer]] = []  # performances to come: (first sample, player)
        self._next_sample = 0  # the first sample not rendered yet
        self._switches = 0
        self._jitter = np.random.default_rng(seed)

    def perform(self, player: VirtualPlayer, start_monotonic_s: float) -> None:
        """From `start_monotonic_s` on (its nearest sample), hear `player` from its time 0; a performance already
        under way is cut there, and any due later is dropped. A start already rendered is joined where the
        microphone is: the new player's sound before it is skipped."""
        first = round((start_monotonic_s - self.start_monotonic_s) * self.sample_rate_hz)
        self._coming = [(sample, coming) for sample, coming in self._coming if sample < first]
        self._coming.append((first, player))

    def _render(self) -> np.ndarray:
        """The next block of samples, switching to each performance at its first sample."""
        start, end = self._next_sample, self._next_sample + self.block
        parts = []
        while self._coming and self._coming[0][0] < end:
            first, player = self._coming.pop(0)
            parts.append(self._sound.take(max(0, first - start)))
            start = max(start, first)
            self._switches += 1  # each performance's own noise
            audio = PlayerAudio(
                player, None, self.sample_rate_hz, self.block, self.harmonics, self.seed + self._switches
            )
            self._sound = _Rendered(audio)
            self._sound.take(start - first)  # a start already rendered: join the performance where it is
        parts.append(self._sound.take(end - start))
        self._next_sample = end
        return np.concatenate(parts)

    async def blocks(self) -> AsyncIterator[TimedBlock]:
        """Endless blocks, each when its last sample is captured (at once if the reader is behind)."""
        reported = 0
        for index in itertools.count():
            samples = self._render()
            captured = self.true_time_s(index * self.block)
            jitter = float(self._jitter.normal(0.0, self.adc_jitter_s))
            due = captured + self.block / self.sample_rate_hz
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if index in self.dropped:
                continue
            yield TimedBlock(samples, reported, captured + jitter)
            reported += self.block

    def true_time_s(self, sample_index: int) -> float:
        """When the source captured sample `sample_index` (counted by the source, dropped blocks included), on
        `time.monotonic()`'s clock."""
        return self.start_monotonic_s + sample_index / self.sample_rate_hz

    def source_sample(self, first_sample: int) -> int:
        """The source's own index of the sample a delivered block calls `first_sample` (which misses the drops)."""
        block = first_sample // self.block
        skipped = 0
        for dropped in self.dropped:  # each drop before the block's real position shifts it one block on
            if dropped <= block + skipped:
                skipped += 1
        return first_sample + skipped * self.block


class _Rendered:
    """A player's sound, rendered block by block, taken in any number of samples."""

    def __init__(self, audio: PlayerAudio) -> None:
        self._blocks: Iterator[np.ndarray] = audio.blocks()
        self._left = np.zeros(0, dtype=np.float32)

    def take(self, count: int) -> np.ndarray:
        parts, wanted = [], count
        while wanted > 0:
            if not len(self._left):
                self._left = next(self._blocks)
            part, self._left = self._left[:wanted], self._left[wanted:]
            parts.append(part)
            wanted -= len(part)
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
