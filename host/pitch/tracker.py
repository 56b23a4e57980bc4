"""Streaming pitch tracker: aubio's yinfft proposes an f0 per hop; our post-processing decides.

Per frame: aubio `yinfft` gives a raw f0. Its octave neighbours (f0/2, f0, 2 f0) become candidates, each scored by
its periodicity (see `periodicity`). A candidate period P is only acceptable when the frame is clearly *less*
periodic at P/2 than at P (otherwise the tone's true period is P/2 and P would be an octave too low). Among the
acceptable candidates the most periodic one wins, with small bonuses for staying on the previous frame's pitch and
for agreeing with the optional octave prior (the flute's fingering); after an octave leap up, the old octave must
prove itself again (see LEAP_*), and a winner with nothing sounding at its fundamental (the common period of a new
note and an old one still ringing) gives way to a higher acceptable candidate (see `spectrum`). Before that,
aubio's period is refined on the periodicity, and divided by three when the tone repeats at a third of it too
(aubio's integer lags can take three periods of a note above C7 for one). Voicing is a
hysteresis on the periodicity of a pre-emphasised copy, gated by level; a note fading fast through the level gate
stays voiced while it stays periodic (RELEASE_*), and a frame that nearly passed just before a note's first voiced
frame is voiced with it (REACH_BACK_*, within the lookahead). A 3-frame median with one frame of lookahead removes
single-frame glitches. docs/pitch.md has the why and the measurements.

Feed blocks of any size with `process`; it returns the frames it could finalise (one hop behind, for the
lookahead). `flush` finishes the stream. `track` runs a whole signal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple, Protocol

import aubio
import numpy as np

from flutex.host.pitch.config import TrackerConfig
from flutex.host.pitch.periodicity import NAN, autocorrelation, emphasised_periodicity_at, periodicity_at, sliding_sums
from flutex.host.pitch.spectrum import FundamentalProbe

RATIO_MAX = 0.93  # c(P/2) / c(P) above this: the tone repeats at P/2, so P is an octave too low
# ... unless the prior expects P: then only a tone that truly repeats at P/2 (ratio ~1, e.g. an overblown note
# while the fingering says the low octave) rules P out, so a wrong prior cannot hide the player's octave error.
RATIO_MAX_WITH_PRIOR = 0.985
STICK_BONUS = 0.02  # prefer the octave the previous frame was in
# An octave leap up leaves the old note ringing (release, room): the mix repeats at the old period, with odd
# harmonics fading. A sudden rise of c(P/2)/c(P) on the current pitch while the level rises (a new attack, not
# vibrato) marks such a leap; for LEAP_S after it the old octave must show clear odd harmonics again before the
# tracker goes back to it.
LEAP_RATIO_JUMP = 0.3
LEAP_RISE_DB = 1.0
# ... and rising faster than this: a tremolo of +-1.5 dB at 5.5 Hz (a flute's vibrato) rises at most ~52 dB/s
LEAP_RISE_DB_PER_S = 52.0
RATIO_MAX_AFTER_LEAP = 0.75
LEAP_S = 0.3
RATIO_SMOOTHING = 0.2  # per hop, for the running c(P/2)/c(P) of the current pitch and the running level
# A candidate whose fundamental is this far under its strongest of harmonics 1-3 is the common period of two notes
# (a new one over the old one ringing), not a tone: a higher acceptable candidate wins instead (see `spectrum`).
FUNDAMENTAL_MIN_DB = -30.0
# The correlation spans at least this many of the longest periods, even when that leaves it off the window's centre.
SPAN_FLOOR = 1.5
THIRD_MIN_PERIODICITY = 0.9  # only a clearly periodic frame is tested for repeating at a third of its period
PRIOR_BONUS = 0.04  # prefer the octave the fingering prior expects; too small to beat clear evidence
PEAK_DECAY_DB_PER_S = 6.0  # how fast the "recent peak" used by the level gate forgets
# A soft ending: a voice (or a flute) fades 15-20 dB in 30-40 ms and is still clearly periodic when its level crosses
# the release-tail gate (max_drop_db under the recent peak). A room's reverb tail reaches that gate slowly, long after
# the level last was near the peak. So a voiced frame under the gate stays voiced while the level was within
# RELEASE_NEAR_DB of the peak no more than RELEASE_WINDOW_S ago, its periodicity is at least RELEASE_MIN_PERIODICITY,
# its pitch within RELEASE_MAX_STEP_CENTS of the previous frame's, and its level at most RELEASE_FLOOR_DB under
# min_level_dbfs.
RELEASE_WINDOW_S = 0.1
RELEASE_NEAR_DB = 6.0
RELEASE_MIN_PERIODICITY = 0.8
RELEASE_MAX_STEP_CENTS = 100.0
RELEASE_FLOOR_DB = 10.0
# A note's first frames are only partly inside the correlation span, so their periodicity climbs from ~0.45 to over
# voicing_on within a few hops. When a frame turns voiced, the frame before it is voiced too if it passed the level
# gates and voicing_off and read within REACH_BACK_CENTS of the new frame: decided within the smoother's one-hop
# lookahead, so it costs no latency.
REACH_BACK_CENTS = 100.0
_HALF_OCTAVE_UP, _HALF_OCTAVE_DOWN = 2**0.5, 2**-0.5
_SILENT = (0.0, 0.0, 0.0)  # (time_s, f0_hz, confidence) standing in for the frames before and after a stream


class PitchFrames(NamedTuple):
    """Frames of a pitch track, as parallel arrays. `f0_hz` is 0 where the frame is unvoiced."""

    time_s: np.ndarray  # centre of the analysis window, seconds from the first sample fed
    f0_hz: np.ndarray
    confidence: np.ndarray  # periodicity behind the voicing decision, 0..1

    @staticmethod
    def concat(parts: Iterable[PitchFrames]) -> PitchFrames:
        parts = list(parts)
        if not parts:
            return PitchFrames(np.zeros(0), np.zeros(0, np.float32), np.zeros(0, np.float32))
        return PitchFrames(*(np.concatenate(column) for column in zip(*parts, strict=True)))


class OctavePriorSource(Protocol):
    """Anything that can say which f0 (Hz, 0 = no opinion) the player intends at given times."""

    def expected_hz(self, times_s: np.ndarray) -> np.ndarray: ...


class PitchTracker:
    """Incremental tracker for one mono stream at a fixed sample rate."""

    def __init__(self, config: TrackerConfig, sample_rate_hz: int, prior: OctavePriorSource | None = None) -> None:
        self.config = config
        self.sample_rate_hz = sample_rate_hz
        self.prior = prior
        self.window = config.window_samples(sample_rate_hz)
        self.hop = config.hop_samples(sample_rate_hz)
        # aubio and the periodicity evidence both work at a reduced rate (means of d samples) that still holds 4
        # harmonics of fmax_hz (far more for typical notes): 2-4x cheaper. Only when hops fall on whole reduced
        # samples. The level gates use the full-rate signal.
        decimation = 1 << max(0, int(np.log2(sample_rate_hz / (8 * config.fmax_hz))))
        self._decimation = decimation if self.hop % decimation == 0 else 1
        self._reduced_rate_hz = sample_rate_hz / self._decimation
        self._reduced_hop = self.hop // self._decimation
        self._mean_weights = np.full(self._decimation, 1.0 / self._decimation)  # (exact: d is a power of two)
        reduced_window = self.window // self._decimation
        self._reduced_window = reduced_window
        self._fundamental = FundamentalProbe(reduced_window, self._reduced_rate_hz)
        self._aubio = aubio.pitch("yinfft", reduced_window, self._reduced_hop, round(self._reduced_rate_hz))
        self._aubio.set_unit("Hz")
        self._aubio.set_silence(-120.0)  # gate ourselves, by level and periodicity
        self._max_lag = self._reduced_rate_hz / config.fmin_hz * 1.03
        self._min_lag = self._reduced_rate_hz / config.fmax_hz / 1.03  # the shortest period in range
        # Correlate over three of the longest periods (longer spans cost time and add little), with the `span +
        # lag` samples it reads in the middle of the window (for a typical lag: the geometric mean of the range's
        # periods), so that the evidence describes the sound at the frame's time_s; when the window has no room for
        # both, a shorter span (down to SPAN_FLOOR periods). Lags are kept up to the end of the (emphasised, one
        # sample shorter) frame: aubio's period may lie beyond the range, with an octave of it inside. A frame's
        # autocorrelation is only computed as far as its lags need.
        longest = int(self._max_lag * 1.02) + 3  # the longest period, its refinement step and the interpolation
        typical = self._reduced_rate_hz / math.sqrt(config.fmin_hz * config.fmax_hz)
        centred = int(reduced_window + typical - 2 * longest - 6)  # the longest span that fits centred
        floor = int(SPAN_FLOOR * self._max_lag)
        span = min(reduced_window - 1 - longest, int(3 * self._max_lag), max(centred, floor))
        self._span = span
        # where the correlation starts in the frame (reduced samples)
        self._offset = max(0, min(int((reduced_window - span - typical) / 2), reduced_window - 3 - span - longest))
        self._n_lags = reduced_window - 3 - span - self._offset  # (the pre-emphasised sums read two samples further)
        self._history = np.zeros(self.window - self.hop, dtype=np.float32)
        self._reduced_history = np.zeros(reduced_window - self._reduced_hop, dtype=np.float64)
        self._pending = np.zeros(0, dtype=np.float32)
        self._frames_seen = 0
        self._peak_db = -200.0
        self._peak_decay_db = PEAK_DECAY_DB_PER_S * self.hop / sample_rate_hz
        self._voiced = False
        self._last_f0 = 0.0
        self._release_window = round(RELEASE_WINDOW_S * sample_rate_hz / self.hop)
        self._release_frames = 0  # hops left in which a fading note may stay voiced under the level gate
        self._nearly_hz = 0.0  # the last frame's f0 if it was unvoiced but nearly passed (0 otherwise)
        self._ratio_avg = 0.0
        self._level_avg_db = -200.0
        self._leap_from_hz = 0.0
        self._leap_frames = 0
        self._leap_window = round(LEAP_S * sample_rate_hz / self.hop)
        self._attack_db = LEAP_RISE_DB_PER_S * self.hop / sample_rate_hz
        self._last_level_db = -200.0
        # the lookahead queue: decided frames waiting for their successor before smoothing
        self._queue: list[tuple[float, float, float]] = [_SILENT]

    @property
    def latency_s(self) -> float:
        return self.config.latency_s(self.sample_rate_hz)

    def process(self, samples: np.ndarray) -> PitchFrames:
        """Analyse `samples` (mono float32, any length) and return the frames finalised by them.

        The live path calls this once per audio block, so the work per call is a few C calls per hop (aubio, one
        autocorrelation, one energy), a few per block (the reduced signal, the sliding sums) and plain-Python
        arithmetic on the tables (see `periodicity`). A frame's result depends only on its own samples and the
        frames before it, never on where the blocks were cut.
        """
        samples = np.asarray(samples, dtype=np.float32).ravel()
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        hop, n_hops = self.hop, len(data) // self.hop
        self._pending = data[n_hops * hop :].copy()  # (a copy: `samples` may be the caller's reused buffer)
        if n_hops == 0:
            return PitchFrames.concat([])
        fresh = data[: n_hops * hop]
        stream = np.concatenate([self._history, fresh])
        self._history = stream[n_hops * hop :]
        d, reduced_hop = self._decimation, self._reduced_hop
        # one pass over the new samples, not once per frame (means of d float32 samples, exact in float64)
        fresh_reduced = fresh.reshape(-1, d) @ self._mean_weights
        for_aubio = fresh_reduced.astype(np.float32)
        raw_hz = [float(self._aubio(for_aubio[i * reduced_hop : (i + 1) * reduced_hop])[0]) for i in range(n_hops)]
        reduced = np.concatenate([self._reduced_history, fresh_reduced])
        self._reduced_history = reduced[n_hops * reduced_hop :]
        # each frame's tables only as far as its own lags need them
        span, offset, n_lags = self._span, self._offset, [self._lags_needed(f) for f in raw_hz]
        autocorrelations = [
            autocorrelation(reduced[i * reduced_hop + offset :], span, n) if n else [] for i, n in enumerate(n_lags)
        ]
        sums = sliding_sums(reduced[offset:], reduced_hop, span, max(3, *n_lags), autocorrelations)
        first = self._frames_seen
        self._frames_seen += n_hops
        window, rate = self.window, self.sample_rate_hz
        times = [((first + i + 1) * hop - window / 2) / rate for i in range(n_hops)]
        expected = [0.0] * n_hops if self.prior is None else self.prior.expected_hz(np.asarray(times)).tolist()
        out: list[tuple[float, float, float]] = []
        for i in range(n_hops):
            o = i * reduced_hop
            frame = stream[i * hop : i * hop + window]
            level_db = 10.0 * math.log10(max(float(np.dot(frame, frame)) / window, 1e-20))
            f_raw, corr, conf = self._evidence(raw_hz[i], autocorrelations[i], reduced[o + offset :], sums[i])
            f0 = self._choose(f_raw, corr, expected[i], level_db, reduced[o : o + self._reduced_window])
            voiced, nearly = self._voicing(conf, level_db, f0)
            if voiced and self._nearly_hz and abs(1200 * math.log2(self._nearly_hz / f0)) < REACH_BACK_CENTS:
                time_s, _, confidence = self._queue[-1]  # (still waiting for this frame: the lookahead)
                self._queue[-1] = (time_s, self._nearly_hz, confidence)
            self._nearly_hz = f0 if nearly else 0.0
            self._queue.append((times[i], f0 if voiced else 0.0, conf))
            if len(self._queue) == 3:
                out.append(self._smooth(self._queue))
                del self._queue[0]
        return _as_frames(out)

    def flush(self) -> PitchFrames:
        """Push half a window of silence through so the last samples' frames come out; the stream ends here
        (use a new tracker for the next one)."""
        tail = self.process(np.zeros(self.window // 2 + self.hop, dtype=np.float32))
        last = self._smooth([*self._queue, _SILENT]) if len(self._queue) == 2 else None
        self._queue = [_SILENT]
        if last is None:
            return tail
        return PitchFrames.concat([tail, _as_frames([last])])

    def _lags_needed(self, raw_hz: float) -> int:
        """How many whole lags of a frame's autocorrelation `_evidence` reads for aubio's estimate `raw_hz`: up to
        the refined period plus one step, or twice it within the range, plus two for the interpolation and the
        pre-emphasised copy."""
        if not raw_hz > 0:
            return 0
        period = self._reduced_rate_hz / raw_hz
        step = max(1.0, period / 64)
        return min(self._n_lags, int(max(period + step, min(2 * (period + step), self._max_lag))) + 3)

    def _evidence(
        self, raw_hz: float, r: list[float], frame: np.ndarray, sums: list[list[float]]
    ) -> tuple[float, list[float], float]:
        """Refined f0, periodicities at (P/4, P/2, P, 2P) of the refined period P, and the voicing periodicity.

        The refinement moves aubio's period to the vertex of a parabola through the periodicity one step either
        side: aubio's yinfft is off by a few cents, which matters when the tutor grades intonation."""
        if not raw_hz > 0:
            return 0.0, [NAN, NAN, NAN, NAN], 0.0
        s, x, _ = sums
        period, peak = _refine(r, s, x, self._reduced_rate_hz / raw_hz)
        # aubio's period may be three periods of a high, nearly sinusoidal note (a flute's D7 at the reduced rate:
        # 9.4 samples a period, and 28 whole samples lie nearer three periods than 9 lie to one). A tone that
        # repeats at a third of the period as well as at the period has no harmonics but multiples of 3: its
        # fundamental is three times aubio's.
        third = period / 3
        if (
            peak > THIRD_MIN_PERIODICITY
            and third >= self._min_lag
            and periodicity_at(r, s, x, third) > RATIO_MAX * peak
        ):
            period, peak = _refine(r, s, x, third)
        max_lag = self._max_lag
        quarter, half, double = (
            periodicity_at(r, s, x, lag) if lag <= max_lag else NAN for lag in (period / 4, period / 2, 2 * period)
        )
        # Voicing looks at a pre-emphasised copy: that flattens pink (room, breath) noise, which is otherwise
        # strongly correlated at short lags, while a periodic tone stays exactly as periodic. The octave tests
        # keep the plain signal, whose weak fundamentals pre-emphasis would weaken further. Periodic at the true
        # period means periodic at twice aubio's period whichever octave is chosen.
        span = self._span
        conf = emphasised_periodicity_at(r, frame, sums, span, period)
        conf_double = emphasised_periodicity_at(r, frame, sums, span, 2 * period) if 2 * period <= max_lag else NAN
        if conf_double > conf or conf != conf:  # fmax: NaN only when both are
            conf = conf_double
        conf = min(1.0, max(0.0, conf)) if conf == conf else 0.0
        return self._reduced_rate_hz / period, [quarter, half, peak, double], conf

    def _choose(
        self, raw_hz: float, corr: list[float], expected_hz: float, level_db: float, frame: np.ndarray
    ) -> float:
        """Pick the octave of aubio's estimate; 0 when no octave of it is in range and periodic.

        `frame` is the frame at the reduced rate, for the fundamental check when a lower candidate beats a higher
        acceptable one."""
        candidates = []
        for k, factor in ((1, 2.0), (2, 1.0), (3, 0.5)):  # corr rows: P/4, P/2, P, 2P
            f0, c, half = raw_hz * factor, corr[k], corr[k - 1]
            if self.config.fmin_hz <= f0 <= self.config.fmax_hz and c > 0:  # (c may be NaN)
                candidates.append((f0, c, half / c if math.isfinite(half) else 0.0))
        if self._leap_frames:
            self._leap_frames -= 1
        # a new attack: above the recent level, and rising faster than a vibrato's tremolo can
        rising = level_db - self._level_avg_db > LEAP_RISE_DB and level_db - self._last_level_db > self._attack_db
        self._last_level_db = level_db
        self._level_avg_db += RATIO_SMOOTHING * (level_db - self._level_avg_db)
        for f0, _, ratio in candidates:
            if rising and _same_octave(f0, self._last_f0) and ratio - self._ratio_avg > LEAP_RATIO_JUMP:
                self._leap_from_hz, self._leap_frames = f0, self._leap_window
        acceptable = []  # (score, candidate)
        for f0, c, ratio in candidates:
            expected = _same_octave(f0, expected_hz)
            if self._leap_frames and _same_octave(f0, self._leap_from_hz):
                limit = RATIO_MAX_AFTER_LEAP
            else:
                limit = RATIO_MAX_WITH_PRIOR if expected else RATIO_MAX
            if ratio > limit:
                continue
            score = c + (PRIOR_BONUS if expected else 0.0) + (STICK_BONUS if _same_octave(f0, self._last_f0) else 0.0)
            acceptable.append((score, (f0, c, ratio)))
        if acceptable:
            _, best = max(acceptable)
            higher = [entry for entry in acceptable if entry[1][0] > best[0] * _HALF_OCTAVE_UP]
            if higher and self._fundamental.level_db(frame, best[0]) < FUNDAMENTAL_MIN_DB:
                _, best = max(higher)
        elif candidates:  # every period repeats at its half: take the shortest
            best = min(candidates, key=lambda candidate: candidate[2])
        else:
            best = (0.0, 0.0, 0.0)
        f0, _, ratio = best
        if _same_octave(f0, self._last_f0):
            self._ratio_avg += RATIO_SMOOTHING * (ratio - self._ratio_avg)
        else:
            self._ratio_avg = ratio
        return f0

    def _voicing(self, conf: float, level_db: float, f0: float) -> tuple[bool, bool]:
        """(voiced, nearly): hysteresis on periodicity, gated by absolute level and by the drop from the recent peak,
        with the soft-ending rule (RELEASE_*); `nearly` = unvoiced, but past the gates and voicing_off (for the
        reach-back at a note's start)."""
        self._peak_db = max(level_db, self._peak_db - self._peak_decay_db)
        config = self.config
        loud = level_db >= config.min_level_dbfs and level_db >= self._peak_db - config.max_drop_db
        if level_db >= self._peak_db - RELEASE_NEAR_DB:
            self._release_frames = self._release_window
        elif self._release_frames:
            self._release_frames -= 1
        threshold = config.voicing_off if self._voiced else config.voicing_on
        voiced = f0 > 0 and loud and conf >= threshold
        fading = (
            self._voiced
            and not loud
            and self._release_frames > 0
            and f0 > 0
            and conf >= RELEASE_MIN_PERIODICITY
            and level_db >= config.min_level_dbfs - RELEASE_FLOOR_DB
            and abs(1200 * math.log2(f0 / self._last_f0)) < RELEASE_MAX_STEP_CENTS
        )
        nearly = not voiced and f0 > 0 and loud and conf >= config.voicing_off
        self._voiced = voiced or fading
        self._last_f0 = f0 if self._voiced else 0.0
        return self._voiced, nearly

    @staticmethod
    def _smooth(window3: list[tuple[float, float, float]]) -> tuple[float, float, float]:
        """Median of three in pitch over (previous, this, next); drop a voiced frame that stands alone."""
        (_, f_prev, _), (t, f, conf), (_, f_next, _) = window3
        if f <= 0:
            return t, 0.0, conf
        if f_prev <= 0 and f_next <= 0:
            return t, 0.0, conf
        if f_prev > 0 and f_next > 0:
            f = sorted((f_prev, f, f_next))[1]
        return t, f, conf


