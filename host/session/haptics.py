"""Haptics: the one way lesson code moves the student's fingers, inside the board's safety envelope.

A lesson asks for a fingering pressed until a time on the session timeline; the board grants bounded pieces: a
GUIDE lasts at most `max_guide_ms` (3 s), and the clutch is released with an E_ENGAGE_TIME alert once it has been
engaged `max_engage_ms` (10 s) at a stretch, however many GUIDEs kept it engaged (docs/guidance.md). So a press
becomes a plan (`plan_guides`, pure): GUIDEs of at most 3 s, each sent `RENEW_AHEAD_S` before the one before it
ends so the clutch holds through, and every stretch of engagement kept under `max_engage_ms - ENGAGE_MARGIN_S`:
a press that would cross it first releases for `GAP_S`, and a press longer than a stretch lets one GUIDE lapse
and resumes after the gap. Commands are fire-and-forget (lesson code runs inside a timeline callback, which must
not block): refusals and failures are logged and counted. Lost links and board alerts make it forget its state.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from flutex.firmware import wire
from flutex.hardware import load_pinmap
from flutex.hardware.instrument import InstrumentProfile
from flutex.host.errors import UsageError
from flutex.host.fanout import Notifier
from flutex.host.link.client import LinkInterrupted
from flutex.host.link.events import BoardAlert, CommandResult, LinkLost, LinkRestored
from flutex.host.session.events import HapticPress, HapticRelease, Stamped

log = logging.getLogger(__name__)

RENEW_AHEAD_S = 0.25  # a chained GUIDE is sent this long before the running one ends: late timers do not lapse it
GAP_S = 0.1  # the clutch stays released this long between two stretches of engagement
ENGAGE_MARGIN_S = 1.0  # a stretch of engagement ends this long before the board would end it with an alert
MIN_GUIDE_S = 0.02  # a piece of press shorter than this (one servo tick) is not sent
DISARMING_ALERTS = (wire.E_WATCHDOG, wire.E_ESTOP)  # after these the board must be armed again


@dataclass(frozen=True, slots=True)
class GuideLimits:
    """The board's envelope as far as a press is concerned (hardware/pinmap.json's `safety`)."""

    max_guide_s: float
    max_engage_s: float

    @classmethod
    def of_pinmap(cls) -> GuideLimits:
        safety = load_pinmap()["safety"]
        return cls(safety["max_guide_ms"] / 1000, safety["max_engage_ms"] / 1000)

    @property
    def stretch_s(self) -> float:
        """The longest stretch of engagement a plan makes."""
        return self.max_engage_s - ENGAGE_MARGIN_S


@dataclass(frozen=True, slots=True)
class GuideStep:
    """One GUIDE of a plan: sent at `start_s`, pressing until `end_s` (timeline seconds), within the stretch of
    engagement that began at `stretch_s`. `release_first`: the clutch is released at the press's start, the step
    comes `GAP_S` later (the running stretch had no room for this press)."""

    start_s: float
    end_s: float
    stretch_s: float
    release_first: bool = False


def engaged_since(plan: Sequence[GuideStep], now_s: float) -> float | None:
    """When the stretch of engagement a plan holds at `now_s` began, or None when the clutch is free. A GUIDE's
    end is counted `GAP_S` late: the board lets go at its own servo tick, after the link's latency."""
    for step in plan:
        if step.start_s <= now_s < step.end_s + GAP_S:
            return step.stretch_s
    return None


def plan_guides(now_s: float, until_s: float, since_s: float | None, limits: GuideLimits) -> tuple[GuideStep, ...]:
    """The GUIDEs that press from `now_s` to `until_s` when the clutch has been engaged since `since_s` (None:
    it is free): each at most `max_guide_s`, chained ahead of the one before, every stretch under
    `limits.stretch_s` with `GAP_S` released between stretches."""
    steps: list[GuideStep] = []
    release_first = since_s is not None and until_s - since_s > limits.stretch_s
    start_s = now_s + GAP_S if release_first else now_s
    stretch_s = None if release_first else since_s
    while until_s - start_s >= MIN_GUIDE_S:
        stretch_s = start_s if stretch_s is None else stretch_s
        end_s = min(start_s + limits.max_guide_s, until_s, stretch_s + limits.stretch_s)
        steps.append(GuideStep(start_s, end_s, stretch_s, release_first and not steps))
        if end_s >= until_s:
            break
        if end_s >= stretch_s + limits.stretch_s:  # the stretch is used up: let this GUIDE lapse, then resume
            start_s, stretch_s = end_s + GAP_S, None
        else:
            start_s = end_s - RENEW_AHEAD_S
    return tuple(steps)


class HapticClient(Protocol):
    """The device client's commands Haptics uses (`DeviceClient`): nothing else reaches the servos."""

    def arm(self, armed: bool = True) -> asyncio.Future[CommandResult]: ...
    def set_clutch(self, engaged: bool) -> asyncio.Future[CommandResult]: ...
    def guide(
        self, targets_permille: Sequence[int], duration_ms: int, force_permille: int = 1000
    ) -> asyncio.Future[CommandResult]: ...


