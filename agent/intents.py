"""What a student's message asks the tutor to do, by rules, offline: English text in, the catalog's calls out.

The offline agent must never do what the student did not ask for, so the rules are written to miss rather than to
guess: a request is a verb and its object in one clause ("slow down to 60 percent", "guide my fingers"); a question
changes nothing (a question about music is at most explained), and a negated request ("don't stop") or anything in
quotes or after "says" (a title the student reads out) gives no call. What the words only imply ("slower", "stop
pressing my fingers") gives way to what the same message says outright ("66 bpm", "turn off the servos"). A fact the
student tells about themselves ("I'm left-handed", "fyi I have braces") is remembered. Titles may be misspelt
("greensleves"): a word close to one only a title has is read as that word. The data (words, phrases, numbers) sits
in the tables at the top; the logic below only applies them.

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

from flutex.tutor.actions.catalog import ACTIONS, MAX_PERCENT, MAX_STRENGTH, MIN_PERCENT
from flutex.tutor.actions.explain import TOPICS

Call = tuple[str, dict[str, Any]]

# ---------------------------------------------------------------------------------------------------------------
# Data: the words the rules know.

CONTRACTIONS = {
    "won't": "will not",
    "can't": "can not",
    "cannot": "can not",
    "let's": "let us",
    "lets": "let us",
    "i'm": "i am",
    "i'd": "i would",
    "i'll": "i will",
    "i've": "i have",
    "it's": "it is",
    "that's": "that is",
    "what's": "what is",
    "how's": "how is",
    "who's": "who is",
    "where's": "where is",
    "we're": "we are",
    "you're": "you are",
    "gonna": "going to",
    "wanna": "want to",
    "dunno": "do not know",
    # written as spoken or texted
    "im": "i am",
    "ive": "i have",
    "dont": "do not",
    "doesnt": "does not",
    "whats": "what is",
    "thats": "that is",
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "practicing": "practising",
    "measures": "bars",
    "measure": "bar",
}
UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
]
TIMES_WORDS = {"once": "1 times", "twice": "2 times", "thrice": "3 times"}

# tempo changes relative to the current one (a factor), and settings in words
SLOWER = {"2 times as": 0.5, "much": 0.7, "a lot": 0.7, "a bit": 0.9, "a little": 0.9, "": 0.8}  # word -> factor
FASTER = {"much": 1.2, "a lot": 1.2, "a bit": 1.05, "a little": 1.05, "": 1.1}
STRENGTH_WORDS = {"half": MAX_STRENGTH // 2, "full": MAX_STRENGTH, "maximum": MAX_STRENGTH, "max": MAX_STRENGTH}
TEMPO_WORDS = {
    "half": 50,
    "3 quarter": 75,
    "3 quarters": 75,
    "full": 100,
    "normal": 100,
    "original": 100,
    "target": 100,
}
INERT = "qq"  # the mark on a quoted word (no word of the rules starts so)
UNKNOWN_TEMPO_PERCENT = 100
STRENGTH_STEP = 250  # permille a "softer" or "stronger" moves the press
UNKNOWN_STRENGTH = MAX_STRENGTH

VIEWS = {  # word the student says -> the view
    "breathing": "breath",
    "breath": "breath",
    "belt": "breath",
    "pitch": "pitch",
    "tuning": "pitch",
    "tuner": "pitch",
    "intonation": "pitch",
    "in tune": "pitch",
    "fingerings": "fingering",
    "fingering": "fingering",
    "finger chart": "fingering",
    "fingers": "fingering",
    "progress": "progress",
}
TOPIC_WORDS = {  # word the student says -> the explain topic (the tutor also matches names loosely)
    **{topic: topic for topic in TOPICS},
    "guidance": "guidance",
    "guiding": "guidance",
    "guide": "guidance",
    "motors": "haptics",
    "motor": "haptics",
    "servos": "haptics",
    "servo": "haptics",
    "haptic": "haptics",
    "vibration": "haptics",
    "speed": "tempo",
    "bpm": "tempo",
    "breathing": "breath",
    "mastered": "mastery",
    "master": "mastery",
    "reviews": "review",
    "spaced repetition": "review",
    "safe": "safety",
    "demonstration": "demo",
    "segments": "segment",
    "guided mode": "guided",
}
TITLE_TYPO = 0.85  # difflib ratio for a misspelt title word: "twinkel" is twinkle, "minute" is not minuet
GENERIC_NAME_WORDS = {"amazing", "old", "first", "lesson", "static", "note", "five", "breathing", "in", "g"}
KIND_WORDS = {"plan": ("lesson", "plan"), "piece": ("piece", "song", "tune")}  # "the scale piece"
NAME_STOPWORDS = {"to", "in", "de", "la", "the", "a", "of"}

# ---------------------------------------------------------------------------------------------------------------
# Phrases: regular expressions over normalized text (lower case, contractions spelt out, numbers as digits, bars as
# "bars 3-4"), one alternative a line.


def _either(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(alternatives))


NEGATION = re.compile(r"\b(?:not(?! sure| know)|never|no need to|no longer|rather not|nothing)\b")
REPORTED = re.compile(  # what someone else said or wrote is data, up to a "but" that turns back to the student
    r"\b(?:says|said|reads?(?! me)|wrote|writes|written|titled|called|named|told|tells)\b.*?(?=\bbut\b|$)"
)
QUESTION_START = _either(
    r"^(?!(?:how|what) about\b)(?:who|what|when|where|which|why|how|whose)\b",
    r"^(?:is|are|was|were|does|did|has|have|do you)\b",
)
CLAUSE_SPLIT = re.compile(r"(,|\b(?:and then|and|then|but|also|plus|after that)\b)", re.IGNORECASE)  # kept
SENTENCE_SPLIT = re.compile(r"[.!?;\n]+")
BARS = re.compile(r"\bbars? (\d+)(?:-(\d+))?\b")
BARS_ALONE = re.compile(  # bars said alone are bars to play ("bars 3-4 twice"); "bar 3 is hard" only tells
    r"^(?:(?:just|only|now|ok|okay|so|um|uh|the) )*bars? \d+(?:-\d+)?(?: (?:please|now|\d+ (?:more )?times))*$"
)
TIMES = _either(r"\b(\d+) (?:more )?times\b", r"\b(\d+) more\b(?! time)", r"\bx ?(\d+)\b")

FILLERS = r"(?:(?:um+|uh+|so|oh|hey|well|ok|okay|also|and|btw|by the way|oh and|just) )*"
TRANSIENT = r"(?!.*\b(?:today|tonight|right now|at the moment|this (?:morning|afternoon|evening))$)"
MEMORY_ASKED = re.compile(  # over the plain words of a clause: the student asks for the rest to be kept
    rf"^{FILLERS}(?:please )?(?:"
    r"(?:(?:can|could) you )?(?:(?:remember|keep in mind|do not forget|bear in mind)(?: that)?|note that|make a note)"
    r"|fyi|for your information|just so you know|for the future|for next time|for the record|by the way) \w"
)
SELF_FACT = re.compile(  # over the plain words of a clause: what the student tells about themselves, to be kept
    rf"^{FILLERS}{TRANSIENT}(?:"  # "I have a cold today" is not for the learner memory
    r"my name is \w|call me \w"
    r"|i (?:really )?(?:(?:like|love|hate|enjoy)(?! (?:this|that|it|you|them)\b(?: \w+)?$)|prefer|dislike"
    r"|learn (?:best|better)|find|struggle|get (?:nervous|tired)"
    r"|do not like|used to|have (?!to\b|a question|an idea|no\b|not\b|been\b|done\b|had\b|enough\b|finished\b)\w+"
    r"|(?:practi[cs]e|play|train) (?:every|each|daily|twice|on|in the|at))\b"
    r"|i am (?:\d+\b|(?:left|right) handed|a (?:\w+ )?(?:beginner|student|adult|kid|child|teacher|player|musician"
    r"|flautist|flutist)\b|(?:a bit |a little |partly |slightly )?(?:deaf|colou?r blind|dyslexic|asthmatic)\b"
    r"|in (?:grade|year|class) \d))"
)
EXPLAIN_WHY_STOP = re.compile(r"\bwhy (?:did|does|do|has|have|is) .*\b(?:stop|stopped|stopping|end|ended)\b.*")
FACT_MARKER = re.compile(  # what introduces a fact, over the words as written: the fact is kept without it
    r"^\W*(?:(?:um+|uh+|so|oh|hey|well|ok|okay|also|and|just)\W+)*(?:please\W+)?(?:(?:can|could) you\W+)?"
    r"(?:(?:remember|note|keep in mind|do not forget|don'?t forget|bear in mind|make a note|fyi|for your information"
    r"|just so you know|for the future|for next time|for the record|by the way|btw)(?:\W+that\b)?)?\W*",
    re.IGNORECASE,
)
EXPLAIN_VERB = re.compile(r"\b(?:explain|tell me (?:about|more about)|describe|meaning of)\b(?: the| a| an)? ?(.*)")
NOT_A_TOPIC = r"(?!(?:my|your|you|it|this|that|up|wrong|next|new|going|happening|there|the (?:weather|time|date))\b)"
EXPLAIN_TERM = _either(  # "what is legato?", "what does staccato mean", "tell me what a time signature is"
    rf"^{FILLERS}what (?:is|are) (?:a |an |the )?{NOT_A_TOPIC}((?:\w+ ?){{1,4}}?)(?: for| called)?$(?<!\blike)",
    rf"\bwhat (?:does|do) (?:a |an |the )?{NOT_A_TOPIC}((?:\w+ ?){{1,4}}?) (?:mean|stand for)\b",
    r"\b(?:tell me|explain|know|wonder) what (?:a |an |the )?((?:\w+ ?){1,4}?) (?:is|are|means?)\b",
    r"\bdifference between (.+)",
    r"^why (?:does|do|is|are|did|will|can not|does not|do not|is not) my ((?:\w+ ?){1,6})",
    r"^how (?:should|can|would) i ((?:\w+ ?){1,6})",
)
EXPLAIN_QUESTION = re.compile(
    r"^(?:so )?(?:what|how|why)\b.*\b(?:mean|means|meaning|is|are|do|does|work|works|for)\b.*"
)
PROGRESS = _either(
    r"\bhow (?:am i|was i|did i|have i been|is it|are we|is my progress) ?"
    r"(?:doing|do|getting on|going|getting along|progressing|get on)?\b",
    r"\bam i (?:improving|getting (?:any )?better|making progress)\b",
    r"\bmy (?:progress|scores?|grades?|results|stats|statistics|marks)\b",
    r"\bhow i (?:am doing|did|have been doing|am getting on)\b",
    r"\b(?:what|which) (?:\w+ )?(?:have|did) i (?:mastered|learned|learnt|improved)\b",
    r"\bany (?:improvement|progress)\b",
    r"\bhow (?:did that go|was that)\b",
    r"\b(?:have|did) i improve(?:d)?\b",
    r"\bhow (?:well|good) (?:am i|did i|was i)\b",
)
WAIT = _either(
    r"\blet me (?:think|consider|decide)\b",
    r"\blet me see *$",
    r"\bi (?:need|want) (?:a moment |some time |a minute |time )?to (?:think|decide)\b",
    r"\bi will (?:think about it|decide later|get back to you)\b",
    r"\bi am (?:still )?thinking\b",
    r"\b(?:a|1|some) (?:moment|minute|second|sec|while|time) to (?:think|decide|answer|consider)\b",
    r"\bto think (?:about|it over|for)\b",
    r"\bnot sure yet\b",
    r"\bhold that thought\b",
    r"\bget back to you\b",
    r"^(?:hmm+ |um+ )?thinking$",
)
START_OVER = re.compile(r"\b(?:start (?:again|over)|from the (?:top|start|beginning)|start from the beginning)\b")
START_VERB = re.compile(
    r"\b(?:start|begin|do|play|practi[cs]e|learn|try|load|open|work on|go to|switch to|teach me|give me|run"
    r"|have a go at|want|move on to|put on|time for|how about|what about)\b"
)
NAMED = re.compile(r"\b(plan|piece)ref(\d+)\b( lesson)?")  # a name `_named` found
START_NO_NAME = _either(
    r"\b(?:start|begin)\b(?: (?:a|the|my|our|today'?s|a new))? ?(?:lesson|session)?\s*$",
    r"\b(?:start|begin) (?:a|the|my|our) (?:lesson|session)\b",
)
DEMO = _either(
    r"\bshow me how\b(?! i (?:am|did|was|have)\b| well\b| good\b).*",
    r"\bshow me (?=bars? \d)",
    r"\bplay (?:it|that|this|them|bars? [\d-]+) for me\b",
    r"\bplay .*\bfor me\b",
    r"\b(?:can|could|would|will) you play\b.*",
    r"\bdemonstrat\w*\b.*",
    r"\bdemo\b.*",
    r"\b(?:hear|listen to)\b.*",
    r"\bhow (?:(?:does|do|should|is|are|will) )?(?:it|that|this|bars? [\d-]+"
    r"|the (?:piece|tune|melody|song|opening|ending|start|beginning|end|middle|phrase|line|part|bit))"
    r"\b.*\b(?:go|goes|sound|sounds)\b",
    r"\bplay me\b.*",
    r"\bwhat (?:does|do|will) .*\bsound like\b",
)
HAPTIC_NOUN = (  # the motors, said loosely too ("the finger pushing thing")
    r"(?:(?:finger |haptic )?(?:motors?|servos?|haptics?|vibrations?|force|pressure|presses|strength|clutch)"
    r"(?: things?)?|finger (?:pushing |pressing )?things?|finger (?:pushing|pressing)|(?:pushing|pressing) things?)"
)
HAPTICS_OFF = _either(
    rf"\b(?:turn|switch|shut|power) off (?:the |my )?{HAPTIC_NOUN}\b",
    rf"\b{HAPTIC_NOUN} off\b",
    rf"\b(?:disable|deactivate|stop|kill|mute) (?:the |all )?{HAPTIC_NOUN}\b",
    r"\b(?:switch|turn) them off\b",
    rf"\b(?:no|without) (?:more |the |any )?{HAPTIC_NOUN}\b",
    rf"\bdo not (?:want|need) (?:the |any )?{HAPTIC_NOUN}\b",
)
HAPTICS_ON = _either(
    rf"\b(?:turn|switch|power) on (?:the |my )?{HAPTIC_NOUN}\b",
    rf"\b{HAPTIC_NOUN} (?:back )?on\b(?! (?:my|the|your|it)\b)",
    rf"\b(?:enable|activate|reactivate) (?:the )?{HAPTIC_NOUN}\b",
)
HAPTICS_LEVEL = _either(
    rf"\b{HAPTIC_NOUN}\b.*?\b(?:(\d+) percent|(half|full|maximum|max)(?: strength| force| power)?)\b",
    r"\b(?:(\d+) percent|(half|full|maximum|max)) (?:strength|force|power)\b",
)
SOFTER = _either(
    r"\b(?:softer|gentler|more gently|weaker)\b",
    r"\b(?:(?:stop|quit) )?(?:pressing|pushing) (?:so|that|this) (?:hard|much|strongly)\b",
    r"\b(?:press|push|pressing|pushing|squeeze) (?:a bit |a little |me )?"
    r"(?:less|lighter|more lightly|too hard|too much)\b",
    r"\bless (?:force|pressure|strength)\b",
    r"\btoo (?:strong|rough|forceful)\b",
    rf"\b{HAPTIC_NOUN} (?:is|are) too (?:much|hard)\b",
    rf"\b(?:turn|bring) (?:the )?{HAPTIC_NOUN} down\b",
    rf"\b(?:lower|reduce|decrease) (?:the )?{HAPTIC_NOUN}\b",
)
STRONGER = _either(
    r"\b(?:stronger|firmer)\b",
    r"\b(?:press|push|pressing|pushing) (?:a bit |a little |me |my fingers )?"
    r"(?:harder|more firmly|more|too lightly|too softly)\b",
    r"\bmore (?:force|pressure|strength)\b",
    r"\btoo (?:weak|gentle|light)\b",
    rf"\b(?:turn|bring) (?:the )?{HAPTIC_NOUN} up\b",
    rf"\b(?:raise|increase) (?:the )?{HAPTIC_NOUN}\b",
)
TEMPO_BPM = re.compile(r"\b(\d+(?:\.\d+)?) ?(?:bpm|beats (?:per|a) minute)\b")
TEMPO_PERCENT = re.compile(r"\b(\d+) percent\b")
TEMPO_WORD = _either(r"\b(half|3 quarters?|full|normal|original|target) (?:speed|tempo|pace)\b", r"\bup to speed\b")
TEMPO_NUMBER = re.compile(  # a bare number said of the tempo is in bpm, as a metronome counts
    r"\b(?:tempo|speed|slow (?:it )?down|speed (?:it )?up|slower|faster)(?: it)?(?: to| at| of)? (\d+(?:\.\d+)?)\b"
)
TEMPO_SLOWER = _either(
    r"\b(?:much |a lot |a bit |a little )?slower\b",
    r"\bslow (?:it |things )?down(?: a (?:bit|little|lot))?\b",
    r"\btoo fast\b",
    r"\bslowly\b",
    r"\bless fast\b",
    r"\b2 times as slow\b",
)
TEMPO_FASTER = _either(
    r"\b(?:much |a lot |a bit |a little )?faster\b",
    r"\bspeed (?:it |things )?up\b",
    r"\btoo slow\b",
    r"\bquicker\b",
    r"\bpick up the pace\b",
)
HANDS_OFF = _either(  # free play, as the fingers feel it: what turning the haptics off says outright
    r"\b(?:stop|quit) (?:helping|guiding|pressing|pushing|touching)\b",
    r"\bdo not (?:help|guide|press|push|touch)\b",
    r"\b(?:leave my fingers alone|let go of my fingers|release my fingers)\b",
)
MODES: tuple[tuple[str, re.Pattern[str]], ...] = (  # in this order: the first a clause names is the one
    (
        "free",
        _either(
            r"\b(?:on my own|by myself|hands off|unassisted|free (?:mode|play))\b",
            r"\bno (?:more )?(?:help|guidance|assistance)\b",
            r"\bwithout (?:any |your )?(?:help|guidance|assistance)\b",
            r"\b(?:turn|switch) off (?:the )?(?:help|guidance)\b",
            r"\b(?:help|guidance) off\b",
            r"\b(?:play (?:it )?alone|try (?:it )?myself|i can do it myself)\b",
        ),
    ),
    (
        "corrective",
        _either(
            r"\bcorrective\b",
            r"\bonly (?:correct|fix|help|step in|intervene|press|jump in)\b.*",
            r"\bcorrect (?:me|my (?:mistakes|fingers|errors))\b",
            r"\b(?:fix|catch) my (?:mistakes|errors)\b",
            r"\b(?:when|if) i (?:make a mistake|am wrong|get it wrong|go wrong|slip|mess up)\b",
        ),
    ),
    (
        "hint",
        _either(
            r"\bhints?\b",
            r"\blight touch\b",
            r"\b(?:a )?(?:little|bit of|gentle|light|small|slight) (?:help|nudge|push|guidance|reminder)s?\b",
            r"\bnudges?\b",
            r"\bless help\b",
        ),
    ),
    (
        "guided",
        _either(
            r"\bguided?\b",
            r"\bguidance\b",
            r"\bhelp (?:me )?(?:with|on) (?:the |my )?(?:fingers|fingering|fingerings)\b",
            r"\b(?:press|pressing|move|moving|place|put|hold|holding) (?:down )?(?:my|the) fingers\b",
            r"\b(?:full help|full guidance|more help|help me|i need help|do the fingers|show my fingers where)\b",
            r"^help$",
            r"\bi am (?:lost|stuck)\b",
        ),
    ),
    (
        "adaptive",
        _either(
            r"\b(?:you decide|you choose|you pick|up to you|your call|your choice|whatever you think)\b",
            r"\b(?:back to normal|adaptive|automatic|default mode)\b",
            r"\blet the (?:lesson|tutor|app|system) (?:decide|choose)\b",
        ),
    ),
)
REPEAT = _either(
    r"\bagain\b",
    r"\b1 more (?:time|go|try)\b",
    r"\bonce more\b",
    r"\banother (?:go|try|attempt|round)\b",
    r"\b(?:redo|loop|drill|go over)\b",
    r"\brepeat\w*\b",
    r"\b\d+ more\b",
    r"\b(?:practi[cs]e|play|work on|try|do)\b(?= .*\bbars? \d)",
    r"\b(?:practi[cs]e|play|do) (?:it|that|this)\b(?= \d+ (?:more )?times)",
)
VIEW_NOUN = r"(?:view|screen|display|chart|graph|window|page|meter|diagram)"
VIEW = _either(  # the view is the first group that matched
    r"\b(?:show|open|display|see|view|bring up|switch to|look at|check|put up)\b.*?"
    r"\b(breathing|breath|belt|pitch|tuning|tuner|intonation|fingerings|fingering|finger chart|fingers|progress)\b",
    rf"\b(breath|breathing|pitch|fingering|progress) {VIEW_NOUN}\b",
    r"\bam i (in tune)\b",
    r"\bwhich (fingering)\b",
)
PAUSE = _either(
    r"\b(?:pause|freeze|break time|time out|catch my breath)\b",
    r"\btake a (?:short )?break\b",
    r"\bstop for (?:a|1) (?:moment|second|sec|minute|bit)\b",
)
MOMENT = _either(  # a pause, unless the moment is asked to think in ("just a sec, let me think" is a wait)
    r"\b(?:hold on|hang on|wait|brb|be right back)\b",
    r"\bgive me a (?:minute|moment|second|sec)\b",
    r"\b(?:1|just a) (?:moment|second|sec|minute)\b",
)
RESUME = _either(
    r"\b(?:resume|continue|keep going|carry on|go on|unpause|i am ready|back to it|back to work|pick up where)\b",
    r"\blet us go\s*$",
)
STOP = _either(
    r"\b(?:stop|quit|abort|call it a day)\b",
    r"\b(?:end|finish|exit|leave|close) (?:the |this |my |our )?(?:lesson|session)\b",
    r"\bend (?:it|this|here)\b",
    r"\b(?:i am|we are) (?:done|finished)\b",
    r"\b(?:that is enough|that is all|enough for today|no more for today|that is it for (?:today|now|the day))\b",
)

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
