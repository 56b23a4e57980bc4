#!/usr/bin/env python3
"""Breath benchmark: Flute X's phase detector against NeuroKit2's `rsp_process` on real respiration recordings.

    python benchmarks/breath.py DIR                  # every recording under DIR; each subfolder is one set
    python benchmarks/breath.py A.csv B.wav ...      # these recordings, as one set
    python benchmarks/breath.py DIR --plot OUT_DIR   # also draw each recording's phases (needs matplotlib)
    python benchmarks/breath.py --sim                # the simulator tables of docs/breath.md instead

Nothing is downloaded: point it at recordings you have. The ones used for docs/breath.md are listed there, with
the split into a tuning set (looked at while choosing the settings) and a held-out set (run once they were fixed).

Recordings (one-channel belts, any rate):
- `.csv` with a header. A first column named t_s, time, time_s (any case) or left unnamed (a pandas index) holds
  seconds; otherwise the file name must say the rate (`..._100hz.csv`). Columns named like rsp/resp are the
  recordings; if there are none, every other column is one (a file of 12 listenings gives 12 recordings). Blank
  cells are filled by linear interpolation, blank ends are cut.
- `.wav`, one channel, rate from its header; `.npy`, one channel, rate in the file name (`..._1000hz.npy`).

Each recording becomes what our belt would have sent: resampled to 100 Hz (box-averaged, then linearly
interpolated), and mapped onto the belt's four channels: the abdomen carries the signal scaled so that its
median breath (NeuroKit2's peak minus the trough before it) moves 240 Pa, the documented quiet breath (0.15 of
the abdomen's 1600 Pa full-breath gain); back, ribs left and ribs right stay flat at 0 Pa. That belt recording
goes through what `flutex breath FILE.csv` does (calibration from the session, then the live analyser sample by
sample), so the numbers are the command's.

Reference: NeuroKit2's `rsp_clean` + `rsp_peaks` + `rsp_phase` with method khodadad2018 (what `rsp_process`
uses by default) on the same 100 Hz signal. Printed per recording and per set:
- breaths: ours (the inhale rows of the phases list, one per `Inhale`) and NeuroKit2's peaks, and the deepest
  breath's depth;
- agreement: share of samples where our phase is NeuroKit2's (inspiration = inhale, expiration = exhale), over
  the samples where both have one and ours is not a hold ("holds aside"), from NeuroKit2's first extremum on;
- delay: for each of NeuroKit2's phase changes, the time to our nearest change into the same phase within 1 s
  (signed; median over the set; all, then inhale / exhale starts), and the share of its changes we matched;
- agreement and delay for the phases list `flutex breath` prints and for the live phase a display shows;
- for scale, NeuroKit2's biosppy method against its khodadad2018: breath count ratio, agreement, delay;
- quality: the share of time the live verdict said "not breathing" (these recordings all breathe), how many
  recordings the whole verdict called not breathing, and how many of the same recordings without their breathing
  (only what lies above ARTEFACT_HZ: heartbeat, steps, flicker) were refused or called not breathing.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flutex.host.breath import (
    BreathAnalyser,
    BreathReport,
    CalibrationError,
    Inhale,
    Phase,
    PhaseChange,
    QualityChange,
    analyse,
    calibrate_from_session,
    judge,
)
from flutex.host.breath.belt_csv import RATE_TOLERANCE, resample
from flutex.host.commands.breath import segments
from flutex.host.link.events import BeltSample

BELT_HZ = 100.0
QUIET_BREATH_PA = 240.0  # 0.15 of a full breath on the abdomen, whose gain is 1600 Pa (docs/breath.md)
MATCH_S = 1.0
ARTEFACT_HZ = 0.8  # breathing is slower (under 48 a minute); a heartbeat is faster
TIME_COLUMNS = {"t_s", "time", "time_s", ""}


@dataclass
class Recording:
    name: str
    t_s: np.ndarray
    signal: np.ndarray
    rate_hz: float


def _rate_from_name(path: Path) -> float:
    found = re.search(r"(\d+)hz", path.stem, re.IGNORECASE)
    if not found:
        raise SystemExit(f"{path}: no time column and no rate in the file name (..._100hz)")
    return float(found.group(1))


def _filled(values: np.ndarray) -> np.ndarray | None:
    """Blank (NaN) ends cut, interior blanks interpolated; None if too little is left."""
    good = np.isfinite(values)
    if good.sum() < 100:
        return None
    first, last = np.flatnonzero(good)[[0, -1]]
    values = values[first : last + 1].copy()
    good = good[first : last + 1]
    index = np.arange(len(values))
    values[~good] = np.interp(index[~good], index[good], values[good])
    return values


def load(path: Path) -> list[Recording]:
    """The one-channel recordings in one file (see the module docstring for the formats)."""
    if path.suffix == ".wav":
        import soundfile

        data, rate = soundfile.read(path, always_2d=True)
        return [Recording(path.stem, np.arange(len(data)) / rate, data[:, 0], float(rate))]
    if path.suffix == ".npy":
        data = np.load(path).astype(float).ravel()
        rate = _rate_from_name(path)
        return [Recording(path.stem, np.arange(len(data)) / rate, data, rate)]
    with path.open() as file:
        header = [h.strip() for h in file.readline().split(",")]
    table = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=float)
    if table.ndim == 1:
        table = table[:, None]
    has_time = header[0].lower() in TIME_COLUMNS
    first = 1 if has_time else 0
    names = header[first:]
    chosen = [i for i, n in enumerate(names) if re.match(r"(rsp|resp)", n, re.IGNORECASE)] or list(range(len(names)))
    if has_time:
        t_all = table[:, 0]
        rate = 1.0 / float(np.median(np.diff(t_all)))
    else:
        rate = _rate_from_name(path)
        t_all = np.arange(len(table)) / rate
    out = []
    for i in chosen:
        column = table[:, first + i]
        good = np.isfinite(column)
        if good.sum() < 100:
            continue
        start = np.flatnonzero(good)[0]
        values = _filled(column)
        if values is None:
            continue
        label = path.stem if len(chosen) == 1 else f"{path.stem}:{names[i]}"
        out.append(Recording(label, t_all[start : start + len(values)], values, rate))
    return out


def to_belt_rate(recording: Recording) -> np.ndarray:
    """The signal at 100 Hz as `flutex breath` resamples it: box-averaged down (no aliasing), interpolated up."""
    if abs(recording.rate_hz / BELT_HZ - 1.0) <= RATE_TOLERANCE:
        return recording.signal
    t = np.arange(len(recording.signal)) / recording.rate_hz
    return resample(t, recording.signal[:, None], recording.rate_hz)[1][:, 0]


def neurokit_phases(signal: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NeuroKit2's phase per sample (1 inhale, 0 exhale, NaN before its first extremum), peaks and troughs."""
    import neurokit2 as nk

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.rsp_clean(signal, sampling_rate=int(BELT_HZ), method=method)
        _, info = nk.rsp_peaks(cleaned, sampling_rate=int(BELT_HZ), method=method)
        peaks = np.asarray(info["RSP_Peaks"], dtype=int)
        troughs = np.asarray(info["RSP_Troughs"], dtype=int)
        phase = nk.rsp_phase(peaks, troughs, desired_length=len(signal))["RSP_Phase"].to_numpy(dtype=float)
    return phase, peaks, troughs


