"""Audio in: files, synthesized signals and the live microphone behind one block interface; latency calibration."""
