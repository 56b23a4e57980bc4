"""The live events of a session, derived from the stamped streams by one pure, deterministic pipeline.

`Pipeline.feed` takes each input already on the timeline (`Stamped` link events and `AudioChunk`s) and returns the
events it completes, each stamped when the thing happened:
  - `FingeringChanged` when the board sampled a new fingering;
  - `PitchFrame`s and `NoteStarted` / `NoteEnded` (the incremental `NoteSegmenter`) from the audio, stamped when the
    sound was played: a frame's time is the centre of its analysis window (so the tracker's own latency,
    `PitchTracker.latency_s`, between that sound and the frame coming out is not counted), mapped through the chunk
    stamps, less the calibrated input latency (how late sound shows up in the input);
  - breath events (`BreathAnalyser`), fed samples whose times are their timeline stamps.
The fingering prior reads the flute stream on the same timeline. Nothing here reads a clock or depends on when it
runs: the same inputs in the same order give the same outputs, bit for bit, live or replayed from a recording.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.breath.analyser import BreathAnalyser
from flutex.host.breath.calibration import Calibration
from flutex.host.breath.phases import PhaseChange
from flutex.host.breath.phrases import PhraseStart
from flutex.host.breath.quality import QualityChange
from flutex.host.errors import UsageError
from flutex.host.link.events import BeltSample, FluteSample, LinkLost
from flutex.host.pitch.config import FLUTE, TrackerConfig
from flutex.host.pitch.notes import Note, NoteOnset, NoteSegmenter
from flutex.host.pitch.prior import FingeringPrior
from flutex.host.pitch.tracker import PitchFrames, PitchTracker
from flutex.host.session.events import (
    AudioChunk,
    BreathEvent,
    FingeringChanged,
    NoteEnded,
    NoteStarted,
    PitchFrame,
    Stamped,
)

NOTHING: tuple[Stamped, ...] = ()
MAX_FILL_S = 1.0  # samples lost up to this long are fed to the tracker as silence; a longer gap restarts it
PRIOR_CAPACITY = 2048  # fingering samples the prior keeps: 10 s of the 200 Hz stream, far more than audio lags


class _AudioMap:
    """Tracker stream seconds -> timeline, through the newest chunk's stamp, less the input latency."""

    def __init__(self, sample_rate_hz: int, origin_sample: int, input_latency_s: float) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.origin_sample = origin_sample  # the sample index at the tracker's time 0
        self.input_latency_s = input_latency_s
        self.anchor_t_s = 0.0
        self.anchor_sample = origin_sample

    def timeline(self, stream_s: np.ndarray) -> np.ndarray:
        offset = (self.origin_sample - self.anchor_sample) / self.sample_rate_hz
        return self.anchor_t_s + offset + np.asarray(stream_s, dtype=np.float64) - self.input_latency_s


class _TimelinePrior:
    """The fingering prior asked in the tracker's stream seconds: its frames' times, mapped onto the timeline."""

    def __init__(self, prior: FingeringPrior, audio_map: _AudioMap) -> None:
        self._prior = prior
        self._map = audio_map

    def expected_hz(self, times_s: np.ndarray) -> np.ndarray:
        return self._prior.expected_hz(self._map.timeline(times_s))


class _PitchStream:
    """One continuous audio stream through the tracker and the note segmenter."""

    def __init__(self, config: TrackerConfig, chunk: AudioChunk, input_latency_s: float, prior: FingeringPrior):
        self.map = _AudioMap(chunk.sample_rate_hz, chunk.first_sample, input_latency_s)
        self.tracker = PitchTracker(config, chunk.sample_rate_hz, _TimelinePrior(prior, self.map))
        self.segmenter = NoteSegmenter(self.tracker.hop / chunk.sample_rate_hz)
        self.next_sample = chunk.first_sample

    def feed(self, stamped: Stamped, out: list[Stamped]) -> None:
        chunk: AudioChunk = stamped.event
        self.map.anchor_t_s, self.map.anchor_sample = stamped.t_s, chunk.first_sample
        samples, gap = chunk.samples, chunk.first_sample - self.next_sample
        if gap > 0:  # samples the driver dropped: silence in their place keeps every later frame where it sounded
            self._frames(self.tracker.process(np.zeros(gap, np.float32)), out)
        elif gap < 0:  # overlaps what was already analysed
            samples = samples[-gap:]
        self.next_sample = max(self.next_sample, chunk.first_sample + len(chunk.samples))
        self._frames(self.tracker.process(samples), out)

    def close(self, out: list[Stamped]) -> None:
        """The stream ends: its last frames, and the note still sounding."""
        self._frames(self.tracker.flush(), out)
        _notes(self.segmenter.finish_events(), out)

    def _frames(self, frames: PitchFrames, out: list[Stamped]) -> None:
        if not len(frames.time_s):
            return
        times = self.map.timeline(frames.time_s)
        for t_s, hz, confidence in zip(times.tolist(), frames.f0_hz.tolist(), frames.confidence.tolist(), strict=True):
            out.append(Stamped(t_s, PitchFrame(hz, confidence, hz > 0)))
        _notes(self.segmenter.push_events(frames._replace(time_s=times)), out)


