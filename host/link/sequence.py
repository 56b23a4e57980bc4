"""Per-stream sequence accounting: which frames were lost, and which arrived twice or out of order.

Each board stream numbers its frames modulo 2**16. A receiver that only compares a frame with the one before it
counts a duplicate or a swapped pair as 65,535 frames lost; this one remembers the last `WINDOW` numbers, so a
frame that arrives late fills the gap it left (and is delivered), a repeat is dropped, and only what never came
counts as lost.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQ_MODULO = 1 << 16
HALF = SEQ_MODULO // 2
WINDOW = 64  # how far behind the newest frame a late one is still placed
_WINDOW_MASK = (1 << WINDOW) - 1


@dataclass
class SequenceTracker:
    """Feed each received seq of one stream to `accept`; read the counts. `lost` never goes negative: a late frame
    only takes back a loss it was counted in."""

    lost: int = 0
    duplicates: int = 0  # arrived again (or from before the first frame seen): dropped
    late: int = 0  # arrived after a newer frame, within the window: delivered, no longer lost
    stale: int = 0  # arrived more than WINDOW frames late: dropped, and it stays counted as lost
    _newest: int | None = None
    _missing: int = 0  # bit k set: frame (newest - k) was skipped and counted as lost

    def accept(self, seq: int) -> bool:
        """Account for a received frame; False if it must not be delivered (a repeat, or too late to place)."""
        if self._newest is None:
            self._newest = seq
            return True
        ahead = (seq - self._newest) % SEQ_MODULO
        if 0 < ahead < HALF:
            self.lost += ahead - 1
            skipped = (1 << min(ahead, WINDOW)) - 2  # bits 1 .. ahead-1: the frames jumped over
            self._missing = ((self._missing << ahead) | skipped) & _WINDOW_MASK
            self._newest = seq
            return True
        behind = (SEQ_MODULO - ahead) % SEQ_MODULO
        if behind >= WINDOW:
            self.stale += 1
            return False
        bit = 1 << behind
        if not self._missing & bit:
            self.duplicates += 1
            return False
        self._missing &= ~bit
        self.lost -= 1
        self.late += 1
        return True
