#!/usr/bin/env python3
"""Pitch benchmark: Flute X against plain aubio yinfft, aubio yin and librosa pYIN, in one process.

    python benchmarks/pitch.py                       # render our own test set to a temp dir, then score
    python benchmarks/pitch.py --render DIR          # render (and keep) the set in DIR, then score
    python benchmarks/pitch.py --set DIR             # score an existing set (NAME.flac/.wav + truth.json)

The rendered set uses real sampled instruments (FluidSynth + the FluidR3 General MIDI soundfont) playing
melodies that are deliberately different from the shared dev set, clean / in pink noise / in a reverberant room.
Rendering needs the Debian packages fluidsynth, fluid-soundfont-gm and sox; pYIN needs `pip install .[bench]`.

Metrics (per frame, as defined in the issue): truth frames inside [onset + 40 ms, offset - 40 ms] are voiced with
the note's pitch; frames more than 80 ms before every onset and 250 ms after every offset (and after 0.3 s) are
unvoiced. Raw pitch accuracy = voiced truth frames within 50 cents; octave errors = voiced truth frames off by
1200 or 1902 cents (+-50); voicing false alarms = unvoiced truth frames reported voiced; real-time factor = audio
duration / processing time on one core. The live-path section feeds Flute X 256-sample blocks one call at a time,
as the microphone loop does, and reports its real-time factor, time per call and whether its frames equal file
mode's. The octave-prior section feeds Flute X a fingering stream derived from the truth (right, and deliberately
wrong) for the flute-family files.
"""

from __future__ import annotations

import os

# one core, as the real-time target says (set before numpy and numba load)
os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = os.environ["NUMBA_NUM_THREADS"] = "1"

import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aubio
import numpy as np
import soundfile

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.synth import FLUTE_LIKE, melody
from flutex.host.pitch import INSTRUMENTS, FingeringPrior, PitchFrames, PitchTracker, track

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 44100
# (name, bpm, [(midi or None for a rest, beats)]): public-domain tunes and an exercise with octave leaps,
# none of them in the shared dev set. Written for the flute register (C5-C7); voices are transposed down.
MELODIES = [
    (
        "saints",
        132,
        [
            (72, 1),
            (76, 1),
            (77, 1),
            (79, 4),
            (72, 1),
            (76, 1),
            (77, 1),
            (79, 4),
            (72, 1),
            (76, 1),
            (77, 1),
            (79, 2),
            (76, 2),
            (72, 2),
            (76, 2),
            (74, 4),
        ],
    ),
    (
        "lullaby",
        84,
        [
            (76, 0.5),
            (76, 0.5),
            (79, 1.5),
            (76, 0.5),
            (76, 1),
            (79, 2),
            (76, 0.5),
            (79, 0.5),
            (84, 1),
            (83, 1.5),
            (81, 0.5),
            (81, 1),
            (79, 1),
            (None, 1),
            (74, 0.5),
            (76, 0.5),
            (77, 1),
            (74, 1),
        ],
    ),
    (
        "octaves",
        100,
        [
            (72, 1),
            (84, 1),
            (74, 1),
            (86, 1),
            (76, 1),
            (88, 1),
            (None, 0.5),
            (79, 1),
            (91, 1),
            (84, 1),
            (72, 1),
            (81, 0.5),
            (93, 0.5),
            (83, 1),
            (77, 2),
        ],
    ),
    (
        "birthday",
        112,
        [
            (79, 0.75),
            (79, 0.25),
            (81, 1),
            (79, 1),
            (84, 1),
            (83, 2),
            (79, 0.75),
            (79, 0.25),
            (81, 1),
            (79, 1),
            (86, 1),
            (84, 2),
            (None, 1),
            (79, 0.75),
            (79, 0.25),
            (91, 1),
            (88, 1),
            (84, 1),
        ],
    ),
]
# instrument -> (General MIDI program, 0-based; transpose, semitones)
VOICES = {"flute": (73, 0), "recorder": (74, 0), "pan_flute": (75, 0), "ocarina": (79, 0), "voice_oohs": (53, -17)}
CONDITIONS = ("clean", "noisy", "room")
FLUTE_FAMILY = ("flute", "recorder", "pan_flute", "ocarina")
WEAK_ODD = (0.08, 1.0, 0.12, 0.35, 0.05, 0.2)  # harmonic amplitudes: ~2% of the energy in odd harmonics


# ---------------------------------------------------------------- rendering


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, (n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out)


