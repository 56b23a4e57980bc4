"""What a student's message asks the tutor to do, by rules, offline: English text in, the catalog's calls out.

The offline agent must never do what the student did not ask for, so the rules are written to miss rather than to
guess: a request is a verb and its object in one clause ("slow down to 60 percent", "guide my fingers"); a question
changes nothing (a question about music is at most explained), and a negated request ("don't stop") or anything in
quotes or after "says" (a title the student reads out) gives no call. What the words only imply ("slower", "stop
pressing my fingers") gives way to what the same message says outright ("66 bpm", "turn off the servos"). A fact the
student tells about themselves ("I'm left-handed", "fyi I have braces") is remembered. Titles may be misspelt
("greensleves"): a word close to one only a title has is read as that word. The data (words, phrases, numbers) sits
in `flutex.agent.phrases`; this module only applies it.

Relative changes ("slower", "softer") start from the live state the agent is given (`Context`): the tempo the
student set (percent) or the running bpm, and the hint's force. Unknown, the tempo is taken as 100% (so "slower" is
80% and "faster" 110%) and the force as a full press (1000 permille).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flutex.agent.phrases import (
    BARS,
    BARS_ALONE,
    CLAUSE_SPLIT,
    CONTRACTIONS,
    DEMO,
    EXPLAIN_QUESTION,
    EXPLAIN_TERM,
    EXPLAIN_VERB,
    EXPLAIN_WHY_STOP,
    FACT_MARKER,
    FASTER,
    GENERIC_NAME_WORDS,
    HANDS_OFF,
    HAPTICS_LEVEL,
    HAPTICS_OFF,
    HAPTICS_ON,
    INERT,
    KIND_WORDS,
    MEMORY_ASKED,
    MODES,
    MOMENT,
    NAME_STOPWORDS,
    NAMED,
    NEGATION,
    ORDINALS,
    PAUSE,
    PROGRESS,
    QUESTION_START,
    REPEAT,
    REPORTED,
    RESUME,
    SELF_FACT,
    SENTENCE_SPLIT,
    SLOWER,
    SOFTER,
    START_NO_NAME,
    START_OVER,
    START_VERB,
    STOP,
    STRENGTH_STEP,
    STRENGTH_WORDS,
    STRONGER,
    TEMPO_BPM,
    TEMPO_FASTER,
    TEMPO_NUMBER,
    TEMPO_PERCENT,
    TEMPO_SLOWER,
    TEMPO_WORD,
    TEMPO_WORDS,
    TENS,
    TIMES,
    TIMES_WORDS,
    TITLE_TYPO,
    TOPIC_WORDS,
    UNITS,
    UNKNOWN_STRENGTH,
    UNKNOWN_TEMPO_PERCENT,
    VIEW,
    VIEWS,
    WAIT,
)
from flutex.tutor.actions.catalog import ACTIONS, MAX_PERCENT, MAX_STRENGTH, MIN_PERCENT

Call = tuple[str, dict[str, Any]]

# ---------------------------------------------------------------------------------------------------------------
# Logic.


@dataclass(frozen=True)
class Context:
    """What the rules may use beyond the message: the names they can start, and the live state's numbers."""

    pieces: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    span: tuple[int, int] | None = None  # the bars now or last played
    tempo_percent: int | None = None  # the tempo the student set
    bpm: float | None = None  # the running tempo
    strength: int | None = None  # permille of the current press
    piece_bars: int | None = None


@dataclass(frozen=True)
class Missing:
    """An action the student asked for that needs an answer first (which bars, which lesson)."""

    action: str
    question: str


@dataclass(frozen=True)
class Implied:
    """A call the words only imply ("slower", "stop pressing my fingers"): dropped when the message also says it
    outright ("a bit slower, maybe 66 bpm")."""

    call: Call


@dataclass(frozen=True)
class Request:
    """The calls a message asks for, and what must be asked back before the rest can be done."""

    calls: tuple[Call, ...] = ()
    questions: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()  # actions asked for whose arguments are missing (they wait for the answer)

    def changes_state(self) -> bool:
        """Whether anything asked for (done or waiting for an answer) changes the tutor's state."""
        names = [name for name, _ in self.calls] + list(self.unresolved)
        return any(not ACTIONS[name].READ_ONLY for name in names)


