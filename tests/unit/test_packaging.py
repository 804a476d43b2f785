"""`pip install timemachine` without the `service` extra: the library and the offline CLI work,
and a command that needs the service stack fails in one line naming the extra.

Each check runs in a fresh interpreter whose import system refuses every package of the extra,
as if it were not installed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from timemachine.cli.errors import SERVICE_PACKAGES

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc
    import sys

    BLOCKED = {sorted(SERVICE_PACKAGES)!r}

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    """
)


def run_without_service(code: str, tmp_path: os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIME_MACHINE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    env.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_blocker_really_hides_the_service_stack(tmp_path: os.PathLike[str]) -> None:
    done = run_without_service(
        """
        for name in ("fastapi", "celery", "sqlalchemy", "redis", "cryptography"):
            try:
                __import__(name)
            except ModuleNotFoundError:
                print("missing", name)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:-1] == [
        f"missing {n}" for n in ("fastapi", "celery", "sqlalchemy", "redis", "cryptography")
    ]


def test_library_core_imports_without_the_service_stack(tmp_path: os.PathLike[str]) -> None:
    done = run_without_service(
        """
        import timemachine
        from timemachine.machine import TimeMachine, analyze, replay
        import timemachine.analysis
        import timemachine.replay
        import timemachine.replay.capsule
        import timemachine.replay.whatif
        import timemachine.trace
        import timemachine.catalog
        import timemachine.chain
        import timemachine.forks
        import timemachine.cli.main

        loaded = sorted(
            {m.partition(".")[0] for m in sys.modules} & set(BLOCKED)
        )
        print("loaded:", loaded, callable(replay), callable(analyze), TimeMachine.__name__)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded: [] True True TimeMachine"


def test_cli_help_works_without_the_service_stack(tmp_path: os.PathLike[str]) -> None:
    done = run_without_service(
        """
        sys.argv = ["timemachine", "--help"]
        from timemachine.cli.main import run
        run()
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    for command in ("replay", "analyze", "whatif", "capsule", "serve", "worker"):
        assert f" {command} " in done.stdout


def test_service_commands_fail_in_one_line_naming_the_extra(tmp_path: os.PathLike[str]) -> None:
    for argv, package in (
        (["worker"], "celery"),
        (["serve", "--api-only"], "uvicorn"),
        (["users", "create", "ada", "--password-stdin"], "sqlalchemy"),
        (["keys", "generate"], "cryptography"),
    ):
        done = run_without_service(
            f"""
            sys.argv = ["timemachine", *{argv!r}]
            from timemachine.cli.main import run
            run()
            """,
            tmp_path,
        )
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr == (
            f"error: this command needs the service stack ({package} is not installed); "
            "install it with: pip install 'timemachine[service]'\n"
        ), argv
