"""Forks: locate anvil and run fork processes (ports, readiness, TTL, caps, crashes, cleanup)."""
