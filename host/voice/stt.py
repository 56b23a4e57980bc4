"""Speech to text, offline: pocketsphinx with the English model inside its wheel.

Recognisers are blocking C code: async callers run `transcribe` in a worker thread (`transcribe_async`), so the
event loop (and the lesson on it) never waits for a decode.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol

import numpy as np

from flutex.host.errors import FlutexError

SPHINX_RATE_HZ = 16000
INSTALL_HINT = "install the voice extra: pip install 'flutex[voice]'"


class Transcriber(Protocol):
    """Mono float32 samples in (any rate), the words heard out ("" when none)."""

    name: str

    def transcribe(self, samples: np.ndarray, rate_hz: int) -> str: ...


async def transcribe_async(transcriber: Transcriber, samples: np.ndarray, rate_hz: int) -> str:
    """`transcriber.transcribe` in a worker thread, for callers on an event loop."""
    return await asyncio.to_thread(transcriber.transcribe, samples, rate_hz)


def resample(samples: np.ndarray, rate_hz: int, to_rate_hz: int) -> np.ndarray:
    """Band-limited resampling by FFT (the spectrum cut or zero-padded to the new length): exact enough for speech,
    numpy only, and an utterance is short enough to transform whole."""
    mono = np.asarray(samples, dtype=np.float64).ravel()
    if rate_hz == to_rate_hz or not len(mono):
        return mono.astype(np.float32)
    length = max(1, round(len(mono) * to_rate_hz / rate_hz))
    spectrum = np.fft.rfft(mono)
    bins = length // 2 + 1
    fitted = spectrum[:bins] if len(spectrum) >= bins else np.pad(spectrum, (0, bins - len(spectrum)))
    return (np.fft.irfft(fitted, length) * length / len(mono)).astype(np.float32)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit PCM (clipped, not wrapped)."""
    return np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767).astype(np.int16)


def load_decoder() -> Any:
    """A pocketsphinx decoder with its bundled en-us acoustic model, language model and dictionary."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        raise FlutexError(f"speech recognition needs pocketsphinx; {INSTALL_HINT}") from None
    return Decoder(samprate=SPHINX_RATE_HZ, loglevel="FATAL")


class SphinxTranscriber:
    """pocketsphinx on 16 kHz int16: less accurate than Whisper, but small, BSD, and fully offline. The model loads
    once (about a second); one decode at a time, since a decoder is not thread-safe."""

    name = "pocketsphinx (en-us)"

    def __init__(self) -> None:
        self._decoder = load_decoder()
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, rate_hz: int) -> str:
        pcm = to_int16(resample(samples, rate_hz, SPHINX_RATE_HZ))
        with self._lock:
            self._decoder.start_utt()
            self._decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
            self._decoder.end_utt()
            hypothesis = self._decoder.hyp()
        return hypothesis.hypstr.strip() if hypothesis is not None else ""


def word_accuracy(reference: str, hypothesis: str) -> float:
    """1 - word error rate (substitutions, insertions and deletions over the reference's words, by edit distance),
    floored at 0: how a recogniser is measured, here and in the benchmark."""
    truth, heard = reference.lower().split(), hypothesis.lower().split()
    previous = list(range(len(heard) + 1))
    for i, word in enumerate(truth, 1):
        current = [i]
        for j, guess in enumerate(heard, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != guess)))
        previous = current
    return max(0.0, 1.0 - previous[-1] / len(truth)) if truth else float(not heard)
