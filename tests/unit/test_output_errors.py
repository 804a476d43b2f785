"""Rough edges a new user hits, each a one-line error or a readable help (no devnet needed)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from timemachine.chain.rpc import RpcClient
from timemachine.errors import RpcUnavailableError


def timemachine(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "timemachine.cli.main", *args],
        capture_output=True,
        check=False,
        text=True,
        input=stdin,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )


def one_line_error(run: subprocess.CompletedProcess[str], code: int) -> str:
    assert run.returncode == code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


async def test_a_read_timeout_is_retried_once_and_names_rpc_timeout() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    rpc = RpcClient(
        "http://127.0.0.1:9/", timeout=0.5, retries=4, transport=httpx.MockTransport(hang)
    )
    async with rpc:
        with pytest.raises(RpcUnavailableError) as caught:
            await rpc.call("eth_chainId")
        assert rpc.http_requests == 2  # not 5: a node that never answers holds nobody 5 x 30 s
    assert str(caught.value) == (
        "http://127.0.0.1:9 timed out: no answer within 0.5 s, 2 time(s) (ReadTimeout); check "
        "the node, or raise RPC_TIMEOUT (now 0.5 s)"
    )


def test_a_url_without_a_scheme_is_named_as_given_without_its_path() -> None:
    run = timemachine("replay", "0x" + "11" * 32, "-r", "notaurl")
    assert one_line_error(run, 2) == (
        "error: RPC URL 'notaurl' is not a valid http(s) URL; pass e.g. "
        "--rpc-url http://127.0.0.1:8545"
    )
    keyed = timemachine("replay", "0x" + "11" * 32, "-r", "mainnet.example.io/v3/SECRETKEY")
    assert "'mainnet.example.io'" in one_line_error(keyed, 2)
    assert "SECRETKEY" not in keyed.stderr


def test_users_create_without_a_terminal_says_how_to_pass_the_password() -> None:
    run = timemachine("users", "create", "bob", "--role", "analyst", stdin="")
    assert one_line_error(run, 2) == (
        "error: no terminal to prompt for the password on; pipe it in with --password-stdin"
    )


@pytest.mark.parametrize("command", [["replay"], ["analyze"], ["compare"], ["batch-replay"], []])
def test_boolean_flags_show_no_value_type_in_help(command: list[str]) -> None:
    run = timemachine(*command, "--help")
    assert run.returncode == 0, run.stderr
    assert "<bool>" not in run.stdout
    assert "--help" in run.stdout


def test_benign_controls_are_class_none_as_the_docs_say() -> None:
    listed = timemachine("exploits", "list", "--chain", "devnet")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "amm-swaps" in line)
    assert "│ none " in row
    shown = timemachine("exploits", "show", "amm-swaps")
    assert "class      none (benign control: nothing above low may be reported on it)" in (
        shown.stdout
    )
    exploit = timemachine("exploits", "show", "reentrancy-bank")
    assert "class      reentrancy (reentrancy)" in exploit.stdout


def test_width_fits_tables_and_piped_output_is_whole() -> None:
    narrow = timemachine("--width", "70", "exploits", "list", "--chain", "devnet")
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 70
    assert "…" not in narrow.stdout  # too wide for a table: one block per record instead
    assert "  id        reentrancy-vault-shares" in narrow.stdout
    piped = timemachine("exploits", "list", "--chain", "devnet")
    assert max(len(line) for line in piped.stdout.splitlines()) > 70
    assert "…" not in piped.stdout
