"""Speech in and out for the agent's voice: the end of an utterance found by silence, offline speech to text and text
to speech."""
