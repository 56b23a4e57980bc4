"""Lessons, scores, assessment and the adaptive guidance schedule (built on the host's typed events)."""
