"""The words and phrases the offline rules know (`flutex.agent.intents` applies them): number words, synonyms,
settings said in words, and one regular expression per kind of request over normalized text (lower case,
contractions spelt out, numbers as digits, bars as "bars 3-4"). Data only: a new way of saying something is a line
here, not a change of logic.
"""

from __future__ import annotations

import re

from flutex.tutor.actions.catalog import MAX_STRENGTH
from flutex.tutor.actions.explain import TOPICS

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
