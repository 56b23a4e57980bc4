#!/usr/bin/env python3
"""Voice benchmark: how fast the agent's voice path answers, and how well pocketsphinx hears a student.

    python benchmarks/voice.py                   # flite's slt voice speaks the commands at 16 kHz
    python benchmarks/voice.py --voices slt rms awb kal16 --rate 44100 --json

Recognition: each command, synthesized by flite (and the one recorded utterance in tests/data/speech), is placed in
a quiet room (white noise at -60 dBFS), found by the endpointer and transcribed. Word accuracy = 1 - word error
rate against the text said; real-time factor = decode time / audio time (below 1 is faster than speech).

Latency: a conversation through `VoiceLoop` with a scripted microphone, one command at a time, each answered
before the next; the reply is an echo, so `respond_s` is the loop's own overhead, not a model's. Stages per turn:
end of speech -> end decided (the silence waited for) -> transcript -> reply text -> reply synthesized and its first
sample handed to the speaker. Needs `flite` (apt-get install flite) and pocketsphinx (pip install 'flutex[voice]').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import numpy as np

from flutex.host.voice.conversation import VoiceLoop, summary
from flutex.host.voice.endpoint import Endpointer, Utterance
from flutex.host.voice.replay import ScriptedMicrophone
from flutex.host.voice.stt import SphinxTranscriber, word_accuracy
from flutex.host.voice.tts import FliteVoice, Speech

COMMANDS = (
    "play bars one to two",
    "slow down",
    "stop the lesson",
    "guide my fingers",
    "start the lesson",
    "play the demo",
    "show my progress",
    "faster please",
)
RECORDING = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech" / "goforward.raw"
RECORDING_TEXT = "go forward ten meters"
SILENCE_S = 1.0


def utterance_of(speech: Speech, rate_hz: int) -> Utterance:
    """The speech as the endpointer cuts it from a quiet room (the first utterance it finds)."""
    mic = ScriptedMicrophone(rate_hz)
    mic.silence(SILENCE_S)
    mic.say(speech.samples, speech.rate_hz)
    mic.silence(SILENCE_S)
    mic.end()
    endpointer = Endpointer(rate_hz)

    async def cut() -> list[Utterance]:
        found: list[Utterance] = []
        async for block in mic.blocks():
            found += endpointer.feed(block.samples, block.first_sample / rate_hz)
        return found + endpointer.flush()

    found = asyncio.run(cut())
    if not found:
        raise SystemExit("the endpointer found no speech in a synthesized command: the voice path is broken")
    return found[0]


def recognition(clips: dict[str, tuple[str, Speech]], transcriber: SphinxTranscriber, rate_hz: int) -> list[dict]:
    rows = []
    for label, (text, speech) in clips.items():
        utterance = utterance_of(speech, rate_hz)
        started = time.perf_counter()
        heard = transcriber.transcribe(utterance.samples, utterance.rate_hz)
        decode_s = time.perf_counter() - started
        audio_s = len(utterance.samples) / utterance.rate_hz
        accuracy = word_accuracy(text, heard)
        rows.append({"clip": label, "said": text, "heard": heard, "accuracy": accuracy, "rtf": decode_s / audio_s})
    return rows


async def conversation(voice: FliteVoice, transcriber: SphinxTranscriber, rate_hz: int) -> VoiceLoop:
    mic = ScriptedMicrophone(rate_hz, seed=1)
    replied = asyncio.Event()

    async def respond(text: str) -> str:
        return f"you said {text}"

    def play(samples: np.ndarray, rate: int) -> None:
        replied.set()

    loop = VoiceLoop(transcriber, voice, respond, play, rate_hz)

    async def student() -> None:
        for text in COMMANDS:
            speech = voice.synthesize(text)
            replied.clear()
            mic.silence(SILENCE_S)
            mic.say(speech.samples, speech.rate_hz)
            mic.silence(SILENCE_S)
            await replied.wait()
            while loop.muted():  # the student waits for the reply to end before the next command
                await asyncio.sleep(0.02)
        mic.end()

    await asyncio.gather(loop.run(mic.blocks()), student())
    return loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="+", default=["slt"], help="flite voices that speak the commands")
    parser.add_argument("--rate", type=int, default=16000, help="the microphone's sample rate in Hz")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the tables")
    args = parser.parse_args()

    started = time.perf_counter()
    transcriber = SphinxTranscriber()
    load_s = time.perf_counter() - started
    clips = {f"{name}: {text}": (text, FliteVoice(name).synthesize(text)) for name in args.voices for text in COMMANDS}
    recorded = np.fromfile(RECORDING, dtype="<i2").astype(np.float32) / 32768
    clips["recorded: goforward.raw"] = (RECORDING_TEXT, Speech(recorded, 16000))
    rows = recognition(clips, transcriber, args.rate)
    loop = asyncio.run(conversation(FliteVoice(args.voices[0]), transcriber, args.rate))
    latency = summary(loop.latencies)
    result = {
        "rate_hz": args.rate,
        "model_load_s": load_s,
        "word_accuracy": statistics.mean(row["accuracy"] for row in rows),
        "exact": sum(row["accuracy"] == 1.0 for row in rows),
        "clips": len(rows),
        "rtf_median": statistics.median(row["rtf"] for row in rows),
        "rtf_max": max(row["rtf"] for row in rows),
        "turns": len(loop.latencies),
        "latency_s": {stage: {"median": median, "max": most} for stage, (median, most) in latency.items()},
        "recognition": rows,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"pocketsphinx at {args.rate} Hz (model loaded in {load_s:.2f} s)")
    for row in rows:
        print(f"  {row['accuracy']:4.2f}  rtf {row['rtf']:.2f}  {row['clip']!r:40} -> {row['heard']!r}")
    print(
        f"word accuracy {result['word_accuracy']:.2f} ({result['exact']}/{len(rows)} exact); "
        f"real-time factor median {result['rtf_median']:.2f}, max {result['rtf_max']:.2f}"
    )
    print(f"voice loop, {len(loop.latencies)} turns (voice {args.voices[0]}): median / max in seconds")
    for stage, (median, most) in latency.items():
        print(f"  {stage:13} {median:6.3f} / {most:6.3f}")


if __name__ == "__main__":
    main()
