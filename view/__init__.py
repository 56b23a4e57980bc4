"""Flute X views: the live window, replay and reports. They read the session timeline and move nothing."""
