"""Chain access: JSON-RPC client, chain registry and hardfork schedules."""
