"""Audio sources yielding fixed-size mono float32 blocks: a file, a synthesized signal, or the microphone.

Scripts iterate (`for block in source.blocks(): ...`, blocking). The live loop uses `MicrophoneStream`, whose
PortAudio callback only copies into preallocated slots and posts the slot number on a queue: it never allocates
an array or blocks, and counts the blocks it had to drop when the consumer fell behind.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import soundfile

from flutex.errors import FlutexError, UsageError

DEFAULT_BLOCK = 256
# PortAudio's latency setting for live streams, shared with latency calibration so that the calibrated delay is
# the live loop's. "high" (PortAudio's default): through PulseAudio, "low" underran constantly and its delay
# jumped between runs, while "high" came back the same within 0.1 ms on most stream openings.
STREAM_LATENCY = "high"


class BlockSource(Protocol):
    """A mono stream at `sample_rate_hz`, read as blocks of exactly `block` samples (the last one zero-padded)."""

    sample_rate_hz: int
    block: int

    def blocks(self) -> Iterator[np.ndarray]: ...


def _pad(chunk: np.ndarray, block: int) -> np.ndarray:
    if len(chunk) == block:
        return chunk
    out = np.zeros(block, dtype=np.float32)
    out[: len(chunk)] = chunk
    return out


@dataclass
class ArraySource:
    """A signal already in memory, e.g. synthesized by `flutex.audio.synth`."""

    samples: np.ndarray
    sample_rate_hz: int
    block: int = DEFAULT_BLOCK

    def blocks(self) -> Iterator[np.ndarray]:
        mono = np.asarray(self.samples, dtype=np.float32).ravel()
        for start in range(0, len(mono), self.block):
            yield _pad(mono[start : start + self.block], self.block)


@dataclass
class FileSource:
    """Any file libsndfile reads (WAV, FLAC, OGG, ...); channels are averaged to mono."""

    path: Path
    block: int = DEFAULT_BLOCK

    def __post_init__(self) -> None:
        try:
            info = soundfile.info(str(self.path))
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            raise UsageError(f"cannot read audio file {self.path}: {error}; give a WAV, FLAC or OGG file") from None
        self.sample_rate_hz = int(info.samplerate)

    def blocks(self) -> Iterator[np.ndarray]:
        for chunk in soundfile.blocks(str(self.path), blocksize=self.block, dtype="float32", always_2d=True):
            yield _pad(chunk.mean(axis=1, dtype=np.float32), self.block)

    def read_all(self) -> np.ndarray:
        """The whole file as one mono float32 array (for offline analysis)."""
        data, _ = soundfile.read(str(self.path), dtype="float32", always_2d=True)
        return data.mean(axis=1, dtype=np.float32)


def import_sounddevice() -> ModuleType:
    """Import python-sounddevice only when live audio is wanted: it needs the PortAudio shared library."""
    try:
        import sounddevice
    except (ImportError, OSError) as error:
        raise FlutexError(
            f"live audio is unavailable ({error}); install it with `pip install 'flutex[live]'` "
            "and the PortAudio library (Debian: apt-get install libportaudio2)"
        ) from None
    return sounddevice


class MicrophoneStream:
    """Live input: a PortAudio stream filling a ring of preallocated blocks.

    Use as a context manager; `read(timeout_s)` returns the next block (a view valid until `slots` more blocks
    have arrived) and `blocks()` iterates until closed. `dropped_blocks` counts overruns.
    """

    def __init__(
        self, sample_rate_hz: int = 44100, block: int = DEFAULT_BLOCK, device: int | str | None = None, slots: int = 64
    ) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.block = block
        self.device = device
        self.dropped_blocks = 0
        self._ring = np.zeros((slots, block), dtype=np.float32)
        self._ready: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._written = 0
        self._read = 0
        self._stream: Any = None

    def callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        """PortAudio's real-time callback: copy into the next free slot, never allocate or wait."""
        if self._written - self._read >= len(self._ring) - 1:
            self.dropped_blocks += 1
            return
        slot = self._written % len(self._ring)
        np.copyto(self._ring[slot], indata[:, 0])
        self._written += 1
        self._ready.put_nowait(slot)

    def __enter__(self) -> MicrophoneStream:
        sounddevice = import_sounddevice()
        try:
            self._stream = sounddevice.InputStream(
                samplerate=self.sample_rate_hz,
                blocksize=self.block,
                device=self.device,
                channels=1,
                dtype="float32",
                latency=STREAM_LATENCY,
                callback=self.callback,
            )
            self._stream.start()
        except sounddevice.PortAudioError as error:
            raise FlutexError(
                f"cannot open the microphone ({error}); check `--device` and that one is plugged in"
            ) from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def read(self, timeout_s: float | None = None) -> np.ndarray:
        """Block until the next audio block arrives (queue.Empty after `timeout_s`)."""
        slot = self._ready.get(timeout=timeout_s)
        self._read += 1
        return self._ring[slot]

    def blocks(self) -> Iterator[np.ndarray]:
        while self._stream is not None:
            yield self.read()
