"""One breath analyser for the live stream and for recordings: feed samples one at a time, get events back.

`BreathAnalyser.feed` takes belt and flute samples as they arrive; `analyse` runs the same analyser over a
recording and also keeps the phase of every belt sample, for scoring and plotting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from flutex.host.breath.calibration import Calibration
from flutex.host.breath.phases import BELT_RATE_HZ, Phase, PhaseChange, PhaseConfig, PhaseDetector
from flutex.host.breath.phrases import PhraseConfig, PhraseStart, PhraseTracker
from flutex.host.breath.quality import Quality, QualityChange, QualityMonitor
from flutex.host.breath.share import BreathConfig, Flicker, Inhale, InhaleTracker
from flutex.host.breath.support import FLUTE_RATE_HZ, HeldNote, SoundGate, SupportConfig, SupportTracker
from flutex.host.link.events import BeltSample, FluteSample

BreathEvent = PhaseChange | Inhale | Flicker | QualityChange | HeldNote | PhraseStart
NO_EVENTS: tuple[BreathEvent, ...] = ()
E = TypeVar("E")


class BreathAnalyser:
    """Phases, breaths (depth, abdominal share), held-note support and breath-before-phrase, incrementally.

    Feed belt and flute samples in roughly time order; each call returns the events that sample completed
    (usually none, as a shared empty tuple). Call `finish` at the end of a stream for what is still open.
    Two speeds: `PhaseChange` follows the breath within about 100 ms for a display, and may be a flicker; an
    `Inhale` (a breath, what a tutor counts) or a `Flicker` (that inhale was none) comes when the inhale ends.
    `QualityChange` says when the belt stops or starts showing breathing at all.
    """

    def __init__(
        self,
        calibration: Calibration,
        *,
        phase_config: PhaseConfig | None = None,
        support_config: SupportConfig | None = None,
        phrase_config: PhraseConfig | None = None,
        breath_config: BreathConfig | None = None,
        belt_rate_hz: float = BELT_RATE_HZ,
        flute_rate_hz: float = FLUTE_RATE_HZ,
    ) -> None:
        self.calibration = calibration
        self.detector = PhaseDetector(calibration, phase_config, belt_rate_hz)
        self._inhales = InhaleTracker(calibration.depth_scale, breath_config)
        support = support_config or SupportConfig()
        self._gate = SoundGate(support)
        self._support = SupportTracker(support, flute_rate_hz)
        self._phrases = PhraseTracker(phrase_config)
        self._quality = QualityMonitor()
        self._belt_t_s = 0.0

    @property
    def phase(self) -> Phase:
        return self.detector.phase

    @property
    def quality(self) -> Quality:
        """Whether the last minute of belt shows breathing; while it does not, its breaths are artefacts."""
        return self._quality.quality

    @property
    def level(self) -> float:
        """Smoothed breath level, 0 at rest, 1 at a full breath."""
        return self.detector.level

    def feed(self, sample: BeltSample | FluteSample) -> tuple[BreathEvent, ...]:
        """Take one sample from either device stream; return the events it completed."""
        if isinstance(sample, BeltSample):
            return self._feed_belt(sample)
        return self._feed_flute(sample)

    def _feed_belt(self, sample: BeltSample) -> tuple[BreathEvent, ...]:
        change = self.detector.update(sample)
        self._belt_t_s = sample.t_s
        level = self.calibration.level(sample.channels_pa)
        judged = self._inhales.update(sample.t_s, sample.channels_pa, level, self.detector.phase)
        breath = judged if isinstance(judged, Inhale) else None
        if breath is not None:
            self._phrases.on_inhale(breath)
        phrase = self._phrases.on_belt_time(sample.t_s)
        quality = self._quality.update(sample.t_s, breath)
        if change is None and judged is None and phrase is None and quality is None:
            return NO_EVENTS
        return tuple(event for event in (judged, change, phrase, quality) if event is not None)

    def _feed_flute(self, sample: FluteSample) -> tuple[BreathEvent, ...]:
        sounding = self._gate.update(sample.mouth_pa)
        self._phrases.on_sound(sample.t_s, sounding)
        note = self._support.update(sample, sounding)
        return NO_EVENTS if note is None else (note,)

    def finish(self) -> tuple[BreathEvent, ...]:
        """End of stream: the inhale still in progress, the note still sounding, the phrase starts still waiting."""
        judged = self._inhales.finish(self._belt_t_s)
        if isinstance(judged, Inhale):
            self._phrases.on_inhale(judged)
        note = self._support.finish()
        return tuple(e for e in (judged, note, *self._phrases.finish()) if e is not None)

    def inhale_between(self, start_s: float, end_s: float) -> Inhale | None:
        """For a tutor that knows where the score's phrases start: the breath that peaked in (start_s, end_s]."""
        return self._phrases.inhale_between(start_s, end_s)


@dataclass
class BreathReport:
    """Everything `analyse` found in a recording, with the detected phase and level of every belt sample."""

    calibration: Calibration
    events: list[BreathEvent] = field(default_factory=list)
    belt_t_s: list[float] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    levels: list[float] = field(default_factory=list)

    def of_type(self, kind: type[E]) -> list[E]:
        return [event for event in self.events if isinstance(event, kind)]


def analyse(samples: Iterable[BeltSample | FluteSample], analyser: BreathAnalyser) -> BreathReport:
    """Drive a fresh `analyser` over recorded samples, merged into time order."""
    report = BreathReport(analyser.calibration)
    for sample in sorted(samples, key=lambda s: s.t_s):
        report.events.extend(analyser.feed(sample))
        if isinstance(sample, BeltSample):
            report.belt_t_s.append(sample.t_s)
            report.phases.append(analyser.phase)
            report.levels.append(analyser.level)
    report.events.extend(analyser.finish())
    return report