def changes_of(phase: np.ndarray) -> list[tuple[int, float]]:
    """(sample index, new phase) where a per-sample phase array (1/0/NaN) changes between 1 and 0."""
    known = np.flatnonzero(np.isfinite(phase))
    out = []
    for a, b in itertools.pairwise(known):
        if phase[a] != phase[b]:
            out.append((int(b), float(phase[b])))
    return out


def delays(
    reference: list[tuple[float, float]], ours: list[tuple[float, float]], phases: tuple[float, ...] = (0.0, 1.0)
) -> list[float]:
    """For each reference (t_s, phase) change, the signed time to our nearest change into that phase within 1 s."""
    out = []
    for phase in phases:
        mine = np.array([t for t, p in ours if p == phase])
        if not len(mine):
            continue
        for t, p in reference:
            if p != phase:
                continue
            nearest = mine[np.argmin(np.abs(mine - t))]
            if abs(nearest - t) <= MATCH_S:
                out.append(float(nearest - t))
    return out


@dataclass
class View:
    """One reading of phases against the reference: samples agreeing and compared, delays of its changes."""

    agree: tuple[int, int]
    delays_s: list[float]
    inhale_delays_s: list[float]
    exhale_delays_s: list[float]


CODE = {"inhale": 1.0, "exhale": 0.0}  # NeuroKit2's inspiration and expiration; holds are NaN ("aside")


