"""`flutex calibrate latency`: measure the audio input's delay on this machine and store it per device."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import ModuleType

import numpy as np

from flutex.host.audio.latency import LatencyResult, measure, tap_delays
from flutex.host.audio.latency_store import ENV_VAR, LatencyStore
from flutex.host.audio.sources import STREAM_LATENCY, import_sounddevice
from flutex.host.errors import FlutexError

EPILOG = f"""\
methods:
  clicks  the speaker plays irregular clicks and the microphone hears them back (keep them ~30 cm apart,
          no headphones); the delay is found by matched filtering. Most precise.
  tap     wear headphones and tap the microphone on each click you hear; for when the microphone
          cannot hear the speaker. Includes your own timing error (10-30 ms).
Runs are repeated and a majority must agree within 2 ms, or nothing is stored; disagreeing runs are reported.
The result is stored per device in ~/.config/flutex/latency.json (override with ${ENV_VAR} or --store).

examples:
  flutex calibrate latency
  flutex calibrate latency --device "USB Audio" --runs 5
  flutex calibrate latency --show
"""


def configure(parser: argparse.ArgumentParser) -> None:
    """Describe the command and its arguments on the parser `flutex` made for it."""
    parser.description = "Calibrate this machine so assessment can subtract its delays."
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    latency = targets.add_parser(
        "latency",
        help="measure the audio input delay and store it per device",
        description="Measure how late sound shows up in the audio input, and store it for this device.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    latency.add_argument("--device", help="audio device name or index (default: the system default)")
    latency.add_argument(
        "--method",
        choices=("clicks", "tap"),
        default="clicks",
        help="clicks (speaker to microphone, default) or tap (tap along; see below)",
    )
    latency.add_argument("--runs", type=int, default=5, help="repeated runs, a majority must agree (default 5)")
    latency.add_argument("--rate", type=int, default=44100, help="sample rate, Hz (default 44100)")
    latency.add_argument("--store", type=Path, help=f"latency store file (default: ${ENV_VAR} or ~/.config/...)")
    latency.add_argument("--show", action="store_true", help="print the stored calibrations and exit")
    latency.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    store = LatencyStore(args.store)
    if args.show:
        for device, entry in sorted(store.load().items()):
            print(
                f"{device}: input {entry['input_latency_s'] * 1000:.1f} ms "
                f"(round trip {entry['roundtrip_s'] * 1000:.1f} ms, {entry['method']}, {entry['measured_at']})"
            )
        return 0
    sounddevice = import_sounddevice()
    device = int(args.device) if args.device and args.device.isdigit() else args.device
    try:
        info = sounddevice.query_devices(device, kind="input")
        output = sounddevice.query_devices(device, kind="output")
        reported_in = float(info[f"default_{STREAM_LATENCY}_input_latency"])
        reported_out = float(output[f"default_{STREAM_LATENCY}_output_latency"])
        input_share = reported_in / (reported_in + reported_out) if reported_in + reported_out > 0 else 0.5
    except (ValueError, sounddevice.PortAudioError) as error:
        raise FlutexError(f"no usable audio device ({error}); list them with `python -m sounddevice`") from None
    result = measure(
        lambda signal: _playrec(sounddevice, signal, device, args.rate),
        args.rate,
        args.runs,
        input_share,
        detect=tap_delays if args.method == "tap" else None,
    )
    store.save(str(info["name"]), result, args.method)
    _report(str(info["name"]), result, store.path)
    return 0


def _playrec(sounddevice: ModuleType, signal: np.ndarray, device: int | str | None, rate: int) -> np.ndarray:
    """Play `signal` and record the input over the same stretch of time, sample-aligned by PortAudio."""
    recorded = sounddevice.playrec(  # with the live loop's latency setting: calibrate what it will use
        signal, samplerate=rate, channels=1, device=device, blocking=True, latency=STREAM_LATENCY
    )
    return np.asarray(recorded, dtype=np.float32)[:, 0]


def _report(device: str, result: LatencyResult, path: Path) -> None:
    runs = ", ".join(f"{r * 1000:.1f}" for r in result.runs_s)
    print(
        f"{device}: input latency {result.input_latency_s * 1000:.1f} ms "
        f"(round trip {result.roundtrip_s * 1000:.1f} ms over runs {runs}; spread {result.spread_s * 1000:.1f} ms)"
    )
    if result.outliers:
        print(
            f"warning: {result.outliers} of {len(result.runs_s)} runs disagreed with the rest: this audio stack "
            "changes its delay when a stream opens, so a session may be off by that much; a dedicated audio "
            "interface or a larger --runs helps"
        )
    print(f"stored in {path}")
