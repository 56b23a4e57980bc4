"""The view's entry points: the live window (fed from the session's thread tap), the replay of a recording, and an
offscreen screenshot of a moment. Each builds the same `ViewWindow` and drives it from a Qt timer in the main thread.

`ViewStats` says what a run cost: frames drawn, wall time, the GUI thread's CPU time and each frame's draw time
(feeding the picture, updating the panels and painting them), for the benchmarks and the tests.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QEventLoop, QMessageLogContext, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from flutex.host.session.events import Stamped
from flutex.view.picture import Picture
from flutex.view.qt.chat_panel import ChatLink
from flutex.view.qt.replay import ReplayControls
from flutex.view.qt.window import ViewWindow

REPLAY_FPS = 60.0


@dataclass
class ViewStats:
    frames: int = 0
    wall_s: float = 0.0
    gui_cpu_s: float = 0.0  # time.thread_time() spent in the GUI thread while shown
    draw_ms: list[float] = field(default_factory=list)  # each frame's draw duration

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0


def application() -> QApplication:
    """The process's QApplication, made on first use."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    qInstallMessageHandler(_say_qt)
    return QApplication(["flutex"])


def _say_qt(_kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    """Qt's own messages, on standard error, but for the offscreen platform's note on every window it shows (it
    cannot pass size hints to a screen it does not have: nothing is wrong)."""
    if "propagateSizeHints" not in message:
        print(f"qt: {message}", file=sys.stderr)


def run_live(
    picture: Picture,
    drain: Callable[[], list[Stamped]],
    clock: Callable[[], float],
    *,
    title: str,
    chat: ChatLink | None = None,
    running: Callable[[], bool] = lambda: True,
    fps: float = 60.0,
    close_when_done: bool = False,
    seconds: float | None = None,
) -> ViewStats:
    """Show the session as it happens until the window is closed (or, with `close_when_done`, the session is over;
    or after `seconds`). Each frame feeds the picture what the tap gathered, then draws it at the session's now."""
    application()
    window = ViewWindow(picture, title=title, chat=chat)

    def frame() -> None:
        picture.feed_all(drain())
        window.draw(clock())

    return _run_frames(window, frame, fps=fps, seconds=seconds, done=lambda: close_when_done and not running())


def run_replay(
    picture: Picture, *, title: str, speed: float = 1.0, start_s: float | None = None, seconds: float | None = None
) -> ViewStats:
    """Play a recording's picture in the window, from `start_s` (default its start) at `speed` x wall time, with
    play/pause, a speed box and a scrubber; until the window is closed (or after `seconds`)."""
    first_s, last_s = _span(picture)
    application()
    window = ViewWindow(picture, title=title)
    controls = ReplayControls(first_s, last_s, speed=speed, at_s=start_s)
    window.add_footer(controls)
    controls.set_playing(True)

    def frame() -> None:
        t_s = controls.now_s()
        window.draw(t_s)
        controls.show_time(t_s)

    return _run_frames(window, frame, fps=REPLAY_FPS, seconds=seconds, done=lambda: False)


def screenshot(picture: Picture, at_s: float, path: Path, size: tuple[int, int] = (1600, 1000)) -> None:
    """Render the window at `at_s` offscreen into a PNG at `path`."""
    first_s, last_s = _span(picture)
    if not first_s <= at_s <= last_s:
        raise ValueError(f"{at_s:g} s is outside the recording, which runs from {first_s:.2f} s to {last_s:.2f} s")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # only matters when no application exists yet
    app = application()
    window = ViewWindow(picture, title=picture.lesson.title if picture.lesson else "Flute X")
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(*size)
    window.show()
    app.processEvents()  # lay the panels out before the plots take their ranges
    window.draw(at_s)
    app.processEvents()
    saved = window.grab().save(str(path))
    window.close()
    window.deleteLater()
    if not saved:
        raise OSError(f"could not write the screenshot to {path}")


def _span(picture: Picture) -> tuple[float, float]:
    if picture.start_s is None or picture.end_s is None:
        raise ValueError("the recording holds no event the view can show")
    return picture.start_s, picture.end_s


def _run_frames(
    window: ViewWindow, frame: Callable[[], None], *, fps: float, seconds: float | None, done: Callable[[], bool]
) -> ViewStats:
    """Show `window` and call `frame` every 1/fps s until the window is closed, `done()` or `seconds` have passed.
    An error in a frame closes the window and is raised here (Qt would print it and go on, 60 times a second)."""
    app = application()
    stats = ViewStats()
    loop = QEventLoop()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(max(1, int(1000 / fps)))
    failures: list[BaseException] = []
    started_wall, started_cpu = time.perf_counter(), time.thread_time()

    def tick() -> None:
        if done() or (seconds is not None and time.perf_counter() - started_wall >= seconds):
            loop.quit()
            return
        began = time.perf_counter()
        try:
            frame()
        except BaseException as failure:  # raised again below, outside Qt
            failures.append(failure)
            loop.quit()
            return
        stats.draw_ms.append(1000 * (time.perf_counter() - began))
        stats.frames += 1

    timer.timeout.connect(tick)
    window.closed.connect(loop.quit)
    window.show()
    timer.start()
    loop.exec()
    timer.stop()
    stats.wall_s = time.perf_counter() - started_wall
    stats.gui_cpu_s = time.thread_time() - started_cpu
    window.closed.disconnect(loop.quit)
    window.close()
    window.deleteLater()
    app.processEvents()
    if failures:
        raise failures[0]
    return stats
