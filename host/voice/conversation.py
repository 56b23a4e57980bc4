"""The spoken conversation: microphone blocks in, the agent's replies out loud, the microphone muted meanwhile.

Two tasks share the event loop. The listener reads every block (so the microphone's ring never overflows), drops
it while the agent is speaking, and feeds the rest to the endpointer. The answerer takes each finished utterance in
turn: transcribe (worker thread), report what was heard, ask `respond` (the agent), report the reply, synthesize
(worker thread) and play it. Muting lasts from the moment the reply is handed to the speaker until its duration
plus `mute_tail_s` later (the speaker's output latency and the room's echo), so the agent never hears itself; a
half-heard utterance cut by the mute is dropped. Text is never lost: the caller's callbacks get each utterance
heard and each reply, for the terminal.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from flutex.host.audio.blocks import TimedBlock
from flutex.host.voice.endpoint import Endpointer, EndpointSettings, Utterance
from flutex.host.voice.stt import Transcriber, transcribe_async
from flutex.host.voice.tts import Synthesizer

MUTE_TAIL_S = 0.4

Respond = Callable[[str], Awaitable[str]]
# Starts playing mono float samples at a rate in Hz and returns at once (as `tutor.lesson.demo.Speaker.play`).
Play = Callable[[np.ndarray, int], None]


@dataclass(frozen=True)
class TurnLatency:
    """One spoken turn's delays in seconds, each from the end of the previous stage."""

    endpoint_s: float  # end of speech -> end decided: the silence waited for (on the stream's own clock)
    transcribe_s: float  # -> transcript ready
    respond_s: float  # -> reply text ready (the agent)
    speak_s: float  # -> reply synthesized and its first sample handed to the speaker

    @property
    def total_s(self) -> float:
        """From the end of the student's speech to the reply starting to play (plus the device's output latency)."""
        return self.endpoint_s + self.transcribe_s + self.respond_s + self.speak_s


def summary(latencies: list[TurnLatency]) -> dict[str, tuple[float, float]]:
    """(median, max) of each stage and of the total, for reports and benchmarks."""
    stages = {
        "endpoint_s": [turn.endpoint_s for turn in latencies],
        "transcribe_s": [turn.transcribe_s for turn in latencies],
        "respond_s": [turn.respond_s for turn in latencies],
        "speak_s": [turn.speak_s for turn in latencies],
        "total_s": [turn.total_s for turn in latencies],
    }
    return {name: (statistics.median(values), max(values)) for name, values in stages.items() if values}


class VoiceLoop:
    """Listens on `blocks` (mono `TimedBlock`s at `rate_hz`, e.g. `MicrophoneStream.timed_blocks()`) and answers
    each utterance through `respond` and the synthesizer, until the blocks end.

    `respond(text)` returns the reply to say ("" says nothing); an exception from it or the recogniser ends `run`.
    `on_heard(text)` / `on_reply(text)` see each transcript and reply as soon as they exist. `latencies` holds one
    `TurnLatency` per answered utterance; `unclear` counts utterances that gave no words; `muted_blocks` counts the
    blocks dropped while the agent spoke.
    """

    def __init__(
        self,
        transcriber: Transcriber,
        synthesizer: Synthesizer,
        respond: Respond,
        play: Play,
        rate_hz: int,
        *,
        on_heard: Callable[[str], None] = lambda text: None,
        on_reply: Callable[[str], None] = lambda text: None,
        settings: EndpointSettings | None = None,
        mute_tail_s: float = MUTE_TAIL_S,
    ) -> None:
        self.transcriber = transcriber
        self.synthesizer = synthesizer
        self.respond = respond
        self.play = play
        self.rate_hz = rate_hz
        self.on_heard = on_heard
        self.on_reply = on_reply
        self.mute_tail_s = mute_tail_s
        self.endpointer = Endpointer(rate_hz, settings)
        self.latencies: list[TurnLatency] = []
        self.unclear = 0
        self.muted_blocks = 0
        self._speaking_until = -math.inf  # monotonic time the current reply finishes playing
        self._muted_until = -math.inf
        self._was_muted = False

    def muted(self, now_s: float | None = None) -> bool:
        """Whether audio captured at `now_s` (monotonic; default now) is the agent's own voice to be dropped."""
        return (time.monotonic() if now_s is None else now_s) < self._muted_until

    async def run(self, blocks: AsyncIterator[TimedBlock]) -> None:
        """Listen and answer until `blocks` ends; the utterances heard by then are all answered before returning.
        An error while answering (the recogniser, `respond`, the synthesizer) stops listening at once and is raised
        here as it was raised (a `FlutexError` stays one, for the command line's one-line message)."""
        utterances: asyncio.Queue[tuple[Utterance, float] | None] = asyncio.Queue()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._answer_all(utterances))
                group.create_task(self._listen_all(blocks, utterances))
        except BaseExceptionGroup as failure:  # the first failure; the rest are what it cancelled
            raise failure.exceptions[0] from None

    async def speak(self, text: str) -> float:
        """Say `text` (after any reply still playing), muting the microphone meanwhile; returns the monotonic time
        its first sample was handed to the speaker. Usable on its own, e.g. for a greeting."""
        speech = await asyncio.to_thread(self.synthesizer.synthesize, text)
        await asyncio.sleep(max(0.0, self._speaking_until - time.monotonic()))  # one reply at a time
        started_s = time.monotonic()
        self._speaking_until = started_s + speech.duration_s
        self._muted_until = self._speaking_until + self.mute_tail_s
        self.endpointer.reset()  # speech in progress when the agent starts talking is cut: drop it
        self.play(speech.samples, speech.rate_hz)
        return started_s

    async def _listen_all(
        self, blocks: AsyncIterator[TimedBlock], utterances: asyncio.Queue[tuple[Utterance, float] | None]
    ) -> None:
        async for block in blocks:
            for utterance in self._listen(block):
                utterances.put_nowait((utterance, time.monotonic()))
        for utterance in self.endpointer.flush():
            utterances.put_nowait((utterance, time.monotonic()))
        utterances.put_nowait(None)

    def _listen(self, block: TimedBlock) -> list[Utterance]:
        if self.muted(block.adc_s):
            self.muted_blocks += 1
            self._was_muted = True
            return []
        if self._was_muted:  # start afresh after the mute: no utterance spans the agent's reply
            self.endpointer.reset()
            self._was_muted = False
        return self.endpointer.feed(block.samples, block.first_sample / self.rate_hz)

    async def _answer_all(self, utterances: asyncio.Queue[tuple[Utterance, float] | None]) -> None:
        while (item := await utterances.get()) is not None:
            await self._answer(*item)

    async def _answer(self, utterance: Utterance, decided_s: float) -> None:
        text = await transcribe_async(self.transcriber, utterance.samples, utterance.rate_hz)
        heard_s = time.monotonic()
        if not text:
            self.unclear += 1
            return
        self.on_heard(text)
        reply = await self.respond(text)
        replied_s = time.monotonic()
        if not reply.strip():
            return
        self.on_reply(reply)
        started_s = await self.speak(reply)
        self.latencies.append(
            TurnLatency(
                endpoint_s=utterance.decided_s - utterance.end_s,
                transcribe_s=heard_s - decided_s,
                respond_s=replied_s - heard_s,
                speak_s=started_s - replied_s,
            )
        )
