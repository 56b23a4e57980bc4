"""Scores: a small model of our own (notes, rests, bars, tempo, breath marks, segments), imported from MusicXML, MIDI
and ABC, and fitted to an instrument."""
