"""Guidance decisions on synthetic timelines: the note rule (`needs_press`), what the controller presses and
releases in each mode, "help me", and how Haptics plans GUIDEs so the clutch never stays engaged 10 s at a stretch."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import pytest

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.host.link.events import BoardAlert, FluteSample
from flutex.host.session.events import Stamped
from flutex.host.session.haptics import GAP_S, GuideLimits, GuideStep, engaged_since, plan_guides
from flutex.tutor.lesson.guidance import GuidanceController, HelpRequested, needs_press
from flutex.tutor.lesson.modes import CLOSES_HOLE_PERMILLE, CORRECTIVE, FREE, FULL_FORCE, GUIDED, HINT
from flutex.tutor.score.fit import FittedScore, fit
from flutex.tutor.score.model import Score, ScoreNote, TempoChange

PROFILE = InstrumentProfile.load("six_hole")
C, D, E, F, G, B = 72, 74, 76, 77, 79, 83
MASK = {midi: PROFILE.fingering_for(midi)[0] for midi in (C, D, E, F, G, B)}
START_S = 1.0  # beat 0 on the timeline; 120 bpm: a beat is 0.5 s
LEAD_S = 0.2
SAMPLE_S = 0.005
LIMITS = GuideLimits.of_pinmap()


def piece(midis: Sequence[int | None]) -> FittedScore:
    """One beat per note (None: a rest) at 120 bpm, fitted to the six-hole flute."""
    notes = tuple(ScoreNote(i, midi, float(i), 1.0, i // 4 + 1, i % 4 + 1.0) for i, midi in enumerate(midis))
    return fit(Score("test", notes, (TempoChange(0.0, 120.0),)), PROFILE)


class PressLog:
    """Stands where `session.haptics` would: notes each call at the stamp of the event being fed."""

    def __init__(self) -> None:
        self.now_s = 0.0
        self.calls: list[tuple] = []

    def press(self, holes_mask: int, force_permille: int, until_s: float, note_index: int) -> None:
        self.calls.append((round(self.now_s, 3), "press", note_index, holes_mask, force_permille, round(until_s, 3)))

    def release(self, reason: str) -> None:
        self.calls.append((round(self.now_s, 3), "release", reason))


def fingers(*changes: tuple[float, int]):
    """The student's closed holes over time: from each (time, midi) on, that note's fingering."""

    def at(t_s: float) -> int:
        return MASK[max((change for change in changes if change[0] <= t_s), key=lambda change: change[0])[1]]

    return at


def guide(
    mode: str,
    student,
    midis: Sequence[int | None] = (C, D, E, None, F),
    force: int = FULL_FORCE,
    extra: Sequence[Stamped] = (),
    until_s: float = 4.0,
) -> tuple[list[tuple], GuidanceController]:
    """Feed a controller the FLUTE samples of `student` (200 Hz from 0) and the `extra` events (each after the
    sample at its stamp); returns what it asked of the servos."""
    log = PressLog()
    controller = GuidanceController(piece(midis), START_S, range(len(midis)), mode, force, LEAD_S, log)
    pending = sorted(extra, key=lambda stamped: stamped.t_s)
    for seq in range(round(until_s / SAMPLE_S)):
        t_s = round(seq * SAMPLE_S, 6)
        log.now_s = t_s
        controller(Stamped(t_s, FluteSample(t_s, seq, student(t_s), 0.0)))
        while pending and pending[0].t_s <= t_s:
            controller(pending.pop(0))
    return log.calls, controller


@pytest.mark.parametrize(
    ("mode", "right_before", "right_at_check", "pressed"),
    [
        (mode, before, check, expected)
        for mode, rule in (
            (GUIDED, lambda before, check: not before),
            (HINT, lambda before, check: not before),
            (CORRECTIVE, lambda before, check: not check),
            (FREE, lambda before, check: False),
        )
        for before, check in itertools.product((True, False), repeat=2)
        for expected in (rule(before, check),)
    ],
)
def test_needs_press_truth_table(mode, right_before, right_at_check, pressed):
    target = MASK[D]
    before = target if right_before else MASK[C]
    check = target if right_at_check else MASK[E]
    assert needs_press(mode, target, before, check) is pressed


def test_an_unknown_mode_or_force_is_a_clear_error():
    with pytest.raises(UsageError, match="unknown guidance mode 'forced'"):
        needs_press("forced", 1, 0, 0)
    with pytest.raises(UsageError, match="forced"):
        GuidanceController(piece([C]), START_S, [0], "forced", FULL_FORCE, LEAD_S, PressLog())
    with pytest.raises(UsageError, match=r"1\.\.1000"):
        GuidanceController(piece([C]), START_S, [0], HINT, 0, LEAD_S, PressLog())


def test_guided_presses_each_note_ahead_chaining_through_legato_and_letting_a_rest_release():
    calls, controller = guide(GUIDED, fingers((0.0, B)))
    # C D E legato: each pressed LEAD_S before its onset, the next replacing it (no release); the rest lets the
    # press of E end on its own; F pressed ahead again.
    assert calls == [
        (0.8, "press", 0, MASK[C], FULL_FORCE, 1.5),
        (1.3, "press", 1, MASK[D], FULL_FORCE, 2.0),
        (1.8, "press", 2, MASK[E], FULL_FORCE, 2.5),
        (2.8, "press", 4, MASK[F], FULL_FORCE, 3.5),
    ]
    assert controller.guided_notes() == {0, 1, 2, 4}


def test_guided_skips_a_note_the_student_already_holds():
    # holds C from the start (right), keeps it into D (wrong), then takes F early, before its lead time
    calls, controller = guide(GUIDED, fingers((0.0, C), (2.6, F)))
    assert [call[2] for call in calls] == [1, 2], "C and F skipped, D pressed, E chained after it"
    assert controller.guided_notes() == {1, 2}


def test_hint_presses_like_guided_at_its_own_force():
    guided, _ = guide(GUIDED, fingers((0.0, B)))
    hinted, _ = guide(HINT, fingers((0.0, B)), force=350)
    assert [(*call[:4], call[5]) for call in hinted] == [(*call[:4], call[5]) for call in guided]
    assert {call[4] for call in hinted} == {350}


def test_a_hint_too_light_to_close_a_hole_does_not_chain_the_fingers_stay_readable():
    # wrong on C, then on D's fingering early, from before D's lead time; E right at its lead time too
    student = fingers((0.0, B), (1.2, D), (1.75, E))
    strong, _ = guide(HINT, student, force=CLOSES_HOLE_PERMILLE)
    light, _ = guide(HINT, student, force=CLOSES_HOLE_PERMILLE - 1)
    assert [call[2] for call in strong] == [0, 1, 2, 4], "a press that closes holes hides the fingers: chained"
    assert [call[2] for call in light] == [0, 4], "a felt hint hides nothing: D and E were right, so not pressed"


def test_corrective_engages_only_on_a_wrong_note_and_lets_go_when_it_matches():
    # right on C; still on C 150 ms into D, finds D at 1.8; E right on time; F never found
    student = fingers((0.0, C), (1.8, D), (2.0, E), (3.0, G))
    calls, controller = guide(CORRECTIVE, student)
    assert calls == [
        (1.65, "press", 1, MASK[D], FULL_FORCE, 2.0),
        (1.8, "release", "matched"),
        (3.15, "press", 4, MASK[F], FULL_FORCE, 3.5),
    ], "F stays pressed to its end: the student never matched it"
    assert controller.guided_notes() == {1, 4}


def test_free_never_presses():
    calls, controller = guide(FREE, fingers((0.0, B)))
    assert calls == [] and controller.guided_notes() == frozenset()


def test_help_turns_the_rest_of_the_attempt_guided_at_once():
    help_at = Stamped(1.6, HelpRequested())  # during D (1.5-2.0), played wrong
    calls, controller = guide(FREE, fingers((0.0, B)), extra=[help_at])
    assert calls == [
        (1.6, "press", 1, MASK[D], FULL_FORCE, 2.0),
        (1.8, "press", 2, MASK[E], FULL_FORCE, 2.5),
        (2.8, "press", 4, MASK[F], FULL_FORCE, 3.5),
    ]
    assert controller.mode == GUIDED and controller.guided_notes() == {1, 2, 4}


def test_help_presses_a_hinted_note_again_at_full_force():
    calls, _ = guide(HINT, fingers((0.0, B)), force=300, extra=[Stamped(1.0, HelpRequested())])
    assert calls[:2] == [(0.8, "press", 0, MASK[C], 300, 1.5), (1.0, "press", 0, MASK[C], FULL_FORCE, 1.5)]


def test_after_the_board_lets_go_on_its_own_the_next_note_is_judged_afresh():
    # an alert during C: the controller no longer counts C as held, so D is pressed only because it is wrong
    alert = Stamped(1.1, BoardAlert(1.1, 7, "clutch engaged over 10000 ms: released"))
    calls, _ = guide(GUIDED, fingers((0.0, B), (1.2, D)), extra=[alert])
    assert [call[2] for call in calls] == [0, 2, 4], "D already held at its lead time: skipped"


def sent_commands(presses: Sequence[tuple[float, float]]) -> list[tuple[float, str, float]]:
    """What Haptics sends for presses (start, until) made one after another: each press plans from the plan
    before it (as `Haptics.press` does), and a new press cancels the steps of the old plan not yet sent."""
    plan: tuple[GuideStep, ...] = ()
    sent: list[tuple[float, str, float]] = []
    for (now_s, until_s), following in itertools.zip_longest(presses, presses[1:], fillvalue=(math.inf, 0)):
        plan = plan_guides(now_s, until_s, engaged_since(plan, now_s), LIMITS)
        if plan and plan[0].release_first:
            sent.append((now_s, "release", now_s))
        sent += [(step.start_s, "guide", step.end_s) for step in plan if step.start_s < following[0]]
    return sent


def stretches(sent: Sequence[tuple[float, str, float]]) -> list[tuple[float, float]]:
    """The board's stretches of clutch engagement under these commands: a GUIDE engages (or, while engaged, moves
    the end), the clutch lets go at a GUIDE's end or on a release."""
    out: list[tuple[float, float]] = []
    start_s = end_s = None
    for t_s, kind, guide_end_s in sent:
        if start_s is not None and t_s >= end_s:
            out.append((start_s, end_s))
            start_s = None
        if kind == "release":
            if start_s is not None:
                out.append((start_s, t_s))
            start_s = None
        else:
            start_s = t_s if start_s is None else start_s
            end_s = guide_end_s
    if start_s is not None:
        out.append((start_s, end_s))
    return out


