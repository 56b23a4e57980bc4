"""`flutex chat`: talk with Flute X GPT, which starts lessons, changes guidance and tempo, demonstrates, explains and
reports progress for the student, through the tutor's action surface only.

With no model configured, the offline rules answer (`flutex.agent.local`); with `FLUTEX_LLM_BASE_URL` and
`FLUTEX_LLM_MODEL` (or the config file, see docs/agent.md) any OpenAI-compatible server does. `--once TEXT` answers
one message (with `--dry-run`, nothing runs; with `--json`, one JSON object). A lesson started from the chat runs in
the background on the board (`--device`, a simulated student by default), and the chat stays open beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import getpass
import json
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from flutex.agent.agent import Agent, TurnResult
from flutex.agent.config import load_config
from flutex.agent.local import LocalBackend, asks_for_action
from flutex.agent.openai_backend import OpenAIBackend
from flutex.host.audio.sources import MicrophoneStream
from flutex.host.audio.speaker import Speaker
from flutex.host.commands.arguments import add_device_arguments
from flutex.host.commands.lesson import lesson
from flutex.host.errors import FlutexError, UsageError
from flutex.host.session.events import Stamped
from flutex.host.session.recording import sessions_dir
from flutex.host.session.session import Session
from flutex.host.voice.conversation import VoiceLoop
from flutex.host.voice.stt import SphinxTranscriber
from flutex.host.voice.tts import FliteVoice
from flutex.tutor.actions.surface import Tutor
from flutex.tutor.lesson.control import LessonControl
from flutex.tutor.lesson.events import AttemptEnded
from flutex.tutor.lesson.plan import PLANS_DIR, LessonPlan
from flutex.tutor.lesson.report import LessonReport
from flutex.tutor.progress.store import Store, open_store
from flutex.tutor.score.library import library_files

DEFAULT_DEVICE = "sim://?student=1"  # a simulated student who learns plays the lessons started here
VOICE_RATE_HZ = 16000  # the recogniser's own rate: nothing to resample
QUIT_WORDS = ("quit", "exit", "bye")


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = (
        "Talk with Flute X GPT: ask in plain English to start a lesson, slow down, guide your fingers or not, repeat "
        "bars, hear a demo, or how you are doing. Works offline out of the box (rules that understand common "
        "requests); set FLUTEX_LLM_BASE_URL and FLUTEX_LLM_MODEL (and FLUTEX_LLM_API_KEY) to talk through any "
        "OpenAI-compatible server, local or remote. The agent changes the lesson only when you ask or agree."
    )
    parser.add_argument("--once", metavar="TEXT", help="answer this one message and exit")
    parser.add_argument(
        "--dry-run", action="store_true", help="with --once: validate and print the actions, run none (no board)"
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "local", "openai"),
        default="auto",
        help="auto (default): the configured OpenAI-compatible server if any, else the offline rules",
    )
    parser.add_argument("--config", type=Path, help="agent config file (default: ~/.config/flutex/agent.toml)")
    parser.add_argument("--voice", action="store_true", help="talk and listen (needs the voice and live extras, flite)")
    parser.add_argument("--student", default=None, help="who is talking (default: your login name)")
    parser.add_argument(
        "--store", metavar="URL", help="progress store: sqlite:///PATH or postgresql://... (see docs/progress.md)"
    )
    parser.add_argument("--no-store", dest="use_store", action="store_false", help="save no progress or memory")
    add_device_arguments(parser, default=DEFAULT_DEVICE)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.dry_run and args.once is None:
        raise UsageError("--dry-run goes with --once TEXT: it shows what one message would do")
    if args.voice and args.once is not None:
        raise UsageError("--voice is a conversation: leave out --once")
    student = args.student or getpass.getuser()
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(open_store(args.store)) if args.use_store and not args.dry_run else None
        host = ChatHost(args.device, student, store)
        agent = new_agent(args.backend, args.config, Tutor(host, dry_run=args.dry_run))
        if args.once is not None:
            result = asyncio.run(_once(agent, host, args.once, stream=not args.json))
            if args.json:
                print(json.dumps(result.to_json(agent.backend.name)))
            return 0
        asyncio.run(converse(agent, host, voice=args.voice))
    return 0


def known_names() -> dict[str, tuple[str, ...]]:
    """The library's pieces and the shipped plans, by name: what the offline rules recognise in a message."""
    return {"pieces": tuple(library_files()), "plans": tuple(sorted(path.stem for path in PLANS_DIR.glob("*.toml")))}