def understand(text: str, context: Context = Context()) -> Request:
    """The calls `text` asks for, in the order the student said them (a lesson start first, a stop last)."""
    reading = _Reading(context)
    for sentence in SENTENCE_SPLIT.split(_unquoted(text)):
        before, fact, after = _fact_span(sentence, context)
        reading.read(before)
        if fact:
            reading.said(("remember", {"fact": fact}))
        reading.read(after)
    return reading.request()


@dataclass
class _Reading:
    """A message being read clause by clause: the calls found where they were said, and the bars named last (so
    "play bars 1-2, then let me repeat them" repeats bars 1-2)."""

    context: Context
    found: list[tuple[int, Call]] = field(default_factory=list)
    implied: list[tuple[int, Call]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    offset: int = 0

    def read(self, sentence: str) -> None:
        text = _normalized(REPORTED.sub(" ", sentence), self.context)
        asked = bool(QUESTION_START.match(text))  # "what's the difference between guided and corrective?"
        for clause in CLAUSE_SPLIT.split(text)[0::2]:
            for position, outcome in _clause(clause.strip(), self.context, asked):
                if isinstance(outcome, Missing):
                    self.questions.append(outcome.question)
                    self.unresolved.append(outcome.action)
                elif isinstance(outcome, Implied):
                    self.implied.append((self.offset + position, outcome.call))
                else:
                    self.found.append((self.offset + position, outcome))
            if named := BARS.search(clause):
                first = int(named.group(1))
                self.context = replace(self.context, span=(first, int(named.group(2) or first)))
            self.offset += 1000

    def said(self, call: Call) -> None:
        self.found.append((self.offset, call))
        self.offset += 1000

    def request(self) -> Request:
        explicit = [call for _, call in self.found]
        found = self.found + [(at, call) for at, call in self.implied if not any(_covers(c, call) for c in explicit)]
        calls = [call for _, call in sorted(found, key=lambda item: (_rank(item[1][0]), item[0]))]
        calls = [call for number, call in enumerate(calls) if call not in calls[:number]]  # said twice, done once
        return Request(tuple(calls), tuple(dict.fromkeys(self.questions)), tuple(self.unresolved))


COVERS = (  # (said outright, what it already does that other words implied)
    (("set_haptics", {"enabled": False}), ("set_mode", {"mode": "free"})),
    (("wait", {}), ("pause", {})),
)


def _covers(said: Call, implied: Call) -> bool:
    """Whether a call said outright already does what other words only implied: "a bit slower, maybe 66 bpm" is
    66 bpm, "stop pressing my fingers, turn off the servos" is haptics off."""
    return said[0] == implied[0] or (said, implied) in COVERS


def _fact_span(sentence: str, context: Context) -> tuple[str, str | None, str]:
    """The sentence cut around the fact it tells (text before, the fact, text after): a fact starts a clause ("I'm
    left-handed btw, and can we do guided mode") and runs on over the clauses that ask for nothing, or, asked to be
    remembered, to the end of the sentence ("remember that I like hints and slower tempos")."""
    parts = CLAUSE_SPLIT.split(sentence)  # clause, separator, clause, ...
    clauses = parts[0::2]
    for first, clause in enumerate(clauses):
        plain = _digits(_plain(clause))
        if MEMORY_ASKED.match(plain):
            last = len(clauses)
        elif SELF_FACT.match(plain):
            last = first + 1
            while last < len(clauses) and not any(_clause(_normalized(clauses[last], context), context, False)):
                last += 1
        else:
            continue
        start, end = len("".join(parts[: 2 * first])), len("".join(parts[: 2 * last - 1]))
        return sentence[:start], _fact(sentence[start:end]), sentence[end:]
    return sentence, None, ""


def _rank(name: str) -> int:
    """A lesson must run before it is set up, and a stop ends everything said with it."""
    return {"start_lesson": 0, "stop": 2}.get(name, 1)


def _unquoted(text: str) -> str:
    """The message without what it quotes (a title or a note read out is data, never a request), in plain ASCII
    ("Frère" is "Frere", as the library spells it)."""
    text = unicodedata.normalize("NFKD", re.sub(r"[\u2010-\u2015]", "-", text)).encode("ascii", "ignore").decode()
    text = re.sub(r'"([^"]*)"?', _inert, text)
    return re.sub(r"(?:(?<=\s)|^)'([^']*)'(?=\W|$)", _inert, text)


def _inert(quote: re.Match[str]) -> str:
    """Quoted words marked so that no rule reads them as a request; only an explanation may name them ("what does
    "staccato" mean")."""
    return " " + " ".join(INERT + word for word in re.findall(r"[A-Za-z]+", quote.group(1))) + " "


def _fact(said: str) -> str | None:
    """The fact as the student said it, without what introduced it ("remember that", "fyi"), within what the store
    keeps."""
    fact = FACT_MARKER.sub("", said.strip()).strip(" ,.;:!")
    if not fact:
        return None
    fact = fact[0].upper() + fact[1:]
    return fact if len(fact) <= 200 else fact[:200].rsplit(" ", 1)[0]


def _plain(sentence: str) -> str:
    """Lower case, contractions spelt out, only words and numbers left."""
    text = " " + sentence.lower().replace("\u2019", "'") + " "
    text = re.sub(r"[^a-z0-9%'\-, ]", " ", text.replace(",", " , "))
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)
    for word, spelt in CONTRACTIONS.items():
        text = re.sub(rf"\b{word}(?=\W)", spelt, text)
    text = re.sub(r"n't\b", " not", text).replace("'", " ")
    text = text.replace("%", " percent").replace(" per cent", " percent")
    return re.sub(r"\s+", " ", text).strip()


