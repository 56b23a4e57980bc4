"""A microphone that hears a script: recorded or synthesized speech and silence, in a quiet room.

The voice loop's tests and benchmark speak to it exactly as a student speaks to `MicrophoneStream`: the same
`TimedBlock`s, in order, with their sample indices. It can be fed while it is being read (a reply's echo, the
next command), and its blocks come as fast as they are read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from flutex.host.audio.blocks import TimedBlock
from flutex.host.audio.sources import DEFAULT_BLOCK
from flutex.host.voice.stt import resample

QUIET_ROOM_DBFS = -60.0


class ScriptedMicrophone:
    """Mono blocks of `block` samples at `rate_hz`, with white noise at `noise_dbfs` under everything (a real room
    is never digitally silent). Blocks carry no ADC time, like a file's."""

    def __init__(
        self, rate_hz: int = 16000, block: int = DEFAULT_BLOCK, noise_dbfs: float = QUIET_ROOM_DBFS, seed: int = 0
    ) -> None:
        self.rate_hz = rate_hz
        self.block = block
        self._noise_rms = 10 ** (noise_dbfs / 20)
        self._rng = np.random.default_rng(seed)
        self._queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue()
        self._written = 0

    @property
    def written_s(self) -> float:
        """How much audio the script holds so far, in seconds: where the next piece will start."""
        return self._written / self.rate_hz

    def say(self, samples: np.ndarray, rate_hz: int) -> tuple[float, float]:
        """Add speech (resampled to the microphone's rate); returns where it sits on the stream's clock (s)."""
        start_s = self.written_s
        self._add(resample(samples, rate_hz, self.rate_hz))
        return start_s, self.written_s

    def silence(self, seconds: float) -> None:
        self._add(np.zeros(round(seconds * self.rate_hz), dtype=np.float32))

    def end(self) -> None:
        """No more audio: `blocks()` ends after what was said."""
        self._queue.put_nowait(None)

    def _add(self, samples: np.ndarray) -> None:
        noisy = samples + self._rng.standard_normal(len(samples)) * self._noise_rms
        self._queue.put_nowait(noisy.astype(np.float32))
        self._written += len(samples)

    async def blocks(self) -> AsyncIterator[TimedBlock]:
        """The script in blocks (the last one zero-padded), as they become available, until `end()`."""
        pending = np.zeros(0, dtype=np.float32)
        first_sample = 0
        while (piece := await self._queue.get()) is not None:
            pending = np.concatenate([pending, piece])
            while len(pending) >= self.block:
                yield TimedBlock(pending[: self.block], first_sample)
                pending, first_sample = pending[self.block :], first_sample + self.block
        if len(pending):
            yield TimedBlock(np.pad(pending, (0, self.block - len(pending))), first_sample)
