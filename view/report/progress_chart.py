"""A student's lessons over time: clean % and unguided clean % lesson by lesson, on one 0-100 % scale for every
student so their charts compare."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from flutex.view.colours import BELT, CLEAN
from flutex.view.report.markup import Colour, Markup
from flutex.view.report.svg import Plot

# (lesson row key, name, colour, line width): the wider line first, so the other shows on it where they agree
LINES: tuple[tuple[str, str, Colour, float], ...] = (
    ("unguided_clean_percent", "unguided clean %", BELT[0], 4.0),
    ("clean_percent", "clean %", CLEAN, 1.5),
)
LEGEND = [(name, colour) for _, name, colour, _ in LINES]
MAX_DATE_LABELS = 12


def progress_chart(lessons: Sequence[dict[str, Any]], *, size: tuple[float, float], label: str) -> Markup:
    """One point per lesson (rows of `Store.progress`, oldest first), labelled with its date."""
    numbers = list(range(1, len(lessons) + 1))
    plot = Plot(*size, (0.5, len(lessons) + 0.5), (0.0, 100.0), label=label)
    plot.y_labels((value, f"{value}%") for value in (0, 25, 50, 75, 100))
    every = max(1, math.ceil(len(lessons) / MAX_DATE_LABELS))
    plot.x_labels((number, str(lesson["started"])[:10]) for number, lesson in list(enumerate(lessons, 1))[::every])
    for key, name, colour, width in LINES:
        values = [math.nan if lesson[key] is None else float(lesson[key]) for lesson in lessons]
        plot.polyline(numbers, values, colour, width=width)
        for number, value, lesson in zip(numbers, values, lessons, strict=True):
            if not math.isnan(value):
                plot.dot(number, value, 3.5, colour, title=f"{str(lesson['started'])[:10]}: {name} {value:g}",
                         cls="lesson")  # fmt: skip
    return plot.svg()
