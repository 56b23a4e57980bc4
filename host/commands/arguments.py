"""Argument types shared by the `flutex` commands, so every command refuses bad values the same way."""

from __future__ import annotations

import argparse

from flutex.host.link.opener import URL_HELP


def positive_seconds(text: str) -> float:
    """A duration in seconds: above 0, at most a day."""
    return _duration(text, "seconds", 1.0)


def positive_minutes(text: str) -> float:
    """A duration in minutes: above 0, at most a day."""
    return _duration(text, "minutes", 60.0)


def _duration(text: str, unit: str, seconds_per_unit: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of {unit}: {text!r}") from None
    if not 0 < value * seconds_per_unit <= 24 * 3600:
        raise argparse.ArgumentTypeError(f"{unit} must be above 0 and at most a day")
    return value


def positive_int(text: str) -> int:
    """A count: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text!r}")
    return int(text)


def transpose(text: str) -> int | str:
    """A transposition: "auto" (the smallest shift that makes every note playable) or semitones, within four
    octaves."""
    if text == "auto":
        return text
    try:
        semitones = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not 'auto' nor a number of semitones: {text!r}") from None
    if abs(semitones) > 48:
        raise argparse.ArgumentTypeError("transpose by at most 48 semitones (four octaves)")
    return semitones


def add_device_arguments(parser: argparse.ArgumentParser, default: str = "sim://") -> None:
    """--device (which board, by URL) and --json, as every command that talks to a board takes them."""
    parser.add_argument("--device", default=default, help=f"which board: {URL_HELP} (default {default})")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object, last line")
