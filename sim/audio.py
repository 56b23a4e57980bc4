"""The virtual player's sound: what a microphone in front of the simulated flute hears, as fixed-size blocks.

The flute sounds the note the player fingers while it blows (`VirtualPlayer.voice`), with a flute-like spectrum,
louder the harder it blows (overblown notes come out louder, as on a real flute), over a quiet microphone noise
floor. It sounds the way people play, so that nothing downstream is tuned to perfect tones: each note is tongued
(its level dips and comes back within milliseconds) and fades before a silence, some are scooped into from tens of
cents flat, all carry a delayed vibrato of about 5 Hz (zero mean in cents, so the note stays in tune), the
overblown register is a little sharp (the performance's `cents`), and the air blown makes a breathy hiss.

Rendering runs on its own clock, the sample index: each sample depends on its time and on two noise streams read
in order, so the audio is the same however it is cut into blocks, and a lesson can pull it block by block like a
microphone (`flutex.host.audio.sources.BlockSource`). Time 0 is the player's time 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise

import numpy as np

from flutex.host.audio.synth import FLUTE_LIKE, harmonic_sum
from flutex.sim.performance import LEGATO_S
from flutex.sim.player import PLAY_PA, VirtualPlayer, Voice

LEVEL = 0.2  # peak amplitude of the fundamental at the low register's blowing pressure
ATTACK_S = 0.005  # the tone's level follows the breath over this moving average
NOISE_RMS = 0.001  # the microphone's noise floor (-60 dBFS)
BREATH_NOISE = 0.04  # RMS of the breath's hiss, relative to the fundamental's peak (about -26 dB)
TONGUE_DIP = 0.85  # the tongue cuts this share of the level at a note's onset ...
TONGUE_S = 0.012  # ... which comes back with this time constant
RELEASE_S = 0.03  # a note followed by silence fades out over this time before its end
VIBRATO_DELAY_S = 0.12  # vibrato starts this long into a note ...
VIBRATO_RISE_S = 0.2  # ... and grows to its full depth over this time


class PlayerAudio:
    """`duration_s` (None: endless) of the player's sound at `sample_rate_hz`, in blocks of `block` samples (the
    last one zero-padded)."""

    def __init__(
        self,
        player: VirtualPlayer,
        duration_s: float | None,
        sample_rate_hz: int = 44100,
        block: int = 256,
        harmonics: Sequence[float] = FLUTE_LIKE,
        seed: int = 0,
    ) -> None:
        self.player = player
        self.sample_rate_hz = sample_rate_hz
        self.block = block
        self.harmonics = tuple(harmonics)
        self._n_samples = None if duration_s is None else round(duration_s * sample_rate_hz)
        self._seed = seed
        notes = player.performance.notes
        self._cents = np.array([note.cents for note in notes])
        self._scoop = np.array([note.scoop_cents for note in notes])
        self._scoop_tau_s = np.array([max(note.scoop_s, 1e-3) / 3 for note in notes])  # settled to 5% by scoop_s
        self._vibrato = np.array([note.vibrato_cents for note in notes])
        self._vibrato_hz = np.array([note.vibrato_hz for note in notes])
        self._length_s = np.array([note.end_s - note.onset_s for note in notes])
        self._midis = np.array([note.midi or 0 for note in notes])
        joined = [after.midi is not None and after.onset_s - note.end_s < LEGATO_S for note, after in pairwise(notes)]
        self._fades = np.array([not legato for legato in joined] + [True])

    def blocks(self) -> Iterator[np.ndarray]:
        rate, block = self.sample_rate_hz, self.block
        smoothing = max(1, round(ATTACK_S * rate))
        mic, breath = (np.random.default_rng(s) for s in np.random.SeedSequence(self._seed).spawn(2))
        phase, last_hz, last_hiss = 0.0, 0.0, 0.0
        start = 0
        while self._n_samples is None or start < self._n_samples:
            # the block's samples, plus the `smoothing - 1` before it that the level's moving average reads
            t = (start - smoothing + 1 + np.arange(block + smoothing - 1)) / rate
            voice = self.player.voice(t)
            level = self._level(voice)
            running = np.concatenate([[0.0], np.cumsum(level)])
            level = (running[smoothing:] - running[:-smoothing]) / smoothing
            hz = self._pitch_hz(voice)[smoothing - 1 :]
            # a silent sample keeps the last pitch, so the phase runs on smoothly into the release
            held = np.maximum.accumulate(np.where(hz > 0, np.arange(block), -1))
            hz = np.where(held >= 0, hz[np.maximum(held, 0)], last_hz)
            last_hz = float(hz[-1])
            phases = phase + 2 * np.pi * np.cumsum(hz) / rate
            phase = float(phases[-1] % (2 * np.pi))
            white = breath.normal(0.0, BREATH_NOISE / np.sqrt(2), block)
            hiss = np.diff(white, prepend=last_hiss)  # air noise is bright: differenced white noise
            last_hiss = float(white[-1])
            tone = level * (harmonic_sum(phases, hz, self.harmonics, rate) + hiss)
            out = (tone + mic.normal(0.0, NOISE_RMS, block)).astype(np.float32)
            if self._n_samples is not None:
                out[min(block, self._n_samples - start) :] = 0.0
            yield out
            start += block

    def _level(self, voice: Voice) -> np.ndarray:
        """The tone's level before smoothing: as the breath blows, cut by the tongue at each onset, faded before
        a silence."""
        since = np.maximum(voice.since_onset_s, 0.0)
        tongue = 1.0 - TONGUE_DIP * np.exp(-since / TONGUE_S)
        left = self._length_s[voice.note] - since
        fade = np.where(self._fades[voice.note], np.clip(left / RELEASE_S, 0.0, 1.0), 1.0)
        return LEVEL * np.sqrt(voice.mouth_pa / PLAY_PA) * tongue * fade

    def _pitch_hz(self, voice: Voice) -> np.ndarray:
        """The sounding frequency at each time (0 where silent): the note, its steady offset, the scoop settling,
        and the vibrato once the note is under way."""
        note, since = voice.note, np.maximum(voice.since_onset_s, 0.0)
        depth = self._vibrato[note] * np.clip((since - VIBRATO_DELAY_S) / VIBRATO_RISE_S, 0.0, 1.0)
        cents = (
            self._cents[note]
            + self._scoop[note] * np.exp(-since / self._scoop_tau_s[note])
            + depth * np.sin(2 * np.pi * self._vibrato_hz[note] * since)
        )
        return np.where(voice.sounding, 440.0 * 2.0 ** ((self._midis[note] - 69 + cents / 100) / 12), 0.0)
