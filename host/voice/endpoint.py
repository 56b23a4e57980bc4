"""The end of a spoken utterance, found by silence: when to stop listening and start transcribing.

Energy per 20 ms frame against an adaptive noise floor: the floor follows quiet frames down at once and creeps up
slowly (a fan switched on is learnt, a 20 dB step in about 4 s, while speech, whose pauses pull it back down, is
not). A frame is speech when it is `threshold_db` above the floor. An utterance starts at the first speech frame
and ends once `silence_s` of non-speech follows. It is kept only when it held `min_speech_s` of speech (a cough or
a click is not a command) and its frames' levels spread by `min_spread_db` (speech rises and falls with its
syllables: 6-18 dB measured; a room that just got louder is steady, about 1.5 dB, while the floor catches up). Its
samples include `pre_roll_s` before the first speech frame and `hangover_s` after the last, so soft onsets and
trailing consonants reach the recogniser. A stream that never falls silent is cut every `max_utterance_s`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from flutex.host.errors import UsageError


@dataclass(frozen=True)
class EndpointSettings:
    """Times in seconds, levels in dB (relative to full scale where named `_dbfs`)."""

    silence_s: float = 0.7
    min_speech_s: float = 0.2
    hangover_s: float = 0.15
    pre_roll_s: float = 0.15
    max_utterance_s: float = 15.0
    frame_s: float = 0.02
    threshold_db: float = 12.0
    min_spread_db: float = 3.0  # standard deviation of the utterance's frame levels
    floor_rise_db_per_s: float = 2.0
    # The floor never goes below this, so digital silence does not make a breath of dither into speech.
    min_floor_dbfs: float = -70.0

    def __post_init__(self) -> None:
        if not 0 < self.frame_s <= self.hangover_s < self.silence_s:
            raise UsageError("endpoint settings: need 0 < frame_s <= hangover_s < silence_s")
        if self.min_speech_s <= 0 or self.max_utterance_s <= self.min_speech_s:
            raise UsageError("endpoint settings: need 0 < min_speech_s < max_utterance_s")


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech. `start_s`/`end_s` bound the speech frames on the caller's clock (the times given to
    `Endpointer.feed`); `samples` (mono float32 at `rate_hz`) start `pre_roll_s` earlier and end `hangover_s`
    later. `decided_s` is when the silence after it was long enough: what the student waited for."""

    samples: np.ndarray
    rate_hz: int
    start_s: float
    end_s: float
    decided_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def level_dbfs(frame: np.ndarray) -> float:
    """RMS level of a frame in dB full scale (-200 for digital silence)."""
    mean_square = float(np.mean(np.square(frame, dtype=np.float64)))
    return 10.0 * np.log10(mean_square) if mean_square > 1e-20 else -200.0


class Endpointer:
    """Feed it consecutive mono blocks of any size; it returns the utterances each block completed."""

    def __init__(self, rate_hz: int, settings: EndpointSettings | None = None) -> None:
        if rate_hz <= 0:
            raise UsageError(f"sample rate must be positive, not {rate_hz}")
        self.rate_hz = rate_hz
        self.settings = settings or EndpointSettings()
        self._frame = max(1, round(self.settings.frame_s * rate_hz))
        self._frame_s = self._frame / rate_hz
        self._floor_dbfs: float | None = None
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_t_s = 0.0
        self._pre_roll: deque[np.ndarray] = deque(maxlen=round(self.settings.pre_roll_s / self._frame_s))
        self.reset()

    @property
    def floor_dbfs(self) -> float | None:
        """The noise floor as learnt so far (None before the first frame)."""
        return self._floor_dbfs

    def reset(self) -> None:
        """Forget any utterance in progress and the audio before it (after the microphone was muted); the noise
        floor is kept."""
        self._frames: list[np.ndarray] | None = None
        self._levels: list[float] = []  # of the frames since the first speech frame
        self._pre_roll.clear()
        self._pending = np.zeros(0, dtype=np.float32)
        self._speech_frames = 0
        self._frames_after_speech = 0
        self._start_s = 0.0
        self._last_speech_end_s = 0.0

    def feed(self, samples: np.ndarray, t_s: float) -> list[Utterance]:
        """Take the next block, whose first sample was captured at `t_s`; return the utterances it completed."""
        block = np.asarray(samples, dtype=np.float32).ravel()
        if not len(self._pending):
            self._pending_t_s = t_s
        data = np.concatenate([self._pending, block]) if len(self._pending) else block
        whole = len(data) - len(data) % self._frame
        done = []
        for index, frame in enumerate(data[:whole].reshape(-1, self._frame)):
            utterance = self._step(frame, self._pending_t_s + index * self._frame_s)
            if utterance is not None:
                done.append(utterance)
        self._pending = data[whole:].copy()
        self._pending_t_s += whole / self.rate_hz
        return done

    def flush(self) -> list[Utterance]:
        """The end of the stream: the utterance in progress, if it held enough speech."""
        if self._frames is None:
            return []
        utterance = self._finish(self._last_speech_end_s)
        self.reset()
        return [utterance] if utterance is not None else []

    def _is_speech(self, level: float) -> bool:
        floor = self._floor_dbfs if self._floor_dbfs is not None else level
        self._floor_dbfs = level if level < floor else floor + self.settings.floor_rise_db_per_s * self._frame_s
        return level > max(floor, self.settings.min_floor_dbfs) + self.settings.threshold_db

    def _step(self, frame: np.ndarray, t_s: float) -> Utterance | None:
        level = level_dbfs(frame)
        speech = self._is_speech(level)
        if self._frames is None:
            if not speech:
                self._pre_roll.append(frame)
                return None
            self._frames = list(self._pre_roll)
            self._pre_roll.clear()
            self._start_s = t_s
        self._frames.append(frame)
        self._levels.append(level)
        if speech:
            self._speech_frames += 1
            self._frames_after_speech = 0
            self._last_speech_end_s = t_s + self._frame_s
        else:
            self._frames_after_speech += 1
        now_s = t_s + self._frame_s
        silent = self._frames_after_speech * self._frame_s >= self.settings.silence_s - 1e-9
        if not silent and now_s - self._start_s < self.settings.max_utterance_s:
            return None
        utterance = self._finish(now_s)
        self.reset()
        return utterance

    def _finish(self, decided_s: float) -> Utterance | None:
        assert self._frames is not None
        if self._speech_frames * self._frame_s < self.settings.min_speech_s - 1e-9:
            return None
        through_speech = self._levels[: len(self._levels) - self._frames_after_speech]
        if float(np.std(through_speech)) < self.settings.min_spread_db:
            return None
        hangover = round(self.settings.hangover_s / self._frame_s)
        keep = len(self._frames) - max(0, self._frames_after_speech - hangover)
        return Utterance(
            samples=np.concatenate(self._frames[:keep]),
            rate_hz=self.rate_hz,
            start_s=self._start_s,
            end_s=self._last_speech_end_s,
            decided_s=decided_s,
        )
