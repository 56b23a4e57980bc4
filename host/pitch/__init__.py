"""Pitch tracking for tutoring: aubio yinfft plus voicing, octave correction, smoothing and note segmentation."""

from flutex.host.pitch.config import FLUTE, INSTRUMENTS, VOICE, TrackerConfig
from flutex.host.pitch.notes import Note, NoteSegmenter, segment_notes
from flutex.host.pitch.prior import FingeringPrior
from flutex.host.pitch.tracker import PitchFrames, PitchTracker, track

__all__ = [
    "FLUTE",
    "INSTRUMENTS",
    "VOICE",
    "FingeringPrior",
    "Note",
    "NoteSegmenter",
    "PitchFrames",
    "PitchTracker",
    "TrackerConfig",
    "segment_notes",
    "track",
]