@pytest.mark.parametrize(
    "presses",
    [
        [(0.0, 15.0)],  # one 15 s note
        [(0.3 + 0.5 * k - LEAD_S, 0.3 + 0.5 * (k + 1)) for k in range(60)],  # 30 s of legato half-second notes
        [(0.0, 8.5), (8.3, 12.0)],  # a note after 8.5 s of pressing: released first, not pressed past 9 s
    ],
)
def test_guides_last_at_most_3_s_and_engagement_never_reaches_10_s(presses):
    sent = sent_commands(presses)
    assert all(0 < end_s - t_s <= LIMITS.max_guide_s for t_s, kind, end_s in sent if kind == "guide")
    engaged = stretches(sent)
    assert max(end_s - start_s for start_s, end_s in engaged) <= LIMITS.max_engage_s - 1.0 + 1e-9
    gaps = [after[0] - before[1] for before, after in itertools.pairwise(engaged)]
    assert all(gap >= GAP_S - 1e-9 for gap in gaps), "every release lasts the gap"
    first_s, last_s = presses[0][0], presses[-1][1]
    assert engaged[0][0] == first_s and engaged[-1][1] == last_s
    assert len(engaged) == math.ceil((last_s - first_s) / (LIMITS.max_engage_s - 1.0)), "released no more than needed"
    assert sum(gaps) <= len(gaps) * GAP_S + 1e-9, "pressed all the time but for the gaps"
