"""The commented plan `flutex plan new` writes: every key, what it does, its default and its range, so a teacher
can start from it without reading the docs. The values written are the defaults (read from `plan.py`, so the two
cannot disagree), and the segments are the piece's own phrases.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from flutex.tutor.assess.rules import TOLERANCE_CENTS
from flutex.tutor.lesson.modes import ADVANCE_RULES
from flutex.tutor.lesson.plan import GuidanceSettings, LessonPlan, PassCriteria, ReviewSettings, TempoRamp
from flutex.tutor.score.model import Score

DEFAULT_PIECE = "twinkle_twinkle"
MAX_TEMPLATE_SEGMENTS = 8  # a long piece's first phrases: enough to start from


def phrase_bars(score: Score) -> list[tuple[int, int]]:
    """The score's phrases as bar ranges that follow one another without sharing a bar (a phrase that starts
    inside a bar gives that bar to the phrase before), at most MAX_TEMPLATE_SEGMENTS of them."""
    ranges: list[tuple[int, int]] = []
    for segment in score.segments:
        first = segment.first_bar if not ranges else max(segment.first_bar, ranges[-1][1] + 1)
        if first <= segment.last_bar:
            ranges.append((first, segment.last_bar))
    return ranges[:MAX_TEMPLATE_SEGMENTS]


def _toml(value: object) -> str:
    """A default as TOML writes it (strings quoted, booleans lower case, lists of strings)."""
    return json.dumps(value if not isinstance(value, tuple) else list(value))


def template(piece: str, segments: Sequence[tuple[int, int]], title: str = "My lesson") -> str:
    """A complete, commented plan for `piece` (a library name or a path relative to the plan) with `segments`."""
    blocks = "\n".join(
        f'[[segments]]\nname = {_toml(f"bars {first}-{last}")}\nbars = [{first}, {last}]\nnotes = ""\n'
        for first, last in segments
    )
    tempo, passing, guidance, review = TempoRamp(None), PassCriteria(), GuidanceSettings(), ReviewSettings()
    bands = ", ".join(f'"{name}" ({cents:g} cents)' for name, cents in TOLERANCE_CENTS.items())
    return f"""\
# A Flute X lesson plan (TOML). Lines starting with # are comments; delete the ones you do not need.
# Check it with `flutex plan check FILE`, run it with `flutex lesson FILE`. Every key: docs/lessons.md.

# The lesson's name, as the student sees it (required).
title = {_toml(title)}
# What to play (required): a library piece's name (`flutex scores` lists them) or a MusicXML, MIDI or ABC file,
# relative to this plan's folder.
piece = {_toml(piece)}
# "flute" (the haptic flute: fingerings guided by its servos) or "voice" (singing: pitch and the breath belt;
# only the "free" guidance mode).
instrument = "flute"
# The instrument profile to fit the piece to, e.g. "six_hole" or "boehm" (default: the board's own).
# profile = "six_hole"
# Which part of a score with several, from 1 (only needed then).
# part = 1
# Move the piece up or down by whole semitones, -48 to 48 (default 0).
transpose = 0
# A metronome click during each attempt (default true), after a count-in of count_in_beats beats, 0 to 16
# (default {LessonPlan.count_in_beats}).
click = {_toml(LessonPlan.click)}
count_in_beats = {LessonPlan.count_in_beats}
# Stop the lesson after this many minutes, above 0 and at most 240 (default: when every segment is done).
# minutes = 15
# Anything the student should read before starting.
teacher_notes = \"\"\"
\"\"\"

[tempo]
# The goal in quarter notes a minute, 20 to 300 (default: the piece's own tempo).
# target_bpm = 96
# The first attempt at this percent of the goal, 10 to 100 (default {tempo.start_percent}).
start_percent = {tempo.start_percent}
# Up by this many percent after a clean pass (never past 100), down by it after a failed unguided one; 1 to 50
# (default {tempo.step_percent}).
step_percent = {tempo.step_percent}
# Never slower than this percent, 10 to 100 and at most start_percent (default {tempo.floor_percent}).
floor_percent = {tempo.floor_percent}

[pass]
# How far from the written pitch a note may be: {bands}
# (default "{passing.tolerance}").
tolerance = {_toml(passing.tolerance)}
# How early or late a note may start, in milliseconds, 20 to 1000 (default {passing.timing_ms}).
timing_ms = {passing.timing_ms}
# Judge the fingerings (default true); false: only the sound.
fingering = {_toml(passing.fingering)}
# Judge the breath marks on the breath belt (default false; needs the belt).
breath = {_toml(passing.breath)}
# Clean passes without guidance for a segment to count as learnt, 1 to 20 (default {passing.mastery_passes}).
mastery_passes = {passing.mastery_passes}

[guidance]
# The guidance modes this lesson may use, most help first (default all):
#   "guided"     the servos press each fingering just before its note
#   "hint"       a lighter press, weaker on every repetition: felt, not forced
#   "corrective" hands off, until a finger is wrong or late; released as soon as it is right
#   "free"       no help: the student plays alone
modes = {_toml(guidance.modes)}
# The mode a new segment starts in; one of the modes above (default "{guidance.start}").
start = {_toml(guidance.start)}
# When a segment's loop moves on: {", ".join(f'"{rule}"' for rule in ADVANCE_RULES)}
# (never: repeat the segment up to max_attempts; always: after every attempt; perfect: after a clean pass;
# default "perfect").
advance = {_toml(guidance.advance)}
# "dynamic": guidance fades as the student gets it right and comes back when mistakes do; "static": every
# attempt fully guided, then one unguided test (the research baseline). Default "dynamic".
policy = {_toml(guidance.policy)}
# The hint's first force in thousandths of a full press, 100 to 1000 (default {guidance.hint_force_permille}),
# weaker by hint_step_permille on every repetition, 0 to 500 (default {guidance.hint_step_permille}).
hint_force_permille = {guidance.hint_force_permille}
hint_step_permille = {guidance.hint_step_permille}
# Guided: press this many milliseconds before each note, 0 to 1000 (default {guidance.lead_ms}).
lead_ms = {guidance.lead_ms}
# Attempts at one segment before the lesson moves on regardless, 1 to 100 (default {guidance.max_attempts}).
max_attempts = {guidance.max_attempts}
# The "help me" input (a key, a pedal) brings full guidance back for the rest of an attempt (default true).
help = {_toml(guidance.help)}

[review]
# Across days: how likely the student should still play a segment right when it comes up for review, 0.7 to
# 0.99 (default {review.desired_retention}). Higher: more frequent reviews.
desired_retention = {review.desired_retention}

# The segments, in order, each starting after the last one ends: bars = [FIRST, LAST] of the piece (inclusive).
# name and notes are optional: a short name and a sentence for the student.
{blocks}"""
