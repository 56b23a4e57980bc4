"""The live window beside a running lesson or session, in a process of its own.

The lesson's process keeps its event loop to itself: the window (Qt, drawing 60 times a second) runs in a child
process, so its Python never competes with the real-time loop for the interpreter lock (measured in-process, it
doubled the loop's median latency: benchmarks/view.py). A forwarding thread drains the session's thread tap, keeps
the event types a picture reads, and sends them down a pipe; the child folds them into its own `Picture` and reads
the session's clock from the same monotonic clock (the session's origin is sent once). The chat panel's messages come
back up the pipe and become agent turns on the lesson's loop; the conversation goes on the timeline (recorded) and
so comes down with the rest.

A child that stalls costs the lesson nothing: the tap is bounded and the forwarder's pipe writes block only the
forwarder. The window only reads; closing it is the one thing it tells the lesson.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import FlutexError, UsageError
from flutex.host.session.events import Stamped
from flutex.host.session.session import Session
from flutex.tutor.lesson.events import ChatLine

if TYPE_CHECKING:
    from pathlib import Path

    from flutex.agent.agent import Agent
    from flutex.tutor.lesson.plan import LessonPlan
    from flutex.tutor.lesson.report import LessonReport
    from flutex.tutor.progress.store import Store

TAP_EVENTS = 65536  # the forwarder drains at 60 Hz; this holds a stall of seconds at every stream's rate
FORWARD_PERIOD_S = 1 / 60
WINDOW_NICENESS = 10  # the window yields the processor to the real-time loop; a frame late is no harm
WINDOW_START_TIMEOUT_S = 60.0  # a spawned interpreter that imports Qt: about a second here


def needs_a_screen() -> None:
    """A window needs a display: say so plainly rather than let Qt abort."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise UsageError(
            "no screen here (DISPLAY is not set): run it on a desktop, or look at a recording with "
            "flutex view --replay SESSION --screenshot PNG"
        )


class AgentChat:
    """The chat panel's link to the agent: each message is one agent turn on the lesson's event loop, one at a time.
    What the student said and what the agent answered (its proposals between attempts too) go on the session's
    timeline as `ChatLine`s: recorded with the lesson, and shown by the window like everything else it shows."""

    def __init__(self, agent: Agent, loop: asyncio.AbstractEventLoop) -> None:
        self._agent = agent
        self._loop = loop
        self._turns = asyncio.Lock()
        self.session: Session | None = None  # the lesson's, once it is made

    def send(self, text: str) -> None:
        """From any thread."""
        asyncio.run_coroutine_threadsafe(self._answer(text), self._loop)

    def offer(self) -> None:
        """Between attempts, on the loop: the agent's proposal, if it has one, said in the chat."""
        question = self._agent.offer()
        if question is not None:
            self._say("tutor", question)

    async def _answer(self, text: str) -> None:
        async with self._turns:
            self._say("student", text)
            try:
                reply = (await self._agent.turn(text)).reply
            except FlutexError as error:
                reply = f"(the model could not answer: {error})"
            self._say("tutor", reply)

    def _say(self, speaker: str, text: str) -> None:
        if self.session is not None:
            self.session.timeline.publish(Stamped(self.session.clock.now(), ChatLine(speaker, text)))


