"""The live view's window (flutex.view.qt) on a real recorded lesson, rendered offscreen: the screenshot shows every
panel where it should be, the replay plays and scrubs, the live view follows a session as it grows, and the chat
carries replies from another thread."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from flutex.host.session.events import Stamped
from flutex.host.session.playback import Recording
from flutex.tutor.lesson.events import ChatLine
from flutex.view.colours import BELT, GREEN
from flutex.view.picture import VIEW_TYPES, Picture
from flutex.view.qt.app import application, run_live, run_replay, screenshot
from flutex.view.qt.chat_panel import ChatPanel
from flutex.view.qt.fingering_panel import BODY
from flutex.view.qt.pitch_panel import TARGET_FILL
from flutex.view.qt.replay import TICKS_PER_S, ReplayControls
from flutex.view.qt.window import ViewWindow

SIZE = (1600, 1000)


@pytest.fixture(scope="module")
def events(lesson_recording: Path) -> list[Stamped]:
    return list(Recording(lesson_recording, VIEW_TYPES))


@pytest.fixture(scope="module")
def picture(events: list[Stamped]) -> Picture:
    picture = Picture()
    picture.feed_all(events)
    return picture


def a_moment_inside_an_attempt(picture: Picture) -> float:
    """Mid-way through the first attempt's fourth note: notes heard, graded and coming are all in view."""
    first = [target for target in picture.targets if target.attempt == picture.attempts[0].started.attempt]
    return first[3].note.onset_s + 0.3


def pixels(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : 3 * image.width()].reshape(image.height(), image.width(), 3).copy()  # the image owns the bytes


