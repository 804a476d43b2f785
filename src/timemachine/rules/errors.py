"""Rule errors: bad rule files and expressions (4xx / exit 2), and rules disabled at run time."""

from __future__ import annotations

from timemachine.errors import InvalidInputError


class RuleError(InvalidInputError):
    """A rule file, a rule or its expression is invalid; the message says where and why."""
