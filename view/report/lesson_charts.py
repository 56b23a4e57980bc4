"""How the lesson was taught and how it went: where each attempt starts, the guidance over time (each attempt's
mode, the servos' presses, the share of clean notes) and each segment's mastery attempt after attempt."""

from __future__ import annotations

from flutex.tutor.lesson.modes import CORRECTIVE, FREE, GUIDED, HINT
from flutex.view.colours import CLEAN, FAULTY, GUIDANCE
from flutex.view.picture import Attempt, Picture
from flutex.view.report.markup import Colour, Markup
from flutex.view.report.svg import AXIS_INK, Plot

# How strongly each mode is shaded: the more help, the darker.
MODE_OPACITY = {GUIDED: 0.9, CORRECTIVE: 0.65, HINT: 0.4, FREE: 0.0}
FREE_FILL = "#eaeef2"
SEGMENT_COLOURS: tuple[Colour, ...] = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
)  # fmt: skip
MODE_ROW, PRESS_ROW, RESULT_ROW = 2.0, 1.0, 0.0  # each row's bottom, one unit high
MIN_LABEL_PX = 60.0  # a span narrower than this gets no label
MIN_ATTEMPT_GAP_PX, MIN_NUMBERED_GAP_PX = 8.0, 28.0  # attempts closer than this (on average) are not marked / numbered
MAX_ATTEMPT_LABELS = 12


def attempt_spans(picture: Picture) -> list[tuple[Attempt, float, float]]:
    """Each attempt with the time from its start to the next one's (or to the end of the recording)."""
    ends = [attempt.t_s for attempt in picture.attempts[1:]] + [picture.end_s or 0.0]
    return [(attempt, attempt.t_s, end) for attempt, end in zip(picture.attempts, ends, strict=True)]


def mode_text(attempt: Attempt) -> str:
    started = attempt.started
    return started.mode if started.mode == FREE else f"{started.mode} {started.force_permille / 10:.0f}%"


def attempt_starts(plot: Plot, picture: Picture) -> None:
    """A dashed line where each attempt starts, numbered, when they are far enough apart to read."""
    starts = [
        (attempt.t_s, attempt.started.attempt) for attempt in picture.attempts if plot.x0 <= attempt.t_s <= plot.x1
    ]
    if len(starts) > plot.inner_width / MIN_ATTEMPT_GAP_PX:
        return
    plot.verticals((t for t, _ in starts), AXIS_INK, dashed=True)
    if len(starts) <= plot.inner_width / MIN_NUMBERED_GAP_PX:
        for t, number in starts:
            plot.text(plot.x(t) + 3, plot.top + 11, f"#{number}")


def guidance_chart(
    picture: Picture, span_s: tuple[float, float], *, size: tuple[float, float], origin_s: float
) -> Markup:
    """Three rows over [t0, t1]: the mode of each attempt (darker: more help), the presses (their height is their
    force), and each attempt's clean notes (green) against its faulty ones (red)."""
    plot = Plot(*size, span_s, (0.0, 3.0), label="guidance and results per attempt")
    plot.y_labels([(MODE_ROW + 0.5, "mode"), (PRESS_ROW + 0.5, "servos"), (RESULT_ROW + 0.5, "clean")], grid=False)
    plot.time_axis(origin_s)
    spans = attempt_spans(picture)
    for mode in dict.fromkeys(attempt.started.mode for attempt, _, _ in spans):
        opacity = MODE_OPACITY.get(mode, 0.0)
        rows = [((start, end), (MODE_ROW + 0.1, MODE_ROW + 0.9)) for a, start, end in spans if a.started.mode == mode]
        plot.boxes(rows, GUIDANCE if opacity else FREE_FILL, opacity=opacity or 1.0)
    presses = [
        ((press.t_s, press.end_s), (PRESS_ROW + 0.1, PRESS_ROW + 0.1 + 0.8 * press.force_permille / 1000))
        for press in picture.presses_between(*span_s)
    ]
    plot.boxes(presses, GUIDANCE)
    results = [(start, end, a.ended) for a, start, end in spans if a.ended is not None and a.ended.notes]
    splits = [start + (end - start) * ended.clean_notes / ended.notes for start, end, ended in results]
    row = (RESULT_ROW + 0.1, RESULT_ROW + 0.9)
    plot.boxes((((start, split), row) for (start, _, _), split in zip(results, splits, strict=True)), CLEAN)
    plot.boxes((((split, end), row) for (_, end, _), split in zip(results, splits, strict=True)), FAULTY)
    for attempt, start, end in spans:
        dark = MODE_OPACITY.get(attempt.started.mode, 0.0) > 0.5
        _label(plot, start, end, MODE_ROW, f"#{attempt.started.attempt} {mode_text(attempt)}", white=dark)
        if attempt.ended is not None and attempt.ended.notes:
            _label(plot, start, end, RESULT_ROW, f"{attempt.ended.clean_notes}/{attempt.ended.notes}", white=True)
    return plot.svg()


def _label(plot: Plot, start: float, end: float, row: float, text: str, *, white: bool) -> None:
    """A label inside a row's span, when the span is wide enough to hold one."""
    if plot.x(end) - plot.x(start) >= MIN_LABEL_PX:
        plot.text(plot.x(start) + 4, plot.y(row + 0.5) + 4, text, colour="#ffffff" if white else None)


def segment_names(picture: Picture, count: int) -> list[str]:
    """'bars 1-2' for each of the plan's segments (from the lesson), else 'segment 1'..."""
    segments = picture.lesson.segments if picture.lesson else ()
    return [
        f"bars {segments[k][0]}-{segments[k][1]}" if k < len(segments) else f"segment {k + 1}" for k in range(count)
    ]


def mastery_chart(picture: Picture, *, size: tuple[float, float], mastered: float) -> Markup:
    """Each segment's mastery (0..1) after each attempt, one line per segment, from `picture.mastery` (not empty)."""
    attempts = [changed.attempt for _, changed in picture.mastery]
    plot = Plot(*size, (min(attempts) - 0.5, max(attempts) + 0.5), (0.0, 1.05), label="mastery per segment")
    plot.y_labels([(0.0, "0"), (0.5, "50%"), (mastered, "mastered")])
    every = max(1, -(-len(attempts) // MAX_ATTEMPT_LABELS))
    plot.x_labels((number, f"#{number}") for number in attempts[::every])
    for segment in range(len(picture.mastery[0][1].mastery)):
        colour = SEGMENT_COLOURS[segment % len(SEGMENT_COLOURS)]
        values = [changed.mastery[segment] if segment < len(changed.mastery) else float("nan")
                  for _, changed in picture.mastery]  # fmt: skip
        plot.polyline(attempts, values, colour, width=2.0)
        plot.dots([(n, v) for n, v in zip(attempts, values, strict=True) if v == v], colour, 3.0, cls="mastery")
    return plot.svg()
