"""`async with` support for objects that own resources and release them in `aclose()`."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class AsyncCloseable:
    """Subclasses define `aclose`; `async with obj:` then closes it on every exit path."""

    async def aclose(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
