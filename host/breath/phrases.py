"""Breath before a phrase: did the player breathe in between the end of the last phrase and the start of this one?

A phrase starts when the flute sounds after at least `min_silence_s` of silence (or for the first time). The
breath counts when an inhale at least `min_depth` deep peaked after the silence began (and no more than
`lookback_s` before the start), or up to `settle_s` after it. The decision waits until the belt's clock has passed
the start by `settle_s`, because the belt reports the end of an inhale a little late and the two streams may arrive
out of step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from flutex.host.breath.share import Inhale


@dataclass(frozen=True, slots=True)
class PhraseConfig:
    min_silence_s: float = 0.3
    min_depth: float = 0.08  # calibrated depth (1 = a full breath); a quiet breath is about 0.15
    lookback_s: float = 3.0
    settle_s: float = 0.25


@dataclass(frozen=True, slots=True)
class PhraseStart:
    """A phrase began at `t_s`; `inhale` is the breath taken before it, None when there was none."""

    t_s: float
    inhale: Inhale | None

    @property
    def breath_taken(self) -> bool:
        return self.inhale is not None


class PhraseTracker:
    """Finds phrase starts in the flute's sounding state and judges them against recent inhales."""

    def __init__(self, config: PhraseConfig | None = None, history: int = 16) -> None:
        self.config = config or PhraseConfig()
        self._inhales: deque[Inhale] = deque(maxlen=history)
        self._pending: deque[tuple[float, float]] = deque()  # (phrase start, breath window start)
        self._sounding = False
        self._silent_since_s = float("-inf")

    def on_sound(self, t_s: float, sounding: bool) -> None:
        """Take the flute's sounding state at `t_s`."""
        if sounding and not self._sounding and t_s - self._silent_since_s >= self.config.min_silence_s:
            self._pending.append((t_s, max(self._silent_since_s, t_s - self.config.lookback_s)))
        if self._sounding and not sounding:
            self._silent_since_s = t_s
        self._sounding = sounding

    def on_inhale(self, inhale: Inhale) -> None:
        self._inhales.append(inhale)

    def on_belt_time(self, t_s: float) -> PhraseStart | None:
        """Belt time has reached `t_s`: judge the oldest pending phrase start if the belt is far enough past it."""
        if self._pending and t_s >= self._pending[0][0] + self.config.settle_s:
            return self._judge(*self._pending.popleft())
        return None

    def finish(self) -> list[PhraseStart]:
        """End of stream: judge every phrase start still waiting."""
        judged = [self._judge(*pending) for pending in self._pending]
        self._pending.clear()
        return judged

    def inhale_between(self, start_s: float, end_s: float) -> Inhale | None:
        """The deepest remembered inhale of at least `min_depth` that peaked in (start_s, end_s], if any."""
        candidates = [i for i in self._inhales if start_s < i.t_end_s <= end_s and i.depth >= self.config.min_depth]
        return max(candidates, key=lambda i: i.depth, default=None)

    def _judge(self, start_s: float, window_s: float) -> PhraseStart:
        return PhraseStart(start_s, self.inhale_between(window_s, start_s + self.config.settle_s))
