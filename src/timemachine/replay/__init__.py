"""Replay engine: re-execute mined or raw transactions on forks and say how faithful it was."""
