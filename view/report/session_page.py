"""One lesson's report: a self-contained HTML page drawn from a recording's `Picture`, the same read model as the
live view and the replay's, so all three tell the same story (the command reads the recording into it).

The page: a header with the key numbers, the pitch against the score, the breath belt and the guidance over the
whole lesson, a table of the attempts, each segment's grades and mastery, and a zoomed pitch chart per attempt.
`<main>`'s data-* attributes repeat the counts it shows, for tests and tools.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flutex.tutor.lesson.policy import MASTERED
from flutex.view.colours import CLEAN, FAULTY, GREY, GUIDANCE, IN_TUNE_CENTS, OFF_CENTS, cents_colour
from flutex.view.picture import Attempt, Picture, Target
from flutex.view.report import breath_chart, lesson_charts, svg
from flutex.view.report.markup import Colour, Markup, legend, page, stats, table, tag
from flutex.view.report.pitch_chart import TARGET_FILL, pitch_chart
from flutex.view.report.svg import clock

WIDE = 1200.0  # viewBox width of the charts over the whole lesson (the page scales them to its width)
ZOOM_SIZE = (600.0, 230.0)
ZOOM_MARGIN_S = 0.8  # shown before an attempt's first note and after its last
PITCH_LEGEND: list[tuple[str, Colour | str]] = [
    ("written note", TARGET_FILL),
    (f"in tune (within {IN_TUNE_CENTS:g} cents)", cents_colour(0.0)),
    ("30 cents off", cents_colour(30.0)),
    (f"{OFF_CENTS:g}+ cents off", cents_colour(OFF_CENTS)),
    ("no note written", GREY),
    ("servos guiding", GUIDANCE),
    ("graded clean", CLEAN),
    ("graded faulty", FAULTY),
]


@dataclass(frozen=True, slots=True)
class SessionSource:
    """Where the picture came from, for the header: the file's name, when the session started (None: the
    recording has no metadata), and where a damaged recording stops (None: complete)."""

    name: str
    started_at: datetime | None
    cut_short: str | None


def session_page(picture: Picture, source: SessionSource) -> str:
    """The report page as HTML text (`picture` must hold at least one event)."""
    start, end = picture.start_s or 0.0, picture.end_s or 0.0
    lesson = picture.lesson
    title = lesson.title if lesson else f"Session {source.name}"
    body = [_header(picture, source, title), *_overview(picture, (start, end))]
    if picture.attempts:
        body += [_attempts(picture, start), _segments(picture), _zooms(picture, start)]
    if picture.chat:
        body.append(_conversation(picture, start))
    clean = sum(grade.clean for grade in picture.grades)
    return page(
        title,
        body,
        style=svg.STYLE,
        data_report="session",
        data_attempts=len(picture.attempts),
        data_notes=len(picture.grades),
        data_clean_notes=clean,
        data_guided_notes=sum(attempt.ended.guided_notes for attempt in picture.attempts if attempt.ended),
        data_segments_finished=len(picture.segments),
        data_inhales=len(picture.inhales),
        data_chat_lines=len(picture.chat),
        data_duration_s=f"{end - start:.1f}",
    )


def _header(picture: Picture, source: SessionSource, title: str) -> Markup:
    lesson = picture.lesson
    facts = [lesson.piece, f"student {lesson.student}", f"{lesson.policy} guidance"] if lesson else []
    if source.started_at is not None:
        facts.append(f"{source.started_at.astimezone():%Y-%m-%d %H:%M %Z}")
    facts.append(source.name)
    clean = sum(grade.clean for grade in picture.grades)
    notes = len(picture.grades)
    numbers = [
        (clock((picture.end_s or 0.0) - (picture.start_s or 0.0)), "duration"),
        (str(len(picture.attempts)), "attempts"),
        (f"{clean}/{notes}", "notes clean"),
        ("-" if not notes else f"{100 * clean / notes:.0f}%", "clean"),
        (str(sum(attempt.ended.guided_notes for attempt in picture.attempts if attempt.ended)), "notes guided"),
        (str(len(picture.inhales)), "inhales"),
    ]
    parts = [tag("h1", title), tag("p", " · ".join(facts), cls="sub"), stats(numbers)]
    if source.cut_short:
        parts.append(
            tag("p", f"This recording was cut short: {source.cut_short}. The page shows what it holds.", cls="warn")
        )
    if lesson is None:
        parts.append(tag("p", "No lesson in this recording: only the sound and the breath are shown.", cls="sub"))
    return tag("section", parts, id="header")


def _overview(picture: Picture, span: tuple[float, float]) -> list[Markup]:
    """The three charts over the whole lesson, one above the other on the same time axis."""
    origin = span[0]
    sections = [
        tag(
            "section",
            [
                tag("h2", "Pitch against the score"),
                legend(PITCH_LEGEND),
                pitch_chart(picture, span, size=(WIDE, 300.0), origin_s=origin, label="pitch against the score"),
            ],
            id="pitch",
        ),
        tag(
            "section",
            [
                tag("h2", "Breath"),
                legend(breath_chart.LEGEND),
                breath_chart.breath_chart(picture, span, size=(WIDE, 190.0), origin_s=origin),
            ],
            id="breath",
        ),
    ]
    if picture.attempts:
        guidance = lesson_charts.guidance_chart(picture, span, size=(WIDE, 110.0), origin_s=origin)
        sections.append(tag("section", [tag("h2", "Guidance and results"), guidance], id="guidance"))
    return sections


def _attempts(picture: Picture, origin: float) -> Markup:
    header = ("#", "at", "bars", "guidance", "bpm", "clean / notes", "guided notes", "extra notes", "help", "why")
    rows = [
        (
            attempt.started.attempt,
            clock(attempt.t_s - origin),
            f"{attempt.started.first_bar}-{attempt.started.last_bar}",
            lesson_charts.mode_text(attempt) + (" (probe)" if attempt.started.probe else ""),
            f"{attempt.started.bpm:g}",
            *_result_cells(attempt),
            attempt.started.explanation,
        )
        for attempt in picture.attempts
    ]
    return tag("section", [tag("h2", "Attempts"), table(header, rows, numeric=(0, 4, 5, 6, 7))], id="attempts")


def _conversation(picture: Picture, origin: float) -> Markup:
    """What the student and Flute X GPT said during the lesson, with when (beside the attempts' times)."""
    speakers = {"student": "student", "tutor": "Flute X"}
    rows = [(clock(t - origin), speakers.get(line.speaker, line.speaker), line.text) for t, line in picture.chat]
    return tag("section", [tag("h2", "Conversation"), table(("at", "who", "said"), rows)], id="conversation")


def _result_cells(attempt: Attempt) -> tuple[str, str, str, str]:
    ended = attempt.ended
    if ended is None:
        return ("not finished", "-", "-", "-")
    return (
        f"{ended.clean_notes} / {ended.notes}",
        str(ended.guided_notes),
        str(ended.extra_notes),
        "asked" if ended.help_requested else "",
    )


def _segments(picture: Picture) -> Markup:
    """Each finished pass over a segment, then each segment's mastery after each attempt."""
    count = len(picture.lesson.segments) if picture.lesson else 0
    count = max([count, *(finished.segment + 1 for _, _, finished in picture.segments)])
    names = lesson_charts.segment_names(picture, count)
    rows = [
        (
            attempt,
            names[finished.segment],
            f"{finished.clean} / {finished.notes}",
            f"{finished.points} / {finished.possible}",
            f"{finished.score:.0%}",
        )
        for _, attempt, finished in picture.segments
    ]
    parts = [
        tag("h2", "Segments"),
        table(("attempt", "segment", "clean / notes", "points", "score"), rows, numeric=(0, 2, 3, 4)),
    ]
    if picture.mastery:
        width = len(picture.mastery[0][1].mastery)
        colours = lesson_charts.SEGMENT_COLOURS
        parts += [
            tag("h3", "Mastery after each attempt"),
            legend([(name, colours[k % len(colours)]) for k, name in enumerate(names[:width])]),
            tag("div", [lesson_charts.mastery_chart(picture, size=(WIDE, 140.0), mastered=MASTERED)], id="mastery"),
        ]
    return tag("section", parts, id="segments")


def _zooms(picture: Picture, origin: float) -> Markup:
    """A pitch chart per attempt, over its notes."""
    by_attempt: dict[int, list[Target]] = defaultdict(list)
    for target in picture.targets:
        by_attempt[target.attempt].append(target)
    charts = []
    for attempt, start, end in lesson_charts.attempt_spans(picture):
        number = attempt.started.attempt
        notes = by_attempt.get(number)
        if notes:
            start = max(start, min(target.note.onset_s for target in notes) - ZOOM_MARGIN_S)
            end = min(end, max(target.note.end_s for target in notes) + ZOOM_MARGIN_S)
        result = _result_cells(attempt)[0]
        heading = (
            f"Attempt {number}: bars {attempt.started.first_bar}-{attempt.started.last_bar}, "
            f"{lesson_charts.mode_text(attempt)}, {attempt.started.bpm:g} bpm, {result} clean"
        )
        chart = pitch_chart(picture, (start, end), size=ZOOM_SIZE, origin_s=origin, label=heading, detailed=True)
        explanation = tag("p", attempt.started.explanation) if attempt.started.explanation else Markup("")
        charts.append(tag("div", [tag("h3", heading), explanation, chart], id=f"attempt-{number}"))
    return tag("section", [tag("h2", "Each attempt"), tag("div", charts, cls="zooms")], id="zooms")