def view(phase: np.ndarray, changes: list[tuple[float, float]], reference: np.ndarray, t: np.ndarray) -> View:
    """`phase` per sample (1/0/NaN) and its `changes` (t_s, 1/0) against the reference's."""
    compare = np.isfinite(reference) & np.isfinite(phase)
    ref_changes = [(t[i], p) for i, p in changes_of(reference)]
    return View(
        (int(np.sum(phase[compare] == reference[compare])), int(compare.sum())),
        delays(ref_changes, changes),
        delays(ref_changes, changes, (1.0,)),
        delays(ref_changes, changes, (0.0,)),
    )


def listed(rows: list[dict[str, object]], t: np.ndarray) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The phases list `flutex breath` prints, as a phase per sample and its changes."""
    phase = np.full(len(t), np.nan)
    changes = []
    for row in rows:
        code = CODE.get(str(row["phase"]), np.nan)
        start_s, end_s = float(row["t_start_s"]), float(row["t_end_s"])  # type: ignore[arg-type]
        phase[np.searchsorted(t, start_s) : np.searchsorted(t, end_s)] = code
        if np.isfinite(code):
            changes.append((start_s, code))
    return phase, changes


def analysed(signal: np.ndarray) -> BreathReport | None:
    """The signal (pascals) on the abdomen channel, analysed as `flutex breath` does; None if calibration refuses."""
    belt = [BeltSample(i / BELT_HZ, i, (float(a), 0.0, 0.0, 0.0)) for i, a in enumerate(signal)]
    try:
        calibration = calibrate_from_session(belt)
    except CalibrationError:
        return None
    return analyse(belt, BreathAnalyser(calibration))


def span_s(report: BreathReport) -> float:
    return report.belt_t_s[-1] - report.belt_t_s[0]


def flagged_share(report: BreathReport) -> float:
    """Share of the belt's time during which the live verdict said: not breathing."""
    flagged, since = 0.0, None
    for change in report.of_type(QualityChange):
        if not change.quality.breathing:
            since = change.t_s
        elif since is not None:
            flagged, since = flagged + change.t_s - since, None
    if since is not None:
        flagged += report.belt_t_s[-1] - since
    return flagged / span_s(report)


def without_breathing(signal: np.ndarray) -> np.ndarray:
    """What the belt records besides breathing: everything above ARTEFACT_HZ (heartbeat, steps, flicker)."""
    spectrum = np.fft.rfft(signal)
    spectrum[np.fft.rfftfreq(len(signal), 1.0 / BELT_HZ) < ARTEFACT_HZ] = 0.0
    return np.fft.irfft(spectrum, len(signal))


@dataclass
class Result:
    name: str
    minutes: float
    ours: int
    reference: int
    biosppy: int
    reference_changes: int
    listed: View
    live: View
    nk: View
    depth_max: float
    flagged: float  # share of time the live verdict said: not breathing
    breathing: bool  # the whole recording's verdict
    artefacts_flagged: bool  # the recording without its breathing: refused, or judged not breathing
    seconds: float


def measure(recording: Recording) -> Result:
    signal = to_belt_rate(recording)
    t = np.arange(len(signal)) / BELT_HZ
    phase_nk, peaks, troughs = neurokit_phases(signal, "khodadad2018")
    phase_bio, bio_peaks, _ = neurokit_phases(signal, "biosppy")
    amplitudes = [signal[p] - signal[troughs[troughs < p].max()] for p in peaks if (troughs < p).any()]
    amplitude = float(np.median(amplitudes)) if amplitudes else float(np.ptp(signal)) or 1.0
    abdomen = (signal - np.median(signal)) * QUIET_BREATH_PA / amplitude
    started = time.perf_counter()
    report = analysed(abdomen)
    seconds = time.perf_counter() - started
    if report is None:
        raise SystemExit(f"{recording.name}: calibration refused the recording")
    rows = segments(report)
    live = np.array([CODE.get(str(p), np.nan) for p in report.phases])
    live_changes = [(e.t_s, CODE[str(e.phase)]) for e in report.of_type(PhaseChange) if e.phase is not Phase.HOLD]
    listed_phase, listed_changes = listed(rows, t)
    breaths = report.of_type(Inhale)
    artefacts = analysed(without_breathing(abdomen))
    return Result(
        recording.name,
        len(signal) / BELT_HZ / 60.0,
        sum(1 for row in rows if row["phase"] == "inhale"),
        len(peaks),
        len(bio_peaks),
        len(changes_of(phase_nk)),
        view(listed_phase, listed_changes, phase_nk, t),
        view(live, live_changes, phase_nk, t),
        view(phase_bio, [(t[i], p) for i, p in changes_of(phase_bio)], phase_nk, t),
        max((b.depth for b in breaths), default=0.0),
        flagged_share(report),
        judge(breaths, span_s(report)).breathing,
        artefacts is None or not judge(artefacts.of_type(Inhale), span_s(artefacts)).breathing,
        seconds,
    )


