"""The truth of a performance as a correct grader would report it: for every written note, every error it carries,
consequences included, and the extra notes played between written ones.

Only the simulator knows it, because only the simulator chose the mistakes (`Performance.injected`). It is plain
data (the same fields as a graded note: index, midi, errors), so a benchmark or a test compares a grader's report
with it without importing the simulator's types; the grader itself never reads it.
"""

from __future__ import annotations

from flutex.sim.music import Tune
from flutex.sim.performance import (
    EARLY,
    EXTRA,
    LATE,
    MISSED,
    NO_BREATH,
    OCTAVE,
    PITCH,
    WRONG_FINGERING,
    Performance,
)

# The grader's error names, in the order a report lists them.
ERRORS = ("fingering", "pitch", "octave", "early", "late", "missed", "short", "no_breath")

# What a correct grader reports for each mistake the player makes on the flute: a wrong fingering also sounds a
# wrong note; an octave slip keeps the fingering, so only the register is wrong; an extra note leaves the written
# one right (it is listed apart).
FLUTE_CONSEQUENCES: dict[str, tuple[str, ...]] = {
    WRONG_FINGERING: ("fingering", "pitch"),
    PITCH: ("pitch",),
    OCTAVE: ("octave",),
    EARLY: ("early",),
    LATE: ("late",),
    MISSED: ("missed",),
    NO_BREATH: ("no_breath",),
    EXTRA: (),
}
# A singer has no fingers on the board: the other note it sings is a wrong pitch, nothing more.
SUNG_CONSEQUENCES = {**FLUTE_CONSEQUENCES, WRONG_FINGERING: ("pitch",)}


def performance_truth(
    tune: Tune, performance: Performance, sings: bool = False, beat0_s: float = 0.0
) -> dict[str, list[dict]]:
    """`{"notes": [{"index", "midi", "errors", "onset_s"}], "extra_notes": [{"after_index", "midi"}]}`: every
    written note that is not a rest (index and midi as written), with the errors its mistake causes in report
    order, and when it truly sounded in seconds after the tune's beat 0, due `beat0_s` into the pass (None: not
    played); an extra note follows written note `after_index` (-1: before the first)."""
    consequences = SUNG_CONSEQUENCES if sings else FLUTE_CONSEQUENCES
    errors: dict[int, set[str]] = {}
    for mistake in performance.injected:
        errors.setdefault(mistake.index, set()).update(consequences[mistake.kind])
    onsets = {played.score_index: played.onset_s - beat0_s for played in performance.notes if played.midi is not None}
    notes = [
        {
            "index": index,
            "midi": note.midi,
            "errors": [name for name in ERRORS if name in errors.get(index, ())],
            "onset_s": onsets.get(index),
        }
        for index, note in enumerate(tune.notes)
        if note.midi is not None
    ]
    extra_notes = []
    after = -1  # before the first written note
    for played in performance.notes:
        if played.score_index is None:
            extra_notes.append({"after_index": after, "midi": played.midi})
        else:
            after = played.score_index
    return {"notes": notes, "extra_notes": extra_notes}
