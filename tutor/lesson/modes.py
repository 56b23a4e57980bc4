"""Names of the guidance modes, advance rules and the full force, defined once so every part spells them alike."""

GUIDED, CORRECTIVE, HINT, FREE = "guided", "corrective", "hint", "free"
MODES = (GUIDED, HINT, CORRECTIVE, FREE)  # most help first: the dynamic policy's ladder
ADVANCE_RULES = ("never", "always", "perfect")  # segment loops advance never / always / after a perfect pass
FULL_FORCE = 1000  # permille; the board's servos press at force/1000 of "pressed"
CLOSES_HOLE_PERMILLE = 500  # a press below this force is felt but does not close a hole: the student still plays
