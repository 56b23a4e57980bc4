"""`flutex view` and `flutex lesson --view`: the window live on the simulator beside the real firmware, a lesson
with its window and its chat, screenshots from the command line, and every bad argument refused in one line."""

import asyncio
import dataclasses
import multiprocessing
import os
import threading
import time
from types import SimpleNamespace

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt loads: the tests draw in memory

from flutex.host.cli import main
from flutex.host.commands.chat import ChatHost, LessonPlace, new_agent
from flutex.host.commands.viewing import AgentChat, LiveWindow, PipeFeed, lesson_in_window
from flutex.host.fanout import Notifier
from flutex.host.session.clock import SessionClock
from flutex.host.session.events import Stamped
from flutex.host.session.playback import Recording
from flutex.tutor.actions.surface import Tutor
from flutex.tutor.lesson.events import ChatLine
from flutex.tutor.lesson.plan import load_plan, resolve_plan
from flutex.view.picture import VIEW_TYPES


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["--replay", "no-such-session.mcap"], "no recording at no-such-session.mcap"),
        (["--device", "sim://", "--screenshot", "x.png"], "--screenshot and --at are for a recording"),
        (["--device", "nowhere://"], "unknown device 'nowhere://'"),
    ],
)
def test_bad_requests_are_one_line(arguments, said, capsys):
    assert main(["view", *arguments]) != 0
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("arguments", [["--speed", "3"], ["--size", "10x10"], []])
def test_bad_arguments_are_refused_by_the_parser(arguments, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["view", *arguments])
    assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_window_without_a_screen_says_how_to_get_a_picture(lesson_recording, monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["view", "--replay", str(lesson_recording)]) != 0
    assert "no screen here" in capsys.readouterr().err


def test_the_screenshot_command_writes_a_png_of_the_moment_asked(lesson_recording, tmp_path, capsys):
    out = tmp_path / "view.png"
    assert main(["view", "--replay", str(lesson_recording), "--screenshot", str(out), "--at", "6"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    assert "t = 6.00 s" in capsys.readouterr().out
    for moment, place in (("99999", out), ("6", tmp_path / "no-such-folder" / "view.png")):
        assert main(["view", "--replay", str(lesson_recording), "--screenshot", str(place), "--at", moment]) == 2
        err = capsys.readouterr().err
        assert err.startswith("flutex: error: ") and len(err.strip().splitlines()) == 1


def test_the_live_window_follows_the_simulated_board(capsys):
    """`flutex view --device sim://` draws the board's streams as they come, and moves nothing."""
    assert main(["view", "--device", "sim://", "--seconds", "3"]) == 0
    shown = capsys.readouterr().err.strip().splitlines()[-1]
    frames = int(shown.split(": ")[1].split()[0])
    assert frames >= 30, shown  # at least 10 frames a second, on a loaded 2-core machine


def test_a_lesson_runs_with_its_window_and_is_recorded_whole(tmp_path):
    plan = dataclasses.replace(load_plan(resolve_plan("first_lesson")), minutes=0.1)
    report, recording = lesson_in_window(
        plan, "sim://?student=3&learner=quick", "ana", None, tmp_path, None, close_when_over=True
    )
    assert report is not None and report.attempts
    assert recording is not None and recording.parent == tmp_path
    read = Recording(recording, VIEW_TYPES)
    events = list(read)
    assert read.complete and len(events) > 1000
    assert read.counts["/attempt_score"] == len(report.attempts)


def test_the_chat_is_an_agent_turn_on_the_lesson_loop_and_goes_on_the_timeline():
    """A message typed in the window is one agent turn on the lesson's loop; what was said and answered goes on the
    session's timeline (recorded, and shown by the window from there)."""
    loop = asyncio.new_event_loop()
    worker = threading.Thread(target=loop.run_forever, daemon=True)
    worker.start()
    host = ChatHost("sim://", "ana", None)
    host.shown = lambda view: f"the {view} panel is on screen"
    chat = AgentChat(new_agent("local", None, Tutor(host)), loop)
    timeline: Notifier[Stamped] = Notifier()
    chat.session = SimpleNamespace(timeline=timeline, clock=SessionClock())
    said: list[Stamped] = []
    answered = threading.Event()

    def heard(stamped: Stamped) -> None:
        said.append(stamped)
        if stamped.event.speaker == "tutor":
            answered.set()

    timeline.add_listener(heard)
    try:
        chat.send("show me my breathing")
        assert answered.wait(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        worker.join(10)
    student, tutor = (stamped.event for stamped in said)
    assert student == ChatLine("student", "show me my breathing")
    assert tutor.speaker == "tutor" and "breath panel is on screen" in tutor.text
    assert said[0].t_s <= said[1].t_s


def test_the_window_process_chat_goes_up_the_pipe_and_events_come_down():
    """The window's chat panel lives in the window's process: each message goes up the pipe to the lesson's chat, in
    order; the events come down, and a close ends the window's feed."""
    ours, theirs = multiprocessing.Pipe()
    window = LiveWindow("test")
    window._conn = ours
    asked: list[str] = []
    window.chat = SimpleNamespace(send=asked.append)
    panel = PipeFeed(theirs)
    panel.send("first")
    panel.send("second")
    while ours.poll(1):
        window._receive(ours.recv())
    window._send(("events", [Stamped(1.0, "an event")]))
    window._send(("close", None))
    deadline = time.monotonic() + 5
    events = []
    while panel.open and time.monotonic() < deadline:
        events += panel.drain()
    assert asked == ["first", "second"]
    assert events == [Stamped(1.0, "an event")] and not panel.open


async def test_the_chat_hears_the_end_of_every_attempt(tmp_path):
    """Between attempts the agent may propose something (`after_attempt`): it must hear each attempt end."""
    host = ChatHost("sim://?student=3&learner=quick", "ana", None, LessonPlace(tmp_path, tell_report=False))
    ended: list[int] = []
    host.after_attempt = lambda: ended.append(len(ended) + 1)
    await host.start_lesson(dataclasses.replace(load_plan(resolve_plan("first_lesson")), minutes=0.1))
    await host.finish()
    assert host.report is not None and len(ended) == len(host.report.attempts) >= 1
