"""Flute X host side: transports, device client, analysis and the command line."""
