"""`flutex assess`: grade a recorded play-through again, to the same result as live.

The recording's `Lesson` event says what was graded and how (score, part, profile, transposition, tolerance, when
beat 0 was due, the pitch tracker, the input latency). Its recorded inputs (link events and audio chunks) go, in
their recorded order, through a fresh `Pipeline` and a fresh `Grader`: the grader hears each input and then what
the pipeline derives from it, the order in which the live session published them. Both are pure, so the notes,
extra notes and summary come out the same as live, byte for byte of the JSON. What was derived live (and the live
feedback) is in the file too, and is not read.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from flutex.host.commands.listen import Lesson, add_score_arguments, load_fitted, print_result, result_json
from flutex.host.errors import UsageError
from flutex.host.pitch.config import INSTRUMENTS
from flutex.host.session.events import RECORDED_TYPES
from flutex.host.session.pipeline import Pipeline
from flutex.host.session.playback import INPUT_TYPES, Recording
from flutex.host.session.recording import sessions_dir
from flutex.tutor.assess.grader import Grader
from flutex.tutor.assess.rules import GradingRules


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Grade a session recorded by `flutex listen` again, from its recorded sensor and audio streams: the same "
        "result as live. --score and --tolerance grade it against another score or band instead."
    )
    parser.add_argument("recording", type=Path, metavar="RECORDING", help="a .mcap file (or its name in the folder)")
    parser.add_argument("--score", metavar="FILE|NAME", help="grade against this score (default: the one played)")
    add_score_arguments(parser, tolerance_default=None)
    parser.add_argument("--sessions-dir", type=Path, help="where to look for a bare file name")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object, last line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path = args.recording
    if not path.exists() and path.parent == Path():
        path = (args.sessions_dir or sessions_dir()) / path
    if not path.is_file():
        raise UsageError(f"no recording {args.recording}: give a .mcap file that `flutex listen` recorded")
    print_result(assess(path, score=args.score, part=args.part, tolerance=args.tolerance), args.json)
    return 0


def assess(
    path: Path, score: str | None = None, part: int | None = None, tolerance: str | None = None
) -> dict[str, Any]:
    """The result of grading the recording at `path` again (see `listen.result_json`); `score`, `part` and
    `tolerance` replace what the recording says was played."""
    lesson = recorded_lesson(path)
    if score is not None:  # another score: the truth of what was played no longer lines up with its notes
        lesson = dataclasses.replace(lesson, score=score, score_path="", part=part, truth="")
    if tolerance is not None:
        lesson = dataclasses.replace(lesson, tolerance=tolerance)
    _, fitted = load_fitted(lesson.score_path or lesson.score, lesson.part, lesson.profile, lesson.transpose)
    pipeline = Pipeline(
        fitted.profile,
        tracker=INSTRUMENTS[lesson.tracker],
        input_latency_s=lesson.input_latency_s,
        breath_calibration=lesson.breath_calibration,
    )
    rules = GradingRules.for_tolerance(lesson.tolerance)
    grader = Grader(
        fitted, lesson.start_s, voice=lesson.voice, rules=rules, breath=lesson.breath_calibration is not None
    )
    recording = Recording(path, event_types=RECORDED_TYPES)
    for stamped in recording:
        if isinstance(stamped.event, INPUT_TYPES):  # the input, then what it completes: the live order
            grader.feed(stamped)
            for derived in pipeline.feed(stamped):
                grader.feed(derived)
    if recording.complete:  # the live session ended with the pipeline's finish; one cut short never did
        for derived in pipeline.finish():
            grader.feed(derived)
    return result_json(lesson, grader.finish().to_json(), path)


def recorded_lesson(path: Path) -> Lesson:
    """The `Lesson` a recording starts with; a UsageError for a recording `flutex listen` did not make."""
    for stamped in Recording(path, event_types=(Lesson,)):
        if isinstance(stamped.event, Lesson):
            return stamped.event
    raise UsageError(f"{path} holds no lesson: only recordings made by `flutex listen` can be assessed")