def new_agent(choice: str, config_path: Path | None, tutor: Tutor) -> Agent:
    """The agent on the backend asked for: the configured server (`openai`), the offline rules (`local`), or
    whichever is there (`auto`). Its consent gate knows the pieces and plans by name; with a server configured with
    `actions = "rules"`, the rules act and the model only talks and proposes."""
    names = known_names()
    local = LocalBackend(**names)
    asked = functools.partial(asks_for_action, **names)
    config = None if choice == "local" else load_config(path=config_path)
    if config is None:
        if choice == "openai":
            raise UsageError(
                "no OpenAI-compatible server is configured: set FLUTEX_LLM_BASE_URL and FLUTEX_LLM_MODEL "
                "(see docs/agent.md), or use --backend local"
            )
        return Agent(local, tutor, asked=asked)
    return Agent(OpenAIBackend(config), tutor, asked=asked, rules=local if config.actions == "rules" else None)


async def _once(agent: Agent, host: ChatHost, text: str, stream: bool) -> TurnResult:
    printer = _Printer()
    result = await agent.turn(text, printer if stream else None)
    if stream:
        printer.finish(result.reply)
    await host.finish()
    return result


async def converse(agent: Agent, host: ChatHost, voice: bool = False) -> None:
    """The conversation: each line the student types (or, with `voice`, says) answered in turn, proposals offered
    between attempts, until they say quit or the input ends. Typing works with the voice on too."""
    turn_lock = asyncio.Lock()  # typed and spoken messages take turns: one conversation

    async def answer(text: str) -> str:
        async with turn_lock:
            printer = _Printer()
            try:
                reply = (await agent.turn(text, printer)).reply
            except FlutexError as error:
                reply = f"(the model could not answer: {error})"
            printer.finish(reply)
            return reply

    speaking = await _voice(answer) if voice else None
    _say(f"Flute X GPT ({agent.backend.name}). Ask for a lesson, a tempo, guidance...; 'quit' to leave.")

    def offer() -> None:
        question = agent.offer()
        if question is not None:
            print(f"tutor: {question}", flush=True)
            if speaking is not None:
                asyncio.get_running_loop().create_task(speaking.speak(question))

    host.after_attempt = offer
    listening = None if speaking is None else asyncio.create_task(_listen(speaking))
    try:
        async for text in _lines():
            if text.strip().lower() in QUIT_WORDS:
                break
            if text.strip():
                await answer(text)
    finally:
        if listening is not None:
            listening.cancel()
        await host.finish(stop=True)


async def _voice(answer: Callable[[str], Awaitable[str]]) -> VoiceLoop:
    """`--voice`: heard utterances go to `answer` as typed lines do, and its replies are spoken, the microphone
    muted meanwhile so the agent never hears itself. Everything is checked before the conversation starts (the
    recogniser's model loads in about a second)."""
    transcriber = await asyncio.to_thread(SphinxTranscriber)
    return VoiceLoop(
        transcriber,
        FliteVoice(),
        answer,
        Speaker().play,
        VOICE_RATE_HZ,
        on_heard=lambda text: _say(f"you (heard): {text}"),
    )


async def _listen(loop: VoiceLoop) -> None:
    with MicrophoneStream(VOICE_RATE_HZ) as microphone:
        await loop.run(microphone.timed_blocks())


