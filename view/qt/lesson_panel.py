"""The lesson panel: what lesson this is, what the current attempt asks (bars, guidance and force, tempo) and why,
how the last attempt went, and each segment's mastery as the schedule sees it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainter

from flutex.tutor.lesson.events import AttemptEnded, AttemptStarted, LessonBegan
from flutex.tutor.lesson.modes import FREE
from flutex.view.colours import CLEAN, GREY, GUIDANCE
from flutex.view.picture import Picture
from flutex.view.qt.painted import PaintedPanel, font
from flutex.view.qt.timeline import INK, qcolor

LINE = 20  # pixels per text line


@dataclass(frozen=True, slots=True)
class LessonState:
    lesson: LessonBegan | None
    attempt: AttemptStarted | None
    last_result: AttemptEnded | None  # of the last attempt that ended by now
    mastery: tuple[float, ...] | None
    tenths: int  # the time shown, in tenths of a second (a repaint ten times a second, not every frame)


def lesson_state(picture: Picture, t_s: float) -> LessonState:
    current = picture.attempt_at(t_s)
    return LessonState(
        lesson=picture.lesson,
        attempt=None if current is None else current.started,
        last_result=last_result(picture, t_s),
        mastery=picture.mastery_at(t_s),
        tenths=round(t_s * 10),
    )


def last_result(picture: Picture, t_s: float) -> AttemptEnded | None:
    """How the last attempt over by `t_s` went."""
    attempt = picture.last_ended_at(t_s)
    return None if attempt is None else attempt.ended


class LessonPanel(PaintedPanel[LessonState]):
    def __init__(self, picture: Picture) -> None:
        super().__init__(lesson_state(picture, picture.start_s or 0.0))
        self.picture = picture
        self.setMinimumHeight(260)

    def draw(self, t_s: float) -> None:
        self.show_state(lesson_state(self.picture, t_s))

    def paint(self, painter: QPainter, state: LessonState) -> None:
        width = self.width() - 24
        lesson = state.lesson
        y = _text(painter, 6.0, width, lesson.title if lesson else "No lesson", font(11, bold=True))
        if lesson:
            y = _text(painter, y, width, f"{lesson.piece} · {lesson.student} · {lesson.policy} schedule", font(9.5))
        painter.setPen(qcolor(GREY))
        painter.setFont(font(9.5))
        painter.drawText(QRectF(12, 6, width, LINE), Qt.AlignmentFlag.AlignRight, f"{state.tenths / 10:.1f} s")
        if state.attempt is not None:
            y = _paint_attempt(painter, y + 6, width, state.attempt)
        if state.last_result is not None:
            y = _text(painter, y, width, _result_text(state.last_result), font(10))
        if lesson is not None:
            _paint_mastery(painter, y + 8, width, lesson.segments, state.mastery)


def _paint_attempt(painter: QPainter, y: float, width: float, attempt: AttemptStarted) -> float:
    """The attempt's bars, its guidance and tempo, and the schedule's reason for them."""
    y = _text(
        painter, y, width, f"Attempt {attempt.attempt}: bars {attempt.first_bar}-{attempt.last_bar}", font(10.5, True)
    )
    force = "" if attempt.mode == FREE else f" at {attempt.force_permille / 10:.0f}% force"
    probe = " · probe" if attempt.probe else ""
    colour = INK if attempt.mode == FREE else GUIDANCE
    y = _text(painter, y, width, f"{attempt.mode}{force} · {attempt.bpm:.0f} bpm{probe}", font(10), colour)
    return _wrapped(painter, y, width, attempt.explanation) if attempt.explanation else y


def _result_text(result: AttemptEnded) -> str:
    extra = f", {result.extra_notes} extra" if result.extra_notes else ""
    return f"Last attempt: {result.clean_notes}/{result.notes} clean, {result.guided_notes} guided{extra}"


def _text(
    painter: QPainter, y: float, width: float, text: str, chosen: QFont, colour: tuple[int, int, int] = INK
) -> float:
    painter.setFont(chosen)
    painter.setPen(qcolor(colour))
    painter.drawText(QRectF(12, y, width, LINE), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
    return y + LINE


def _wrapped(painter: QPainter, y: float, width: float, text: str) -> float:
    painter.setFont(font(9.5))
    painter.setPen(qcolor(GREY))
    box = QRectF(12, y, width, 3 * LINE)
    used = painter.boundingRect(box, Qt.TextFlag.TextWordWrap, text)
    painter.drawText(box, Qt.TextFlag.TextWordWrap, text)
    return y + min(used.height(), box.height()) + 4


def _paint_mastery(
    painter: QPainter, y: float, width: float, segments: tuple[tuple[int, int], ...], mastery: tuple[float, ...] | None
) -> None:
    """One bar per segment of the plan, filled to its mastery (0..1)."""
    _text(painter, y, width, "Mastery", font(10, bold=True))
    y += LINE + 2
    label_width, bar_height = 80.0, 12.0
    for k, (first, last) in enumerate(segments):
        value = mastery[k] if mastery is not None and k < len(mastery) else 0.0
        painter.setPen(qcolor(INK))
        painter.setFont(font(9.5))
        painter.drawText(QRectF(12, y, label_width, LINE), Qt.AlignmentFlag.AlignVCenter, f"bars {first}-{last}")
        bar = QRectF(12 + label_width, y + (LINE - bar_height) / 2, width - label_width - 50, bar_height)
        painter.setPen(qcolor(GREY))
        painter.setBrush(qcolor((240, 240, 240)))
        painter.drawRect(bar)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(qcolor(CLEAN))
        painter.drawRect(QRectF(bar.x(), bar.y(), bar.width() * value, bar.height()))
        painter.setPen(qcolor(INK))
        painter.drawText(QRectF(bar.right() + 6, y, 44, LINE), Qt.AlignmentFlag.AlignVCenter, f"{value:.0%}")
        y += LINE
