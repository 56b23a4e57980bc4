"""A demonstration: the sound rendered from the notes, the fingers pressed through the session's haptics on the
simulated board, and let go when the demo is cancelled. (Presses at each note's time within a lesson:
tests/test_lesson_control.py.)"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from flutex.host.commands.listen import load_fitted
from flutex.host.errors import UsageError
from flutex.host.link.opener import open_instrument
from flutex.host.session.events import HapticPress, HapticRelease, Stamped
from flutex.host.session.session import Session
from flutex.tutor.lesson.demo import LEAD_S, RATE_HZ, demonstrate, render
from flutex.tutor.lesson.plan import load_plan, resolve_plan
from flutex.tutor.lesson.policy import segment_of
from flutex.tutor.lesson.span import cut
from flutex.tutor.score.fit import FittedScore

BPM = 120.0


def _fitted() -> tuple[FittedScore, dict[int, int]]:
    plan = load_plan(resolve_plan("first_lesson"))
    _, fitted = load_fitted(str(plan.score_path()), plan.part, "six_hole", plan.transpose)
    return fitted, segment_of(plan, fitted.score)


class _Speaker:
    """Keeps what it is asked to play (there is no sound card here)."""

    def __init__(self) -> None:
        self.played: list[tuple[np.ndarray, int]] = []

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.played.append((samples, rate))


def test_the_sound_starts_silent_and_sounds_each_note_at_its_onset() -> None:
    fitted, segments = _fitted()
    span = cut(fitted, segments, 1, 2, BPM)
    samples = render(span)
    assert len(samples) == pytest.approx((LEAD_S + span.seconds) * RATE_HZ, abs=2)
    assert not np.any(samples[: int(LEAD_S * RATE_HZ)])
    score = span.fitted.score
    for note in score.notes:
        onset = int((LEAD_S + score.onset_s(note) + 0.05) * RATE_HZ)  # 50 ms in: past the fade-in
        assert np.abs(samples[onset : onset + 200]).max() > 0.1, f"note {note.index} is silent"
    assert np.abs(samples).max() <= 1.0


async def test_a_demo_plays_the_sound_presses_the_fingers_and_lets_go_when_cancelled() -> None:
    fitted, segments = _fitted()
    async with open_instrument("sim://", microphone="simulated") as instrument:
        session = Session(instrument.client, profile=fitted.profile, audio=instrument.audio, input_latency_s=0.0)
        seen: list[Stamped] = []
        session.timeline.add_listener(seen.append)
        speaker = _Speaker()
        async with session:
            with pytest.raises(UsageError, match="hold no note"):
                await demonstrate(session, fitted, segments, 40, 41, BPM, speaker)
            line = await demonstrate(session, fitted, segments, 1, 1, BPM, speaker)
            assert line == "demo: bar 1 at 120 bpm, fingers guided, with sound"
            assert len(speaker.played) == 1 and speaker.played[0][1] == RATE_HZ
            assert not session.haptics.pressing
            shown = asyncio.ensure_future(demonstrate(session, fitted, segments, 1, 2, BPM, None))
            while not any(isinstance(s.event, HapticPress) and s.event.note_index >= 4 for s in seen):
                await asyncio.sleep(0.01)  # into bar 2
            assert session.haptics.pressing
            cancelled_at = session.clock.now()
            shown.cancel()
            with pytest.raises(asyncio.CancelledError):
                await shown
            assert not session.haptics.pressing
    releases = [s.event.reason for s in seen if isinstance(s.event, HapticRelease) and s.t_s >= cancelled_at]
    assert releases == ["demo over"]
