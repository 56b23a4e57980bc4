"""Breath support on held notes: how steady the mouth pressure stays while one fingering sounds.

A note is a run of flute samples that sound (mouth pressure above `sound_on_pa` until it falls under `sound_off_pa`)
with one fingering. Its attack (`settle_s`) and release (`tail_s`) are left out; over the rest a straight line is
fitted to the pressure. `drift_pa_per_s` is that line's slope (support sagging or pushing), `wobble_pa` the standard
deviation around it (wavering). A note is steady when its wobble is under `steady_cv` of its mean pressure and the
drift moves it by less than `steady_drift` of its mean over the judged part; notes shorter than `min_judged_s` are
reported with `steady=None`. Statistics are running sums, so a note of any length costs the same per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

from flutex.host.link.events import FluteSample

FLUTE_RATE_HZ = 200.0


@dataclass(frozen=True, slots=True)
class SupportConfig:
    """Thresholds for sounding and for judging a held note; pressures in pascals above ambient."""

    sound_on_pa: float = 150.0
    sound_off_pa: float = 120.0
    settle_s: float = 0.15
    tail_s: float = 0.05
    min_judged_s: float = 0.4
    steady_cv: float = 0.04
    steady_drift: float = 0.15


@dataclass(frozen=True, slots=True)
class HeldNote:
    """Support over one held note; see the module docstring for the definitions."""

    t_start_s: float
    t_end_s: float
    closed_mask: int
    judged_s: float
    mean_pa: float
    wobble_pa: float
    drift_pa_per_s: float
    steady: bool | None

    @property
    def cv(self) -> float:
        """Wobble as a fraction of mean pressure (coefficient of variation around the trend)."""
        return self.wobble_pa / self.mean_pa if self.mean_pa > 0 else 0.0


class SoundGate:
    """Whether the flute sounds, with hysteresis so a pressure hovering at the threshold does not chatter."""

    def __init__(self, config: SupportConfig) -> None:
        self._config = config
        self.sounding = False

    def update(self, mouth_pa: float) -> bool:
        limit = self._config.sound_off_pa if self.sounding else self._config.sound_on_pa
        self.sounding = mouth_pa > limit
        return self.sounding


class _LineFit:
    """Running least-squares line through (t, y) points; times are taken relative to the first for precision."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.t0 = self.t_last = 0.0
        self._st = self._sy = self._stt = self._sty = self._syy = 0.0

    def add(self, t_s: float, y: float) -> None:
        if self.n == 0:
            self.t0 = t_s
        self.t_last = t_s
        t = t_s - self.t0
        self.n += 1
        self._st += t
        self._sy += y
        self._stt += t * t
        self._sty += t * y
        self._syy += y * y

    def mean(self) -> float:
        return self._sy / self.n

    def slope(self) -> float:
        s_tt = self._stt - self._st * self._st / self.n
        return (self._sty - self._st * self._sy / self.n) / s_tt if s_tt > 0 else 0.0

    def residual_std(self) -> float:
        s_yy = self._syy - self._sy * self._sy / self.n
        s_ty = self._sty - self._st * self._sy / self.n
        return max(0.0, s_yy - self.slope() * s_ty) ** 0.5 / self.n**0.5


class SupportTracker:
    """Incremental held-note support: feed flute samples with whether they sound; a HeldNote comes when a note ends.

    The last `tail_s` of samples wait in a small ring before entering the statistics, so that the release, only
    known once the note has ended, is never counted.
    """

    def __init__(self, config: SupportConfig | None = None, rate_hz: float = FLUTE_RATE_HZ) -> None:
        self.config = config or SupportConfig()
        size = max(1, round(self.config.tail_s * rate_hz))
        self._tail_t = [0.0] * size
        self._tail_pa = [0.0] * size
        self._tail_count = 0
        self._fit = _LineFit()
        self._start_s: float | None = None
        self._mask = 0
        self._last_s = 0.0

    def update(self, sample: FluteSample, sounding: bool) -> HeldNote | None:
        """Take one flute sample; return the finished note when this sample ends one (silence or new fingering)."""
        ended = None
        if self._start_s is not None and (not sounding or sample.closed_mask != self._mask):
            ended = self._finish()
        if sounding:
            if self._start_s is None:
                self._start_s, self._mask = sample.t_s, sample.closed_mask
            self._push(sample.t_s, sample.mouth_pa)
        self._last_s = sample.t_s
        return ended

    def finish(self) -> HeldNote | None:
        """End of stream: report a note still sounding."""
        return self._finish() if self._start_s is not None else None

    def _push(self, t_s: float, mouth_pa: float) -> None:
        size = len(self._tail_t)
        slot = self._tail_count % size
        if self._tail_count >= size:
            old_t = self._tail_t[slot]
            if self._start_s is not None and old_t - self._start_s >= self.config.settle_s:
                self._fit.add(old_t, self._tail_pa[slot])
        self._tail_t[slot] = t_s
        self._tail_pa[slot] = mouth_pa
        self._tail_count += 1

    def _finish(self) -> HeldNote:
        assert self._start_s is not None
        fit, config = self._fit, self.config
        judged_s = fit.t_last - fit.t0 if fit.n else 0.0
        if fit.n >= 2:
            mean, wobble, drift = fit.mean(), fit.residual_std(), fit.slope()
        else:
            mean = wobble = drift = 0.0
        steady = None
        if judged_s >= config.min_judged_s and mean > 0:
            steady = wobble < config.steady_cv * mean and abs(drift) * judged_s < config.steady_drift * mean
        note = HeldNote(self._start_s, self._last_s, self._mask, judged_s, mean, wobble, drift, steady)
        self._start_s = None
        self._tail_count = 0
        fit.reset()
        return note
