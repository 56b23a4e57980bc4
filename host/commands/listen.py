"""`flutex listen`: one live play-through of a score, graded note by note as it is played, the session recorded.

The score is loaded and fitted to the instrument's profile; on `sim://` the virtual player plays it once (its
mistakes as the URL says, see docs/listening.md). Every event of the session timeline goes, as it is published, to
a `Grader` (a callback listener, so it sees everything in publication order: the order a replay reproduces), whose
feedback goes back on the timeline (recorded) and to stderr, one line per graded note. The piece ends at its last
written beat plus `TAIL_S`; the report follows. A `Lesson` event, recorded first, says what was graded and how, so
`flutex assess` grades the recording again to the same result.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.breath.calibration import Calibration
from flutex.host.commands.arguments import add_device_arguments, positive_int, transpose
from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.events import LinkLost
from flutex.host.link.opener import PlainTune, open_instrument, sim_profile
from flutex.host.pitch.config import FLUTE, VOICE, TrackerConfig, note_name
from flutex.host.session.events import Stamped
from flutex.host.session.recording import record_timeline, sessions_dir
from flutex.host.session.session import Session
from flutex.tutor.assess.events import ExtraNote, NoteGraded
from flutex.tutor.assess.grader import Grader
from flutex.tutor.assess.live import GradedTimeline
from flutex.tutor.assess.rules import TOLERANCE_CENTS, GradingRules
from flutex.tutor.score.fit import FittedScore, fit
from flutex.tutor.score.library import resolve
from flutex.tutor.score.load import load_score

TAIL_S = 1.5  # listened to after the piece's last written beat: a late last note still ends
COUNT_IN_S = 3.0  # on a real board, the first beat is due this long after the session starts
POLL_S = 0.1


@dataclass(frozen=True, slots=True)
class Lesson:
    """What was graded and how: recorded on the timeline before any other event, so a recording can be graded
    again (`flutex assess`). `truth` is the simulator's truth as JSON ("" on a real board): stored for the
    report, never given to the grader."""

    score: str  # as the student named it (a library name or a path)
    score_path: str  # the file it was read from
    part: int | None
    profile: str
    transpose: int
    tolerance: str
    start_s: float  # the timeline time at which the score's beat 0 is due
    voice: bool
    tracker: str  # the pitch tracker's settings, by name (flutex.host.pitch.config.INSTRUMENTS)
    input_latency_s: float
    truth: str = ""
    breath_calibration: Calibration | None = None  # the belt's, when there was one: breath marks are judged by it


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Play (or, on sim://, have the virtual player play) a score once while the tutor follows and grades every "
        "note: feedback on stderr as you play, a report at the end, the session recorded "
        "(grade it again with `flutex assess PATH`)."
    )
    parser.add_argument("score", metavar="FILE|NAME", help="a MusicXML, MIDI or ABC file, or a library piece's name")
    add_score_arguments(parser)
    parser.add_argument("--profile", help="the instrument profile to fit the score to (default: the board's)")
    parser.add_argument(
        "--transpose", default="0", type=transpose, help="semitones, or auto: the smallest playable shift"
    )
    parser.add_argument("--voice", action="store_true", help="the student sings (sim://: instrument=voice)")
    parser.add_argument("--microphone", metavar="NAME", help="sound card on a real board (needs the `live` extra)")
    parser.add_argument("--no-record", dest="record", action="store_false", help="do not record the session")
    parser.add_argument("--sessions-dir", type=Path, help="where recordings go (default: see flutex sessions)")
    add_device_arguments(parser)
    parser.set_defaults(run=run)


def add_score_arguments(parser: argparse.ArgumentParser, tolerance_default: str | None = "medium") -> None:
    """--part and --tolerance, as listen and assess take them."""
    parser.add_argument("--part", type=positive_int, help="which part of a multi-part score (1 = the first)")
    parser.add_argument(
        "--tolerance", choices=sorted(TOLERANCE_CENTS), default=tolerance_default, help="pitch band (default medium)"
    )


def run(args: argparse.Namespace) -> int:
    recordings = (args.sessions_dir or sessions_dir()) if args.record else None
    result = asyncio.run(
        listen(
            args.score,
            args.device,
            part=args.part,
            profile=args.profile,
            transpose=args.transpose,
            tolerance=args.tolerance,
            voice=args.voice,
            recordings=recordings,
            microphone=args.microphone,
            feedback=print_feedback,
        )
    )
    print_result(result, args.json)
    return 0


def load_fitted(
    score: str, part: int | None, profile: str, transpose: int | str, sung: bool = False
) -> tuple[Path, FittedScore]:
    """The score named `score` (a file, else a library piece), its `part`, fitted to `profile`; a `sung` score
    keeps the notes the flute cannot finger (a voice has no fingering to judge)."""
    path = resolve(score)
    return path, fit(load_score(path, part=part), InstrumentProfile.load(profile), transpose, strict=not sung)


def plain_tune(fitted: FittedScore, rules: GradingRules) -> PlainTune:
    """The fitted score as the simulated player reads it, with the grader's tolerances."""
    score = fitted.score
    return PlainTune(
        tuple((note.midi, note.onset_beats, note.duration_beats, note.breath_before) for note in score.notes),
        tuple((tempo.beat, tempo.bpm) for tempo in score.tempos),
        rules.timing_s,
        rules.pitch_cents,
    )


