"""The view's window: the five panels side by side, drawn together at one moment of the session's timeline. It reads
the picture and nothing else, so the live view, the replay and the screenshot are the same window."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from flutex.view.picture import Picture
from flutex.view.qt.belt_panel import BeltPanel
from flutex.view.qt.chat_panel import ChatLink, ChatPanel
from flutex.view.qt.fingering_panel import FingeringPanel
from flutex.view.qt.lesson_panel import LessonPanel
from flutex.view.qt.pitch_panel import PitchPanel

DEFAULT_SIZE = (1600, 1000)
SIDE_WIDTH = 440  # the right-hand column (fingering, lesson, chat); the scrolling panels take the rest


class TimedPanel(Protocol):
    def draw(self, t_s: float) -> None: ...


class ViewWindow(QWidget):
    closed = Signal()

    def __init__(self, picture: Picture, *, title: str, chat: ChatLink | None = None) -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.resize(*DEFAULT_SIZE)
        self.picture = picture
        self.shown_s: float | None = None  # the moment drawn last
        self.pitch, self.belt = PitchPanel(picture), BeltPanel(picture)
        self.fingering, self.lesson = FingeringPanel(picture), LessonPanel(picture)
        self.chat = ChatPanel(picture, chat)
        self._timed: tuple[TimedPanel, ...] = (self.pitch, self.belt, self.fingering, self.lesson, self.chat)
        plots = QVBoxLayout()
        plots.addWidget(self.pitch, stretch=3)
        plots.addWidget(self.belt, stretch=2)
        side = QVBoxLayout()
        side.addWidget(self.fingering)
        side.addWidget(self.lesson)
        side.addWidget(self.chat, stretch=1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_widget.setFixedWidth(SIDE_WIDTH)
        side.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addLayout(plots, stretch=1)
        row.addWidget(side_widget)
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(6, 6, 6, 6)
        self._outer.addLayout(row, stretch=1)
        if chat is not None:
            self.chat.entry.setFocus()  # the student types at once, with no click first
        for keys in (QKeySequence.StandardKey.Close, QKeySequence.StandardKey.Quit):  # Ctrl+W, Ctrl+Q
            QShortcut(QKeySequence(keys), self, activated=self.close)

    def panels(self) -> dict[str, QWidget]:
        return {
            "belt": self.belt,
            "pitch": self.pitch,
            "fingering": self.fingering,
            "lesson": self.lesson,
            "chat": self.chat,
        }

    def add_footer(self, widget: QWidget) -> None:
        """A strip under the panels (the replay's controls)."""
        self._outer.addWidget(widget)

    def draw(self, t_s: float) -> None:
        """Show every panel at `t_s` on the session's timeline."""
        for panel in self._timed:
            panel.draw(t_s)
        self.shown_s = t_s

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)