def write_midi(path: Path, notes: list, bpm: float, program: int, transpose: int, lead_s: float = 0.5) -> list:
    """A one-track MIDI file; returns the truth [{onset, offset, midi}] in seconds (notes sound 90% of a beat)."""
    ppq, beat_s = 480, 60.0 / bpm
    events, truth, t = [], [], lead_s
    for midi, beats in notes:
        if midi is not None:
            off = t + beats * beat_s * 0.9
            events += [(t, 1, bytes([0x90, midi + transpose, 96])), (off, 0, bytes([0x80, midi + transpose, 0]))]
            truth.append({"onset": round(t, 4), "offset": round(off, 4), "midi": midi + transpose})
        t += beats * beat_s
    body = _vlq(0) + b"\xff\x51\x03" + round(beat_s * 1e6).to_bytes(3, "big") + _vlq(0) + bytes([0xC0, program])
    last = 0
    for when, _, message in sorted(events):
        tick = round(when / beat_s * ppq)
        body += _vlq(tick - last) + message
        last = tick
    body += _vlq(ppq) + b"\xff\x2f\x00"
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, ppq) + b"MTrk" + struct.pack(">I", len(body)) + body)
    return truth


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, n)
    return noise / np.abs(noise).max()


def render(outdir: Path) -> None:
    for tool in ("fluidsynth", "sox"):
        if shutil.which(tool) is None or not SOUNDFONT.exists():
            sys.exit(
                f"rendering needs fluidsynth, sox and {SOUNDFONT}: apt-get install fluidsynth fluid-soundfont-gm sox"
            )
    outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    truth = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tune, bpm, notes in MELODIES:
            for voice, (program, transpose) in VOICES.items():
                mid, raw = Path(tmp, "a.mid"), Path(tmp, "a.wav")
                notes_truth = write_midi(mid, notes, bpm, program, transpose)
                subprocess.run(
                    [
                        "fluidsynth",
                        "-ni",
                        "-q",
                        "-g",
                        "0.8",
                        "-r",
                        str(SAMPLE_RATE),
                        "-F",
                        str(raw),
                        str(SOUNDFONT),
                        str(mid),
                    ],
                    check=True,
                    capture_output=True,
                )
                dry, _ = soundfile.read(raw, dtype="float32", always_2d=True)
                dry = dry.mean(axis=1)
                for condition in CONDITIONS:
                    name = f"{tune}-{voice}-{condition}"
                    truth[name] = notes_truth
                    target = outdir / f"{name}.flac"
                    if condition == "room":
                        subprocess.run(
                            ["sox", str(raw), "-b", "16", str(target), "remix", "-", "reverb", "60", "40", "80"],
                            check=True,
                        )
                        continue
                    signal = dry + (0.03 * pink_noise(len(dry), rng) if condition == "noisy" else 0.0)
                    soundfile.write(target, signal, SAMPLE_RATE, subtype="PCM_16")
    (outdir / "truth.json").write_text(json.dumps(truth, indent=0))
    print(f"rendered {len(truth)} files in {outdir}", file=sys.stderr)


# ---------------------------------------------------------------- trackers

Tracker = Callable[[np.ndarray, int, str], tuple[np.ndarray, np.ndarray]]  # -> (time_s, f0_hz or 0)


def instrument_of(name: str) -> str:
    return "voice" if "voice" in name.split("-")[1] else "flute"


