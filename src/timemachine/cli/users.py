"""`timemachine users`: create users and set passwords, for operators (the store directly, no
running API needed). Passwords are read from a prompt, or from stdin with `--password-stdin`
(never from the command line, where `ps` and shell history would show them)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer

from timemachine.cli.errors import reported_errors
from timemachine.models.auth import Role, UserRecord

if TYPE_CHECKING:
    from timemachine.store import Database

users_app = typer.Typer(help="Users of the service (roles: viewer, analyst, admin).")
Username = Annotated[str, typer.Argument(help="Login name.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from stdin.")
]


def _password(from_stdin: bool) -> str:
    """From stdin, or a prompt; with no terminal to prompt on, InvalidInputError saying how."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        from timemachine.errors import InvalidInputError

        raise InvalidInputError(
            "no terminal to prompt for the password on; pipe it in with --password-stdin"
        )
    value: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


def _change_user(
    password_stdin: bool,
    change: Callable[[Database, str], UserRecord],
    action: str,
    detail: Callable[[UserRecord], Mapping[str, Any]] | None = None,
) -> UserRecord:
    """Read the password, apply `change` to the store and audit it as `action` by "cli"."""
    from timemachine.security.audit import audit
    from timemachine.settings import get_settings
    from timemachine.store import open_database

    password = _password(password_stdin)
    db = open_database(get_settings().database_url)
    try:
        user = change(db, password)
        audit(db, action, actor="cli", resource=f"user:{user.id}",
              detail=detail(user) if detail else None)  # fmt: skip
    finally:
        db.dispose()
    return user


@users_app.command("create")
def create(
    username: Username,
    role: Annotated[Role, typer.Option(help="viewer, analyst or admin.")] = Role.ANALYST,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a user (password: 12+ characters)."""
    from timemachine.security.accounts import create_user
    from timemachine.security.audit import Action

    with reported_errors():
        user = _change_user(
            password_stdin,
            lambda db, password: create_user(db, username, password, role),
            Action.USER_CREATE,
            lambda user: {"username": user.username, "role": str(user.role)},
        )
        typer.echo(f"created {user.username} ({user.role}), id {user.id}")


@users_app.command("set-password")
def set_password(
    username: Username,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a user's password (their refresh tokens are revoked: every device logs in again)."""
    from timemachine.security import accounts
    from timemachine.security.audit import Action

    with reported_errors():
        user = _change_user(
            password_stdin,
            lambda db, password: accounts.set_password(db, username, password),
            Action.USER_PASSWORD,
        )
        typer.echo(f"password of {user.username} changed")
