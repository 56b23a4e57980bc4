"""The fingering panel: the instrument drawn from its profile, one hole per circle in the profile's order (as the
holes lie on the flute, the hands apart), with the fingering the score asks for next to the one the fingers make,
the fingers the servos press, and the state of the clutch and the safety envelope."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen

from flutex.hardware.instrument import InstrumentProfile
from flutex.view.colours import FAULTY, GREY, GUIDANCE
from flutex.view.picture import STATUS_CLUTCH, STATUS_ESTOP, STATUS_HELP, STATUS_POSITIONS, STATUS_WATCHDOG, Picture
from flutex.view.qt.painted import PaintedPanel, font
from flutex.view.qt.pitch_panel import note_name
from flutex.view.qt.timeline import INK, qcolor

LEAD_S = 0.1  # the expected fingering is the score's a little ahead: the one the student should be making now
EXPECTED_INK = (40, 90, 200)
BODY = (235, 228, 214)


@dataclass(frozen=True, slots=True)
class FingeringState:
    expected: int | None  # closed mask the score asks for (None: no note written, or sung)
    expected_midi: int | None
    actual: int | None
    pressing: int  # holes the servos press
    servo_permille: tuple[int, ...]  # per finger, in the profile's order of `fingers`
    clutch: bool | None  # None: no status heard yet
    estop: bool
    watchdog: bool
    help_held: bool  # the student holds the help-me pedal


def fingering_state(picture: Picture, t_s: float) -> FingeringState:
    fingers = len(picture.profile.fingers)
    status = picture.status_at(t_s)
    press = picture.pressing_at(t_s)
    target = picture.target_at(t_s + LEAD_S)
    positions = slice(STATUS_POSITIONS, STATUS_POSITIONS + fingers)
    servo = tuple(int(value) for value in status[positions]) if status is not None else (0,) * fingers
    return FingeringState(
        expected=picture.expected_mask_at(t_s, LEAD_S),
        expected_midi=None if target is None else target.note.midi,
        actual=picture.actual_mask_at(t_s),
        pressing=0 if press is None else press.holes_mask,
        servo_permille=servo,
        clutch=None if status is None else bool(status[STATUS_CLUTCH]),
        estop=status is not None and bool(status[STATUS_ESTOP]),
        watchdog=status is not None and bool(status[STATUS_WATCHDOG]),
        help_held=status is not None and bool(status[STATUS_HELP]),
    )


class FingeringPanel(PaintedPanel[FingeringState]):
    def __init__(self, picture: Picture) -> None:
        super().__init__(fingering_state(picture, picture.start_s or 0.0))
        self.picture = picture
        self.setMinimumHeight(220)

    def draw(self, t_s: float) -> None:
        self.show_state(fingering_state(self.picture, t_s))

    def paint(self, painter: QPainter, state: FingeringState) -> None:
        profile = self.picture.profile
        width, height = self.width(), self.height()
        painter.setFont(font(11, bold=True))
        painter.setPen(qcolor(INK))
        painter.drawText(QRectF(12, 6, width - 24, 22), Qt.AlignmentFlag.AlignLeft, f"Fingering ({profile.name})")
        painter.setFont(font(10))
        wanted = "no note" if state.expected_midi is None else f"score: {note_name(state.expected_midi)}"
        painter.drawText(QRectF(12, 6, width - 24, 22), Qt.AlignmentFlag.AlignRight, wanted)
        centres = hole_centres(profile, width)
        radius = min(22.0, 0.35 * (centres[1].x() - centres[0].x()) if len(centres) > 1 else 22.0)
        body_y = 0.45 * height
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(qcolor(BODY))
        painter.drawRoundedRect(QRectF(6, body_y - radius - 10, width - 12, 2 * radius + 20), radius, radius)
        for hole, centre in enumerate(centres):
            placed = QPointF(centre.x(), body_y)
            _paint_hole(painter, placed, radius, hole, state)
            painter.setPen(qcolor(INK))
            painter.setFont(font(9))
            painter.drawText(
                QRectF(placed.x() - 30, body_y + radius + 12, 60, 18),
                Qt.AlignmentFlag.AlignHCenter,
                profile.holes[hole],
            )
        for finger, hole in enumerate(profile.servo_holes):
            press = max(state.servo_permille[finger], 1000 if state.pressing >> hole & 1 else 0)
            if press > 0:
                _paint_press(painter, QPointF(centres[hole].x(), body_y - radius - 12), press)
        _paint_status(painter, QRectF(12, height - 52, width - 24, 22), state)
        _paint_legend(painter, QRectF(12, height - 26, width - 24, 20))


def hole_centres(profile: InstrumentProfile, width: float) -> list[QPointF]:
    """One centre per hole, left to right in the profile's order, with a gap where the hand changes (the holes'
    names start with the hand: L1, L2, ... R1)."""
    slots, hand = [], None
    for name in profile.holes:
        if hand is not None and name[:1] != hand:
            slots.append(None)
        slots.append(name)
        hand = name[:1]
    step = (width - 60) / max(1, len(slots) - 1)
    return [QPointF(30 + k * step, 0) for k, name in enumerate(slots) if name is not None]


def _paint_hole(painter: QPainter, centre: QPointF, radius: float, hole: int, state: FingeringState) -> None:
    closed = state.actual is not None and bool(state.actual >> hole & 1)
    wanted = None if state.expected is None else bool(state.expected >> hole & 1)
    wrong = wanted is not None and state.actual is not None and wanted != closed
    painter.setBrush(qcolor(FAULTY if wrong and closed else INK) if closed else qcolor((255, 255, 255)))
    painter.setPen(QPen(qcolor(INK), 1.5))
    painter.drawEllipse(centre, radius, radius)
    if wanted:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(qcolor(FAULTY if wrong else EXPECTED_INK), 4))
        painter.drawEllipse(centre, radius + 5, radius + 5)


def _paint_press(painter: QPainter, tip: QPointF, permille: int) -> None:
    """A finger pushed down by its servo: an arrow onto the hole, as long as the press is strong."""
    length = 8 + 22 * min(permille, 1000) / 1000
    painter.setPen(QPen(qcolor(GUIDANCE), 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(tip.x(), tip.y() - length), tip)
    painter.drawLine(QPointF(tip.x() - 6, tip.y() - 6), tip)
    painter.drawLine(QPointF(tip.x() + 6, tip.y() - 6), tip)


def _paint_status(painter: QPainter, box: QRectF, state: FingeringState) -> None:
    if state.clutch is None:
        text, colour = "clutch: no status yet", GREY
    else:
        text, colour = ("clutch engaged", GUIDANCE) if state.clutch else ("clutch released", GREY)
    painter.setFont(font(10, bold=True))
    painter.setPen(qcolor(colour))
    painter.drawText(box, Qt.AlignmentFlag.AlignLeft, text)
    if state.help_held:
        painter.setPen(qcolor(GUIDANCE))
        painter.drawText(box, Qt.AlignmentFlag.AlignHCenter, "HELP ASKED")
    warnings = [name for name, on in (("EMERGENCY STOP", state.estop), ("WATCHDOG TRIPPED", state.watchdog)) if on]
    if warnings:
        painter.setPen(qcolor(FAULTY))
        painter.drawText(box, Qt.AlignmentFlag.AlignRight, "  ".join(warnings))


def _paint_legend(painter: QPainter, box: QRectF) -> None:
    painter.setFont(font(8.5))
    painter.setPen(qcolor(GREY))
    painter.drawText(
        box,
        Qt.AlignmentFlag.AlignLeft,
        "ring: the score closes it · filled: closed · red: wrong · arrow: servo presses",
    )