def _normalized(sentence: str, context: Context) -> str:
    """Lower case, contractions spelt out, names replaced by placeholders, numbers as digits, bars as `bars A-B`."""
    text = " " + _plain(sentence) + " "
    text = _respelt(text, context.plans + context.pieces)
    text = _named(text, "plan", context.plans, context.pieces)
    text = _named(text, "piece", context.pieces, context.plans)
    text = _digits(text)
    text = _bars(text, context)
    return re.sub(r"\s+", " ", text).strip()


def _named(text: str, kind: str, names: Sequence[str], other_names: Sequence[str]) -> str:
    """Each name the text mentions as `kindrefN`: all its words close together in any order ("the static first
    lesson", "twinkle"), a word of it no other name has ("the minuet"), or a word before what names its kind ("the
    breathing lesson", "the scale piece")."""
    spelt = {index: _words(name) for index, name in enumerate(names)}
    elsewhere = {word for name in other_names for word in _words(name)}
    tokens = text.split()
    for index, words in sorted(spelt.items(), key=lambda item: -len(set(item[1]))):
        needed = {word for word in words if word not in NAME_STOPWORDS}
        places = [tokens.index(word) for word in needed if word in tokens]
        if len(places) == len(needed) and max(places) - min(places) < 2 * len(needed) + 2:
            first, last = min(places), max(places)
        else:
            same_kind = {word for other, more in spelt.items() if other != index for word in more}
            own = [
                place
                for place, token in enumerate(tokens)
                if token in needed - same_kind - elsewhere - GENERIC_NAME_WORDS
            ]
            own += [
                place
                for place, token in enumerate(tokens[:-1])
                if token in needed - same_kind and tokens[place + 1] in KIND_WORDS[kind]
            ]
            own = [place for place in own if len(tokens[place]) > 3]  # "au" or "g" alone names nothing
            if not own:
                continue
            first = last = own[0]
        while first > 0 and tokens[first - 1] in words:
            first -= 1
        while last + 1 < len(tokens) and (
            tokens[last + 1] in words or tokens[last + 1 : last + 3] == ["little", "star"]
        ):
            last += 1
        tokens[first : last + 1] = [f"{kind}ref{index}"]
    return " " + " ".join(tokens) + " "


def _respelt(text: str, names: Sequence[str]) -> str:
    """Words misspelt close to a word only a title has spelt as the title does ("greensleves", "twinkel"), so a title
    said loosely is still found; number words and common ones are never respelt."""
    title_words = {word for name in names for word in _words(name)}
    distinct = [word for word in title_words if len(word) >= 5 and word not in GENERIC_NAME_WORDS]
    numbers = {*UNITS, *TENS, *ORDINALS, "hundred"}

    def respelt(token: str) -> str:
        if len(token) < 5 or token in title_words or token in numbers:
            return token
        close = difflib.get_close_matches(token, distinct, n=1, cutoff=TITLE_TYPO)
        return close[0] if close else token

    return " ".join(respelt(token) for token in text.split(" "))


def _words(name: str) -> list[str]:
    return name.lower().replace("_", " ").replace("-", " ").split()


