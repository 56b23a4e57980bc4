"""A block of audio as a live source captured it: its samples and where they sit in time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class TimedBlock:
    """Mono samples as captured. `first_sample` counts samples since the stream began as the source knows it (a
    block the source knows it dropped leaves a gap; one the driver dropped silently does not, and only `adc_s`
    shows it). `adc_s` is when the first sample was captured, on the host's monotonic clock (`time.monotonic()`),
    as the audio driver reports it; None when the source cannot say (a file)."""

    samples: np.ndarray
    first_sample: int
    adc_s: float | None = None
