"""Error answers that must not fail or disclose: request validation (422) and storage (503).

- A 422 echoes the offending input. FastAPI's default handler encodes it with `allow_nan=False`,
  so a non-finite float in the input (a `NaN` that reached validation) turned the 422 into a
  500. Here non-finite numbers are echoed as strings.
- A `StorageError` names the database (user, host, port, name) and the driver's words: useful
  to the operator on the CLI, a map of the deployment to an API caller — before login too.
  Over HTTP it is one generic 503; the full message goes to the log.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from timemachine.errors import StorageError
from timemachine.logs import get_logger

log = get_logger(__name__)

STORAGE_UNAVAILABLE = "storage unavailable; try again later"


def finite(value: Any) -> Any:
    """`value` (JSON-encodable) with every NaN/Infinity replaced by its name as a string."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape (`{"detail": [errors]}`), safe for any input."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": finite(jsonable_encoder(exc.errors()))}, status_code=422)


async def storage_error(request: Request, exc: Exception) -> JSONResponse:
    """503 without details; the details are logged."""
    assert isinstance(exc, StorageError)
    log.error("storage error", path=request.url.path, error=exc.message)
    return JSONResponse(
        {"error": "StorageError", "detail": STORAGE_UNAVAILABLE}, status_code=exc.http_status
    )


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers above (more specific than the app's `TimeMachineError` one)."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StorageError, storage_error)