def _digits(text: str) -> str:
    """Number words as digits ("seventy five" -> 75, "twice" -> "2 times")."""
    for word, spelt in TIMES_WORDS.items():
        text = re.sub(rf"\b{word}\b(?! more)", spelt, text)
    unit = "|".join(UNITS)
    tens = "|".join(TENS)
    pattern = rf"\b(?:(?:a|{unit}) hundred(?: and)? ?)?(?:(?:{tens})(?: ?(?:{unit}))?|{unit})\b|\b(?:a|one) hundred\b"

    def value(match: re.Match[str]) -> str:
        words = match.group(0).replace(" and", "").split()
        total = 0
        for word in words:
            if word == "hundred":
                total = max(total, 1) * 100
            elif word in TENS:
                total += TENS[word]
            elif word in UNITS:
                total += UNITS.index(word)
            elif word == "a":
                total += 1
        return str(total)

    return re.sub(pattern, value, text)


def _bars(text: str, context: Context) -> str:
    """Every way of naming bars as `bars A-B` or `bar A`: "the first 2 bars", "the third bar", "bars 3 and 4"."""
    ordinal = "|".join(ORDINALS)
    text = re.sub(
        rf"\b({ordinal})\b(?=(?: (?:and|to|through)(?: the)? (?:{ordinal}))? bars?\b)",
        lambda match: f"#{ORDINALS.index(match.group(1)) + 1}",
        text,
    )
    text = re.sub(r"\b(?:the )?first (\d+) bars\b", r"bars 1-\1", text)
    text = re.sub(r"\b(?:the )?first bar\b", "bar 1", text)
    text = re.sub(r"\b(?:the )?#(\d+) (?:and|to|through)(?: the)? #(\d+) bars\b", r"bars \1-\2", text)
    text = re.sub(r"\b(?:the )?#(\d+) bar\b", r"bar \1", text)
    if context.piece_bars is not None:
        last = context.piece_bars
        text = re.sub(
            r"\b(?:the )?last (\d+) bars\b", lambda match: f"bars {max(1, last - int(match.group(1)) + 1)}-{last}", text
        )
        text = re.sub(r"\b(?:the )?last bar\b", f"bar {last}", text)
    text = re.sub(
        r"\b(?:from )?bars? (\d+) ?(?:-|to|through|thru|till|until|and) ?(?:bar |bars )?(\d+)\b", r"bars \1-\2", text
    )
    return text


Outcome = Call | Missing | Implied


@dataclass
class _Clause:
    """One clause being read: what is left of it (matched words blanked, so no two rules take the same words)."""

    text: str
    context: Context
    question: bool  # asked as a question ("what is ...", "who wrote ..."): only explanations and reading
    found: list[tuple[int, Outcome]] = field(default_factory=list)

    def has(self, *names: str) -> bool:
        calls = [outcome.call if isinstance(outcome, Implied) else outcome for _, outcome in self.found]
        return any(not isinstance(call, Missing) and call[0] in names for call in calls)


Rule = Callable[[_Clause, re.Match[str]], Outcome | None]


def _clause(text: str, context: Context, asked: bool) -> list[tuple[int, Outcome]]:
    """The requests in one clause, each with where it was said: the rules in RULES' order, each on what the earlier
    ones left, a match after a negation ("do not stop") skipped unless the rule's phrase carries the negation.
    `asked`: the clause is part of a question even if it does not start as one."""
    clause = _Clause(text, context, asked or bool(QUESTION_START.match(text)))
    for pattern, rule, negatable in RULES:
        for match in list(pattern.finditer(clause.text)):
            if negatable and NEGATION.search(clause.text[: match.start()]):
                continue
            outcome = rule(clause, match)
            if outcome is not None:
                clause.found.append((match.start(), outcome))
                clause.text = clause.text[: match.start()] + "|" * len(match.group(0)) + clause.text[match.end() :]
    return clause.found


def _call(name: str, **arguments: Any) -> Rule:
    """A rule that always gives the same call."""
    return lambda clause, _: (name, arguments)


def _unless_question(rule: Rule) -> Rule:
    """A request a question does not make ("who wrote ode to joy?" starts nothing, "why stop?" stops nothing)."""
    return lambda clause, match: None if clause.question else rule(clause, match)


def _implied(rule: Rule) -> Rule:
    """The rule's call, as only implied by the words."""

    def implied(clause: _Clause, match: re.Match[str]) -> Outcome | None:
        outcome = rule(clause, match)
        return Implied(outcome) if isinstance(outcome, tuple) else outcome

    return implied


