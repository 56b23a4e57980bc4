"""The tutor's one action surface: typed, validated actions that the command line, the live view and the agent
all call."""