class LiveWindow:
    """The live window on a session, in a child process. `open(session)` starts it (call it as the session is
    made: `on_session=`); `closed` is set when the user closed it (or it failed); `close()` closes it and waits.
    `stats` holds the window's own figures (frames, draw times, CPU) once it has closed."""

    def __init__(self, title: str, chat: AgentChat | None = None, seconds: float | None = None) -> None:
        self.title = title
        self.chat = chat
        self.seconds = seconds
        self.closed = threading.Event()
        self.stats: dict[str, Any] | None = None
        self.error: str | None = None
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._forwarder: threading.Thread | None = None
        self._stopping = threading.Event()
        self.dropped = 0  # events the tap let go while the window fell behind (the lesson loses none)

    def open(self, session: Session) -> None:
        from flutex.view.picture import SHOWN_TYPES

        if self.chat is not None:
            self.chat.session = session
        tap = session.timeline.tap(TAP_EVENTS)
        ours, theirs = multiprocessing.Pipe()
        spawn = multiprocessing.get_context("spawn")  # never fork a process that runs threads and an event loop
        process = spawn.Process(
            target=window_main,
            args=(theirs, session.profile, session.clock.origin_s, self.title, self.chat is not None, self.seconds),
            name="flutex-window",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._conn, self._process = ours, process

        def forward() -> None:
            shown = tuple(SHOWN_TYPES)
            try:
                while not self._stopping.is_set() and not self.closed.is_set():
                    events = [stamped for stamped in tap.drain() if isinstance(stamped.event, shown)]
                    if events:
                        self._send(("events", events))
                    while ours.poll():
                        self._receive(ours.recv())
                    self.dropped = tap.dropped
                    self._stopping.wait(FORWARD_PERIOD_S)
            except (EOFError, OSError):  # the window's process is gone
                self.closed.set()
            finally:
                session.timeline.unsubscribe(tap)

        self._forwarder = threading.Thread(target=forward, name="flutex-window-feed", daemon=True)
        self._forwarder.start()

    def close(self) -> None:
        """Close the window (if the user has not) and wait for its last word: its figures, or its error."""
        self._stopping.set()
        if self._forwarder is not None:
            self._forwarder.join()
        if self._conn is None or self._process is None:
            return
        with contextlib.suppress(OSError):
            self._send(("close", None))
        deadline = time.monotonic() + WINDOW_START_TIMEOUT_S
        with contextlib.suppress(EOFError, OSError):
            while self.stats is None and self.error is None and time.monotonic() < deadline:
                if self._conn.poll(0.1):
                    self._receive(self._conn.recv())
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()

    def _send(self, message: tuple[str, Any]) -> None:
        assert self._conn is not None
        self._conn.send(message)

    def _receive(self, message: tuple[str, Any]) -> None:
        kind, body = message
        if kind == "chat" and self.chat is not None:
            self.chat.send(body)
        elif kind == "stats":
            self.stats = body
            self.closed.set()
        elif kind == "error":
            self.error = body
            self.closed.set()


class PipeFeed:
    """The window's side of the pipe: the events that came down, and the chat's messages going up."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.open = True

    def drain(self) -> list[Stamped]:
        events: list[Stamped] = []
        try:
            while self.open and self._conn.poll():
                kind, body = self._conn.recv()
                if kind == "events":
                    events.extend(body)
                elif kind == "close":
                    self.open = False
        except (EOFError, OSError):  # the lesson's process is gone
            self.open = False
        return events

    def send(self, text: str) -> None:
        """The chat panel's `ChatLink`: the message goes up; the conversation comes back down with the events."""
        with contextlib.suppress(OSError):
            self._conn.send(("chat", text))


def window_main(
    conn: Connection, profile: InstrumentProfile, origin_s: float, title: str, chat: bool, seconds: float | None
) -> None:
    """The window process: draw what comes down the pipe until the user closes the window or the lesson's process
    says so; then send back the window's figures (or the error that stopped it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the lesson's to handle; it closes the pipe
    os.nice(WINDOW_NICENESS)  # when the cores are busy, the lesson's loop (and a simulated board) go first
    from flutex.view.picture import Picture
    from flutex.view.qt.app import run_live

    feed = PipeFeed(conn)
    try:
        stats = run_live(
            Picture(profile),
            feed.drain,
            lambda: time.monotonic() - origin_s,  # the session's clock: the same monotonic clock, its origin
            title=title,
            chat=feed if chat else None,
            running=lambda: feed.open,
            close_when_done=True,
            seconds=seconds,
        )
    except Exception as error:  # said by the lesson's process, which goes on without its window
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(error).__name__}: {error}"))
        return
    with contextlib.suppress(OSError):
        conn.send(("stats", asdict(stats)))


async def until_closed(window: LiveWindow) -> None:
    """Wait, without holding the loop, until the window is closed."""
    while not window.closed.is_set():
        await asyncio.sleep(0.1)


def lesson_in_window(
    plan: LessonPlan,
    device: str,
    student: str,
    store: Store | None,
    recordings: Path | None,
    microphone: str | None,
    close_when_over: bool = False,
) -> tuple[LessonReport | None, Path | None]:
    """`flutex lesson PLAN --view`: the lesson on the board, the live window beside it, and in the window's chat
    panel the agent (offline, or the configured server) working on this lesson through the tutor's actions. Closing
    the window stops the lesson; when the lesson ends first, the window stays to be looked at (unless
    `close_when_over`). Returns its report and recording (None when it failed: already said)."""
    from flutex.host.commands.chat import ChatHost, LessonPlace, new_agent
    from flutex.tutor.actions.surface import Tutor

    needs_a_screen()

    async def main() -> None:
        window = LiveWindow(f"Flute X: {plan.title}")
        place = LessonPlace(recordings, microphone, single=True, on_session=window.open, tell_report=False)
        host = ChatHost(device, student, store, place)  # the report is printed once, by `flutex lesson`
        host.shown = _on_screen
        tutor = Tutor(host)
        window.chat = AgentChat(new_agent("auto", None, tutor), asyncio.get_running_loop())
        host.after_attempt = window.chat.offer
        try:
            await tutor.start(plan)  # through the tutor, so that the chat's actions steer this lesson
            ended = asyncio.ensure_future(host.finish())
            closed = asyncio.ensure_future(until_closed(window))
            await asyncio.wait((ended, closed), return_when=asyncio.FIRST_COMPLETED)
            await host.finish(stop=not ended.done())
            if not close_when_over:
                await closed
            closed.cancel()
        finally:
            window.close()  # brief: the window answers at its next frame
        if window.error is not None:
            print(f"flutex: the window stopped: {window.error}", file=sys.stderr)
        outcome.extend((host.report, host.recording))

    outcome: list[Any] = []
    asyncio.run(main())
    return outcome[0], outcome[1]


def _on_screen(view: str) -> str:
    """What `show_view` says with the window open: every view is one of its panels, always shown."""
    return f"the {view} panel is on screen in the lesson's window"
