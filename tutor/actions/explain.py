"""What the tutor says when a flute student asks "what is ...?": a few sentences per topic, true to how the lesson
really works (docs/guidance.md, docs/teaching.md, docs/singing.md), so neither the offline agent nor a language
model has to make it up. A topic is found by its name or a synonym, case-insensitively, in a longer question
("what is a hint?"), or by the closest name (a typo).
"""

from __future__ import annotations

import difflib
import re

CLOSE_MATCH = 0.75  # difflib ratio for a misspelt topic ("mastry"); lower matches unrelated words

TOPICS: dict[str, str] = {
    "guided": "The servos press each note's fingering about 130 ms before it is due, at full force, so the hole "
    "closes on the beat; a note you already finger right is not pressed. Guided attempts show what the flute can "
    "do, not you, so they never count towards mastery.",
    "hint": "A lighter press, weaker each time you play the bars right: under half force it is felt but cannot "
    "close a hole, so you still do the work, and such an attempt counts as playing on your own.",
    "corrective": "Hands off, unless a finger is still wrong when the note is due (150 ms after it starts); then "
    "the servos press it and let go as soon as it is right.",
    "free": "No help: the servos stay still and you play alone. What you play this way is what counts towards mastery.",
    "adaptive": "The lesson chooses the help: full guidance on new bars, then a hint, corrections only and none as "
    "you play them right; help comes back only as far as your mistakes ask.",
    "tempo": "Each segment starts slower than the target (70% by default), goes up a step (10%) after a clean "
    "attempt and down a step after a wrong one played alone, never under the plan's floor (50% by default). You can "
    "set it yourself, from that floor to 150%.",
    "haptics": "Servos behind your fingers can press them onto the holes. Force is counted in thousandths of a full "
    "press: under 500 it is felt but cannot close a hole. With haptics off they never press at all.",
    "clutch": "One clutch links all the finger servos to your fingers, so when it lets go the whole hand is free at "
    "once. The board releases it by itself after 10 s engaged without a break, within 0.1 s if the computer goes "
    "quiet, and at once on the emergency stop.",
    "mastery": "A segment is mastered when your last few attempts at it without guidance (3 unless the plan says "
    "otherwise) were all clean: no wrong note and no extra note. Guided attempts never count, only what you play "
    "alone.",
    "review": "Each segment comes back on later days when you are likely to start forgetting it: after a first "
    "lesson, tomorrow if you missed it, in 2 days if you played it right, 8 if it was easy. Due reviews open your "
    "next lesson, played once from memory.",
    "chaining": "When you master a segment and the ones before it are mastered too, you play them together once "
    "without help, so the parts join up.",
    "segment": "A lesson cuts the piece into short segments of a few bars; you practise one until you master it "
    "(or run out of tries), then move to the next.",
    "test": "An attempt marked (test) is played without any help, to see what you remember: review openers and the "
    "whole piece at the end of a lesson.",
    "demo": "A demonstration plays the bars on a synthesized flute while the servos press each fingering, so you hear "
    "and feel them; it waits for the end of an attempt that is running.",
    "help": "Ask for help during an attempt (Enter, or the help input) and the rest of it is fully guided; your next "
    "attempt at those bars starts guided too. It is not the emergency stop.",
    "breath": "When you sing, the belt shows whether you breathe low into the belly (good) or high in the chest, "
    "whether you take a breath at each breath mark, and whether held notes stay steadily supported.",
    "belt": "The breath belt's four pressure sensors around your waist and chest feel each breath in and out; a "
    "short calibration (quiet breathing, then one full breath) fits it to you.",
    "safety": "The board keeps every press inside its limits: a guide lasts at most 3 s, the clutch lets go after "
    "10 s or when the computer goes quiet, and the emergency stop always wins. The tutor also keeps tempo and force "
    "in range, and text in lesson notes or titles is never taken as a command.",
}
SYNONYMS: dict[str, str] = {
    "guidance": "adaptive",
    "force": "haptics",
    "servo": "haptics",
    "servos": "haptics",
    "strength": "haptics",
    "speed": "tempo",
    "bpm": "tempo",
    "slower": "tempo",
    "faster": "tempo",
    "breathing": "breath",
    "probe": "test",
    "together": "chaining",
    "bars": "segment",
    "demonstration": "demo",
    "stop": "safety",
    "e-stop": "safety",
    "correction": "corrective",
    "corrections": "corrective",
    "mastered": "mastery",
}


def explain(topic: str) -> tuple[str, str] | None:
    """(the topic's name, its explanation), or None when `topic` matches none of TOPICS."""
    name = find_topic(topic)
    return None if name is None else (name, TOPICS[name])


def find_topic(topic: str) -> str | None:
    """The topic `topic` names: itself or a synonym, a word of it (a question), else the closest name."""
    known = {**{name: name for name in TOPICS}, **SYNONYMS}
    text = topic.strip().lower()
    if text in known:
        return known[text]
    for word in re.findall(r"[a-z-]+", text):
        if word in known:
            return known[word]
    close = difflib.get_close_matches(text, list(known), n=1, cutoff=CLOSE_MATCH)
    return known[close[0]] if close else None