def _refine(r: list[float], s: list[float], x: list[float], period: float) -> tuple[float, float]:
    """(period, periodicity) at the vertex of a parabola through the periodicity one step either side of `period`."""
    step = max(1.0, period / 64)  # the peak's width scales with the period
    before = periodicity_at(r, s, x, period - step)
    centre = periodicity_at(r, s, x, period)
    after = periodicity_at(r, s, x, period + step)
    curvature = before - 2 * centre + after
    if curvature < 0:  # (False when any is NaN)
        shift = min(1.0, max(-1.0, 0.5 * (before - after) / curvature))
        return period + shift * step, centre - 0.25 * (before - after) * shift
    return period, centre


def _same_octave(f0_hz: float, reference_hz: float) -> bool:
    """Within half an octave of `reference_hz` (False when either is 0, i.e. unknown)."""
    return f0_hz > 0 and reference_hz > 0 and _HALF_OCTAVE_DOWN < f0_hz / reference_hz < _HALF_OCTAVE_UP


def _as_frames(rows: list[tuple[float, float, float]]) -> PitchFrames:
    if not rows:
        return PitchFrames.concat([])
    time_s, f0_hz, confidence = zip(*rows, strict=True)
    return PitchFrames(np.array(time_s), np.array(f0_hz, np.float32), np.array(confidence, np.float32))


def track(
    samples: np.ndarray,
    sample_rate_hz: int,
    config: TrackerConfig,
    prior: OctavePriorSource | None = None,
    block: int = 16384,
) -> PitchFrames:
    """Track a whole signal; frames whose window centre falls before the first sample are left out."""
    tracker = PitchTracker(config, sample_rate_hz, prior)
    parts = [tracker.process(samples[start : start + block]) for start in range(0, len(samples), block)]
    parts.append(tracker.flush())
    result = PitchFrames.concat(parts)
    keep = (result.time_s >= 0) & (result.time_s <= len(samples) / sample_rate_hz)
    return PitchFrames(*(column[keep] for column in result))
