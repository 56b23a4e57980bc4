"""The virtual player's sound: what a microphone in front of the simulated flute hears, as fixed-size blocks.

The flute sounds the note the player fingers while it blows (`VirtualPlayer.sounding`), with a flute-like spectrum,
louder the harder it blows (overblown notes come out louder, as on a real flute), starting and stopping over a few
milliseconds as the tongue does, over a quiet microphone noise floor. Every sample depends only on its time (and the
noise stream), so the audio is the same however it is cut into blocks, and a lesson can pull it block by block
like a microphone (`flutex.host.audio.sources.BlockSource`). Time 0 is the player's time 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from flutex.host.audio.synth import FLUTE_LIKE, harmonic_sum
from flutex.sim.player import PLAY_PA, VirtualPlayer

LEVEL = 0.2  # peak amplitude of the fundamental at the low register's blowing pressure
ATTACK_S = 0.005  # the tone's level follows the breath over this moving average
NOISE_RMS = 0.001  # the microphone's noise floor (-60 dBFS)


class PlayerAudio:
    """`duration_s` of the player's sound at `sample_rate_hz`, in blocks of `block` samples (last one padded)."""

    def __init__(
        self,
        player: VirtualPlayer,
        duration_s: float,
        sample_rate_hz: int = 44100,
        block: int = 256,
        harmonics: Sequence[float] = FLUTE_LIKE,
        seed: int = 0,
    ) -> None:
        self.player = player
        self.sample_rate_hz = sample_rate_hz
        self.block = block
        self.harmonics = tuple(harmonics)
        self._n_samples = round(duration_s * sample_rate_hz)
        self._seed = seed

    def blocks(self) -> Iterator[np.ndarray]:
        rate, block = self.sample_rate_hz, self.block
        smoothing = max(1, round(ATTACK_S * rate))
        rng = np.random.default_rng(self._seed)
        phase, last_hz = 0.0, 0.0
        for start in range(0, self._n_samples, block):
            # the block's samples, plus the `smoothing - 1` before it that the level's moving average reads
            t = (start - smoothing + 1 + np.arange(block + smoothing - 1)) / rate
            midi, mouth_pa = self.player.sounding(t)
            level = LEVEL * np.sqrt(mouth_pa / PLAY_PA)
            running = np.concatenate([[0.0], np.cumsum(level)])
            level = (running[smoothing:] - running[:-smoothing]) / smoothing
            midi = midi[smoothing - 1 :]
            hz = np.where(midi > 0, 440.0 * 2.0 ** ((midi - 69) / 12), 0.0)
            # a silent sample keeps the last pitch, so the phase runs on smoothly into the release
            held = np.maximum.accumulate(np.where(hz > 0, np.arange(block), -1))
            hz = np.where(held >= 0, hz[np.maximum(held, 0)], last_hz)
            last_hz = float(hz[-1])
            phases = phase + 2 * np.pi * np.cumsum(hz) / rate
            phase = float(phases[-1] % (2 * np.pi))
            tone = level * harmonic_sum(phases, hz, self.harmonics, rate)
            out = (tone + rng.normal(0.0, NOISE_RMS, block)).astype(np.float32)
            valid = min(block, self._n_samples - start)
            out[valid:] = 0.0
            yield out