def _notes(events: list[NoteOnset | Note], out: list[Stamped]) -> None:
    for event in events:
        if isinstance(event, Note):
            out.append(Stamped(event.offset_s, NoteEnded(event.midi, event.offset_s - event.onset_s)))
        else:
            out.append(Stamped(event.onset_s, NoteStarted(event.midi, event.hz)))


def breath_time(event: BreathEvent) -> float:
    """When a breath event happened: a change at its instant, a breath or held note when it ended."""
    if isinstance(event, PhaseChange | QualityChange | PhraseStart):
        return event.t_s
    return event.t_end_s


class Pipeline:
    """Stamped inputs in, derived stamped events out (see the module's docstring)."""

    def __init__(
        self,
        profile: InstrumentProfile,
        *,
        tracker: TrackerConfig = FLUTE,
        input_latency_s: float = 0.0,
        breath_calibration: Calibration | None = None,
    ) -> None:
        self.profile = profile
        self.tracker_config = tracker
        self.input_latency_s = input_latency_s
        self.prior = FingeringPrior(profile, capacity=PRIOR_CAPACITY)
        self.breath = None if breath_calibration is None else BreathAnalyser(breath_calibration)
        self._mask: int | None = None
        self._pitch: _PitchStream | None = None
        self._handlers: dict[type, Callable[[Stamped], Sequence[Stamped]]] = {
            FluteSample: self._flute,
            BeltSample: self._belt,
            AudioChunk: self._audio,
            LinkLost: self._link_lost,
        }

    def feed(self, stamped: Stamped) -> Sequence[Stamped]:
        """The events this input completes (often none), in the order they were found."""
        handler = self._handlers.get(type(stamped.event))
        return NOTHING if handler is None else handler(stamped)

    def finish(self) -> list[Stamped]:
        """The end of the session: the last pitch frames, the note still sounding, the breath still open."""
        out: list[Stamped] = []
        if self._pitch is not None:
            self._pitch.close(out)
            self._pitch = None
        if self.breath is not None:
            out.extend(Stamped(breath_time(event), event) for event in self.breath.finish())
        return out

    # --- the board's streams ---------------------------------------------------------------------------------

    def _flute(self, stamped: Stamped) -> Sequence[Stamped]:
        sample: FluteSample = stamped.event
        self.prior.add_sample(sample, stamped.t_s)
        out: list[Stamped] = []
        if sample.closed_mask != self._mask:
            self._mask = sample.closed_mask
            out.append(Stamped(stamped.t_s, FingeringChanged(sample.closed_mask, self.profile.midi_for(self._mask))))
        self._breathe(stamped, out)
        return out or NOTHING

    def _belt(self, stamped: Stamped) -> Sequence[Stamped]:
        out: list[Stamped] = []
        self._breathe(stamped, out)
        return out or NOTHING

    def _breathe(self, stamped: Stamped, out: list[Stamped]) -> None:
        if self.breath is not None:
            for event in self.breath.feed(dataclasses.replace(stamped.event, t_s=stamped.t_s)):
                out.append(Stamped(breath_time(event), event))

    def _link_lost(self, _stamped: Stamped) -> Sequence[Stamped]:
        self._mask = None  # whatever the fingering was, the next sample after the gap reports it afresh
        return NOTHING

    # --- the audio -------------------------------------------------------------------------------------------

    def _audio(self, stamped: Stamped) -> Sequence[Stamped]:
        chunk: AudioChunk = stamped.event
        out: list[Stamped] = []
        pitch = self._pitch
        if pitch is not None and pitch.map.sample_rate_hz != chunk.sample_rate_hz:
            raise UsageError(
                f"audio changed rate from {pitch.map.sample_rate_hz} to {chunk.sample_rate_hz} Hz in one session; "
                "start a new session for the new stream"
            )
        if pitch is not None and chunk.first_sample - pitch.next_sample > MAX_FILL_S * chunk.sample_rate_hz:
            pitch.close(out)  # a gap too long to fill: the stream before it ends, a new one begins
            pitch = None
        if pitch is None:
            pitch = self._pitch = _PitchStream(self.tracker_config, chunk, self.input_latency_s, self.prior)
        pitch.feed(stamped, out)
        return out or NOTHING
