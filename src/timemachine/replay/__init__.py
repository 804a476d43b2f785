"""Replay engine: re-execute mined or raw transactions on forks, faithfully, and say how faithful."""
