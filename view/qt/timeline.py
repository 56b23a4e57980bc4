"""What the two scrolling panels (belt and pitch) share: the time window they show, a plot that scrolls to a moment,
and the small tools that keep a frame cheap (decimation, bisection, items updated only when their data changed)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem, QGraphicsSimpleTextItem

from flutex.view.picture import Picture

BEHIND_S = 8.0  # the scrolling panels show [t - BEHIND_S, t + AHEAD_S]: the recent past ...
AHEAD_S = 2.0  # ... and the coming target notes
MAX_POINTS = 400  # per curve and frame: about one per two pixels across (wide pens cost per segment)
INK = (40, 40, 40)
GRID = (232, 232, 232)
TEXT_Z = 100  # labels above every other item

Item = TypeVar("Item")
Data = TypeVar("Data")


def qcolor(rgb: tuple[int, int, int], alpha: int = 255) -> QColor:
    return QColor(rgb[0], rgb[1], rgb[2], alpha)


def decimate(times: np.ndarray, rows: np.ndarray, cap: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th row so that at most `cap` remain (a window of a fast series holds more rows than pixels)."""
    step = -(-len(times) // cap) if len(times) > cap else 1
    return times[::step], rows[::step]


def between(items: Sequence[Item], t0_s: float, t1_s: float, key: Callable[[Item], float]) -> Sequence[Item]:
    """The items with t0 <= key <= t1 of a list kept in order of `key`, by bisection (lists grow for hours)."""
    lo = bisect.bisect_left(items, t0_s, key=key)
    hi = bisect.bisect_right(items, t1_s, key=key)
    return items[lo:hi]


class Layer(Generic[Data]):
    """Hands data to its items only when it differs from the last: most layers change a few times a second, and
    pushing unchanged data would rebuild items and repaint for nothing."""

    def __init__(self, push: Callable[[Data], None]) -> None:
        self._push = push
        self._last: Data | None = None

    def show(self, data: Data) -> None:
        if data != self._last:
            self._last = data
            self._push(data)


class TextPool:
    """Text labels in a plot's data coordinates, reused from frame to frame. They are plain Qt items that ignore the
    plot's scaling (pyqtgraph's TextItem re-lays itself out in Python on every scroll, and asks for a second paint)."""

    def __init__(self, parent: QGraphicsItem, anchor: tuple[float, float] = (0.0, 1.0), point_size: int = 8) -> None:
        self._parent = parent
        self._anchor = anchor  # (0, 0): the text's top left at its point; (1, 1): its bottom right
        self._font = QFont()
        self._font.setPointSize(point_size)
        self._items: list[QGraphicsSimpleTextItem] = []

    def show(self, labels: Sequence[tuple[float, float, str, tuple[int, int, int]]]) -> None:
        """Place (x, y, text, colour) labels; the pool's other labels are hidden."""
        while len(self._items) < len(labels):
            item = QGraphicsSimpleTextItem(self._parent)
            item.setFont(self._font)
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            item.setZValue(TEXT_Z)
            self._items.append(item)
        for item, (x, y, text, colour) in zip(self._items, labels, strict=False):
            item.setText(text)
            item.setBrush(qcolor(colour))
            size = item.boundingRect()
            item.setTransform(
                QTransform.fromTranslate(-self._anchor[0] * size.width(), -self._anchor[1] * size.height())
            )
            item.setPos(x, y)
            item.setVisible(True)
        for item in self._items[len(labels) :]:
            item.setVisible(False)


def pen(colour: tuple[int, int, int], width: float = 1.0, alpha: int = 255) -> QPen:
    """A cosmetic pen: `width` in pixels whatever the plot's scale."""
    chosen = QPen(qcolor(colour, alpha), width)
    chosen.setCosmetic(True)
    return chosen


class Curve(QGraphicsPathItem):
    """A polyline in data coordinates. A plain Qt item: painting it runs no Python (pyqtgraph's curve asks Python
    for its bounds and its path several times a frame, which costs more than the drawing)."""

    def __init__(self, parent: QGraphicsItem, stroke: QPen, z: float, connect: str = "all") -> None:
        super().__init__(parent)
        self.setPen(stroke)
        self.setZValue(z)
        self._connect = connect  # "all", or "pairs": points 0-1, 2-3, ... each a segment

    def set_points(self, xs: np.ndarray, ys: np.ndarray) -> None:
        self.setPath(pg.arrayToQPath(xs, ys, connect=self._connect) if len(xs) else QPainterPath())


class RectPool:
    """Filled rectangles in data coordinates (x0, width, y0, height, fill), reused from frame to frame."""

    def __init__(self, parent: QGraphicsItem, z: float, outline: QPen | None = None) -> None:
        self._parent = parent
        self._z = z
        self._outline = outline or QPen(Qt.PenStyle.NoPen)
        self._items: list[QGraphicsRectItem] = []

    def show(self, rects: Sequence[tuple[float, float, float, float, QColor]]) -> None:
        while len(self._items) < len(rects):
            item = QGraphicsRectItem(self._parent)
            item.setPen(self._outline)
            item.setZValue(self._z)
            self._items.append(item)
        for item, (x0, width, y0, height, fill) in zip(self._items, rects, strict=False):
            item.setRect(x0, y0, width, height)
            item.setBrush(fill)
            item.setVisible(True)
        for item in self._items[len(rects) :]:
            item.setVisible(False)


class ScrollingPlot(pg.PlotWidget):
    """A plot over the session's time that shows [t - BEHIND_S, t + AHEAD_S], "now" at 0 on its axis. The items
    live in session time inside one group, and scrolling moves the group: the axes and the grid keep still, so a
    frame repaints the data without laying the axes out again (which would cost more than the data). It does not
    take the mouse: the time is the replay's or the session's, not the user's drag."""

    def __init__(self, picture: Picture, title: str, y_label: str) -> None:
        super().__init__(background="w")
        self.picture = picture
        self._drawn: tuple[float, int] | None = None  # (time, events fed) drawn last
        plot = self.getPlotItem()
        plot.setTitle(title, color=qcolor(INK), size="10pt")
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(qcolor(INK))
            axis.setTextPen(qcolor(INK))
        plot.setLabel("left", y_label)
        plot.setLabel("bottom", "seconds from now")
        plot.getViewBox().disableAutoRange()
        plot.setXRange(-BEHIND_S, AHEAD_S, padding=0.0)
        self.moving = pg.ItemGroup()
        plot.addItem(self.moving, ignoreBounds=True)
        fixed = pg.ItemGroup()  # what does not scroll: the grid and the "now" line
        plot.addItem(fixed, ignoreBounds=True)
        self._grid = Curve(fixed, pen(GRID), z=-100, connect="pairs")
        self._now_line = Curve(fixed, pen(INK, 2), z=50)
        self._y_range: tuple[float, float] | None = None

    def draw(self, t_s: float) -> None:
        """Show `t_s`; nothing to do when neither the time nor the picture moved (a paused replay)."""
        if (t_s, self.picture.events) == self._drawn:
            return
        self._drawn = (t_s, self.picture.events)
        self.moving.setPos(-t_s, 0.0)
        self.draw_data(t_s)

    def draw_data(self, t_s: float) -> None:
        """Update the items for `t_s` (they are in session time: the caller has scrolled)."""
        raise NotImplementedError

    def set_y_range(self, low: float, high: float, ticks: Callable[[], Sequence[tuple[float, str]]]) -> None:
        """Only on a change (a range change re-lays the axis out): the range, the left axis's `ticks()` (value,
        label) and a grid line at each tick and each second (pyqtgraph's own grid costs a lot per frame)."""
        if (low, high) == self._y_range:
            return
        self._y_range = (low, high)
        plot = self.getPlotItem()
        plot.setYRange(low, high, padding=0.0)
        labelled = ticks()
        plot.getAxis("left").setTicks([labelled])
        y_lines = [value for value, _ in labelled]
        seconds = np.arange(-math.floor(BEHIND_S), math.floor(AHEAD_S) + 1, dtype=float)
        xs = np.concatenate((np.repeat(seconds, 2), np.tile([-BEHIND_S, AHEAD_S], len(y_lines))))
        ys = np.concatenate((np.tile([low, high], len(seconds)), np.repeat(np.asarray(y_lines, dtype=float), 2)))
        self._grid.set_points(xs, ys)
        self._now_line.set_points(np.zeros(2), np.array([low, high]))
