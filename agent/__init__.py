"""Flute X GPT: an agent that talks with the student and runs the tutor for them, through the tutor's actions only."""
