"""Events on the session timeline: the stamp (`Stamped`), the audio chunks, and the live events the pipeline
derives from the streams. Plain frozen data, so a recording stores them and a replay rebuilds them as they were."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flutex.host.breath.phases import PhaseChange
from flutex.host.breath.phrases import PhraseStart
from flutex.host.breath.quality import QualityChange
from flutex.host.breath.share import Flicker, Inhale
from flutex.host.breath.support import HeldNote
from flutex.host.link.events import (
    BeltSample,
    BoardAlert,
    CommandResult,
    FluteSample,
    HapticStatus,
    LinkLost,
    LinkRestored,
)


@dataclass(frozen=True, slots=True)
class Stamped:
    """An event placed on the session timeline: `t_s` seconds since the session began, on the host's monotonic
    clock, at which the thing it reports happened (a sample was taken, a note sounded), not when it arrived."""

    t_s: float
    event: Any


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Mono samples as captured; stamped with the capture time of the first one. `first_sample` counts samples
    since the stream began, including those the driver dropped (so a gap before it is silence that was lost)."""

    samples: np.ndarray  # float32
    sample_rate_hz: int
    first_sample: int


@dataclass(frozen=True, slots=True)
class FingeringChanged:
    """The holes closed changed; `midi` is the note the fingering names in its low register (None: not in the
    chart). Stamped when the board sampled the new fingering."""

    closed_mask: int
    midi: int | None


@dataclass(frozen=True, slots=True)
class PitchFrame:
    """One frame of the pitch tracker, stamped when the sound it describes was played."""

    hz: float  # 0 when unvoiced
    confidence: float  # periodicity behind the voicing decision, 0..1
    voiced: bool


@dataclass(frozen=True, slots=True)
class NoteStarted:
    """A note that has lasted long enough to count, stamped at its onset (published when it is known: after the
    segmenter's minimum note length)."""

    midi: int
    hz: float


@dataclass(frozen=True, slots=True)
class NoteEnded:
    """A note ended, stamped at its end; it began `duration_s` earlier."""

    midi: int
    duration_s: float


@dataclass(frozen=True, slots=True)
class HapticPress:
    """The servos began pressing `holes_mask` (bit i = hole i closed) for score note `note_index`, at
    `force_permille` of a full press, until `until_s` on the timeline."""

    note_index: int
    holes_mask: int
    force_permille: int
    until_s: float


@dataclass(frozen=True, slots=True)
class HapticRelease:
    """The servos let go before a press's end, or at it ("done"); `reason` says why."""

    reason: str


BreathEvent = PhaseChange | Inhale | Flicker | QualityChange | HeldNote | PhraseStart
LINK_TYPES = (FluteSample, BeltSample, HapticStatus, CommandResult, BoardAlert, LinkLost, LinkRestored)
BREATH_TYPES = (PhaseChange, Inhale, Flicker, QualityChange, HeldNote, PhraseStart)
DERIVED_TYPES = (FingeringChanged, PitchFrame, NoteStarted, NoteEnded, *BREATH_TYPES)
# Every class that may appear as a Stamped's event: what a recording must be able to store.
# What the session's haptics did (flutex.host.session.haptics): the guidance a student felt, kept with the rest.
HAPTIC_TYPES = (HapticPress, HapticRelease)
RECORDED_TYPES: tuple[type, ...] = (*LINK_TYPES, AudioChunk, *DERIVED_TYPES, *HAPTIC_TYPES)