def tracker_for(fitted: FittedScore, voice: bool) -> TrackerConfig:
    """The voice's tracker for a singer whose notes it covers; the flute's otherwise."""
    low, high = (69 + 12 * math.log2(hz / 440.0) for hz in (VOICE.fmin_hz, VOICE.fmax_hz))
    sung = voice and all(low <= note.midi <= high for note in fitted.score.sounding if note.midi is not None)
    return VOICE if sung else FLUTE


async def listen(
    score: str,
    url: str,
    *,
    part: int | None = None,
    profile: str | None = None,
    transpose: int | str = 0,
    tolerance: str = "medium",
    voice: bool = False,
    recordings: Path | None = None,
    microphone: str | None = None,
    feedback: Callable[[Stamped], None] = lambda _: None,
) -> dict[str, Any]:
    """One graded play-through; returns the result (see `result_json`). `feedback` hears every feedback event."""
    rules = GradingRules.for_tolerance(tolerance)
    simulated = url.startswith("sim:")
    board_profile = sim_profile(url)
    if profile is not None and board_profile is not None and profile != board_profile:
        raise UsageError(f"--profile {profile} but the simulated board plays {board_profile}: say it once, in the URL")
    fitted = None
    if profile or board_profile:
        path, fitted = load_fitted(score, part, profile or board_profile, transpose)
    tune = plain_tune(fitted, rules) if fitted is not None else None
    async with open_instrument(url, microphone="simulated" if simulated else microphone, tune=tune) as instrument:
        client = instrument.client
        assert client.info is not None  # connected
        board_name = client.info.details.get("profile", "six_hole")
        if fitted is None:
            path, fitted = load_fitted(score, part, board_name, transpose)
        elif fitted.profile.name != board_name:
            raise UsageError(f"the score is fitted to {fitted.profile.name} but the board is a {board_name} flute")
        voice = voice or instrument.sings
        tracker = tracker_for(fitted, voice)
        session = Session(
            client,
            profile=fitted.profile,
            audio=instrument.audio,
            sample_rate_hz=instrument.sample_rate_hz,
            input_latency_s=0.0 if simulated else None,  # the simulated microphone's capture times are exact
            audio_device=microphone or "default",
            tracker=tracker,
            breath_calibration=instrument.belt_calibration,
        )
        if instrument.beat0_monotonic_s is not None:
            start_s = instrument.beat0_monotonic_s - session.clock.origin_s
        else:
            start_s = session.clock.now() + COUNT_IN_S
            print(f"play from the start of bar 1 in {COUNT_IN_S:g} s", file=sys.stderr)
        truth = instrument.performance_truth() if instrument.performance_truth is not None else None
        lesson = Lesson(
            score,
            str(path.resolve()),
            part,
            fitted.profile.name,
            fitted.transpose,
            tolerance,
            start_s,
            voice,
            tracker.name,
            session.input_latency_s,
            "" if truth is None else json.dumps(with_places(truth, fitted)),
            instrument.belt_calibration,
        )
        recorder = None
        if recordings is not None:
            origin_s, profile_name = session.clock.origin_s, fitted.profile.name
            recorder = record_timeline(recordings, session.timeline, origin_s, client.info, profile_name)
        session.timeline.publish(Stamped(session.clock.now(), lesson))
        grader = Grader(fitted, start_s, voice=voice, rules=rules, breath=instrument.belt_calibration is not None)
        grading = GradedTimeline(grader, session.timeline, feedback)
        session.timeline.add_listener(grading)
        lost: list[LinkLost] = []
        session.timeline.add_listener(lambda stamped: _note_loss(stamped, lost))
        end_s = start_s + fitted.score.seconds(fitted.score.length_beats) + TAIL_S
        try:
            async with session:
                while session.clock.now() < end_s and not any(loss.final for loss in lost):
                    await asyncio.sleep(POLL_S)
        finally:
            if recorder is not None:
                recorder.close()
        if session.timeline.callback_errors:
            raise FlutexError(f"the grader failed on {session.timeline.callback_errors} events (see the log above)")
        if any(loss.final for loss in lost):
            raise FlutexError(f"lost the board: {lost[-1].reason}")
        report = grading.grader.finish()
        return result_json(lesson, report.to_json(), None if recorder is None else recorder.path)


