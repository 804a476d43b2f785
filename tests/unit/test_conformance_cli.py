"""`timemachine conformance geth` refuses a folder without fixtures with one readable line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from timemachine.errors import InvalidInputError


def test_a_folder_without_fixtures_is_one_line_error(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", "conformance", "geth", str(tmp_path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert run.returncode == InvalidInputError.exit_code
    assert run.stderr == f"error: {tmp_path}: no geth tracer fixtures found there\n"
    assert run.stdout == ""
