"""A chart's canvas as inline SVG text: data coordinates mapped onto pixels, a few shapes, and axes.

The report draws its charts as SVG written by hand rather than with a plotting library, so the page needs no script
and no network, and its size is what the charts put in it: numbers are written with one decimal at most, shapes of
one style are one `<path>` (a thousand notes, one element), and what every chart shares (fonts, anchors) is in
`STYLE`, which the page carries once.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flutex.view.report.markup import Colour, Markup, paint

AXIS_INK, GRID_INK, LABEL_INK = "#57606a", "#eaeef2", "#24292f"
TICK_STEPS = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)  # seconds between time ticks
STYLE = "svg .e{text-anchor:end}svg .m{text-anchor:middle}"
ANCHORS = {"start": "", "end": ' class="e"', "middle": ' class="m"'}


def number(value: float) -> str:
    """A coordinate as short as it can be written: one decimal, none when it is whole."""
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    return "0" if text == "-0" else text


def clock(seconds: float) -> str:
    """Seconds as m:ss (the lesson's own time, from its first event)."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def time_step(span_s: float, width_px: float, min_gap_px: float = 90.0) -> float:
    """The smallest tick step that keeps time labels at least `min_gap_px` apart."""
    for step in TICK_STEPS:
        if width_px * step / max(span_s, 1e-9) >= min_gap_px:
            return step
    return TICK_STEPS[-1]


def value_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values (1, 2 or 5 times a power of ten apart) between low and high."""
    raw = (high - low) / max(count, 1)
    if not raw > 0:
        return [low]
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(power * k for k in (1, 2, 5, 10) if power * k >= raw)
    return [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]


@dataclass(frozen=True, slots=True)
class Margins:
    left: float = 58.0
    right: float = 14.0
    top: float = 12.0
    bottom: float = 26.0


def columns(width: float, margins: Margins = Margins()) -> int:
    """How many pixel columns the inner area of a plot `width` wide has."""
    return max(1, int(width - margins.left - margins.right))


class Plot:
    """An SVG canvas of `width` x `height` pixels whose inner area shows x in `x_range` and y in `y_range` (y grows
    upwards). Shapes take data coordinates and are drawn in the order they are added; `svg()` gives the finished
    element, framed, and labelled for screen readers."""

    def __init__(
        self,
        width: float,
        height: float,
        x_range: tuple[float, float],
        y_range: tuple[float, float],
        *,
        label: str,
        margins: Margins = Margins(),
    ) -> None:
        self.width, self.height, self.label, self.margins = width, height, label, margins
        self.x0, self.x1 = x_range if x_range[1] > x_range[0] else (x_range[0], x_range[0] + 1.0)
        self.y0, self.y1 = y_range if y_range[1] > y_range[0] else (y_range[0] - 1.0, y_range[0] + 1.0)
        self.inner_width = width - margins.left - margins.right
        self.inner_height = height - margins.top - margins.bottom
        self.top, self.bottom = margins.top, margins.top + self.inner_height
        self.left, self.right = margins.left, margins.left + self.inner_width
        self.parts: list[str] = []

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * self.inner_width

    def y(self, value: float) -> float:
        return self.top + (self.y1 - value) / (self.y1 - self.y0) * self.inner_height

    def px_per_x(self) -> float:
        return self.inner_width / (self.x1 - self.x0)

    def boxes(
        self,
        spans: Iterable[tuple[tuple[float, float], tuple[float, float]]],
        fill: Colour | str,
        *,
        opacity: float = 1.0,
        stroke: str | None = None,
        cls: str | None = None,
    ) -> None:
        """Rectangles over data spans ((x0, x1), (y0, y1)), clipped to the inner area, all in one path."""
        d = []
        for x_span, y_span in spans:
            left, right = sorted((self._clip_x(self.x(x_span[0])), self._clip_x(self.x(x_span[1]))))
            top, bottom = sorted((self._clip_y(self.y(y_span[1])), self._clip_y(self.y(y_span[0]))))
            if right > left and bottom > top:
                d.append(f"M{number(left)} {number(top)}h{number(right - left)}v{number(bottom - top)}H{number(left)}z")
        if d:
            extra = "" if opacity >= 1.0 else f' fill-opacity="{opacity:g}"'
            extra += "" if stroke is None else f' stroke="{stroke}"'
            extra += "" if cls is None else f' class="{cls}"'
            self.parts.append(f'<path d="{"".join(d)}" fill="{paint(fill)}"{extra}/>')

    def verticals(self, xs: Iterable[float], colour: str, *, dashed: bool = False) -> None:
        """Lines across the inner area's height at data x values, in one path."""
        d = "".join(f"M{number(self.x(x))} {number(self.top)}V{number(self.bottom)}" for x in xs)
        if d:
            dash = ' stroke-dasharray="3 3"' if dashed else ""
            self.parts.append(f'<path d="{d}" stroke="{colour}"{dash}/>')

    def polyline(self, xs: Sequence[float], ys: Sequence[float], colour: Colour, width: float = 1.2) -> None:
        """One line through the points, in order (NaN points are left out)."""
        points = " ".join(
            f"{number(self.x(x))},{number(self.y(y))}" for x, y in zip(xs, ys, strict=True) if y == y and x == x
        )
        if points:
            self.parts.append(
                f'<polyline points="{points}" fill="none" stroke="{paint(colour)}" stroke-width="{width:g}" '
                'stroke-linejoin="round"/>'
            )

    def dashes(self, points: Iterable[tuple[float, float]], colour: Colour, length_px: float, width: float) -> None:
        """A short horizontal dash at each point, all in one path: how a pitch contour is drawn compactly."""
        length = number(max(length_px, 1.0))
        d = "".join(f"M{number(self.x(x))} {number(self.y(y))}h{length}" for x, y in points)
        if d:
            self.parts.append(
                f'<path d="{d}" stroke="{paint(colour)}" stroke-width="{width:g}" stroke-linecap="round"/>'
            )

    def dots(self, points: Iterable[tuple[float, float]], colour: Colour, radius: float, *, cls: str) -> None:
        """A round dot at each point, all in one path (one `M` per dot); `cls` names what they are."""
        d = "".join(f"M{number(self.x(x))} {number(self.y(y))}h0" for x, y in points)
        if d:
            self.parts.append(
                f'<path class="{cls}" d="{d}" stroke="{paint(colour)}" stroke-width="{2 * radius:g}" '
                'stroke-linecap="round"/>'
            )

    def dot(self, x: float, y: float, radius: float, colour: Colour, *, title: str, cls: str) -> None:
        """One dot with a tooltip."""
        self.parts.append(
            f'<circle class="{cls}" cx="{number(self.x(x))}" cy="{number(self.y(y))}" r="{radius:g}" '
            f'fill="{paint(colour)}"><title>{html.escape(title)}</title></circle>'
        )

    def markers(self, xs: Iterable[float], colour: str) -> None:
        """Small downward triangles on the top edge at data x values (marks in the score)."""
        d = "".join(f"M{number(self.x(x) - 5)} {number(self.top)}h10l-5 8z" for x in xs)
        if d:
            self.parts.append(f'<path d="{d}" fill="{colour}"/>')

    def text(self, x_px: float, y_px: float, content: str, *, anchor: str = "start", colour: str | None = None) -> None:
        """Text at pixel coordinates, escaped (labels may come from a file or a person); AXIS_INK unless told."""
        fill = "" if colour is None else f' fill="{colour}"'
        self.parts.append(
            f'<text x="{number(x_px)}" y="{number(y_px)}"{ANCHORS[anchor]}{fill}>{html.escape(content)}</text>'
        )

    def time_axis(self, origin_s: float = 0.0) -> None:
        """Grid lines and m:ss labels along the bottom, counted from `origin_s` (add it first: it goes behind)."""
        step = time_step(self.x1 - self.x0, self.inner_width)
        first, last = math.ceil((self.x0 - origin_s) / step), math.floor((self.x1 - origin_s) / step + 1e-9)
        ticks = [k * step + origin_s for k in range(first, last + 1)]
        self.verticals(ticks, GRID_INK)
        for tick in ticks:
            self.text(self.x(tick), self.bottom + 16, clock(tick - origin_s), anchor="middle")

    def x_labels(self, ticks: Iterable[tuple[float, str]]) -> None:
        """Labels under the inner area at data x values."""
        for value, label in ticks:
            self.text(self.x(value), self.bottom + 16, label, anchor="middle")

    def y_labels(self, ticks: Iterable[tuple[float, str]], *, grid: bool = True) -> None:
        """Labels at the left edge, and grid lines across (add them first: they go behind), at data y values."""
        ticks = list(ticks)
        if grid:
            d = "".join(f"M{number(self.left)} {number(self.y(value))}H{number(self.right)}" for value, _ in ticks)
            self.parts.append(f'<path d="{d}" stroke="{GRID_INK}"/>')
        for value, label in ticks:
            self.text(self.left - 6, self.y(value) + 4, label, anchor="end")

    def svg(self) -> Markup:
        frame = (
            f'<path d="M{number(self.left)} {number(self.top)}H{number(self.right)}V{number(self.bottom)}'
            f'H{number(self.left)}z" fill="none" stroke="{AXIS_INK}"/>'
        )
        return Markup(
            f'<svg viewBox="0 0 {number(self.width)} {number(self.height)}" role="img" '
            f'aria-label="{html.escape(self.label)}" font-family="sans-serif" font-size="11" fill="{AXIS_INK}">'
            f"<title>{html.escape(self.label)}</title>{''.join(self.parts)}{frame}</svg>"
        )

    def _clip_x(self, px: float) -> float:
        return min(max(px, self.left), self.right)

    def _clip_y(self, py: float) -> float:
        return min(max(py, self.top), self.bottom)