def _note_loss(stamped: Stamped, lost: list[LinkLost]) -> None:
    if isinstance(stamped.event, LinkLost):
        lost.append(stamped.event)


def result_json(lesson: Lesson, report: dict[str, Any], recording: Path | None) -> dict[str, Any]:
    """The JSON of a graded play-through, the same live and from a recording; the truth where the simulator
    played, with each note's bar and beat from the fitted score."""
    result = {
        "score": lesson.score,
        "profile": lesson.profile,
        "transpose": lesson.transpose,
        "tolerance": lesson.tolerance,
        "voice": lesson.voice,
        "notes": report["notes"],
        "extra_notes": report["extra_notes"],
        "summary": report["summary"],
        "recording": None if recording is None else str(recording.resolve()),
    }
    if lesson.truth:
        result["truth"] = json.loads(lesson.truth)
    return result


def with_places(truth: dict[str, list[dict]], fitted: FittedScore) -> dict[str, list[dict]]:
    """The simulator's truth with each note's bar and beat, in the fields (and order) of a graded note, and when it
    truly sounded (seconds after beat 0)."""
    notes = fitted.score.notes
    return {
        "notes": [
            {
                "index": note["index"],
                "bar": notes[note["index"]].bar,
                "beat": notes[note["index"]].beat,
                "midi": note["midi"],
                "errors": note["errors"],
                "onset_s": note["onset_s"],
            }
            for note in truth["notes"]
        ],
        "extra_notes": truth["extra_notes"],
    }


def print_feedback(stamped: Stamped) -> None:
    """One line on stderr per graded note ("bar 3, beat 2: C5 ok", or its reasons) and per extra note."""
    event = stamped.event
    if isinstance(event, NoteGraded):
        line = (
            "; ".join(event.reasons)
            if event.errors
            else f"bar {event.bar}, beat {event.beat:g}: {note_name(event.midi)} ok"
        )
        print(line, file=sys.stderr, flush=True)
    elif isinstance(event, ExtraNote):
        print(event.reason, file=sys.stderr, flush=True)


def print_result(result: dict[str, Any], as_json: bool) -> None:
    """The readable report, or with `as_json` the result as one JSON object on the last line."""
    if as_json:
        print(json.dumps(result))
        return
    notes = result["notes"]
    lines = [f"{result['score']} on the {result['profile']} profile, transposed {result['transpose']:+d}"]
    lines += [f"  {reason}" for note in notes for reason in note["reasons"]]
    lines += [
        f"  extra note {note_name(extra['midi'])} after note {extra['after_index']}" for extra in result["extra_notes"]
    ]
    clean = sum(not note["errors"] for note in notes)
    lines.append(f"  {clean} of {len(notes)} notes without an error")
    lines += [f"  {name}: {value}" for name, value in result["summary"].items()]
    if result["recording"]:
        lines.append(f"  recording {result['recording']}  (grade it again: flutex assess PATH)")
    if "truth" in result:
        truly = sum(not note["errors"] for note in result["truth"]["notes"])
        lines.append(f"  the simulated player truly made no error on {truly} of {len(result['truth']['notes'])} notes")
    print("\n".join(lines))