def flutex_tracker(prior_for: Callable[[str], FingeringPrior | None] | None = None) -> Tracker:
    def run(x: np.ndarray, sr: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        frames = track(x, sr, INSTRUMENTS[instrument_of(name)], prior_for(name) if prior_for else None)
        return frames.time_s, frames.f0_hz

    return run


def aubio_tracker(method: str, min_confidence: float | None) -> Tracker:
    """Plain aubio, window 2048 / hop 256 as in the issue; yinfft's own voicing (its silence gate) is all it has."""

    def run(x: np.ndarray, sr: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        window, hop = 2048, 256
        pitch = aubio.pitch(method, window, hop, sr)
        pitch.set_unit("Hz")
        padded = np.concatenate([x, np.zeros(window, np.float32)])
        f0 = np.zeros(len(padded) // hop)
        for i in range(len(f0)):
            f0[i] = pitch(padded[i * hop : (i + 1) * hop])[0]
            if min_confidence is not None and pitch.get_confidence() < min_confidence:
                f0[i] = 0.0
        times = ((np.arange(len(f0)) + 1) * hop - window / 2) / sr
        return times, f0

    return run


def pyin_tracker(x: np.ndarray, sr: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    import librosa  # optional extra `bench`

    config = INSTRUMENTS[instrument_of(name)]
    f0, voiced, _ = librosa.pyin(
        x, fmin=config.fmin_hz, fmax=config.fmax_hz, sr=sr, frame_length=2048, hop_length=256, center=True
    )
    times = librosa.times_like(f0, sr=sr, hop_length=256)
    return times, np.where(voiced, np.nan_to_num(f0), 0.0)


# ---------------------------------------------------------------- scoring


def score(truth: dict, predictions: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    ok = total = octave = false_alarm = unvoiced = 0
    per_instrument: dict[str, list[float]] = {}
    for name, notes in truth.items():
        times, f0 = predictions[name]
        onsets = np.array([n["onset"] for n in notes])
        offsets = np.array([n["offset"] for n in notes])
        midis = np.array([n["midi"] for n in notes])
        inside = (times[:, None] >= onsets + 0.04) & (times[:, None] <= offsets - 0.04)
        has_note = inside.any(axis=1)
        reference = 440.0 * 2 ** ((midis[inside.argmax(axis=1)] - 69) / 12)
        voiced = has_note & (f0 > 0)
        cents = np.full(len(times), np.inf)
        cents[voiced] = np.abs(1200 * np.log2(f0[voiced] / reference[voiced]))
        good = int((cents <= 50).sum())
        octave += int(((np.abs(cents - 1200) <= 50) | (np.abs(cents - 1902) <= 50)).sum())
        ok, total = ok + good, total + int(has_note.sum())
        silent = ((times[:, None] < onsets - 0.08) | (times[:, None] > offsets + 0.25)).all(axis=1) & (times > 0.3)
        unvoiced += int(silent.sum())
        false_alarm += int((silent & (f0 > 0)).sum())
        per_instrument.setdefault(name.split("-")[1], []).append(good / max(int(has_note.sum()), 1))
    return {
        "rpa": ok / max(total, 1),
        "octave": octave / max(total, 1),
        "false_alarm": false_alarm / max(unvoiced, 1),
        "by_instrument": {k: float(np.mean(v)) for k, v in sorted(per_instrument.items())},
    }


def run_tracker(tracker: Tracker, audio: dict[str, tuple[np.ndarray, int]]) -> tuple[dict, float]:
    predictions, seconds, busy = {}, 0.0, 0.0
    for name, (x, sr) in audio.items():
        start = time.process_time()
        predictions[name] = tracker(x, sr, name)
        busy += time.process_time() - start
        seconds += len(x) / sr
    return predictions, seconds / busy


# ---------------------------------------------------------------- live path


def live_report(audio: dict[str, tuple[np.ndarray, int]], block: int = 256) -> None:
    """The live path: `PitchTracker.process` called once per `block`-sample block, as the microphone loop does.
    Per-call CPU time (one core), real-time factor, and whether the frames equal file mode's exactly."""
    by_instrument: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    identical = True
    for name, (x, sr) in audio.items():
        instrument = instrument_of(name)
        tracker = PitchTracker(INSTRUMENTS[instrument], sr)
        x = x.astype(np.float32)
        blocks = [np.ascontiguousarray(x[start : start + block]) for start in range(0, len(x), block)]
        calls, parts = by_instrument.setdefault(instrument, []), []
        for samples in blocks:
            start = time.process_time()
            parts.append(tracker.process(samples))
            calls.append(time.process_time() - start)
        parts.append(tracker.flush())
        seconds[instrument] = seconds.get(instrument, 0.0) + len(x) / sr
        live = PitchFrames.concat(parts)
        keep = (live.time_s >= 0) & (live.time_s <= len(x) / sr)
        whole = track(x, sr, INSTRUMENTS[instrument])
        identical &= bool(np.array_equal(live.f0_hz[keep], whole.f0_hz))
    for instrument, calls in sorted(by_instrument.items()):
        ms = np.array(calls) * 1e3
        rtf = seconds[instrument] / ms.sum() * 1e3
        print(
            f"live path, {instrument} ({block}-sample blocks, {len(ms)} calls): {rtf:.0f}x "
            f"real time; per call median {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
            f"max {ms.max():.2f} ms (a block lasts {block / SAMPLE_RATE * 1e3:.1f} ms)"
        )
    print(f"live path frames identical to file mode: {'yes' if identical else 'NO'}")


# ---------------------------------------------------------------- octave prior


def fingering_prior(notes: list, profile: InstrumentProfile, wrong: bool = False) -> FingeringPrior | None:
    """The fingering stream a player of the truth would produce (100 Hz); `wrong` flips the octave of every
    other note, as if the breath sensor misread the register."""
    prior = FingeringPrior(profile)
    for k, note in enumerate(notes):
        try:
            mask, overblown = profile.fingering_for(note["midi"])
        except ValueError:
            return None  # the melody leaves the instrument's chart: no prior for this file
        if wrong and k % 2:
            overblown = not overblown
        pressure = 1700.0 if overblown else 700.0
        for t in np.arange(note["onset"] - 0.03, note["offset"], 0.01):
            prior.add(float(t), mask, pressure)
        prior.add(note["offset"] + 0.01, mask, 0.0)
    return prior


def prior_report(truth: dict, audio: dict) -> None:
    """Octave errors without and with a right prior; and, on the notes where the prior disagrees with the
    sound, how often the tracker follows the prior (each such frame would hide a real octave mistake)."""
    profile = InstrumentProfile.load("six_hole")
    flutes = [name for name in truth if name.split("-")[1] in FLUTE_FAMILY]
    right = {name: fingering_prior(truth[name], profile) for name in flutes}
    subset = {name: audio[name] for name, prior in right.items() if prior is not None}
    if not subset:
        print("octave prior: no flute-family file fits the six-hole chart")
        return
    wrong = {name: fingering_prior(truth[name], profile, wrong=True) for name in subset}
    plain = run_tracker(flutex_tracker(), subset)[0]
    sub_truth = {name: truth[name] for name in subset}
    flipped = {name: truth[name][1::2] for name in subset}  # the notes the wrong prior misreads
    before = score(sub_truth, plain)
    after = score(sub_truth, run_tracker(flutex_tracker(right.get), subset)[0])
    hidden_before = score(flipped, plain)
    hidden_after = score(flipped, run_tracker(flutex_tracker(wrong.get), subset)[0])
    print(
        f"octave prior, right ({len(subset)} flute-family files): octave errors {before['octave'] * 100:.3f}% -> "
        f"{after['octave'] * 100:.3f}%, RPA {before['rpa']:.4f} -> {after['rpa']:.4f}"
    )
    print(
        f"octave prior, disagreeing with the sound (every other note): frames read in the prior's octave "
        f"{hidden_before['octave'] * 100:.3f}% without the prior -> {hidden_after['octave'] * 100:.3f}% with it"
    )
    synthetic_prior_report(profile)


def synthetic_prior_report(profile: InstrumentProfile) -> None:
    """Where the prior matters: a timbre with only ~2% odd-harmonic energy, which a tracker cannot place by
    sound alone (our melodies, synthesized). And a normal timbre with a disagreeing prior, which must not move."""
    for label, harmonics, wrong in (
        ("weak-odd timbre, right prior", WEAK_ODD, False),
        ("flute-like timbre, disagreeing prior", FLUTE_LIKE, True),
    ):
        truth, audio, priors = {}, {}, {}
        for tune, bpm, notes in MELODIES:
            beat_s = 60.0 / bpm
            signal, notes_truth = melody([(m, b * beat_s) for m, b in notes], SAMPLE_RATE, harmonics)
            name = f"{tune}-synth-clean"
            truth[name] = [{"onset": on, "offset": off, "midi": int(m)} for on, off, m in notes_truth]
            audio[name] = (signal, SAMPLE_RATE)
            priors[name] = fingering_prior(truth[name], profile, wrong)
        scored = truth if not wrong else {name: notes[1::2] for name, notes in truth.items()}
        before = score(scored, run_tracker(flutex_tracker(), audio)[0])
        after = score(scored, run_tracker(flutex_tracker(priors.get), audio)[0])
        print(
            f"octave prior, {label} (synthesized): octave errors {before['octave'] * 100:.3f}% -> "
            f"{after['octave'] * 100:.3f}%"
        )


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", type=Path, help="score this existing set (audio files + truth.json)")
    parser.add_argument("--render", type=Path, help="render our test set into this directory first")
    parser.add_argument("--skip", nargs="*", default=[], help="parts to skip: pyin, aubio-yin, live...")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setdir = args.set or args.render or Path(tmp)
        if not args.set:
            render(setdir)
        truth = json.loads((setdir / "truth.json").read_text())
        audio = {}
        for name in truth:
            path = next(p for p in (setdir / f"{name}.flac", setdir / f"{name}.wav") if p.exists())
            x, sr = soundfile.read(path, dtype="float32", always_2d=True)
            audio[name] = (x.mean(axis=1), sr)
    trackers: dict[str, Tracker] = {
        "flutex": flutex_tracker(),
        "aubio-yinfft": aubio_tracker("yinfft", None),
        "aubio-yin": aubio_tracker("yin", 0.5),
        "pyin": pyin_tracker,
    }
    print(f"set: {setdir} ({len(audio)} files, {sum(len(x) / sr for x, sr in audio.values()):.0f} s)")
    header = f"{'tracker':<14}{'RPA':>7}{'octave%':>9}{'VFA%':>7}{'RTF':>8}   RPA by instrument"
    print(header)
    for label, tracker in trackers.items():
        if label in args.skip:
            continue
        predictions, rtf = run_tracker(tracker, audio)
        result = score(truth, predictions)
        by = " ".join(f"{k}={v:.4f}" for k, v in result["by_instrument"].items())
        print(
            f"{label:<14}{result['rpa']:>7.4f}{result['octave'] * 100:>9.3f}{result['false_alarm'] * 100:>7.2f}"
            f"{rtf:>8.0f}   {by}"
        )
    if "live" not in args.skip:
        live_report(audio)
    prior_report(truth, audio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
