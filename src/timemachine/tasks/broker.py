"""Where the task broker is: the configured URL, or the embedded SQLite file in the data dir."""

from __future__ import annotations

from pathlib import Path

from timemachine.settings import Settings

BROKER_FILE = "celery-broker.db"


def broker_file(settings: Settings) -> Path:
    """The embedded broker's SQLite file."""
    assert settings.data_dir is not None  # resolved by Settings
    return settings.data_dir / BROKER_FILE


def broker_url(settings: Settings) -> str:
    if settings.celery_broker_url:
        return settings.celery_broker_url
    return f"sqla+sqlite:///{broker_file(settings)}"