class TimelineClock(Protocol):
    def now(self) -> float: ...


class Haptics:
    """Presses fingerings on the board for lesson code. `press` replaces whatever is being pressed (so presses of
    consecutive notes chain without the clutch letting go); `release` lets go. Publishes `HapticPress` and
    `HapticRelease` on `timeline`, and listens to it for lost links and alerts. Needs a running event loop."""

    def __init__(
        self,
        client: HapticClient,
        timeline: Notifier[Stamped],
        clock: TimelineClock,
        profile: InstrumentProfile,
        limits: GuideLimits | None = None,
    ) -> None:
        self.client = client
        self.profile = profile
        self.limits = limits or GuideLimits.of_pinmap()
        self.sent: Counter[str] = Counter()  # commands sent, by name
        self.failures = 0  # commands refused by the board or lost with the link
        self._timeline = timeline
        self._clock = clock
        self._armed = False
        self._plan: tuple[GuideStep, ...] = ()
        self._timers: list[asyncio.TimerHandle] = []
        timeline.add_listener(self._on_timeline)

    @property
    def pressing(self) -> bool:
        return bool(self._plan)

    def arm(self) -> None:
        self._send("ARM", self.client.arm(True))
        self._armed = True

    def disarm(self) -> None:
        """Disarming releases everything on the board; a later press arms again."""
        self._forget("disarmed")
        self._send("DISARM", self.client.arm(False))
        self._armed = False

    def press(self, holes_mask: int, force_permille: int, until_s: float, note_index: int) -> None:
        """Press the fingering `holes_mask` (bit i = hole i of the profile closed) at `force_permille` of a full
        press until `until_s` on the timeline, arming the board first if it needs it. A force under 500 permille is
        felt but does not hold a finger down. Raises UsageError for a mask the profile lacks or a force outside
        1..1000."""
        if not 0 < force_permille <= 1000:
            raise UsageError(f"a press's force must be 1..1000 permille, not {force_permille}")
        try:
            targets = self.profile.servo_targets(holes_mask).targets
        except ValueError as error:
            raise UsageError(str(error)) from error
        now_s = self._clock.now()
        if until_s - now_s < MIN_GUIDE_S:
            return
        plan = plan_guides(now_s, until_s, engaged_since(self._plan, now_s), self.limits)
        self._cancel_timers()
        self._plan = plan
        self._publish(HapticPress(note_index, holes_mask, force_permille, until_s))
        if plan and plan[0].release_first:
            self._send("CLUTCH", self.client.set_clutch(False))
        loop = asyncio.get_running_loop()
        for step in plan:
            self._later(loop, step.start_s - now_s, lambda step=step: self._guide(step, targets, force_permille))
        self._later(loop, until_s - now_s, self._ended)

    def release(self, reason: str) -> None:
        """Let go now (the clutch off: the fingers are the student's), publishing `HapticRelease(reason)`."""
        if self._plan:
            self._send("CLUTCH", self.client.set_clutch(False))
            self._forget(reason)

    def _guide(self, step: GuideStep, targets: tuple[int, ...], force_permille: int) -> None:
        """Send one GUIDE, its length reckoned from now so a late timer never moves its end."""
        duration_ms = min(round((step.end_s - self._clock.now()) * 1000), round(self.limits.max_guide_s * 1000))
        if duration_ms < 1:
            return
        if not self._armed:
            self.arm()
        self._send("GUIDE", self.client.guide(targets, duration_ms, force_permille))

    def _ended(self) -> None:
        self._timers = []
        self._plan = ()
        self._publish(HapticRelease("done"))

    def _on_timeline(self, stamped: Stamped) -> None:
        event = stamped.event
        if isinstance(event, LinkLost | LinkRestored):  # either way the board must be armed again
            self._armed = False
            self._forget("link lost")
        elif isinstance(event, BoardAlert):
            if event.code in DISARMING_ALERTS:
                self._armed = False
            self._forget(event.reason)

    def _forget(self, reason: str) -> None:
        """Drop the press in progress (the board released it, or will): no more GUIDEs for it."""
        if self._plan:
            self._cancel_timers()
            self._plan = ()
            self._publish(HapticRelease(reason))

    def _later(self, loop: asyncio.AbstractEventLoop, delay_s: float, action: Callable[[], None]) -> None:
        self._timers.append(loop.call_later(max(0.0, delay_s), action))

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []

    def _send(self, name: str, future: asyncio.Future[CommandResult]) -> None:
        self.sent[name] += 1
        future.add_done_callback(lambda done: self._answered(name, done))

    def _answered(self, name: str, future: asyncio.Future[CommandResult]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is None and future.result().accepted:
            return
        self.failures += 1
        if error is None and future.result().code == wire.E_NOT_ARMED:
            self._armed = False
        if isinstance(error, LinkInterrupted):  # the link's own events say so, and a board without a host lets go
            return
        log.warning("%s failed: %s", name, error if error is not None else future.result().reason)

    def _publish(self, event: HapticPress | HapticRelease) -> None:
        self._timeline.publish(Stamped(self._clock.now(), event))
