"""Structured logging (structlog) with secrets redacted before anything is rendered.

structlog is imported on first use, not at import time: most CLI runs never log, and its import
(with its console renderer) costs ~60 ms of start-up.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

from timemachine.urls import redact_text as redact_text  # noqa: PLC0414 - re-exported

_SECRET_KEYS = ("key", "secret", "password", "token", "authorization")


class RedactingFilter(logging.Filter):
    """stdlib logging filter: the same URL redaction for records of other libraries (httpx logs
    every request's full URL at INFO, which would carry a provider's key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_STDLIB_FILTER = RedactingFilter()
_LEAKY_LOGGERS = ("httpx", "httpcore")


def redact_stdlib_logging() -> None:
    """Attach the redacting filter to the loggers that log request URLs (idempotent)."""
    for name in _LEAKY_LOGGERS:
        logger = logging.getLogger(name)
        if _STDLIB_FILTER not in logger.filters:
            logger.addFilter(_STDLIB_FILTER)


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: hide URL paths/queries (API keys live there) and secret-named fields."""
    for name, value in list(event.items()):
        if any(marker in name.lower() for marker in _SECRET_KEYS):
            event[name] = "***"
        elif isinstance(value, str):
            event[name] = redact_text(value)
    return event


def configure_logging(level: str = "WARNING", *, json: bool = False) -> None:
    """Route structlog to stderr at `level`, JSON lines for services, console for humans."""
    import structlog

    redact_stdlib_logging()
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    """A structlog logger; until the application configures logging, LOG_LEVEL (default
    WARNING) applies, so the library never prints debug lines into its host's output."""
    import structlog

    if not structlog.is_configured():
        from timemachine.settings import get_settings

        configure_logging(get_settings().log_level)
    return structlog.get_logger(name)