def count_colour(area: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int(np.all(area == np.array(rgb, np.uint8), axis=2).sum())


def panel_rects() -> dict[str, QRect]:
    """Where each panel lies in a window of SIZE (the screenshot's window is laid out the same way), and for the two
    plots the rectangle of their data area alone (titles and axes left out)."""
    application()
    window = ViewWindow(Picture(), title="layout")
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(*SIZE)
    window.show()
    QApplication.processEvents()
    rects = {}
    for name, panel in window.panels().items():
        if name in ("belt", "pitch"):
            data_area = panel.mapFromScene(panel.getPlotItem().getViewBox().sceneBoundingRect()).boundingRect()
            rects[name] = QRect(panel.mapTo(window, data_area.topLeft()), data_area.size())
        else:
            rects[name] = QRect(panel.mapTo(window, QPoint(0, 0)), panel.size())
    window.close()
    return rects


def crop(image: np.ndarray, rect: QRect) -> np.ndarray:
    return image[rect.top() : rect.bottom() + 1, rect.left() : rect.right() + 1]


def test_the_screenshot_draws_every_panel_in_its_place(picture: Picture, tmp_path: Path) -> None:
    path = tmp_path / "view.png"
    screenshot(picture, a_moment_inside_an_attempt(picture), path, SIZE)
    image = pixels(path)
    assert image.shape[:2] == (SIZE[1], SIZE[0])
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 200, "a blank or nearly blank picture"
    rects = panel_rects()
    belt = crop(image, rects["belt"])
    assert sum(count_colour(belt, colour) > 50 for colour in BELT) >= 3, "the belt's curves are not in the belt panel"
    pitch = crop(image, rects["pitch"])
    assert count_colour(pitch, GREEN) > 50, "no in-tune pitch (or clean grade) in the pitch panel"
    assert count_colour(pitch, TARGET_FILL) > 500, "no target notes in the pitch panel"
    for name in ("fingering", "lesson", "chat"):
        area = crop(image, rects[name])
        assert len(np.unique(area.reshape(-1, 3), axis=0)) > 20, f"the {name} panel is empty"
    assert count_colour(crop(image, rects["fingering"]), BODY) > 2000, "no instrument drawn"


def test_a_screenshot_outside_the_recording_says_its_range(picture: Picture, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside the recording"):
        screenshot(picture, picture.end_s + 5.0, tmp_path / "late.png")
    assert not (tmp_path / "late.png").exists()


def at_times(*actions: tuple[float, Callable[[], None]]) -> None:
    """Run each action that many seconds into the next event loop (the replay's or the live view's)."""
    for seconds, action in actions:
        QTimer.singleShot(round(1000 * seconds), action)


def shown_window() -> ViewWindow:
    (window,) = [
        widget for widget in QApplication.topLevelWidgets() if isinstance(widget, ViewWindow) and widget.isVisible()
    ]
    return window


def test_the_replay_plays_at_its_speed(picture: Picture) -> None:
    application()
    seen: list[tuple[float, float]] = []  # (wall, shown time)
    record = lambda: seen.append((time.perf_counter(), shown_window().shown_s))  # noqa: E731
    at_times((0.3, record), (1.2, record))
    stats = run_replay(picture, title="replay", speed=8.0, seconds=1.5)
    assert stats.frames >= 30 and stats.fps >= 20
    assert len(stats.draw_ms) == stats.frames and stats.gui_cpu_s > 0
    (wall0, shown0), (wall1, shown1) = seen
    assert shown1 - shown0 == pytest.approx(8.0 * (wall1 - wall0), rel=0.25)


def test_the_scrubber_moves_the_replay(picture: Picture) -> None:
    application()
    target_s = picture.start_s + 0.75 * (picture.end_s - picture.start_s)
    seen: list[float] = []

    def scrub() -> None:
        controls = shown_window().findChild(ReplayControls)
        controls.slider.setValue(round((target_s - picture.start_s) * TICKS_PER_S))

    at_times((0.3, scrub), (0.6, lambda: seen.append(shown_window().shown_s)))
    run_replay(picture, title="scrub", speed=1.0, seconds=0.8)
    assert target_s <= seen[0] <= target_s + 0.5


def test_the_replay_controls_pause_seek_and_stop_at_the_end() -> None:
    application()
    controls = ReplayControls(10.0, 20.0, speed=4.0)
    assert controls.now_s() == 10.0 and not controls.playing
    controls.slider.setValue(5 * TICKS_PER_S)
    assert controls.now_s() == pytest.approx(15.0)
    controls.set_playing(True)
    controls.seek(19.99)
    deadline = time.perf_counter() + 2.0
    while controls.now_s() < 20.0 and time.perf_counter() < deadline:  # the replay's frames ask the time like this
        QApplication.processEvents()
    assert controls.now_s() == 20.0 and not controls.playing
    assert controls.play_button.text() == "Play"


def test_the_live_view_follows_a_growing_session(events: list[Stamped]) -> None:
    """A fake session: the recording's events handed over as a clock running at 20x passes their time."""
    speed = 20.0
    start_s = events[0].t_s
    began = time.perf_counter()
    clock = lambda: start_s + speed * (time.perf_counter() - began)  # noqa: E731
    handed = 0

    def drain() -> list[Stamped]:
        nonlocal handed
        now, first = clock(), handed
        while handed < len(events) and events[handed].t_s <= now:
            handed += 1
        return events[first:handed]

    picture = Picture()
    sizes: list[int] = []
    at_times((0.3, lambda: sizes.append(picture.events)))
    stats = run_live(
        picture, drain, clock, title="live", running=lambda: handed < len(events), close_when_done=True, seconds=20
    )
    assert 0 < sizes[0] < len(events), "the picture did not grow over time"
    assert picture.events == len(events)
    assert stats.wall_s < 20, "close_when_done did not close the window when the session ended"
    assert stats.frames >= 20


def test_an_error_in_a_frame_ends_the_view_and_is_raised() -> None:
    application()

    def broken_drain() -> list[Stamped]:
        raise RuntimeError("the tap broke")

    began = time.perf_counter()
    with pytest.raises(RuntimeError, match="the tap broke"):
        run_live(Picture(), broken_drain, lambda: 0.0, title="broken", seconds=10)
    assert time.perf_counter() - began < 5


class SentLink:
    """A chat link that keeps what the panel hands it (the command's puts the conversation on the timeline)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        self.sent.append(text)


def test_the_chat_hands_on_what_is_typed_and_shows_the_conversation_as_the_timeline_holds_it() -> None:
    application()
    picture, link = Picture(), SentLink()
    panel = ChatPanel(picture, link)
    QTest.keyClicks(panel.entry, "slower please")
    QTest.keyClick(panel.entry, Qt.Key.Key_Return)
    assert link.sent == ["slower please"] and panel.entry.text() == ""
    assert "you: slower please …" in panel.log.toPlainText()  # sent, not yet on the timeline
    picture.feed(Stamped(1.0, ChatLine("student", "slower please")))
    picture.feed(Stamped(1.5, ChatLine("tutor", "70% from the next attempt")))
    panel.draw(1.2)
    log = panel.log.toPlainText()
    assert "you: slower please" in log and "…" not in log and "Flute X" not in log
    panel.draw(2.0)
    assert "Flute X: 70% from the next attempt" in panel.log.toPlainText()
    panel.draw(0.5)  # scrubbed back before anything was said
    assert "slower" not in panel.log.toPlainText()


def test_without_a_chat_link_the_panel_says_where_the_chat_is_and_takes_no_text() -> None:
    application()
    panel = ChatPanel(Picture(), None)
    assert not panel.entry.isEnabled()
    assert "flutex lesson PLAN --view" in panel.log.toPlainText()


def test_the_window_names_its_five_panels_and_draws_an_empty_session() -> None:
    """Before the first event (a live view that has just opened) every panel draws nothing, without failing."""
    application()
    window = ViewWindow(Picture(), title="panels")
    panels = window.panels()
    assert set(panels) == {"belt", "pitch", "fingering", "lesson", "chat"}
    assert all(isinstance(panel, QWidget) for panel in panels.values())
    window.draw(0.0)
    assert window.shown_s == 0.0
