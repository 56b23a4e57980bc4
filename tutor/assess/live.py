"""Grading live on a session timeline: a grader fed every event as it is published, its feedback published back."""

from __future__ import annotations

from collections.abc import Callable

from flutex.host.fanout import Notifier
from flutex.host.session.events import Stamped
from flutex.tutor.assess.grader import Grader


class GradedTimeline:
    """Feeds a grader every event the timeline publishes, in order, and publishes its feedback on the same
    timeline (recorded like the rest); the feedback coming back is not fed to the grader again."""

    def __init__(self, grader: Grader, timeline: Notifier[Stamped], feedback: Callable[[Stamped], None]) -> None:
        self.grader = grader
        self._timeline = timeline
        self._feedback = feedback
        self._publishing = False

    def __call__(self, stamped: Stamped) -> None:
        if self._publishing:
            return
        out = self.grader.feed(stamped)
        self._publishing = True
        try:
            for event in out:
                self._timeline.publish(event)
                self._feedback(event)
        finally:
            self._publishing = False