def _ms(values: list[float]) -> str:
    return f"{np.median(values) * 1000:+.0f}" if values else "-"


def _columns(views: list[View]) -> str:
    agree = sum(v.agree[0] for v in views) / max(1, sum(v.agree[1] for v in views))
    every = [x for v in views for x in v.delays_s]
    inhales = [x for v in views for x in v.inhale_delays_s]
    exhales = [x for v in views for x in v.exhale_delays_s]
    return f"{agree:6.3f} {_ms(every):>5} {_ms(inhales) + '/' + _ms(exhales):>9}"


def _row(name: str, results: list[Result]) -> str:
    ours = sum(r.ours for r in results)
    ref = sum(r.reference for r in results)
    bio = sum(r.biosppy for r in results)
    matched = sum(len(r.listed.delays_s) for r in results) / max(1, sum(r.reference_changes for r in results))
    minutes = sum(r.minutes for r in results)
    flagged = sum(r.flagged * r.minutes for r in results) / minutes
    quality = (
        f"{flagged:5.3f} {sum(not r.breathing for r in results):3d} {sum(r.artefacts_flagged for r in results):3d}"
    )
    return (
        f"{name[:38]:38} {minutes:6.1f} {ours:5d} {ref:5d} {ours / max(1, ref):5.2f}"
        f" {max(r.depth_max for r in results):5.2f}  {_columns([r.listed for r in results])} {matched:5.2f}"
        f"  {_columns([r.live for r in results])}  {bio / max(1, ref):5.2f} {_columns([r.nk for r in results])}"
        f"  {quality}"
    )


_VIEW = f"{'agree':>6} {'delay':>5} {'in/ex':>9}"
HEADER = (
    f"{'':38} {'':6} {'breaths':^17} {'':5}  {'phases list (CLI)':^22} {'':5}  {'live phase':^22}"
    f"  {'NeuroKit2 biosppy':^28}  {'quality':^13}\n"
    f"{'recording':38} {'min':>6} {'ours':>5} {'nk':>5} {'ratio':>5} {'depth':>5}  {_VIEW} {'match':>5}  {_VIEW}"
    f"  {'ratio':>5} {_VIEW}  {'flag':>5} {'bad':>3} {'art':>3}"
)


