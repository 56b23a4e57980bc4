"""When the clicks fall: a count-in before an attempt's first downbeat, then (if switched on) one per beat through
it, at the attempt's own tempo, so the clicks follow the tempo ramp. Times only: the runner publishes each click on
the timeline when it is due, and whatever plays them (a speaker, the console) listens there."""

from __future__ import annotations

from dataclasses import dataclass

from flutex.tutor.lesson.events import Click


@dataclass(frozen=True, slots=True)
class TimedClick:
    t_s: float  # on the session timeline
    click: Click


def clicks(
    beat0_s: float, bpm: float, count_in_beats: int, beats: float, beats_per_bar: float, through: bool
) -> list[TimedClick]:
    """`count_in_beats` clicks ending one beat before `beat0_s` (the downbeat), then with `through` one per beat for
    `beats` beats; an accent on every bar's first beat (the count-in is one bar counted back from the downbeat)."""
    beat_s = 60.0 / bpm
    per_bar = max(round(beats_per_bar), 1)
    out = [
        TimedClick(beat0_s - (count_in_beats - k) * beat_s, Click(k + 1, (k - count_in_beats) % per_bar == 0, True))
        for k in range(count_in_beats)
    ]
    if through:
        out += [
            TimedClick(beat0_s + k * beat_s, Click(count_in_beats + k + 1, k % per_bar == 0, False))
            for k in range(int(beats + 1e-9))
        ]
    return out
