"""An online score follower: which score note each played note stands for, and where the student is at any moment.

It is an on-line matcher in the manner of Dannenberg (1984): each played onset (a `NoteStarted`) is matched, as it
comes, to the score note that explains it at least cost, or to none (an extra note). The cost of matching score note
k adds a penalty per score note skipped over (missed), one for a pitch that differs (less for an octave), and one for
the distance between the onset and the time the note is expected: capped for the note due next, so that its right
pitch is found again after a pause, but not for notes further on, so that an extra note is not taken for one of them.
The expectation comes from a tempo estimated on the matched onsets (a Theil-Sen line through the recent ones: a late
or early note among them does not tilt it), so the follower keeps up with a tempo that drifts, and the time term
keeps it from jumping to a repeat of the same notes further on. Notes not heard are passed over by time (the
position runs on at the estimated tempo), and declared missed once a later note is matched. See docs/assessment.md
for the literature and the limits.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import combinations

from flutex.tutor.assess.events import Position
from flutex.tutor.assess.rules import median
from flutex.tutor.score.model import Score, ScoreNote


@dataclass(frozen=True, slots=True)
class FollowerConfig:
    """The matcher's costs (unitless: a wrong pitch costs 1) and the tempo estimate's memory."""

    skip_cost: float = 0.5  # per score note passed over as missed
    wrong_pitch_cost: float = 1.0
    octave_cost: float = 0.5
    time_scale_s: float = 0.3  # an onset this far from the expectation costs 1 ...
    time_cost_cap: float = 0.8  # ... up to this much for the note due next, so its right pitch is found after a pause
    extra_cost: float = 1.4  # an onset matched to nothing: below a wrong pitch far from any expected onset
    max_skip: int = 4  # score notes that may be passed over at once
    slope_points: int = 8  # matched onsets in the tempo's slope ...
    min_points: int = 5  # ... once there are this many (at distinct score times) ...
    offset_points: int = 5  # ... and in its offset (a median: one early or late note among them does not move it)
    min_ratio: float = 0.5  # played seconds per written second, at least ...
    max_ratio: float = 2.0  # ... and at most


@dataclass(frozen=True, slots=True)
class Match:
    """What one played onset was: score note `index` (None: an extra note), the notes passed over as missed, and
    when the follower expected the matched note (from the onsets before it)."""

    index: int | None
    missed: tuple[int, ...]
    expected_s: float | None
    after_index: int  # the score note it follows (-1: none yet): where an extra note goes in the report


class ScoreFollower:
    """Follows `score` played from `start_s` on the timeline (when its beat 0 is due, after the count-in)."""

    def __init__(self, score: Score, start_s: float, config: FollowerConfig | None = None) -> None:
        self.score = score
        self.config = config or FollowerConfig()
        self.notes: tuple[ScoreNote, ...] = score.sounding
        if not self.notes:
            raise ValueError(f"the score {score.title!r} has no notes to follow (only rests)")
        self._written_s = [score.onset_s(note) for note in self.notes]
        self._points: deque[tuple[float, float]] = deque([(0.0, start_s)], maxlen=self.config.slope_points)
        self._next = 0  # the first sounding note not yet matched nor passed over
        self._shown: int | None = None  # the position last published
        self.ratio = 1.0  # played seconds per written second

    @property
    def next_k(self) -> int:
        """The first sounding note (into `notes`) not yet matched nor passed over: the one due next."""
        return self._next

    # --- the time map ----------------------------------------------------------------------------------------

    def expected_s(self, k: int) -> float:
        """When sounding note `k` (into `notes`) is due, on the timeline, from the recent matched onsets."""
        recent = list(self._points)[-self.config.offset_points :]
        offset = median([t - self.ratio * written for written, t in recent])
        return offset + self.ratio * self._written_s[k]

    def _refit(self) -> None:
        """The tempo from the recent onsets once there are `min_points` of them (until then the written one: with
        fewer, a single late note would tilt it)."""
        if len({written for written, _ in self._points}) < self.config.min_points:
            return
        slopes = [(t2 - t1) / (w2 - w1) for (w1, t1), (w2, t2) in combinations(self._points, 2) if w2 - w1 > 1e-6]
        if slopes:
            self.ratio = min(max(median(slopes), self.config.min_ratio), self.config.max_ratio)

    # --- matching --------------------------------------------------------------------------------------------

    def on_onset(self, t_s: float, midi: int) -> Match:
        """Match one played onset (in time order) to the score; see the module docstring for the costs."""
        config = self.config
        after = self.notes[self._next - 1].index if self._next else -1
        best, best_cost = None, config.extra_cost
        for k in range(self._next, min(self._next + config.max_skip + 1, len(self.notes))):
            cost = (k - self._next) * config.skip_cost + self._pitch_cost(midi, self.notes[k].midi)
            late = abs(t_s - self.expected_s(k)) / config.time_scale_s
            cost += min(late, config.time_cost_cap) if k == self._next else late
            if cost < best_cost:
                best, best_cost = k, cost
        if best is None:
            return Match(None, (), None, after)
        expected = self.expected_s(best)
        missed = tuple(note.index for note in self.notes[self._next : best])
        self._points.append((self._written_s[best], t_s))
        self._refit()
        self._next = best + 1
        return Match(self.notes[best].index, missed, expected, after)

    def _pitch_cost(self, played: int, written: int | None) -> float:
        assert written is not None
        if played == written:
            return 0.0
        return self.config.octave_cost if (played - written) % 12 == 0 else self.config.wrong_pitch_cost

    # --- position --------------------------------------------------------------------------------------------

    def where(self, t_s: float, slack_s: float) -> int:
        """The sounding note (into `notes`) the student is at, at `t_s`: the last one matched, or a later one whose
        expected onset passed more than `slack_s` ago unheard (time runs on at the estimated tempo)."""
        k = max(self._next - 1, 0)
        while k + 1 < len(self.notes) and self.expected_s(k + 1) + slack_s <= t_s:
            k += 1
        return k

    def position(self, t_s: float, slack_s: float) -> tuple[float, Position] | None:
        """A `Position` and when the student got there, if their place changed since the last one published."""
        if self._next == 0 and t_s < self.expected_s(0) + slack_s:
            return None  # still counting in
        k = self.where(t_s, slack_s)
        note = self.notes[k]
        if note.index == self._shown:
            return None
        self._shown = note.index
        since = self._points[-1][1] if k == self._next - 1 else self.expected_s(k) + slack_s
        return since, Position(note.index, note.bar, note.beat)
