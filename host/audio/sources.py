"""Audio sources yielding fixed-size mono float32 blocks: a file, a synthesized signal, or the microphone.

Scripts iterate (`for block in source.blocks(): ...`, blocking). The live loop uses `MicrophoneStream`, whose
PortAudio callback only copies into preallocated slots and posts the slot number on a queue: it never allocates
an array or blocks, and counts the blocks it had to drop when the consumer fell behind. Its blocks are
`TimedBlock`s: each carries PortAudio's ADC time of its first sample, on the host's monotonic clock, and the
index of that sample (a block dropped here leaves a gap in the indices).
"""

from __future__ import annotations

import asyncio
import math
import queue
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import soundfile

from flutex.host.audio.blocks import TimedBlock
from flutex.host.errors import FlutexError, UsageError

DEFAULT_BLOCK = 256
# PortAudio's latency setting for live streams, shared with latency calibration so that the calibrated delay is
# the live loop's. "high" (PortAudio's default): through PulseAudio, "low" underran constantly and its delay
# jumped between runs, while "high" came back the same within 0.1 ms on most stream openings.
STREAM_LATENCY = "high"
READ_CHUNK = 4096  # samples per decoder call: FLAC's usual frame, so an error loses nothing decoded before it
EMPTY_FILE_BYTES = 4096  # a file this big that decodes to no audio at all is cut off (e.g. Ogg without its end)


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
    """A signal already in memory, e.g. synthesized by `flutex.host.audio.synth`."""

    samples: np.ndarray
    sample_rate_hz: int
    block: int = DEFAULT_BLOCK

    def blocks(self) -> Iterator[np.ndarray]:
        mono = np.asarray(self.samples, dtype=np.float32).ravel()
        for start in range(0, len(mono), self.block):
            yield _pad(mono[start : start + self.block], self.block)


class DamagedAudioError(UsageError):
    """The file decoded up to `decoded_s` seconds, then the decoder failed (a corrupt or cut-off file)."""

    def __init__(self, path: Path, decoded_s: float, reason: str) -> None:
        super().__init__(f"{path} is damaged: decoding stopped at {decoded_s:.3f} s ({reason})")
        self.decoded_s = decoded_s


@dataclass
class FileSource:
    """Any file libsndfile reads (WAV, FLAC, OGG, MP3...); channels are averaged to mono.

    Read in pieces, never whole: memory stays flat whatever the file's length. A file that cannot be opened raises
    `UsageError` at construction, with the reason (no such file, not audio...). A file that fails part-way raises
    `DamagedAudioError` from `chunks()` / `blocks()` after yielding everything decoded before the damage.
    """

    path: Path
    block: int = DEFAULT_BLOCK

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        try:
            with open(self.path, "rb"):  # the operating system's reason (missing, a directory, no permission...)
                pass
        except OSError as error:
            raise UsageError(f"cannot read audio file {self.path}: {error.strerror or error}") from None
        try:
            info = soundfile.info(str(self.path))
        except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
            reason = str(getattr(error, "error_string", "") or error).rstrip(".")
            raise UsageError(f"cannot read audio file {self.path}: {reason}; give a WAV, FLAC or OGG file") from None
        self.sample_rate_hz = int(info.samplerate)
        self.frames = int(info.frames)  # as the header says; a cut-off file may hold fewer
        if self.frames == 0 and self.path.stat().st_size > EMPTY_FILE_BYTES:
            raise DamagedAudioError(self.path, 0.0, "no audio could be decoded: the file may be cut off")

    def chunks(self, size: int = READ_CHUNK) -> Iterator[np.ndarray]:
        """The file as consecutive mono float32 pieces of at most `size` samples (the last one shorter), decoded one
        at a time. Pieces are no longer than a FLAC frame, so a decoding error loses no sample decoded before it."""
        decoded = 0
        try:
            with soundfile.SoundFile(str(self.path)) as audio:
                while True:
                    chunk = audio.read(size, dtype="float32", always_2d=True)
                    if not len(chunk):
                        break
                    decoded += len(chunk)
                    yield chunk[:, 0] if chunk.shape[1] == 1 else chunk.mean(axis=1, dtype=np.float32)
        except (RuntimeError, soundfile.LibsndfileError) as error:
            reason = str(getattr(error, "error_string", "") or error).removeprefix("Error : ").rstrip(".")
            raise DamagedAudioError(self.path, decoded / self.sample_rate_hz, reason) from None

    def blocks(self) -> Iterator[np.ndarray]:
        pending = np.zeros(0, dtype=np.float32)
        for chunk in self.chunks():
            data = np.concatenate([pending, chunk]) if len(pending) else chunk
            whole = len(data) - len(data) % self.block
            yield from data[:whole].reshape(-1, self.block)
            pending = data[whole:]
        if len(pending):
            yield _pad(pending, self.block)

    def read_all(self) -> np.ndarray:
        """The whole file as one mono float32 array (for short files only: it is all in memory)."""
        parts = list(self.chunks())
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


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

    Use as a context manager; `read(timeout_s)` returns the next `TimedBlock`, `blocks()` iterates until closed
    and `timed_blocks()` does the same for an event loop (a `Session`'s audio). `dropped_blocks` counts overruns.
    """

    def __init__(
        self, sample_rate_hz: int = 44100, block: int = DEFAULT_BLOCK, device: int | str | None = None, slots: int = 64
    ) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.block = block
        self.device = device
        self.dropped_blocks = 0
        self._ring = np.zeros((slots, block), dtype=np.float32)
        self._first_sample = np.zeros(slots, dtype=np.int64)
        self._adc_s = np.full(slots, np.nan)  # NaN: the driver gave no ADC time
        self._samples_seen = 0
        self._ready: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._written = 0
        self._read = 0
        self._stream: Any = None

    def callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's real-time callback: copy into the next free slot with its first sample's index and ADC time,
        never allocate or wait. PortAudio gives the ADC time on the stream's clock; `currentTime`, read at the same
        moment as `time.monotonic()` here, maps it onto the host's monotonic clock (0 from a driver that has none)."""
        first_sample = self._samples_seen
        self._samples_seen += frames
        if self._written - self._read >= len(self._ring) - 1:
            self.dropped_blocks += 1
            return
        slot = self._written % len(self._ring)
        np.copyto(self._ring[slot], indata[:, 0])
        self._first_sample[slot] = first_sample
        adc, now = time_info.inputBufferAdcTime, time_info.currentTime
        self._adc_s[slot] = time.monotonic() - now + adc if adc > 0 and now > 0 else np.nan
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

    def read(self, timeout_s: float | None = None) -> TimedBlock:
        """Block until the next audio block arrives (queue.Empty after `timeout_s`); its samples are a copy."""
        slot = self._ready.get(timeout=timeout_s)
        adc_s = float(self._adc_s[slot])
        block = TimedBlock(self._ring[slot].copy(), int(self._first_sample[slot]), None if math.isnan(adc_s) else adc_s)
        self._read += 1
        return block

    def blocks(self) -> Iterator[TimedBlock]:
        while self._stream is not None:
            yield self.read()

    async def timed_blocks(self, poll_s: float = 0.5) -> AsyncIterator[TimedBlock]:
        """The blocks for an event loop: each read waits in a worker thread, so the loop never blocks."""
        while self._stream is not None:
            try:
                yield await asyncio.to_thread(self.read, poll_s)
            except queue.Empty:
                continue