async def _lines() -> AsyncIterator[str]:
    """The student's typed lines, read in a thread so the lesson and the model keep running while they type."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the chat ended first ("quit") and its loop is closed: nobody reads any more
            return

    threading.Thread(target=read, name="flutex-chat-input", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


@dataclass
class LessonPlace:
    """Where and how the chat's lessons run: their recordings' folder (None: not recorded), the sound card on a real
    board, whether only one lesson may run (a live view shows one session), who is handed each lesson's session
    before it starts (the live view's feed), and whether the chat tells the report (or its command does)."""

    recordings: Path | None = field(default_factory=sessions_dir)
    microphone: str | None = None
    single: bool = False
    on_session: Callable[[Session], None] | None = None
    tell_report: bool = True


class ChatHost:
    """What the tutor's action surface needs of this command: lessons on the board in the background, their
    control, demos, views and the store. After a lesson, `report` and `recording` hold how it went."""

    def __init__(self, device: str, student: str, store: Store | None, place: LessonPlace | None = None) -> None:
        self.device = device
        self.student = student
        self._store = store
        self._place = place or LessonPlace()
        self._control: LessonControl | None = None
        self._task: asyncio.Task[None] | None = None
        self.after_attempt: Callable[[], None] = lambda: None
        self.shown: Callable[[str], str] | None = None  # the live view's, when one is open
        self.report: LessonReport | None = None
        self.recording: Path | None = None

    async def start_lesson(self, plan: LessonPlan) -> None:
        if self._task is not None and not self._task.done():
            raise UsageError("a lesson is already running: stop it first")
        if self._task is not None and self._place.single:
            raise UsageError("this window shows one lesson, which has ended: start the next with flutex lesson")
        self._control = LessonControl()
        self._task = asyncio.create_task(self._lesson(plan, self._control))

    def control(self) -> LessonControl | None:
        return self._control if self._task is not None and not self._task.done() else None

    async def demonstrate(self, first_bar: int, last_bar: int) -> str:
        control = self.control()
        if control is None:  # refused, so the surface answers ok=False (a demo needs the lesson's board)
            raise UsageError("a demo plays on the board during a lesson: start one first")
        control.add_demo(first_bar, last_bar)
        return f"demo of bars {first_bar}-{last_bar} before the next attempt"

    def show(self, view: str) -> str:
        if self.shown is not None:
            return self.shown(view)
        return f"the live {view} view opens in a window: run `flutex lesson PLAN --view` (or `flutex view`)"

    def store(self) -> Store | None:
        return self._store

    async def finish(self, stop: bool = False) -> None:
        """Wait for a running lesson to end (asking it to stop first when `stop`)."""
        if self._task is None:
            return
        control = self.control()
        if stop and control is not None:
            control.stop()
        await self._task

    async def _lesson(self, plan: LessonPlan, control: LessonControl) -> None:
        loop = asyncio.get_running_loop()

        def heard(stamped: Stamped) -> None:
            if isinstance(stamped.event, AttemptEnded):
                loop.call_soon(self.after_attempt)  # after the runner has filed the attempt

        try:
            place = self._place
            report, recording = await lesson(
                plan, self.device, self.student, self._store, place.recordings, place.microphone, quiet=True,
                control=control, on_event=heard, on_session=place.on_session,
            )  # fmt: skip
            self.report, self.recording = report, recording
            if place.tell_report:
                _say(report.text())
                if recording is not None:
                    _say(f"  recording {recording}")
        except FlutexError as error:
            _say(f"the lesson stopped: {error}")


class _Printer:
    """Streams the agent's reply to standard output as it comes (the lesson's own lines go to standard error)."""

    def __init__(self) -> None:
        self._shown = ""

    def __call__(self, text: str) -> None:
        print(text if self._shown else f"tutor: {text}", end="", flush=True)
        self._shown += text

    def finish(self, reply: str) -> None:
        """End the line, with whatever of the final reply did not stream (a proposal, an answer to one)."""
        rest = reply.removeprefix(self._shown) if reply.startswith(self._shown) else reply
        if rest:
            self(rest if not self._shown else f" {rest.lstrip()}")
        print()


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