def plot(recording: Recording, out_dir: Path) -> None:
    """The signal, the phases list (inhale green, exhale red), our breaths' peaks (blue) and NeuroKit2's extrema."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    signal = to_belt_rate(recording)
    t = np.arange(len(signal)) / BELT_HZ
    _, peaks, troughs = neurokit_phases(signal, "khodadad2018")
    report = analysed((signal - np.median(signal)) * QUIET_BREATH_PA / float(np.ptp(signal) or 1.0))
    if report is None:
        return
    phase, _ = listed(segments(report), t)
    rows = int(np.ceil(t[-1] / 60.0))
    fig, axes = plt.subplots(rows, 1, figsize=(16, 2.2 * rows), squeeze=False)
    for row, ax in enumerate(axes[:, 0]):
        lo, hi = int(row * 60 * BELT_HZ), int(min(len(t), (row + 1) * 60 * BELT_HZ))
        for code, colour in ((1.0, "tab:green"), (0.0, "tab:red")):
            mask = phase[lo:hi] == code
            ax.scatter(t[lo:hi][mask], signal[lo:hi][mask], s=1, c=colour)
        for index, marker in ((peaks, "v"), (troughs, "^")):
            inside = index[(index >= lo) & (index < hi)]
            ax.plot(t[inside], signal[inside], marker, c="k", ms=4)
        for breath in report.of_type(Inhale):
            if lo <= breath.t_end_s * BELT_HZ < hi:
                ax.axvline(breath.t_end_s, c="tab:blue", lw=0.6)
        ax.set_xlim(row * 60, (row + 1) * 60)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / f"{recording.name.replace(':', '_')}.png", dpi=60)
    plt.close(fig)


def sim_tables(seeds: range) -> None:
    """The simulator tables of docs/breath.md: the live phase against the model's truth, then with artefacts."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from breath_truth import belt_samples, run, score, true_inhales, with_artefacts

    from flutex.sim.breathing import BeltSensors, BreathingModel, breath_hold, chest_only, diaphragmatic, phrases, tidal

    patterns = (tidal, diaphragmatic, chest_only, breath_hold, phrases)
    print(
        "| Pattern | Sensors | Frame accuracy | Median delay (ms) | 90th pct delay (ms) | True changes | Missed"
        " | Spurious | Breaths found / true |"
    )
    print("|" + " --- |" * 9)
    for sensors, label in ((BeltSensors(), "clean"), (BeltSensors.noisy(), "noisy")):
        for make in patterns:
            scores, found, true = [], 0, 0
            for seed in seeds:
                report, truth = run(make(), sensors, seed, 60.0)
                scores.append(score(report, truth))
                found, true = found + len(report.of_type(Inhale)), true + true_inhales(truth)
            d = np.array([x for s in scores for x in s.delays_s]) * 1000
            missed = sum(s.missed for s in scores)
            print(
                f"| {make.__name__} | {label} | {np.mean([s.frame_accuracy for s in scores]):.3f}"
                f" | {np.median(d):.0f} | {np.percentile(d, 90):.0f} | {missed + len(d)} | {missed}"
                f" | {sum(s.spurious for s in scores)} | {found} / {true} |"
            )
    print()
    print(
        "| Pattern | Breaths found / true | Inhale phases (live) | Live phase: accuracy, median delay (ms)"
        " | Phases list: accuracy, median delay (ms) |"
    )
    print("|" + " --- |" * 5)
    for make in patterns:
        live, rows, found, true, phases = [], [], 0, 0, 0
        for seed in seeds:
            truth = with_artefacts(BreathingModel(make(), BeltSensors(), seed=seed).record(60.0, BELT_HZ), seed=seed)
            samples = belt_samples(truth)
            report = analyse(samples, BreathAnalyser(calibrate_from_session(samples)))
            live.append(score(report, truth))
            rows.append(score(report, truth, rows=segments(report)))
            found, true = found + len(report.of_type(Inhale)), true + true_inhales(truth)
            phases += sum(1 for e in report.of_type(PhaseChange) if e.phase is Phase.INHALE)
        cells = [
            f"{np.mean([s.frame_accuracy for s in v]):.3f}, {np.median([x for s in v for x in s.delays_s]) * 1000:.0f}"
            for v in (live, rows)
        ]
        print(f"| {make.__name__} | {found} / {true} | {phases} | {cells[0]} | {cells[1]} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, help="recording files, or folders of them (subfolders = sets)")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="also draw each recording's phases into DIR")
    parser.add_argument("--sim", action="store_true", help="print the simulator tables of docs/breath.md instead")
    args = parser.parse_args()
    if args.sim:
        sim_tables(range(5))
        return 0
    sets: dict[str, list[Path]] = {}
    for path in args.paths:
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.suffix in (".csv", ".wav", ".npy"):
                    key = str(file.parent.relative_to(path)) if file.parent != path else path.name
                    sets.setdefault(key, []).append(file)
        else:
            sets.setdefault("files", []).append(path)
    everything: list[Result] = []
    print(HEADER)
    for set_name, files in sets.items():
        results = []
        for file in files:
            for recording in load(file):
                result = measure(recording)
                results.append(result)
                print(_row(result.name, [result]), flush=True)
                if args.plot:
                    plot(recording, args.plot)
        print(_row(f"== {set_name} ({len(results)} recordings)", results))
        print()
        everything.extend(results)
    print(_row(f"== all ({len(everything)} recordings)", everything))
    seconds = sum(r.seconds for r in everything)
    minutes = sum(r.minutes for r in everything)
    print(
        f"analyser: {seconds:.1f} s for {minutes:.1f} min of belt ({minutes * 60 / max(seconds, 1e-9):.0f}x real time)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
