"""A demonstration: the tutor plays bars for the student, fingers and sound, before they try them.

The fingers: each note's fingering is pressed at full force from its onset to its end through `session.haptics`
(the only door to the servos, which keeps every press inside the board's envelope), so the student feels the
fingering change on time. The sound: the notes rendered as one flute-like buffer (`flutex.host.audio.synth`) and
handed to a `Speaker`, when there is one (a speaker needs the `live` extra). The haptics are released at the end,
and when the demo is cancelled (a pause or stop cancels it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from flutex.host.audio.synth import harmonic_tone, midi_to_hz
from flutex.host.errors import UsageError
from flutex.host.session.session import Session
from flutex.tutor.lesson.modes import FULL_FORCE
from flutex.tutor.lesson.span import SpanScore, cut
from flutex.tutor.score.fit import FittedScore

LEAD_S = 0.3  # from the call to the first note: the speaker's buffer starts this long before it, silent
RATE_HZ = 22050  # a demo's sound: a flute's harmonics that matter stay under its Nyquist
GAP_S = 0.02  # each rendered note ends this much early, so repeated notes are heard as two


class Speaker(Protocol):
    """Plays a sound buffer (mono float samples in -1..1) at `rate` Hz; returns at once."""

    def play(self, samples: np.ndarray, rate: int) -> None: ...


async def demonstrate(
    session: Session,
    fitted: FittedScore,
    segment_of: Mapping[int, int],
    first_bar: int,
    last_bar: int,
    bpm: float,
    speaker: Speaker | None,
    *,
    fingers: bool = True,
) -> str:
    """Play bars `first_bar`..`last_bar` of `fitted` at `bpm`: fingerings pressed (unless `fingers` is False: a
    singing lesson has no fingers to guide) and the sound on `speaker` (None: no sound). Returns one line saying
    what was shown. Raises UsageError when the bars hold no note."""
    try:
        span = cut(fitted, segment_of, first_bar, last_bar, bpm)
    except ValueError as error:
        raise UsageError(f"no demo: {error}") from None
    start_s = session.clock.now() + LEAD_S
    if speaker is not None:
        speaker.play(render(span), RATE_HZ)
    if fingers:
        await _press_notes(session, span, start_s)
    else:
        await asyncio.sleep(max(0.0, start_s + span.seconds - session.clock.now()))
    bars = f"bar {first_bar}" if first_bar == last_bar else f"bars {first_bar}-{last_bar}"
    shown = ["fingers guided" if fingers else "no fingers (singing)"]
    shown.append("with sound" if speaker is not None else "no sound: needs the live extra")
    return f"demo: {bars} at {bpm:.0f} bpm, {', '.join(shown)}"


async def _press_notes(session: Session, span: SpanScore, start_s: float) -> None:
    """Each fingered note pressed at full force from its onset to its end (timeline seconds from `start_s`); a
    press replaces the one before, so legato notes chain without the clutch letting go."""
    score, clock = span.fitted.score, session.clock
    end_s = start_s
    try:
        for note, fingering in zip(score.notes, span.fitted.fingerings, strict=True):
            if note.midi is None or fingering is None:
                continue
            onset_s, end_s = start_s + score.onset_s(note), start_s + score.seconds(note.end_beats)
            await asyncio.sleep(max(0.0, onset_s - clock.now()))
            session.haptics.press(fingering[0], FULL_FORCE, end_s, span.original[note.index])
        await asyncio.sleep(max(0.0, end_s - clock.now()))
    finally:
        session.haptics.release("demo over")


def render(span: SpanScore) -> np.ndarray:
    """The span's notes as one flute-like buffer at `RATE_HZ`, starting `LEAD_S` of silence before beat 0."""
    score = span.fitted.score
    samples = np.zeros(int((LEAD_S + span.seconds) * RATE_HZ) + 1, dtype=np.float32)
    for note in score.notes:
        if note.midi is None:
            continue
        tone = harmonic_tone(midi_to_hz(note.midi), max(score.duration_s(note) - GAP_S, GAP_S), RATE_HZ)
        first = int((LEAD_S + score.onset_s(note)) * RATE_HZ)
        samples[first : first + len(tone)] += tone[: len(samples) - first]
    return samples
