"""Forks: locate anvil, run fork processes (ports, readiness, TTL, caps, crash detection, cleanup)."""
