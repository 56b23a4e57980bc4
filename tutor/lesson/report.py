"""What a lesson says back: one line per attempt as it ends, and the report at the end (readable text or JSON).

The attempt lines are where guidance fading shows: each names the span, the guidance it had (mode and force), the
tempo and how many notes were right, so a student reads "guided, guided, hint 700, hint 550, free" go by as they
improve. The same numbers go to the progress store (`AttemptRow`), so what the student read and what the teacher's
gradebook says cannot differ.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flutex.tutor.assess.report import PieceReport
from flutex.tutor.lesson.breathing import BreathFeedback, combine
from flutex.tutor.lesson.modes import FREE, HINT
from flutex.tutor.lesson.plan import LessonPlan
from flutex.tutor.lesson.policy import MASTERED, AttemptResult, Step
from flutex.tutor.lesson.span import SpanScore
from flutex.tutor.progress.store import AttemptRow


@dataclass(frozen=True)
class AttemptLine:
    step: Step
    bpm: float
    row: AttemptRow
    first_error: str  # the first graded note's reason (or an extra note's), "" when clean
    extra_notes: int
    truth_clean: int | None  # the simulator's truth: notes truly played without an error (None: a person played)
    user_directed: bool = False  # the student asked for it (a repeat): not the schedule's, not in the fading

    @classmethod
    def build(
        cls,
        step: Step,
        bpm: float,
        span: SpanScore,
        report: PieceReport,
        result: AttemptResult,
        truth: dict | None,
        user_directed: bool = False,
    ) -> AttemptLine:
        graded = report.to_json()
        for note in graded["notes"]:
            note["index"] = span.original[note["index"]]
        summary = graded["summary"]
        row = AttemptRow(
            number=step.attempt,
            first_bar=step.span.first_bar,
            last_bar=step.span.last_bar,
            segments=(step.span.first, step.span.last),
            mode=step.mode,
            force_permille=step.force_permille,
            tempo_bpm=round(bpm, 2),
            probe=step.probe,
            notes=summary["notes"],
            clean_notes=summary["clean"],
            points=summary["points"],
            possible=summary["possible"],
            errors=dict(summary["errors"]),
            guided_notes=result.placed_notes,
            help_requested=result.help_requested,
            explanation=step.explanation,
            grades=tuple(graded["notes"]),
        )
        reasons = [reason for note in graded["notes"] for reason in note["reasons"]]
        reasons += [extra["reason"] for extra in graded["extra_notes"]]
        truth_clean = None if truth is None else sum(not note["errors"] for note in truth["notes"])
        first_error = reasons[0] if reasons else ""
        return cls(step, bpm, row, first_error, len(graded["extra_notes"]), truth_clean, user_directed)

    @property
    def guidance(self) -> str:
        """The guidance as a student names it: "guided", "hint 550", "corrective", "free"."""
        return f"{HINT} {self.step.force_permille}" if self.step.mode == HINT else self.step.mode

    def text(self) -> str:
        row = self.row
        probe = " (test)" if self.step.probe else " (yours)" if self.user_directed else ""
        said = f"attempt {row.number}{probe}: {self.step.span.label}, {self.guidance}, {self.bpm:.0f} bpm: "
        said += f"{row.clean_notes}/{row.notes} notes right"
        return f"{said}; {self.first_error}" if self.first_error else said

    def to_json(self) -> dict[str, Any]:
        row = self.row
        return {
            "attempt": row.number,
            "bars": [row.first_bar, row.last_bar],
            "mode": row.mode,
            "force_permille": row.force_permille,
            "bpm": row.tempo_bpm,
            "probe": row.probe,
            "notes": row.notes,
            "clean": row.clean_notes,
            "errors": row.errors,
            "guided_notes": row.guided_notes,
            "help_requested": row.help_requested,
            "explanation": row.explanation,
            "truth_clean": self.truth_clean,
            "user_directed": self.user_directed,
            "grades": [{"index": grade["index"], "errors": grade["errors"]} for grade in row.grades],
        }


@dataclass(frozen=True)
class LessonReport:
    title: str
    student: str
    attempts: tuple[AttemptLine, ...]
    mastery: dict[int, float]
    segment_labels: tuple[str, ...]
    reviews: tuple[str, ...]
    breathing: tuple[str, ...]
    started: datetime
    ended: datetime

    @classmethod
    def build(
        cls,
        plan: LessonPlan,
        student: str,
        attempts: Sequence[AttemptLine],
        mastery: dict[int, float],
        reviews: Sequence[str],
        breathing: Sequence[BreathFeedback],
        started: datetime,
        ended: datetime,
    ) -> LessonReport:
        labels = tuple(
            f"{segment.name or 'segment ' + str(k + 1)} (bars {segment.first_bar}-{segment.last_bar})"
            for k, segment in enumerate(plan.segments)
        )
        lines = _breathing_lines(breathing)
        return cls(plan.title, student, tuple(attempts), dict(mastery), labels, tuple(reviews), lines, started, ended)

    def fading(self) -> dict[int, list[str]]:
        """Per plan segment practised alone, the guidance of each of the schedule's attempts at it in order (the
        student's own repeats left out): fading at a glance."""
        out: dict[int, list[str]] = {}
        for line in self.attempts:
            if line.step.span.first == line.step.span.last and not line.user_directed:
                out.setdefault(line.step.span.first, []).append(line.guidance)
        return out

    def summary(self) -> dict[str, Any]:
        """The numbers the progress store keeps for the lesson (mastery per segment among them)."""
        rows = [line.row for line in self.attempts]
        unguided = [row for row in rows if row.unguided]
        modes = Counter(row.mode for row in rows)
        return {
            "attempts": len(rows),
            "notes": sum(row.notes for row in rows),
            "clean_notes": sum(row.clean_notes for row in rows),
            "unguided_attempts": len(unguided),
            "unguided_clean_attempts": sum(row.clean_notes == row.notes for row in unguided),
            "modes": dict(modes),
            "mastery": {str(segment): round(value, 3) for segment, value in sorted(self.mastery.items())},
            "mastered": sum(value >= MASTERED for value in self.mastery.values()),
            "minutes": round((self.ended - self.started).total_seconds() / 60.0, 2),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "student": self.student,
            "attempts": [line.to_json() for line in self.attempts],
            "fading": {str(segment): modes for segment, modes in self.fading().items()},
            "summary": self.summary(),
            "reviews": list(self.reviews),
            "breathing": list(self.breathing),
        }

    def text(self) -> str:
        summary = self.summary()
        lines = [f"{self.title}: lesson report for {self.student}", ""]
        fading = self.fading()
        if any(mode != FREE for modes in fading.values() for mode in modes):  # a singing lesson has no guidance
            lines.append("  guidance, attempt by attempt (fading as the notes came right):")
            for segment, modes in sorted(fading.items()):
                lines.append(f"    {self.segment_labels[segment]}: {' > '.join(modes)}")
            lines.append("")
        lines.append("  mastery (from attempts without guidance):")
        for segment, label in enumerate(self.segment_labels):
            value = self.mastery.get(segment)
            shown = "not practised" if value is None else f"{value:.0%}" + (" mastered" if value >= MASTERED else "")
            lines.append(f"    {label}: {shown}")
        lines.append("")
        lines.append(
            f"  {summary['attempts']} attempts, {summary['clean_notes']}/{summary['notes']} notes right; "
            f"{summary['unguided_clean_attempts']} of {summary['unguided_attempts']} unguided attempts clean"
        )
        lines += [f"  {line}" for line in self.breathing]
        lines += [f"  {line}" for line in self.reviews]
        truth = [line.truth_clean for line in self.attempts if line.truth_clean is not None]
        if truth:
            truly = sum(truth)
            lines.append(f"  (the simulated student truly played {truly} of {summary['notes']} notes right)")
        return "\n".join(lines)


def _breathing_lines(summaries: Sequence[BreathFeedback]) -> tuple[str, ...]:
    """The singing coach's lines for the whole lesson, from each attempt's summary."""
    return tuple(combine(summaries).lines()) if summaries else ()
