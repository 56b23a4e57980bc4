"""Breath analysis from the belt and the flute's mouth pressure: calibration, phases, breaths, support, phrases.

Typical live use::

    calibration = calibrate(rest_samples, full_breath_samples)
    analyser = BreathAnalyser(calibration)
    for sample in device_samples:
        for event in analyser.feed(sample):
            ...

and for a recording, `analyse(samples, BreathAnalyser(calibration))`.
"""

from flutex.host.breath.analyser import BreathAnalyser, BreathEvent, BreathReport, analyse
from flutex.host.breath.calibration import Calibration, CalibrationError, calibrate, calibrate_from_session
from flutex.host.breath.phases import ChannelMixer, Phase, PhaseChange, PhaseConfig, PhaseDetector
from flutex.host.breath.phrases import PhraseConfig, PhraseStart, PhraseTracker
from flutex.host.breath.quality import Quality, QualityChange, QualityMonitor, judge
from flutex.host.breath.share import BreathConfig, Flicker, Inhale, InhaleTracker, abdominal_share
from flutex.host.breath.support import HeldNote, SoundGate, SupportConfig, SupportTracker

__all__ = [
    "BreathAnalyser",
    "BreathConfig",
    "BreathEvent",
    "BreathReport",
    "Calibration",
    "CalibrationError",
    "ChannelMixer",
    "Flicker",
    "HeldNote",
    "Inhale",
    "InhaleTracker",
    "Phase",
    "PhaseChange",
    "PhaseConfig",
    "PhaseDetector",
    "PhraseConfig",
    "PhraseStart",
    "PhraseTracker",
    "Quality",
    "QualityChange",
    "QualityMonitor",
    "SoundGate",
    "SupportConfig",
    "SupportTracker",
    "abdominal_share",
    "analyse",
    "calibrate",
    "calibrate_from_session",
    "judge",
]
