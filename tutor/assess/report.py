"""A play-through's report: every note's grade, the extra notes, per-segment and per-piece scores, as the issue's
JSON. Built from the grader's events alone, so what a student saw live and what the report says cannot differ."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flutex.host.session.events import Stamped
from flutex.tutor.assess.events import ERRORS, ExtraNote, NoteGraded
from flutex.tutor.score.model import Score


@dataclass(frozen=True)
class PieceReport:
    """Grades in score order. A note's `points` are the rules it passed of those judged (`possible`); an extra
    note costs one point; so every point lost has a reason in `reasons` or in an extra note's `reason`."""

    notes: tuple[NoteGraded, ...]
    extra_notes: tuple[ExtraNote, ...]
    segments: tuple[int, ...]  # the segment of each note, in the order of `notes`
    final_events: tuple[Stamped, ...] = ()  # the events `Grader.finish` decided (the last notes, segments)

    @classmethod
    def build(
        cls, score: Score, notes: Sequence[NoteGraded], extras: Sequence[ExtraNote], final: Sequence[Stamped]
    ) -> PieceReport:
        segment_of = {note.index: note.segment for note in score.notes}
        return cls(tuple(notes), tuple(extras), tuple(segment_of[grade.index] for grade in notes), tuple(final))

    @property
    def clean(self) -> int:
        return sum(not grade.errors for grade in self.notes)

    def summary(self) -> dict[str, Any]:
        """Per piece and per segment: clean notes, points won of those possible, and the errors by name."""
        return {
            **_scores(self.notes, len(self.extra_notes)),
            "extra_notes": len(self.extra_notes),
            "segments": [
                {"segment": segment, **_scores(self._in(segment), self._extras_in(segment))}
                for segment in sorted(set(self.segments))
            ],
        }

    def to_json(self) -> dict[str, Any]:
        """The issue's JSON: notes (index, bar, beat, midi, errors, reasons, cents, onset_error_ms), extra notes,
        summary. Floats are rounded (0.1 cent, 0.1 ms), so the text is short and the same on every platform."""
        return {
            "notes": [
                {
                    "index": grade.index,
                    "bar": grade.bar,
                    "beat": grade.beat,
                    "midi": grade.midi,
                    "errors": list(grade.errors),
                    "reasons": list(grade.reasons),
                    "cents": None if grade.cents is None else round(grade.cents, 1),
                    "onset_error_ms": None if grade.onset_error_s is None else round(grade.onset_error_s * 1e3, 1),
                }
                for grade in self.notes
            ],
            "extra_notes": [
                {"after_index": extra.after_index, "midi": extra.midi, "reason": extra.reason}
                for extra in self.extra_notes
            ],
            "summary": self.summary(),
        }

    def _in(self, segment: int) -> list[NoteGraded]:
        return [grade for grade, s in zip(self.notes, self.segments, strict=True) if s == segment]

    def _extras_in(self, segment: int) -> int:
        segment_of = {grade.index: s for grade, s in zip(self.notes, self.segments, strict=True)}
        first = min(segment_of.values(), default=0)
        return sum(segment_of.get(extra.after_index, first) == segment for extra in self.extra_notes)


def _scores(notes: Sequence[NoteGraded], extras: int) -> dict[str, Any]:
    possible = sum(grade.possible for grade in notes)
    points = max(sum(grade.points for grade in notes) - extras, 0)
    errors = Counter(error for grade in notes for error in grade.errors)
    return {
        "notes": len(notes),
        "clean": sum(not grade.errors for grade in notes),
        "clean_fraction": round(sum(not grade.errors for grade in notes) / len(notes), 4) if notes else 1.0,
        "points": points,
        "possible": possible,
        "score": round(points / possible, 4) if possible else 1.0,
        "errors": {name: errors[name] for name in ERRORS if errors[name]},
    }
