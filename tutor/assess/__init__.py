"""Assessment: following the score as it is played, and grading every note with reasons."""
