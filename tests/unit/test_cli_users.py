"""`timemachine users create | set-password`: operators manage users without the API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from timemachine.security.passwords import verify_password
from timemachine.store import Users, open_database


def _users(data_dir: Path, *args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env["TIME_MACHINE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", "users", *args, "--password-stdin"],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_and_set_password(tmp_path: Path) -> None:
    created = _users(tmp_path, "create", "olga", "--role", "viewer", stdin="first password 123\n")
    assert created.returncode == 0, created.stderr
    assert "created olga (viewer)" in created.stdout
    assert "first password" not in created.stdout + created.stderr
    again = _users(tmp_path, "create", "olga", stdin="first password 123\n")
    assert again.returncode == 7  # ConflictError
    assert "already exists" in again.stderr
    short = _users(tmp_path, "create", "pete", stdin="short\n")
    assert short.returncode == 2
    assert "12 to 1024" in short.stderr
    changed = _users(tmp_path, "set-password", "olga", stdin="second password 456\n")
    assert changed.returncode == 0, changed.stderr
    db = open_database(f"sqlite:///{tmp_path / 'timemachine.db'}")
    try:
        with db.session() as s:
            found = Users(s).password_hash("olga")
        assert found is not None
        user, stored = found
        assert user.role == "viewer"
        assert stored.startswith("$argon2id$")
        assert verify_password(stored, "second password 456")
        assert not verify_password(stored, "first password 123")
    finally:
        db.dispose()
    missing = _users(tmp_path, "set-password", "nobody", stdin="whatever password 1\n")
    assert missing.returncode == 2
