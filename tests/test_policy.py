"""The schedule inside a lesson: the dynamic ladder of guidance, mastery from unguided attempts, the advance rules,
chaining, the tempo ramp, the explanations a student reads, and the static baseline (tutor/lesson/policy.py)."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flutex.tutor.lesson.modes import CLOSES_HOLE_PERMILLE, CORRECTIVE, FREE, FULL_FORCE, GUIDED, HINT, MODES
from flutex.tutor.lesson.plan import (
    GuidanceSettings,
    LessonPlan,
    PassCriteria,
    PlanSegment,
    ReviewSettings,
    TempoRamp,
)
from flutex.tutor.lesson.policy import (
    GUIDED_SLIPS,
    AttemptResult,
    DynamicSchedule,
    NoteOutcome,
    StaticSchedule,
    Step,
    schedule_for,
    segment_of,
)
from flutex.tutor.score.library import resolve
from flutex.tutor.score.load import load_score

SCORE = load_score(resolve("twinkle_twinkle"))  # 12 bars at 96 bpm
BARS = ((1, 4), (5, 6), (7, 8), (9, 12))


def make_plan(segments=BARS, tempo=None, passing=None, **guidance) -> LessonPlan:
    return LessonPlan(
        path=None,
        title="test plan",
        piece="twinkle_twinkle",
        instrument="flute",
        profile=None,
        part=None,
        transpose=0,
        segments=tuple(PlanSegment(f"part {k + 1}", first, last) for k, (first, last) in enumerate(segments)),
        tempo=tempo or TempoRamp(None),
        passing=passing or PassCriteria(),
        # the ladder's weakening hints are tested from a hint that closes holes (the default 450 only nudges)
        guidance=GuidanceSettings(**{"hint_force_permille": 700, **guidance}),
        review=ReviewSettings(),
        teacher_notes="",
    )


def outcome(step: Step, wrong: int = 0, extra: int = 0, help_requested: bool = False, pressed: bool | None = None):
    """An attempt at `step`: the first `wrong` notes of the span have a fingering error. As a guidance controller
    would: GUIDED and HINT press every note, CORRECTIVE only the wrong ones, FREE none (`pressed` overrides)."""
    indices = [
        note.index
        for note in SCORE.notes
        if note.midi is not None and step.span.first_bar <= note.bar <= step.span.last_bar
    ]
    notes = []
    for k, index in enumerate(indices):
        errors = ("fingering",) if k < wrong else ()
        guided = step.mode in (GUIDED, HINT) or (step.mode == CORRECTIVE and bool(errors))
        notes.append(NoteOutcome(index, errors, guided if pressed is None else pressed))
    return AttemptResult(step, tuple(notes), extra, help_requested)


def play(schedule, wrong: int = 0, **kwargs) -> Step:
    step = schedule.next()
    schedule.record(outcome(step, wrong, **kwargs))
    return step


def setting(step: Step) -> tuple:
    return (step.span.label, step.mode, step.force_permille, step.tempo_percent)


def test_clean_attempts_fade_guidance_from_guided_through_weakening_hints_and_corrections_to_free():
    schedule = DynamicSchedule(make_plan(), SCORE)
    steps = [play(schedule) for _ in range(6)]
    assert [(s.mode, s.force_permille) for s in steps] == [
        (GUIDED, FULL_FORCE),
        (HINT, 700),
        (HINT, 550),
        (HINT, 400),  # felt, no longer closes a hole: the first attempt that counts for mastery
        (CORRECTIVE, FULL_FORCE),
        (FREE, 0),
    ]
    assert all(s.span.label == "bars 1-4" for s in steps)
    assert schedule.mastery()[0] == 1.0  # HINT 400, CORRECTIVE never engaged, FREE: three clean unguided passes
    assert schedule.next().span.label == "bars 5-6"  # "perfect": advance once mastered


def test_an_unguided_error_steps_back_one_rung_and_says_why():
    schedule = DynamicSchedule(make_plan(), SCORE)
    for _ in range(5):
        play(schedule)
    free = play(schedule, wrong=2, extra=0)
    assert free.mode == FREE
    back = schedule.next()
    assert back.mode == CORRECTIVE
    assert back.explanation == "bars 1-4: guidance back on (corrections only), slower, 86 bpm: 2 notes wrong"


def test_a_failed_weak_hint_comes_back_one_step_stronger():
    schedule = DynamicSchedule(make_plan(), SCORE)
    for _ in range(3):
        play(schedule)
    weak = play(schedule, wrong=1)
    assert (weak.mode, weak.force_permille) == (HINT, 400)
    assert (schedule.next().mode, schedule.next().force_permille) == (HINT, 550)


def test_two_unguided_failures_in_a_row_go_back_to_the_start_mode():
    schedule = DynamicSchedule(make_plan(), SCORE)
    for _ in range(5):
        play(schedule)
    play(schedule, wrong=1)  # FREE -> CORRECTIVE
    corrective = play(schedule, wrong=1, pressed=False)  # the corrections never engaged: still an unguided failure
    assert corrective.mode == CORRECTIVE
    restart = schedule.next()
    assert restart.mode == GUIDED
    assert restart.explanation.endswith("wrong twice in a row without help")


def test_a_guided_failure_repeats_the_same_setting():
    schedule = DynamicSchedule(make_plan(), SCORE)
    first = play(schedule, wrong=3)
    again = schedule.next()
    assert setting(again) == setting(first)
    assert again.explanation is None


def test_a_guided_attempt_with_one_slip_still_takes_guidance_one_step_away_but_not_the_tempo_up():
    schedule = DynamicSchedule(make_plan(), SCORE)
    first = play(schedule, wrong=GUIDED_SLIPS)
    lighter = schedule.next()
    assert (first.mode, lighter.mode) == (GUIDED, HINT)
    assert lighter.tempo_percent == first.tempo_percent
    assert lighter.explanation is not None and "nearly right" in lighter.explanation
    play(schedule, wrong=GUIDED_SLIPS, extra=1)  # an extra note too: not nearly right
    assert setting(schedule.next()) == setting(lighter)


def test_help_brings_full_guidance_back_at_once():
    schedule = DynamicSchedule(make_plan(), SCORE)
    for _ in range(5):
        play(schedule)
    asked = play(schedule, help_requested=True, pressed=True)  # FREE until the student asked, then guided
    assert asked.mode == FREE
    helped = schedule.next()
    assert (helped.span, helped.mode) == (asked.span, GUIDED)
    assert helped.explanation.endswith("you asked for help")
    assert schedule.mastery()[0] == pytest.approx(2 / 3)  # the helped attempt does not count


def test_help_is_ignored_when_the_plan_turns_it_off():
    schedule = DynamicSchedule(make_plan(help=False), SCORE)
    for _ in range(5):
        play(schedule)
    play(schedule, help_requested=True, pressed=False)  # the request does nothing: a clean FREE attempt
    assert schedule.mastery()[0] == 1.0
    assert schedule.next().span.label == "bars 5-6"


def test_clean_guided_attempts_never_master_a_segment():
    schedule = DynamicSchedule(make_plan(modes=(GUIDED,), max_attempts=8), SCORE)
    steps = [play(schedule) for _ in range(8)]
    assert {s.span.label for s in steps} == {"bars 1-4"}
    assert schedule.mastery()[0] == 0.0
    assert schedule.next().span.label == "bars 5-6"  # moved on because its attempts were spent, not because learnt


def test_mastery_is_the_clean_share_of_the_last_unguided_passes():
    schedule = DynamicSchedule(make_plan(modes=(FREE,), start=FREE), SCORE)
    play(schedule, wrong=1)
    assert schedule.mastery()[0] == 0.0
    play(schedule)
    play(schedule)
    assert schedule.mastery()[0] == pytest.approx(2 / 3)
    play(schedule)  # the failure left the window of the last three
    assert schedule.mastery()[0] == 1.0


def test_advance_never_stays_on_a_segment_for_all_its_attempts():
    schedule = DynamicSchedule(make_plan(advance="never", max_attempts=8), SCORE)
    steps = [play(schedule) for _ in range(8)]
    assert {s.span.label for s in steps} == {"bars 1-4"}
    assert schedule.mastery()[0] == 1.0
    assert schedule.next().span.label == "bars 5-6"


def test_advance_always_moves_round_the_segments_after_every_attempt():
    schedule = DynamicSchedule(make_plan(advance="always"), SCORE)
    labels = [play(schedule, wrong=1).span.label for _ in range(6)]
    assert labels == ["bars 1-4", "bars 5-6", "bars 7-8", "bars 9-12", "bars 1-4", "bars 5-6"]


def test_advance_always_skips_mastered_segments():
    plan = make_plan(advance="always", modes=(FREE,), start=FREE, passing=PassCriteria(mastery_passes=1))
    schedule = DynamicSchedule(plan, SCORE)
    play(schedule)  # bars 1-4 mastered at once
    assert [play(schedule, wrong=1).span.label for _ in range(4)] == ["bars 5-6", "bars 7-8", "bars 9-12", "bars 5-6"]


def test_mastered_neighbours_chain_into_one_span_before_the_next_new_segment():
    plan = make_plan(modes=(FREE,), start=FREE, passing=PassCriteria(mastery_passes=1))
    schedule = DynamicSchedule(plan, SCORE)
    assert play(schedule).span.label == "bars 1-4"
    second = play(schedule)
    assert second.span.label == "bars 5-6"
    chain = schedule.next()
    assert (chain.span.first, chain.span.last, chain.mode) == (0, 1, FREE)
    assert chain.explanation.startswith("bars 1-6: now together, guidance off, ")
    schedule.record(outcome(chain))
    assert schedule.next().span.label == "bars 7-8"


def test_a_segment_that_fails_in_the_chain_is_practised_again():
    plan = make_plan(modes=(FREE,), start=FREE, passing=PassCriteria(mastery_passes=1))
    schedule = DynamicSchedule(plan, SCORE)
    play(schedule)
    play(schedule)
    chain = schedule.next()
    notes = outcome(chain).notes
    bars_5_6 = {index for index, k in segment_of(plan, SCORE).items() if k == 1}
    spoilt = tuple(NoteOutcome(n.index, ("late",) if n.index in bars_5_6 else (), False) for n in notes)
    schedule.record(AttemptResult(chain, spoilt))
    assert schedule.mastery() == {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0}
    assert schedule.next().span.label == "bars 5-6"


def test_the_lesson_ends_with_the_whole_played_once_without_guidance():
    plan = make_plan(modes=(FREE,), start=FREE, passing=PassCriteria(mastery_passes=1))
    schedule = DynamicSchedule(plan, SCORE)
    steps = []
    while (step := schedule.next()) is not None:
        steps.append(step)
        schedule.record(outcome(step))
    assert [s.span.label for s in steps] == [
        "bars 1-4",
        "bars 5-6",
        "bars 1-6",
        "bars 7-8",
        "bars 1-8",
        "bars 9-12",  # its chain would be the whole: the closing pass plays it
        "bars 1-12",
    ]
    assert steps[-1].probe and steps[-1].mode == FREE
    assert [s.attempt for s in steps] == list(range(1, 8))


def test_tempo_ramps_up_on_clean_passes_to_the_target_and_down_on_unguided_failures_to_the_floor():
    ramp = TempoRamp(None, start_percent=70, step_percent=10, floor_percent=50)
    schedule = DynamicSchedule(
        make_plan(modes=(FREE,), start=FREE, tempo=ramp, advance="never", max_attempts=20), SCORE
    )
    ups = [play(schedule).tempo_percent for _ in range(5)]
    downs = [play(schedule, wrong=1).tempo_percent for _ in range(6)]
    assert ups == [70, 80, 90, 100, 100]
    assert downs == [100, 90, 80, 70, 60, 50]
    assert schedule.next().tempo_percent == 50


def test_guided_failures_leave_the_tempo_alone():
    schedule = DynamicSchedule(make_plan(max_attempts=20), SCORE)
    assert [play(schedule, wrong=1).tempo_percent for _ in range(3)] == [70, 70, 70]


def test_the_target_tempo_comes_from_the_plan_else_the_score():
    own = DynamicSchedule(make_plan(), SCORE).next()
    assert own.explanation == "bars 1-4: full guidance, 67 bpm"  # 70% of the score's 96 bpm
    set_by_plan = DynamicSchedule(make_plan(tempo=TempoRamp(120.0, start_percent=50)), SCORE).next()
    assert set_by_plan.explanation == "bars 1-4: full guidance, 60 bpm"


def test_explanations_appear_exactly_when_the_span_mode_force_or_tempo_changes():
    schedule = DynamicSchedule(make_plan(max_attempts=6), SCORE)
    script = [0, 3, 0, 0, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    before = None
    for wrong in script:
        step = schedule.next()
        if step is None:
            break
        changed = before is None or setting(step) != setting(before)
        assert (step.explanation is not None) == changed, (before, step)
        schedule.record(outcome(step, wrong))
        before = step


def test_the_student_reads_why_guidance_went_off():
    schedule = DynamicSchedule(make_plan(modes=(GUIDED, FREE)), SCORE)
    play(schedule)
    free = schedule.next()
    assert free.explanation == "bars 1-4: guidance off, faster, 77 bpm: you played them right"


def test_prior_mastery_starts_a_segment_without_guidance_and_due_segments_are_probed_first():
    schedule = DynamicSchedule(make_plan(), SCORE, prior={0: 1.0, 1: 0.5}, due=[2, 1])
    probes = [play(schedule) for _ in range(2)]
    assert [(p.span.label, p.mode, p.probe) for p in probes] == [("bars 7-8", FREE, True), ("bars 5-6", FREE, True)]
    assert probes[0].explanation.endswith("due for review, from memory")
    first_practice = schedule.next()
    assert (first_practice.span.label, first_practice.mode, first_practice.probe) == ("bars 1-4", FREE, False)
    mastery = schedule.mastery()
    assert mastery[0] == 1.0  # not played yet today: the prior carries over
    assert mastery[2] == pytest.approx(1 / 3)  # the clean probe counts as one unguided pass


def test_prior_below_the_threshold_starts_at_the_plan_start():
    assert DynamicSchedule(make_plan(), SCORE, prior={0: 0.7}).next().mode == GUIDED


def test_a_due_segment_outside_the_plan_is_refused():
    with pytest.raises(ValueError, match="due segment 9"):
        DynamicSchedule(make_plan(), SCORE, due=[9])


def test_a_voice_plan_loops_segments_and_ramps_tempo_without_guidance():
    plan = dataclasses.replace(make_plan(modes=(FREE,), start=FREE), instrument="voice")
    schedule = schedule_for(plan, SCORE)
    steps = [play(schedule, wrong=w) for w in (1, 0, 0, 0)]
    assert {s.mode for s in steps} == {FREE}
    assert [s.tempo_percent for s in steps] == [70, 60, 70, 80]
    assert schedule.next().span.label == "bars 5-6"


def test_static_baseline_is_fixed_guided_practice_then_one_probe_per_segment_then_the_whole():
    plan = make_plan(policy="static", max_attempts=3)
    schedule = schedule_for(plan, SCORE)
    assert isinstance(schedule, StaticSchedule)
    steps = []
    while (step := schedule.next()) is not None:
        steps.append(step)
        schedule.record(outcome(step, wrong=2, help_requested=True))  # nothing the student does changes the plan
    expected = []
    for label in ("bars 1-4", "bars 5-6", "bars 7-8", "bars 9-12"):
        expected += [(label, GUIDED, FULL_FORCE, 100, False)] * 3 + [(label, FREE, 0, 100, True)]
    expected.append(("bars 1-12", FREE, 0, 100, True))
    assert [(*setting(s), s.probe) for s in steps] == expected
    explained = [s.attempt for s in steps if s.explanation]
    assert explained == [1, 4, 5, 8, 9, 12, 13, 16, 17]
    assert steps[0].explanation == "bars 1-4: full guidance, 96 bpm: practise them 3 times"


def test_static_mastery_counts_only_its_probes():
    schedule = schedule_for(make_plan(policy="static", max_attempts=2), SCORE)
    for _ in range(2):
        play(schedule)  # clean but guided
    assert schedule.mastery()[0] == 0.0
    play(schedule)  # the probe
    assert schedule.mastery()[0] == pytest.approx(1 / 3)


def test_schedule_for_picks_the_dynamic_policy_and_record_checks_the_step():
    schedule = schedule_for(make_plan(), SCORE)
    assert isinstance(schedule, DynamicSchedule)
    step = schedule.next()
    assert schedule.next() == step  # asking twice does not move on
    with pytest.raises(ValueError, match="next\\(\\) returned"):
        schedule.record(outcome(dataclasses.replace(step, attempt=5)))


def test_a_hint_under_the_closing_force_counts_as_unguided_even_when_it_pressed():
    step = Step(DynamicSchedule(make_plan(), SCORE).next().span, HINT, CLOSES_HOLE_PERMILLE - 1, 70, 1)
    assert outcome(step, pressed=True).unguided
    assert not outcome(dataclasses.replace(step, force_permille=CLOSES_HOLE_PERMILLE), pressed=True).unguided


attempts = st.tuples(
    st.integers(0, 3),  # wrong notes
    st.integers(0, 1),  # extra notes
    st.booleans(),  # help requested
    st.sampled_from((None, True, False)),  # pressed: as the mode implies, always, never
)
plans = st.builds(
    lambda modes, advance, policy, passes, max_attempts, ramp: make_plan(
        modes=modes,
        start=modes[0],
        advance=advance,
        policy=policy,
        max_attempts=max_attempts,
        passing=PassCriteria(mastery_passes=passes),
        tempo=TempoRamp(None, *ramp),
    ),
    st.lists(st.sampled_from(MODES), min_size=1, unique=True).map(lambda ms: tuple(m for m in MODES if m in ms)),
    st.sampled_from(("never", "always", "perfect")),
    st.sampled_from(("dynamic", "static")),
    st.integers(1, 4),
    st.integers(1, 8),
    st.tuples(st.integers(50, 100), st.integers(0, 30), st.integers(10, 50)),
)


@given(
    plans,
    st.lists(attempts, max_size=200),
    st.lists(st.integers(0, 3), max_size=4),
    st.dictionaries(st.integers(0, 3), st.floats(0, 1)),
)
def test_any_attempt_results_keep_the_schedule_within_the_plan(plan, script, due, prior):
    schedule = schedule_for(plan, SCORE, prior, due)
    segments = len(plan.segments)
    bound = len(set(due)) + 2 * segments * (plan.guidance.max_attempts + 1) + 1
    floor = min(plan.tempo.floor_percent, 100)
    before = None
    for number in range(1, bound + 2):
        step = schedule.next()
        if step is None:
            break
        assert number <= bound, "the lesson must end"
        assert step.attempt == number
        assert step.mode in plan.guidance.modes
        assert 0 <= step.force_permille <= FULL_FORCE
        assert floor <= step.tempo_percent <= 100
        assert 0 <= step.span.first <= step.span.last < segments
        changed = before is None or setting(step) != setting(before)
        assert (step.explanation is not None) == changed
        wrong, extra, help_requested, pressed = script[number - 1] if number <= len(script) else (0, 0, False, None)
        schedule.record(outcome(step, wrong, extra, help_requested, pressed))
        before = step
        assert all(0.0 <= value <= 1.0 for value in schedule.mastery().values())
    assert schedule.next() is None