def _one_mode(mode: str) -> Rule:
    """One mode a clause: the first the MODES table finds ("nudge me when I'm wrong" is corrective, not hint)."""
    return lambda clause, _: None if clause.has("set_mode") else ("set_mode", {"mode": mode})


def _explained(clause: _Clause, match: re.Match[str]) -> Call | None:
    topic = next((group for group in match.groups() if group), match.group(0))
    return _explain(topic, any_topic=match.re in (EXPLAIN_VERB, EXPLAIN_TERM))


def _start(clause: _Clause, match: re.Match[str]) -> Outcome | None:
    """A named plan or piece after a verb that starts it ("let's do twinkle twinkle", "start the first lesson")."""
    if not START_VERB.search(clause.text[: match.start()]) and not match.group(3):
        return None
    kind, index = match.group(1), int(match.group(2))
    names = clause.context.plans if kind == "plan" else clause.context.pieces
    return ("start_lesson", {kind: names[index]})


def _which_lesson(clause: _Clause, _: re.Match[str]) -> Missing | None:
    if clause.has("start_lesson"):
        return None
    known = ", ".join([*clause.context.plans, *clause.context.pieces]) or "a plan's name or a library piece"
    return Missing("start_lesson", f"Which lesson shall we start? I know: {known}.")


def _bars_of(clause: _Clause) -> tuple[int, int] | None:
    """The bars a clause names, else the bars being played."""
    match = BARS.search(clause.text)
    if match is None:
        return clause.context.span
    first = int(match.group(1))
    return first, int(match.group(2) or first)


def _repeat(clause: _Clause, _: re.Match[str]) -> Outcome | None:
    if clause.has("play_demo", "repeat_segment", "show_view", "explain"):  # the bars were theirs
        return None
    bars = _bars_of(clause)
    if bars is None:
        return Missing("repeat_segment", 'Which bars shall we play again? Say, for example, "bars 3 to 4".')
    times = TIMES.search(clause.text)
    count = int(next(group for group in times.groups() if group)) if times else 1
    return ("repeat_segment", {"start_bar": bars[0], "end_bar": bars[1], "times": count})


def _demo(clause: _Clause, _: re.Match[str]) -> Outcome:
    bars = _bars_of(clause)
    if bars is None and clause.context.piece_bars is not None:
        bars = (1, clause.context.piece_bars)
    if bars is None:
        return Missing("play_demo", 'Which bars shall I play for you? Say, for example, "bars 1 to 2".')
    return ("play_demo", {"start_bar": bars[0], "end_bar": bars[1]})


def _strength_level(_: _Clause, match: re.Match[str]) -> Call:
    percent, word, percent_alone, word_alone = match.groups()
    level = percent or percent_alone
    named = STRENGTH_WORDS[word or word_alone] if not level else 0
    return ("set_haptics", {"enabled": True, "strength": int(level) * 10 if level else named})


def _strength_step(step: int) -> Rule:
    def rule(clause: _Clause, _: re.Match[str]) -> Call:
        current = UNKNOWN_STRENGTH if clause.context.strength is None else clause.context.strength
        return ("set_haptics", {"enabled": True, "strength": min(MAX_STRENGTH, max(0, current + step))})

    return rule


def _tempo(clause: _Clause, match: re.Match[str]) -> Call | None:
    """A tempo said outright: bpm, percent, or in words ("half speed")."""
    if match.re is TEMPO_PERCENT:
        return ("set_tempo", {"percent": int(match.group(1))})
    if match.re is TEMPO_WORD:
        return ("set_tempo", {"percent": TEMPO_WORDS[match.group(1) or "full"]})
    return ("set_tempo", {"bpm": float(match.group(1))})


def _tempo_step(factors: dict[str, float]) -> Rule:
    """A tempo relative to the current one: the percent the student set, else the running bpm, else 100%."""

    def rule(clause: _Clause, match: re.Match[str]) -> Call | None:
        if clause.has("set_tempo"):
            return None
        factor = next(value for said, value in factors.items() if said in match.group(0))
        context = clause.context
        if context.tempo_percent is None and context.bpm is not None:
            return ("set_tempo", {"bpm": float(round(context.bpm * factor))})
        current = UNKNOWN_TEMPO_PERCENT if context.tempo_percent is None else context.tempo_percent
        return ("set_tempo", {"percent": min(MAX_PERCENT, max(MIN_PERCENT, round(current * factor)))})

    return rule


