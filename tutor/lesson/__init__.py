"""Lessons: plans, guidance modes, the adaptive schedule inside a lesson and reviews across days."""
