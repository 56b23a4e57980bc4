"""The session: one timeline for every stream of a lesson, recorded, replayable, fanned out to listeners."""
