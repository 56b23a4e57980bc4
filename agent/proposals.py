"""Proactive, with consent: from what the lesson shows, a new way to practise, offered as a question.

Three signs from the papers' tutors, read off the live state after each attempt:
- the same bars going wrong attempt after attempt without guidance: slow them down and guide the fingers;
- clean attempts only while the servos place the fingers (reliance on guidance): try with a hint instead;
- breath running out on held notes (singing): slow down so a breath lasts the phrase.
A proposal is a question and the calls that would carry it out; nothing runs until the student says yes, and a
proposal the student declined is not offered again in the lesson.
"""

from __future__ import annotations

from dataclasses import dataclass

from flutex.tutor.actions.state import AttemptSummary, LiveState

REPEATED_FAILURES = 3  # unguided attempts at the same bars with errors, in a row
RELIANCE_CLEAN_GUIDED = 3  # clean attempts in a row, every one with fingers placed by the servos
SLOW_PERCENT = 70  # the tempo offered when bars keep going wrong
BREATH_PERCENT = 80  # the tempo offered when the breath runs out
BREATH_SIGNS = ("sagged", "no air", "ran out")  # the breath coach's words for support that did not last


@dataclass(frozen=True)
class Proposal:
    kind: str  # which sign, with the bars: a declined proposal of this kind is not offered again
    question: str
    calls: tuple[tuple[str, dict[str, object]], ...]  # (action, arguments), run in order once the student agrees


def propose(state: LiveState, declined: set[str]) -> Proposal | None:
    """The first sign the state shows that the student has not already declined, as a proposal; None otherwise."""
    for proposal in (_repeated_failures(state.recent), _reliance(state.recent), _breath(state.breath)):
        if proposal is not None and proposal.kind not in declined:
            return proposal
    return None


def _tail_at_same_bars(recent: tuple[AttemptSummary, ...], count: int) -> tuple[AttemptSummary, ...] | None:
    """The last `count` attempts when all practised the same bars (the schedule's own, not replays asked for)."""
    tail = recent[-count:]
    if len(tail) < count or len({attempt.bars for attempt in tail}) != 1:
        return None
    return tail


def _bar_numbers(bars: str) -> tuple[int, int]:
    """ "bars 5-6" or "bar 5" as (5, 6) or (5, 5)."""
    numbers = bars.split(" ", 1)[1].split("-")
    return int(numbers[0]), int(numbers[-1])


def _repeated_failures(recent: tuple[AttemptSummary, ...]) -> Proposal | None:
    tail = _tail_at_same_bars(recent, REPEATED_FAILURES)
    if tail is None or not all(a.clean < a.notes and a.guided_notes == 0 for a in tail):
        return None
    first, last = _bar_numbers(tail[0].bars)
    return Proposal(
        f"slow and guided {tail[0].bars}",
        f"{tail[0].bars.capitalize()} went wrong {REPEATED_FAILURES} times in a row. Shall we play them at "
        f"{SLOW_PERCENT}% with your fingers guided?",
        (
            ("set_tempo", {"percent": SLOW_PERCENT}),
            ("set_mode", {"mode": "guided"}),
            ("repeat_segment", {"start_bar": first, "end_bar": last, "times": 2}),
        ),
    )


def _reliance(recent: tuple[AttemptSummary, ...]) -> Proposal | None:
    tail = _tail_at_same_bars(recent, RELIANCE_CLEAN_GUIDED)
    if tail is None or not all(a.clean == a.notes and a.guided_notes > 0 for a in tail):
        return None
    return Proposal(
        f"hint on {tail[0].bars}",
        f"You have played {tail[0].bars} cleanly {RELIANCE_CLEAN_GUIDED} times with the fingers guided. Shall we try "
        "with just a light hint, so your fingers find the holes themselves?",
        (("set_mode", {"mode": "hint"}),),
    )


def _breath(breath: str | None) -> Proposal | None:
    if breath is None or not any(sign in breath for sign in BREATH_SIGNS):
        return None
    return Proposal(
        "slower for breath",
        f"Your breath ran short on the held notes. Shall we take it at {BREATH_PERCENT}% so one breath lasts the "
        "phrase?",
        (("set_tempo", {"percent": BREATH_PERCENT}),),
    )
