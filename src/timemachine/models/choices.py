"""Enum values from user input: one parser, one message naming the valid values."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from timemachine.errors import InvalidInputError

E = TypeVar("E", bound=StrEnum)


def member(
    enum: type[E], value: E | str, what: str, *, normalize: Callable[[str], str] | None = None
) -> E:
    """`value` (after `normalize`, if given) as a member of `enum`; InvalidInputError naming the
    value as given and the valid values otherwise."""
    try:
        return enum(normalize(value) if normalize else value)
    except ValueError:
        valid = ", ".join(item.value for item in enum)
        raise InvalidInputError(f"unknown {what} {value!r}; valid: {valid}") from None
