"""The one place that maps errors to CLI exit codes and one readable line."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from timemachine.errors import TimeMachineError

if TYPE_CHECKING:
    from timemachine.settings import Settings

T = TypeVar("T")
INTERNAL_ERROR = 70  # EX_SOFTWARE
INTERRUPTED = 130
SERVICE_MISSING = 2
SERVICE_PACKAGES = frozenset(
    {
        "alembic",
        "argon2",
        "celery",
        "cryptography",
        "duckdb",
        "fastapi",
        "jinja2",
        "jwt",
        "kombu",
        "nats",
        "psycopg",
        "pyarrow",
        "redis",
        "sqlalchemy",
        "starlette",
        "uvicorn",
    }
)
"""Top-level modules of the `service` extra: the library and the offline CLI run without them."""


def missing_service_stack(error: ModuleNotFoundError) -> str | None:
    """The one line to show when `error` is a package of the `service` extra missing, else None."""
    package = (error.name or "").partition(".")[0]
    if package not in SERVICE_PACKAGES:
        return None
    return (
        f"this command needs the service stack ({package} is not installed); "
        "install it with: pip install 'timemachine[service]'"
    )


def checked_settings() -> Settings:
    """The settings, or one line naming what is malformed in the environment (exit 2)."""
    from pydantic import ValidationError

    from timemachine.settings import get_settings

    try:
        return get_settings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        fail(f"invalid setting in the environment: {problems}", 2)


def debug_mode() -> bool:
    """Whether DEBUG is set: internal errors then print their traceback too."""
    from timemachine.settings import get_settings

    return get_settings().debug


@contextmanager
def reported_errors(*, debug: bool | None = None) -> Iterator[None]:
    """Errors inside become one line on stderr and a non-zero exit, never a traceback (an
    internal error shows its traceback too when `debug`, by default when DEBUG is set)."""
    import typer  # here: the console script's daemon path prints before typer loads

    try:
        yield
    except TimeMachineError as error:
        fail(str(error), error.exit_code)
    except (typer.Exit, SystemExit):
        raise
    except KeyboardInterrupt:
        fail("interrupted", INTERRUPTED)
    except ModuleNotFoundError as error:
        message = missing_service_stack(error)
        if message is None:
            _internal(error, debug=debug)
        fail(message, SERVICE_MISSING)
    except Exception as error:  # noqa: BLE001 - the last line of defence: never a bare traceback
        _internal(error, debug=debug)


def _internal(error: Exception, *, debug: bool | None) -> NoReturn:
    if debug_mode() if debug is None else debug:
        traceback.print_exc()
    fail(
        f"internal error: {type(error).__name__}: {error} (rerun with DEBUG=1 for details)",
        INTERNAL_ERROR,
    )


def run_async(coroutine: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run a command's coroutine under `reported_errors`."""
    import asyncio  # here: `timemachine --help` and quick commands need no event loop

    with reported_errors(debug=debug):
        return asyncio.run(coroutine)
    raise AssertionError("unreachable: reported_errors exits on every error")


def fail(message: str, code: int) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (inside or outside a command)."""
    sys.stderr.write(f"error: {message}\n")
    raise SystemExit(code)
