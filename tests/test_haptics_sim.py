"""Guidance on the real firmware in the simulator (`sim://`): the servos press the holes the lesson asks for while
the virtual player's own fingers do something else, long presses stay inside the board's engagement limit,
corrective guidance acts only on the wrong note, free play moves nothing, and only ARM / GUIDE / CLUTCH are sent."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.link.events import BoardAlert, CommandResult, FluteSample, HapticStatus
from flutex.host.link.opener import PlainTune, open_instrument
from flutex.host.session.events import Stamped
from flutex.host.session.haptics import HapticPress, HapticRelease
from flutex.host.session.session import Session
from flutex.tutor.lesson.guidance import GuidanceController
from flutex.tutor.lesson.modes import CORRECTIVE, FREE, FULL_FORCE, GUIDED
from flutex.tutor.score.fit import FittedScore, fit
from flutex.tutor.score.model import Score, ScoreNote, TempoChange

PROFILE = InstrumentProfile.load("six_hole")
C, D, E, F, G, B = 72, 74, 76, 77, 79, 83
MASK = {midi: PROFILE.fingering_for(midi)[0] for midi in (C, D, E, F, G, B)}
BEAT_S = 0.5  # 120 bpm
LEAD_S = 0.2
SLEW_S = 0.175  # a servo crosses its yield point 125 ms after it starts; then a servo tick, a sample, the link
COMMANDS = {"ARM", "GUIDE", "CLUTCH"}  # all Haptics may send


def piece(midis: Sequence[int | None]) -> FittedScore:
    notes = tuple(ScoreNote(i, midi, float(i), 1.0, i // 4 + 1, i % 4 + 1.0) for i, midi in enumerate(midis))
    return fit(Score("test", notes, (TempoChange(0.0, 120.0),)), PROFILE)


@dataclass
class Run:
    seen: list[Stamped]
    start_s: float  # beat 0 on the timeline
    controller: GuidanceController | None

    def of(self, kind: type) -> list[Stamped]:
        return [stamped for stamped in self.seen if isinstance(stamped.event, kind)]

    def masks(self, from_s: float, to_s: float) -> list[int]:
        return [s.event.closed_mask for s in self.of(FluteSample) if from_s <= s.t_s <= to_s]


async def guided_run(
    played: Sequence[int], score: Sequence[int | None] = (), mode: str = GUIDED, long_press_s: float = 0.0
) -> Run:
    """The virtual player plays `played` (one beat each at 120 bpm) while a controller in `mode` guides `score`
    (or, with `long_press_s`, Haptics presses C that long from the first beat); every timeline event is kept."""
    tune = PlainTune(tuple((midi, float(i), 1.0, False) for i, midi in enumerate(played)), ((0.0, 120.0),))
    async with open_instrument("sim://", microphone=None, tune=tune) as instrument:
        session = Session(instrument.client, profile=PROFILE, input_latency_s=0.0)
        assert instrument.beat0_monotonic_s is not None
        start_s = instrument.beat0_monotonic_s - session.clock.origin_s
        seen: list[Stamped] = []
        session.timeline.add_listener(seen.append)
        controller = None
        if score:
            notes = range(len(score))
            controller = GuidanceController(piece(score), start_s, notes, mode, FULL_FORCE, LEAD_S, session.haptics)
            session.timeline.add_listener(controller)
        end_s = start_s + max(len(played) * BEAT_S, long_press_s) + 0.3
        async with session:
            if long_press_s:
                await asyncio.sleep(max(0.0, start_s - session.clock.now()))
                session.haptics.press(MASK[C], FULL_FORCE, start_s + long_press_s, 0)
            while session.clock.now() < end_s:
                await asyncio.sleep(0.05)
        assert session.haptics.failures == 0 and session.timeline.callback_errors == 0
    results = [s.event for s in seen if isinstance(s.event, CommandResult)]
    assert {result.command for result in results} <= COMMANDS, "Haptics sends nothing but ARM, GUIDE and CLUTCH"
    assert all(result.accepted for result in results), [r.reason for r in results if not r.accepted]
    return Run(seen, start_s, controller)


async def test_guided_span_presses_each_fingering_while_the_player_fingers_another():
    score = (C, D, E, None, F)
    run = await guided_run(played=(B,) * 5, score=score)
    assert run.controller is not None and run.controller.guided_notes() == {0, 1, 2, 4}
    assert [s.event.note_index for s in run.of(HapticPress)] == [0, 1, 2, 4]
    for index, midi in enumerate(score):
        if midi is None:
            continue
        onset_s = run.start_s + index * BEAT_S
        held = run.masks(onset_s - LEAD_S + SLEW_S, onset_s + BEAT_S - LEAD_S)
        assert held and set(held) == {MASK[midi]}, f"note {index}: read {sorted(set(held))}, player's own is 0"
    rest_s = run.start_s + 3 * BEAT_S
    assert set(run.masks(rest_s + SLEW_S, rest_s + BEAT_S - LEAD_S)) == {MASK[B]}, "the rest: the fingers are free"
    assert not run.of(BoardAlert)


async def test_corrective_acts_only_on_the_wrong_note_and_lets_go_once_it_matches():
    run = await guided_run(played=(C, D, G, F, G), score=(C, D, E, F, G), mode=CORRECTIVE)
    assert [s.event.note_index for s in run.of(HapticPress)] == [2], "only E, played as G, is corrected"
    press = run.of(HapticPress)[0]
    release = next(s for s in run.of(HapticRelease) if s.t_s > press.t_s)
    assert release.event.reason == "matched"
    assert MASK[E] in run.masks(press.t_s, release.t_s), "the servos closed E's holes over the player's G"
    engaged = [s.t_s for s in run.of(HapticStatus) if s.event.clutch_engaged]
    assert engaged and all(press.t_s <= t_s <= release.t_s + 0.15 for t_s in engaged)


async def test_free_play_never_engages():
    run = await guided_run(played=(B,) * 4, score=(C, D, E, F), mode=FREE)
    assert not run.of(HapticPress) and not run.of(CommandResult)
    assert run.of(HapticStatus) and not any(s.event.clutch_engaged for s in run.of(HapticStatus))


@pytest.mark.slow
async def test_a_15_s_press_holds_without_the_board_ending_it():
    run = await guided_run(played=(B,) * 31, long_press_s=15.0)
    assert not run.of(BoardAlert), "no E_ENGAGE_TIME: engagement stayed under the board's 10 s"
    held = run.masks(run.start_s + SLEW_S, run.start_s + 15.0)
    pressed = [mask == MASK[C] for mask in held]
    assert sum(pressed) >= 0.97 * len(pressed), "pressed all along but for a short release"
    gaps = sum(1 for before, after in itertools.pairwise(pressed) if before and not after)
    assert gaps == 1, "one release, before 9 s of engagement"
    assert [s.event.reason for s in run.of(HapticRelease)] == ["done"]
