"""`flutex demo`'s loop measured over interleaved rounds, as the benchmarks that set something beside it report it:
one run's figures, a condition's rounds summed up (medians, since one run's p99 rests on a few dozen commands), and
each condition against the loop alone."""

from __future__ import annotations

import statistics
from typing import Any


def loop_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What one run of the demo loop (`run_session`'s summary) says of the loop."""
    return {
        "p50_ms": summary["loop_latency_ms"]["p50"],
        "p99_ms": summary["loop_latency_ms"]["p99"],
        "flute_hz": summary["rates_hz"]["flute"],
        "belt_hz": summary["rates_hz"]["belt"],
        "frames_lost": summary["frames_lost"],
    }


def summarize_rounds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A condition's rounds: the medians of their p50, p99 and rates, the p99s' range (the loop's own spread) and
    every frame lost."""
    p99s = sorted(run["p99_ms"] for run in runs)
    return {
        "p50_ms": statistics.median(run["p50_ms"] for run in runs),
        "p99_ms": statistics.median(p99s),
        "p99_range_ms": [p99s[0], p99s[-1]],
        "flute_hz": statistics.median(run["flute_hz"] for run in runs),
        "belt_hz": statistics.median(run["belt_hz"] for run in runs),
        "frames_lost": sum(run["frames_lost"] for run in runs),
    }


def against_alone(summary: dict[str, dict[str, Any]]) -> None:
    """Each condition's p99 and flute rate as ratios to the condition "alone" (added to each row)."""
    alone = summary["alone"]
    for row in summary.values():
        row["p99_ratio"] = round(row["p99_ms"] / alone["p99_ms"], 2)
        row["flute_rate_ratio"] = round(row["flute_hz"] / alone["flute_hz"], 4)
