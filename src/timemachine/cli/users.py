"""`timemachine users`: create users and set passwords, for operators (the store directly, no
running API needed). Passwords are read from a prompt, or from stdin with `--password-stdin`
(never from the command line, where `ps` and shell history would show them)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from timemachine.cli.errors import reported_errors
from timemachine.models.auth import Role
from timemachine.settings import get_settings

users_app = typer.Typer(help="Users of the service (roles: viewer, analyst, admin).")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


@users_app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[Role, typer.Option(help="viewer, analyst or admin.")] = Role.ANALYST,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a user (password: 12+ characters)."""
    from timemachine.security.accounts import create_user
    from timemachine.security.audit import Action, audit
    from timemachine.store import open_database

    with reported_errors():
        password = _password(password_stdin)
        db = open_database(get_settings().database_url)
        try:
            user = create_user(db, username, password, role)
            audit(db, Action.USER_CREATE, actor="cli", resource=f"user:{user.id}",
                  detail={"username": user.username, "role": str(user.role)})  # fmt: skip
        finally:
            db.dispose()
        typer.echo(f"created {user.username} ({user.role}), id {user.id}")


@users_app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Set a user's password (their refresh tokens are revoked: every device logs in again)."""
    from timemachine.security import accounts
    from timemachine.security.audit import Action, audit
    from timemachine.store import open_database

    with reported_errors():
        password = _password(password_stdin)
        db = open_database(get_settings().database_url)
        try:
            user = accounts.set_password(db, username, password)
            audit(db, Action.USER_PASSWORD, actor="cli", resource=f"user:{user.id}")
        finally:
            db.dispose()
        typer.echo(f"password of {user.username} changed")