def _view(_: _Clause, match: re.Match[str]) -> Call:
    return ("show_view", {"view": VIEWS[next(group for group in match.groups() if group)]})


RULES: tuple[tuple[re.Pattern[str], Rule, bool], ...] = (  # (phrase, what it asks for, whether "not" cancels it)
    (EXPLAIN_WHY_STOP, _explained, True),
    (EXPLAIN_VERB, _explained, True),
    (EXPLAIN_QUESTION, lambda clause, match: _explained(clause, match) if clause.question else None, True),
    (EXPLAIN_TERM, _explained, True),
    (WAIT, _call("wait"), True),
    (DEMO, _demo, True),
    (VIEW, _view, True),
    (PROGRESS, _call("progress"), True),
    *(
        (pattern, _unless_question(rule), negatable)  # a question ("is it too fast?") changes nothing
        for pattern, rule, negatable in (
            (START_OVER, _repeat, True),
            (NAMED, _start, True),
            (START_NO_NAME, _which_lesson, True),
            (HAPTICS_OFF, _call("set_haptics", enabled=False), True),
            (HAPTICS_LEVEL, _strength_level, True),
            (HAPTICS_ON, _call("set_haptics", enabled=True), True),
            (SOFTER, _implied(_strength_step(-STRENGTH_STEP)), True),
            (STRONGER, _implied(_strength_step(STRENGTH_STEP)), True),
            (TEMPO_BPM, _tempo, True),
            (TEMPO_PERCENT, _tempo, True),
            (TEMPO_WORD, _tempo, True),
            (TEMPO_NUMBER, _tempo, True),
            (TEMPO_SLOWER, _implied(_tempo_step(SLOWER)), True),
            (TEMPO_FASTER, _implied(_tempo_step(FASTER)), True),
            (HANDS_OFF, _implied(_one_mode("free")), False),
            *((pattern, _one_mode(mode), mode != "free") for mode, pattern in MODES),
            (REPEAT, _repeat, True),
            (BARS_ALONE, _repeat, True),
            (PAUSE, _call("pause"), True),
            (MOMENT, _implied(_call("pause")), True),
            (RESUME, _call("resume"), True),
            (STOP, _call("stop"), True),
        )
    ),
)


def _explain(text: str, any_topic: bool = False) -> Call | None:
    """The topic a question names (the longest known word in it), or, asked with "explain", whatever follows."""
    words = sorted(TOPIC_WORDS, key=len, reverse=True)
    for word in words:
        if re.search(rf"\b{re.escape(word)}\b", text):
            return ("explain", {"topic": TOPIC_WORDS[word]})
    topic = re.sub(rf"\b(?:to me|please|mode)\b|\b{INERT}", "", text).strip()
    return ("explain", {"topic": topic[:60]}) if any_topic and topic else None


def read_live_state(text: str, context: Context = Context()) -> Context:
    """`context` with the numbers of a live state's compact text (tutor/actions/state.py `LiveState.compact`): the
    "now:", "recent:", "student set:" and "piece:" lines. Only numbers are read, never words, and only from lines
    that start so: a quoted title or note cannot become a request."""
    found: dict[str, Any] = {}
    for line in text.splitlines():
        if now := re.match(r"now: bars? (\d+)(?:-(\d+))?, (\w+)(?: (\d+))?(?:, (\d+(?:\.\d+)?) bpm)?", line):
            found["span"] = (int(now.group(1)), int(now.group(2) or now.group(1)))
            if now.group(4) or now.group(3) == "guided":
                found["strength"] = int(now.group(4) or MAX_STRENGTH)
            if now.group(5):
                found["bpm"] = float(now.group(5))
        elif last := re.match(r"recent: .*#\d+ bars? (\d+)(?:-(\d+))? \w+(?: \d+)? (\d+)bpm [^;]*$", line):
            found.setdefault("span", (int(last.group(1)), int(last.group(2) or last.group(1))))
            found.setdefault("bpm", float(last.group(3)))
        elif line.startswith("student set:"):
            if percent := re.search(r"\btempo_percent (\d+)", line):
                found["tempo_percent"] = int(percent.group(1))
            if force := re.search(r"\bstrength (\d+)", line):
                found["strength"] = int(force.group(1))
        elif whole := re.match(r"piece: bars 1-(\d+)", line):
            found["piece_bars"] = int(whole.group(1))
    return replace(context, **found)
