"""`flutex lesson PLAN`: a whole lesson on a board, from a teacher's plan, to a report and the student's progress.

The plan is read and checked before anything else (a bad plan writes nothing anywhere), then the store is opened
(so a locked or newer store stops the lesson before it starts), then the board. On `sim://?student=SEED` a simulated
student who learns plays every attempt as the lesson asks (see docs/simulator.md); on a real board the student is
told what to play and when, with a count-in. The whole lesson is one recorded session (`flutex sessions`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import getpass
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flutex.host.audio.click import ClickSpeaker
from flutex.host.audio.speaker import Speaker
from flutex.host.commands.arguments import add_device_arguments, positive_minutes
from flutex.host.commands.listen import load_fitted, plain_tune, tracker_for
from flutex.host.errors import FlutexError, UsageError
from flutex.host.link.opener import Instrument, StudentHook, open_instrument, sim_profile
from flutex.host.pitch.config import note_name
from flutex.host.session.events import Stamped
from flutex.host.session.recording import record_timeline, sessions_dir
from flutex.host.session.session import Session
from flutex.tutor.assess.events import ExtraNote, NoteGraded
from flutex.tutor.assess.rules import GradingRules
from flutex.tutor.lesson.control import LessonControl
from flutex.tutor.lesson.events import Click
from flutex.tutor.lesson.plan import LessonPlan, load_plan, plan_ref, resolve_plan
from flutex.tutor.lesson.policy import Step
from flutex.tutor.lesson.report import LessonReport
from flutex.tutor.lesson.runner import LessonRunner, LessonSetup, Performer
from flutex.tutor.lesson.span import SpanScore
from flutex.tutor.progress.store import open_store


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Run a whole lesson from a plan: each attempt counted in, played, graded note by note and guided as the "
        "schedule decides (guidance fades as the student gets it right and comes back when errors return); a report "
        "at the end; every attempt saved to the progress store. Press Enter or the board's help-me pedal during an "
        "attempt for help (guidance comes back). On sim://?student=SEED a simulated student who learns plays the "
        "lesson."
    )
    parser.add_argument("plan", metavar="PLAN", help="a lesson plan (TOML file) or a shipped plan's name")
    parser.add_argument("--student", default=None, help="whose lesson it is (default: your login name)")
    parser.add_argument(
        "--store", metavar="URL", help="progress store: sqlite:///PATH or postgresql://... (see docs/progress.md)"
    )
    parser.add_argument("--no-store", dest="use_store", action="store_false", help="save no progress")
    parser.add_argument(
        "--no-click", dest="click", action="store_false", default=None, help="no metronome in attempts (count-in stays)"
    )
    parser.add_argument(
        "--minutes", type=positive_minutes, help="start no new attempt after this many minutes (default: the plan's)"
    )
    parser.add_argument("--microphone", metavar="NAME", help="sound card on a real board (needs the `live` extra)")
    parser.add_argument("--no-record", dest="record", action="store_false", help="do not record the session")
    parser.add_argument("--sessions-dir", type=Path, help="where recordings go (default: see flutex sessions)")
    parser.add_argument("--quiet", action="store_true", help="no line per note (attempt lines and the report only)")
    parser.add_argument(
        "--view",
        action="store_true",
        help="open the live window (breath, pitch over the score, fingering, mastery, and a chat with Flute X GPT "
        "about this lesson); closing it stops the lesson",
    )
    add_device_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    plan = load_plan(resolve_plan(args.plan))
    if args.click is not None:
        plan = dataclasses.replace(plan, click=args.click)
    if args.minutes is not None:
        plan = dataclasses.replace(plan, minutes=args.minutes)
    student = args.student or getpass.getuser()
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(open_store(args.store)) if args.use_store else None
        recordings = (args.sessions_dir or sessions_dir()) if args.record else None
        if args.view:
            from flutex.host.commands.viewing import lesson_in_window

            report, recording = lesson_in_window(plan, args.device, student, store, recordings, args.microphone)
            if report is None:  # the lesson said why
                return 1
        else:
            report, recording = asyncio.run(
                lesson(plan, args.device, student, store, recordings, args.microphone, quiet=args.quiet or args.json)
            )
    if args.json:
        print(json.dumps({**report.to_json(), "recording": None if recording is None else str(recording)}))
    else:
        print(report.text())
        if recording is not None:
            print(f"  recording {recording}")
    return 0


async def lesson(
    plan: LessonPlan,
    url: str,
    student: str,
    store: Any,
    recordings: Path | None,
    microphone: str | None,
    quiet: bool = False,
    control: LessonControl | None = None,
    on_event: Callable[[Stamped], None] | None = None,
    on_session: Callable[[Session], None] | None = None,
) -> tuple[LessonReport, Path | None]:
    """One lesson on the board at `url`; returns the report and the recording's path. `control`: what the student
    changes while it runs (`flutex chat`); `on_event`: hears graded notes, clicks and attempt ends (after the
    console's own lines); `on_session`: is handed the session before it starts (a live view taps its timeline)."""
    simulated = url.startswith("sim:")
    board_profile = sim_profile(url)
    if plan.profile is not None and board_profile is not None and plan.profile != board_profile:
        raise UsageError(f"the plan is for the {plan.profile} flute but the simulated board plays {board_profile}")
    async with open_instrument(url, microphone="simulated" if simulated else microphone) as instrument:
        client = instrument.client
        assert client.info is not None
        board_name = client.info.details.get("profile", "six_hole")
        voice = plan.instrument == "voice" or instrument.sings
        profile = plan.profile or board_name
        _, fitted = load_fitted(str(plan.score_path()), plan.part, profile, plan.transpose, sung=voice)
        if plan.instrument == "flute" and instrument.sings:
            raise UsageError("this plan is for the flute, but the simulated student sings: drop instrument=voice")
        session = Session(
            client,
            profile=fitted.profile,
            audio=instrument.audio,
            sample_rate_hz=instrument.sample_rate_hz,
            input_latency_s=0.0 if simulated else None,
            audio_device=microphone or "default",
            tracker=tracker_for(fitted, voice),
            breath_calibration=instrument.belt_calibration,
        )
        recorder = None
        if recordings is not None:
            recorder = record_timeline(
                recordings, session.timeline, session.clock.origin_s, client.info, fitted.profile.name
            )
        rules = GradingRules.for_tolerance(plan.passing.tolerance)
        performer = _performer(instrument, session, rules, simulated)
        setup = LessonSetup(
            plan,
            plan_ref(plan),
            fitted,
            session,
            performer,
            student,
            url,
            store=store,
            voice=voice,
            breath_calibration=instrument.belt_calibration,
            say=_say,
            on_event=_listeners(None if quiet else _Console(), on_event),
            control=control,
            speaker=None if simulated else _speaker(session),
        )
        runner = LessonRunner(setup)
        if on_session is not None:
            on_session(session)
        try:
            async with session:
                with _help_key(runner, enabled=not simulated and sys.stdin.isatty()):
                    report = await runner.run()
        finally:
            if recorder is not None:
                recorder.close()
        return report, None if recorder is None else recorder.path


class SimulatedPerformer:
    """The simulated student, told each attempt through the opener's plain-data hook."""

    def __init__(self, student: StudentHook, session: Session, rules: GradingRules) -> None:
        self._student = student
        self._session = session
        self._rules = rules

    def start(self, span: SpanScore, beat0_s: float, step: Step) -> None:
        beat0_monotonic_s = self._session.clock.origin_s + beat0_s
        self._student.play(plain_tune(span.fitted, self._rules), beat0_monotonic_s, step.mode, step.force_permille)

    def finished(self) -> dict[str, Any] | None:
        return self._student.played()


class TellingPerformer:
    """A person at a real board: told what to play before the count-in."""

    def start(self, span: SpanScore, beat0_s: float, step: Step) -> None:
        _say(f"play {step.span.label} at {span.bpm:.0f} bpm ({step.mode}): count-in follows")

    def finished(self) -> dict[str, Any] | None:
        return None


def _performer(instrument: Instrument, session: Session, rules: GradingRules, simulated: bool) -> Performer:
    if instrument.student is not None:
        return SimulatedPerformer(instrument.student, session, rules)
    if simulated:
        raise UsageError("on sim:// a lesson needs a simulated student who learns: add ?student=SEED to the URL")
    return TellingPerformer()


def _speaker(session: Session) -> Speaker | None:
    """The computer's speaker at a real board: the lesson's clicks are played on it, and demonstrations; without the
    `live` extra, say so once (the count-in still shows, a demonstration still guides the fingers)."""
    try:
        speaker = Speaker()
    except FlutexError as error:
        _say(f"no sound ({error}); the count-in shows here")
        return None
    clicks = ClickSpeaker(speaker)

    def play(stamped: Stamped) -> None:
        if isinstance(stamped.event, Click):
            clicks.click(stamped.event.accent)

    session.timeline.add_listener(play)
    return speaker


@contextlib.contextmanager
def _help_key(runner: LessonRunner, enabled: bool) -> Iterator[None]:
    """Enter on the terminal is the "help me" input (never the e-stop, which only stops)."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()

    def read() -> None:
        for _ in sys.stdin:
            loop.call_soon_threadsafe(runner.request_help)

    threading.Thread(target=read, name="flutex-help-key", daemon=True).start()
    yield


def _listeners(*listeners: Callable[[Stamped], None] | None) -> Callable[[Stamped], None]:
    """One listener that tells each of `listeners` (the ones given) in turn."""
    chosen = [listener for listener in listeners if listener is not None]

    def tell(stamped: Stamped) -> None:
        for listener in chosen:
            listener(stamped)

    return tell


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Console:
    """What the student sees on the terminal as it happens: the count-in on one line ("count-in 1 2"), then one
    line per graded note and per extra note."""

    def __init__(self) -> None:
        self._counting = False

    def __call__(self, stamped: Stamped) -> None:
        event = stamped.event
        if isinstance(event, Click):
            if event.count_in:
                start = "" if self._counting else "count-in"
                print(f"{start} {event.beat}", end="", file=sys.stderr, flush=True)
                self._counting = True
            return
        if self._counting:
            print(file=sys.stderr)
            self._counting = False
        if isinstance(event, NoteGraded):
            ok = f"bar {event.bar}, beat {event.beat:g}: {note_name(event.midi)} ok"
            _say(f"  {'; '.join(event.reasons) if event.errors else ok}")
        elif isinstance(event, ExtraNote):
            _say(f"  {event.reason}")
