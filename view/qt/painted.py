"""A panel drawn with plain QPainter from a small state: it repaints only when the state changes, so a panel that
shows the same thing for seconds costs nothing per frame."""

from __future__ import annotations

from typing import Generic, TypeVar

from PySide6.QtGui import QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

State = TypeVar("State")


def font(point_size: float, bold: bool = False) -> QFont:
    chosen = QFont()
    chosen.setPointSizeF(point_size)
    chosen.setBold(bold)
    return chosen


class PaintedPanel(QWidget, Generic[State]):
    """Subclasses compute their state in `draw(t_s)`, hand it to `show_state`, and paint it in `paint`."""

    def __init__(self, state: State) -> None:
        super().__init__()
        self._state = state
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), "white")
        self.setPalette(palette)

    def show_state(self, state: State) -> None:
        if state != self._state:
            self._state = state
            self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.paint(painter, self._state)
        finally:
            painter.end()

    def paint(self, painter: QPainter, state: State) -> None:
        raise NotImplementedError
