"""The session clock: board time, audio sample index and host monotonic time, all mapped onto one timeline.

The timeline is seconds since the session began, on the host's monotonic clock (origin = `time.monotonic()` at
the start). Host times map by subtracting the origin. The other two clocks are modelled as lines onto host time,
re-estimated continuously from what the link and the audio driver report:
  - board: host ~= offset + (1 + drift) * board_t. A frame stamped at board_t cannot arrive before it was taken, so
    every arrival is an upper bound of the line: the model keeps the earliest arrival of each window (a lower
    envelope), fits the drift through those minima robustly (a median of long-baseline slopes), and lowers the
    offset at once when a frame arrives earlier than the line allows. An ACK says the board applied a command
    between the host sending it and reading the answer: the line must pass between the two (the round trip bounds
    it), and before any frame the midpoint places it. A reconnect keeps the model (the board's clock ran on); a
    board reboot starts a new segment (its clock began again), carrying over only the drift, a property of its
    crystal.
  - audio: the host time of a sample index, from the driver's ADC time of each block (a least-squares line with
    exponential forgetting, which smooths the driver's jitter and follows the sound card's drift), or from block
    arrivals (a lower envelope, as for the board) when the driver gives none. A block whose ADC time is later than
    the line expects by half a block or more follows blocks the driver dropped without saying: they are counted,
    and their samples added to the index, so later frames stay where they sounded.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from flutex.host.audio.blocks import TimedBlock
from flutex.host.link.events import LinkTiming

ENVELOPE_WINDOW_S = 1.0  # the earliest arrival of each second is one point of the envelope
ENVELOPE_WINDOWS = 60  # points the drift is fitted through: the last minute
MAX_DRIFT = 1e-3  # a quartz clock is within 100 ppm; anything past 1000 ppm is a bad fit, not a clock
ACK_BOUNDS = 32  # recent ACK round trips whose sending times the board line must stay above
AUDIO_MEMORY_BLOCKS = 2000.0  # the ADC line forgets with this time constant: 12 s of 256-sample blocks at 44.1 kHz
AUDIO_MIN_FIT_S = 2.0  # the ADC line keeps the nominal rate until its points span this long


class LowerEnvelope:
    """A line y = offset + slope * x under observations that can only be late (y >= the line), never early."""

    def __init__(self, slope: float = 1.0, window: float = ENVELOPE_WINDOW_S, windows: int = ENVELOPE_WINDOWS):
        self.slope = slope
        self.offset: float | None = None
        self._nominal = slope
        self._window = window
        self._points: deque[tuple[float, float]] = deque(maxlen=windows)  # the earliest point of each window
        self._open: tuple[float, float] | None = None  # the earliest point of the window still open
        self._open_until = 0.0
        self._floors: deque[tuple[float, float]] = deque(maxlen=ACK_BOUNDS)  # points the line must not pass under
        self.observations = 0

    def y(self, x: float) -> float:
        if self.offset is None:
            raise ValueError("the line has no observation yet")
        return self.offset + self.slope * x

    def observe(self, x: float, y: float) -> None:
        self.observations += 1
        residual = y - self.slope * x
        if self.offset is None or residual < self.offset:
            self.offset = residual  # earlier than the line allows: the line was too late
        if self._open is None:
            self._open, self._open_until = (x, y), x + self._window
        elif x >= self._open_until:
            self._points.append(self._open)
            self._open, self._open_until = (x, y), x + self._window
            self._refit()
        elif residual < self._open[1] - self.slope * self._open[0]:
            self._open = (x, y)

    def bound_below(self, x: float, y_floor: float) -> None:
        """The line must not pass under (x, y_floor), now or after a refit (a hard lower bound, such as the time
        a command was sent for the board time it was applied at)."""
        self._floors.append((x, y_floor))
        self._raise_to(x, y_floor)

    def _raise_to(self, x: float, y_floor: float) -> None:
        if self.offset is not None and self.y(x) < y_floor:
            self.offset += y_floor - self.y(x)

    def _refit(self) -> None:
        """Drift through the window minima: the median of the slopes between each minimum and the one half the
        span later (long baselines, and a window where the host was busy throughout does not tilt it); then the
        offset that puts every minimum on or above the line."""
        xs, ys = np.array(self._points).T
        half = len(xs) // 2
        if half >= 2:
            spans = xs[half:] - xs[: len(xs) - half]
            slope = float(np.median((ys[half:] - ys[: len(xs) - half]) / spans))
            self.slope = min(max(slope, self._nominal * (1 - MAX_DRIFT)), self._nominal * (1 + MAX_DRIFT))
        residuals = ys - self.slope * xs
        open_x, open_y = self._open if self._open is not None else (xs[-1], ys[-1])
        self.offset = float(min(residuals.min(), open_y - self.slope * open_x))
        for x, y_floor in self._floors:
            self._raise_to(x, y_floor)


@dataclass(frozen=True, slots=True)
class BoardClockState:
    """How the board clock is modelled now: host = offset_s + (1 + drift_ppm / 1e6) * board time."""

    established: bool
    offset_s: float | None
    drift_ppm: float
    frames: int
    acks: int
    last_rtt_ms: float | None
    segments: int  # 1 + board reboots


class BoardTimeModel:
    """Board time -> host monotonic time, from frame arrivals and ACK round trips (see the module's docstring)."""

    def __init__(self) -> None:
        self._line = LowerEnvelope()
        self.acks = 0
        self.segments = 1
        self.last_rtt_s: float | None = None

    @property
    def established(self) -> bool:
        return self._line.offset is not None

    def host_s(self, board_t_s: float) -> float:
        """The host monotonic time of a board time (ValueError before any frame or ACK was seen)."""
        return self._line.y(board_t_s)

    def observe(self, timing: LinkTiming) -> None:
        if timing.sent_s is None:
            self.observe_frame(timing.board_t_s, timing.received_s)
        else:
            self.observe_ack(timing.board_t_s, timing.sent_s, timing.received_s)

    def observe_frame(self, board_t_s: float, received_s: float) -> None:
        self._line.observe(board_t_s, received_s)

    def observe_ack(self, board_t_s: float, sent_s: float, received_s: float) -> None:
        """The board applied a command at `board_t_s`, after `sent_s` and before `received_s` (host times)."""
        first = not self.established
        self.acks += 1
        self.last_rtt_s = received_s - sent_s
        self._line.observe(board_t_s, received_s)  # the answer, like a frame, was read after the board made it
        if first:  # no frame yet: the middle of the round trip, until the frames narrow it down
            self._line.offset = (sent_s + received_s) / 2 - self._line.slope * board_t_s
        self._line.bound_below(board_t_s, sent_s)

    def restart(self) -> None:
        """The board rebooted: its clock began again. A new segment, keeping only the drift of its crystal."""
        self._line = LowerEnvelope(slope=self._line.slope)
        self.segments += 1

    @property
    def state(self) -> BoardClockState:
        line = self._line
        rtt_ms = None if self.last_rtt_s is None else self.last_rtt_s * 1000
        return BoardClockState(
            self.established, line.offset, (line.slope - 1) * 1e6, line.observations, self.acks, rtt_ms, self.segments
        )


class DecayingLineFit:
    """Least-squares line y = a + b x with exponential forgetting, updated in constant time. Sums are kept about
    the newest point, so hours of sample indices lose no precision."""

    def __init__(self, nominal_slope: float, memory: float = AUDIO_MEMORY_BLOCKS, min_span: float = 0.0) -> None:
        self.nominal_slope = nominal_slope
        self._keep = 1.0 - 1.0 / memory
        self._min_span = min_span
        self._x0 = self._y0 = 0.0  # the newest point: the origin of the sums
        self._w = self._sx = self._sy = self._sxx = self._sxy = 0.0
        self._first_x: float | None = None

    def add(self, x: float, y: float) -> None:
        if self._first_x is None:
            self._first_x = x
        dx, dy, keep = x - self._x0, y - self._y0, self._keep
        # move the origin to (x, y), then forget a little and add the point (at the origin: it adds only weight)
        sx, sy = self._sx - self._w * dx, self._sy - self._w * dy
        self._sxx = keep * (self._sxx - 2 * dx * self._sx + dx * dx * self._w)
        self._sxy = keep * (self._sxy - dx * self._sy - dy * self._sx + dx * dy * self._w)
        self._sx, self._sy = keep * sx, keep * sy
        self._w = keep * self._w + 1.0
        self._x0, self._y0 = x, y

    @property
    def points(self) -> bool:
        return self._first_x is not None

    def slope(self) -> float:
        w = self._w
        variance = self._sxx - self._sx * self._sx / w
        if self._first_x is None or self._x0 - self._first_x < self._min_span or variance <= 0:
            return self.nominal_slope
        fitted = (self._sxy - self._sx * self._sy / w) / variance
        return min(max(fitted, self.nominal_slope * (1 - MAX_DRIFT)), self.nominal_slope * (1 + MAX_DRIFT))

    def y(self, x: float) -> float:
        """The line at x (ValueError before any point)."""
        if self._first_x is None:
            raise ValueError("the line has no point yet")
        mean_x, mean_y = self._sx / self._w, self._sy / self._w
        return self._y0 + mean_y + self.slope() * (x - self._x0 - mean_x)


@dataclass(frozen=True, slots=True)
class AudioClockState:
    source: str  # "adc" (the driver's capture times) or "arrival" (when blocks arrived)
    blocks: int
    dropped_blocks: int  # dropped silently by the driver, found from its ADC times (a source's own are gaps)
    dropped_samples: int
    seconds_per_sample: float | None


class AudioTimeModel:
    """Audio sample index -> host monotonic time for one stream at `sample_rate_hz`."""

    def __init__(self, sample_rate_hz: int) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._adc = DecayingLineFit(1.0 / sample_rate_hz, min_span=AUDIO_MIN_FIT_S)
        self._arrival = LowerEnvelope(slope=1.0)  # x: seconds of samples, y: arrival
        self.blocks = 0
        self.dropped_blocks = 0
        self.dropped_samples = 0

    def place(self, block: TimedBlock, arrival_s: float) -> tuple[int, float]:
        """The block's first sample as an index that counts the samples the driver dropped, and its host time."""
        n = len(block.samples)
        index = block.first_sample + self.dropped_samples
        self.blocks += 1
        if block.adc_s is None:
            rate = self.sample_rate_hz
            self._arrival.observe((index + n) / rate, arrival_s)  # its last sample was captured before it arrived
            return index, self._arrival.y(index / rate)
        if self._adc.points and n:
            late_blocks = round((block.adc_s - self._adc.y(index)) * self.sample_rate_hz / n)
            if late_blocks >= 1:
                self.dropped_blocks += late_blocks
                self.dropped_samples += late_blocks * n
                index += late_blocks * n
        self._adc.add(index, block.adc_s)
        return index, self._adc.y(index)

    @property
    def state(self) -> AudioClockState:
        source = "adc" if self._adc.points else "arrival"
        per_sample = self._adc.slope() if self._adc.points else None
        return AudioClockState(source, self.blocks, self.dropped_blocks, self.dropped_samples, per_sample)


@dataclass(frozen=True, slots=True)
class ClockState:
    origin_s: float
    board: BoardClockState
    audio: AudioClockState | None


class SessionClock:
    """The timeline of one session and the models that map the board and the audio onto it."""

    def __init__(self, origin_s: float | None = None) -> None:
        self.origin_s = time.monotonic() if origin_s is None else origin_s
        self.board = BoardTimeModel()
        self.audio: AudioTimeModel | None = None

    def now(self) -> float:
        """The timeline's present."""
        return time.monotonic() - self.origin_s

    def from_host(self, host_s: float) -> float:
        return host_s - self.origin_s

    def from_board(self, board_t_s: float) -> float:
        """Where a board time lies on the timeline (ValueError before the link reported any timing)."""
        return self.board.host_s(board_t_s) - self.origin_s

    def place_audio(self, block: TimedBlock, sample_rate_hz: int, arrival_s: float) -> tuple[int, float]:
        """A block's first sample (index counting the driver's silent drops) and its time on the timeline."""
        if self.audio is None or self.audio.sample_rate_hz != sample_rate_hz:
            self.audio = AudioTimeModel(sample_rate_hz)
        index, host_s = self.audio.place(block, arrival_s)
        return index, host_s - self.origin_s

    @property
    def state(self) -> ClockState:
        return ClockState(self.origin_s, self.board.state, None if self.audio is None else self.audio.state)
