"""Text to speech, offline: Debian's `flite` run as a separate program (BSD-style, tiny, and pocketsphinx and
Whisper both understand its `slt` voice well).

A program rather than a library binding: nothing to compile, and a crash or hang in the synthesiser cannot take the
lesson down with it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soundfile

from flutex.host.errors import FlutexError

FLITE_HINT = "install flite (Debian/Ubuntu: apt-get install flite)"
DEFAULT_VOICE = "slt"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Speech:
    """Mono float32 samples at `rate_hz`."""

    samples: np.ndarray
    rate_hz: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate_hz


class Synthesizer(Protocol):
    name: str

    def synthesize(self, text: str) -> Speech: ...


def flite_program() -> str:
    """The path of `flite`, or a FlutexError saying how to install it."""
    program = shutil.which("flite")
    if program is None:
        raise FlutexError(f"the voice needs the flite program, which is not on PATH; {FLITE_HINT}")
    return program


def flite_voices(program: str | None = None) -> list[str]:
    """The voices this flite has built in (`flite -lv`)."""
    listing = subprocess.run(
        [program or flite_program(), "-lv"], capture_output=True, text=True, timeout=TIMEOUT_S, check=True
    ).stdout
    return listing.partition(":")[2].split()


class FliteVoice:
    """One of flite's built-in voices (`slt`: a clear female US voice, 16 kHz). The voice is checked at
    construction, so a typo fails at start-up rather than at the first reply."""

    def __init__(self, voice: str = DEFAULT_VOICE) -> None:
        self._program = flite_program()
        voices = flite_voices(self._program)
        if voice not in voices:
            raise FlutexError(f"flite has no voice {voice!r}; choose one of: {', '.join(voices)}")
        self.voice = voice
        self.name = f"flite ({voice})"

    def synthesize(self, text: str) -> Speech:
        """The text spoken (blocking: from an event loop, run it with `asyncio.to_thread`). Empty text is silence."""
        if not text.strip():
            return Speech(np.zeros(0, dtype=np.float32), 16000)
        with tempfile.TemporaryDirectory(prefix="flutex-tts-") as folder:
            wav = Path(folder) / "speech.wav"
            # the text goes as one argument, never through a shell: nothing in it is interpreted
            result = subprocess.run(
                [self._program, "-voice", self.voice, "-t", text, "-o", str(wav)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
            )
            if result.returncode != 0 or not wav.exists():
                raise FlutexError(f"flite failed ({result.returncode}): {result.stderr.strip() or 'no output'}")
            samples, rate_hz = soundfile.read(str(wav), dtype="float32", always_2d=True)
        return Speech(samples.mean(axis=1, dtype=np.float32), int(rate_hz))
