"""Sound out: the computer's speaker, for the metronome's clicks, a demonstration's synthesized flute and the agent's
voice. Playing never blocks the event loop (PortAudio plays from its own thread). Needs the `live` extra.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from flutex.host.audio.sources import import_sounddevice


class Speaker:
    """The default (or a named) output device; a new sound cuts the one still playing."""

    def __init__(self, device: str | None = None) -> None:
        self._sounddevice: ModuleType = import_sounddevice()
        self._device = device

    def play(self, samples: np.ndarray, rate_hz: int) -> None:
        self._sounddevice.play(samples, rate_hz, device=self._device)
