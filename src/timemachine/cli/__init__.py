"""Typer CLI: thin commands over the engine."""
