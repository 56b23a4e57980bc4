"""Recorded belt sessions as CSV: read and check them row by row, and bring them to the belt's 100 Hz.

A recording is one header row `t_s,abdomen,back_waist,ribs_left,ribs_right` (optionally `mouth_pa`), then one row
per sample: seconds, then pascals above the belt's tare. Every problem is a `UsageError` naming the row (the
header is row 1) and column, and saying what the file should hold instead.

Recordings from other belts come at other rates. The analyser's windows and thresholds are set for the belt's
100 Hz, so a recording at another steady rate is resampled to it (box-averaged when faster, linearly interpolated
when slower); `rate_hz` keeps the rate it came at.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flutex.host.breath.phases import BELT_RATE_HZ
from flutex.host.errors import UsageError
from flutex.host.link.events import BELT_CHANNELS, BeltSample, FluteSample

COLUMNS = ("t_s", *BELT_CHANNELS)
MIN_ROWS = 20
MAX_ABS_PA = 1e6  # ten atmospheres: no belt or mouthpiece reads more; larger numbers are another unit or garbage
MIN_RATE_HZ = 5.0  # slower than this, a breath in is only a few samples
MAX_GAP_S = 1.0  # a longer gap would have to be invented by interpolation
RATE_TOLERANCE = 0.02  # a recording within 2% of 100 Hz is taken as it is


@dataclass(frozen=True)
class BeltRecording:
    """A checked recording: belt samples at 100 Hz, flute samples as recorded, and the rate the belt came at."""

    belt: list[BeltSample]
    flute: list[FluteSample]
    rate_hz: float


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UsageError(
            f"{path} row {line}: byte 0x{data[error.start]:02x} is not UTF-8 text; save the file as a UTF-8 CSV"
        ) from error


def _number(path: Path, row: int, column: str, text: str, unit: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{path} row {row}, column {column}: {text.strip()!r} is not a number ({unit})") from None
    if not math.isfinite(value):
        raise UsageError(
            f"{path} row {row}, column {column}: {text.strip()} is not a measurement; "
            "remove the row or fill in the value"
        )
    if unit == "pascals" and abs(value) > MAX_ABS_PA:
        raise UsageError(
            f"{path} row {row}, column {column}: {value:g} Pa is beyond what a belt reads (±{MAX_ABS_PA:g} Pa); "
            "the file must hold pascals"
        )
    return value


def read_csv(path: Path) -> BeltRecording:
    """Read and check a recorded session; UsageError with the row and column of the first problem."""
    rows = list(csv.reader(_text(path).splitlines()))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UsageError(f"{path} is empty; it needs a header row {','.join(COLUMNS)} and one row per sample")
    header = [cell.strip() for cell in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise UsageError(f"{path} needs a header with columns {','.join(COLUMNS)}; missing {','.join(missing)}")
    duplicated = sorted({c for c in header if c and header.count(c) > 1})
    if duplicated:
        raise UsageError(f"{path} header names {','.join(duplicated)} twice; name each column once")
    body = [(number, row) for number, row in enumerate(rows[1:], start=2) if any(cell.strip() for cell in row)]
    if len(body) < MIN_ROWS:
        raise UsageError(
            f"{path} has {len(body)} samples after its header; record at least {MIN_ROWS} (the belt sends 100 a second)"
        )
    index = {name: header.index(name) for name in (*COLUMNS, "mouth_pa") if name in header}
    times, channels, flute = [], [], []
    for seq, (number, row) in enumerate(body):
        if len(row) != len(header):
            raise UsageError(
                f"{path} row {number} has {len(row)} values but the header has {len(header)} columns; "
                "every row needs one value per column"
            )
        t_s = _number(path, number, "t_s", row[index["t_s"]], "seconds")
        if times and t_s <= times[-1]:
            raise UsageError(
                f"{path} row {number}: t_s {t_s:g} does not come after the previous row's {times[-1]:g}; "
                "rows must be in time order, one per sample"
            )
        if times and t_s - times[-1] > MAX_GAP_S:
            raise UsageError(
                f"{path} row {number}: {t_s - times[-1]:.2f} s without samples after t_s {times[-1]:g}; "
                "split the recording at the gap"
            )
        times.append(t_s)
        channels.append([_number(path, number, name, row[index[name]], "pascals") for name in BELT_CHANNELS])
        if "mouth_pa" in index and row[index["mouth_pa"]].strip():
            mouth = _number(path, number, "mouth_pa", row[index["mouth_pa"]], "pascals")
            flute.append(FluteSample(t_s, seq, 0, mouth))
    rate_hz = 1.0 / float(np.median(np.diff(times)))
    if rate_hz < MIN_RATE_HZ:
        raise UsageError(
            f"{path} has {rate_hz:.1f} samples a second; breath analysis needs at least {MIN_RATE_HZ:g} "
            f"(the belt sends {BELT_RATE_HZ:g})"
        )
    t = np.asarray(times)
    values = np.asarray(channels)
    if abs(rate_hz / BELT_RATE_HZ - 1.0) > RATE_TOLERANCE:
        t, values = resample(t, values, rate_hz)
    belt = [
        BeltSample(float(ti), seq, (float(v[0]), float(v[1]), float(v[2]), float(v[3])))
        for seq, (ti, v) in enumerate(zip(t, values, strict=True))
    ]
    return BeltRecording(belt, flute, rate_hz)


def resample(t_s: np.ndarray, values: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Samples at `rate_hz` (rows of `values`) brought to the belt's rate: box-averaged down, interpolated up."""
    factor = int(rate_hz // BELT_RATE_HZ)
    if factor > 1:
        usable = len(t_s) // factor * factor
        t_s = t_s[:usable].reshape(-1, factor).mean(axis=1)
        values = values[:usable].reshape(-1, factor, values.shape[1]).mean(axis=1)
    grid = np.arange(t_s[0], t_s[-1], 1.0 / BELT_RATE_HZ)
    return grid, np.column_stack([np.interp(grid, t_s, values[:, c]) for c in range(values.shape[1])])
