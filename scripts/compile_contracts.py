"""Compile the bundled Solidity scenarios into deterministic JSON artifacts.

Every `src/timemachine/catalog/scenarios/contracts/<Name>.sol` must define a contract `<Name>`;
it is compiled with the pinned solcjs its `pragma solidity` asks for (0.8.x: npm `solc`,
`node_modules/solc/solc.js`; 0.7.x: npm `solc-0.7` = solc 0.7.6, `node_modules/solc-0.7/solcjs`,
for the deliberately pre-0.8 scenarios; both run with node, since the two packages fight over
the `node_modules/.bin/solcjs` link) in standard-JSON mode with fixed settings and written to
`scenarios/artifacts/<Name>.json` (sorted keys, trailing newline, the compiler version recorded),
so a rebuild leaves `git diff` empty.

    python scripts/compile_contracts.py          # (re)write the artifacts
    python scripts/compile_contracts.py --check  # exit 1 and list stale artifacts; write nothing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "src" / "timemachine" / "catalog" / "scenarios"
CONTRACTS = SCENARIOS / "contracts"
ARTIFACTS = SCENARIOS / "artifacts"
SOLCJS = REPO / "node_modules" / "solc" / "solc.js"
SOLCJS_07 = REPO / "node_modules" / "solc-0.7" / "solcjs"
TIMEOUT = 300.0
_PRAGMA = re.compile(r"^\s*pragma\s+solidity\s+([^;]+);", re.MULTILINE)

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}
#: solc 0.7.6 knows no fork after Istanbul; its bytecode runs unchanged on later forks.
SETTINGS_07: dict[str, Any] = {**SETTINGS, "evmVersion": "istanbul"}


class CompileError(Exception):
    """Compilation could not run or failed; the message is one readable line."""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise CompileError("node not found on PATH; solcjs needs Node.js")
    return node


def find_solcjs() -> list[str]:
    """The 0.8 solcjs command: the pinned one in node_modules, else a `solcjs` on PATH."""
    if SOLCJS.exists():
        return [_node(), str(SOLCJS)]
    found = shutil.which("solcjs")
    if found is None:
        raise CompileError(
            f"solcjs not found at {SOLCJS} or on PATH; run `npm install` in the repository root"
        )
    return [found]


def find_solcjs_07() -> list[str]:
    """The 0.7.6 solcjs command (npm alias `solc-0.7`)."""
    if not SOLCJS_07.exists():
        raise CompileError(
            f"solc 0.7.6 not found at {SOLCJS_07}; run `npm install` in the repository root"
        )
    return [_node(), str(SOLCJS_07)]


def compiler_series(name: str, text: str) -> str:
    """'0.7' or '0.8': the compiler series the source's `pragma solidity` asks for."""
    match = _PRAGMA.search(text)
    series = re.search(r"0\.(\d+)\.", match.group(1)) if match else None
    if series is None:
        raise CompileError(f"{name} has no `pragma solidity 0.x.y` line")
    if series.group(1) not in ("7", "8"):
        raise CompileError(f"{name} asks for solidity 0.{series.group(1)}; only 0.7 and 0.8 exist")
    return f"0.{series.group(1)}"


def _run(solcjs: list[str], args: list[str], stdin: str = "") -> str:
    # stdin and stdout are files, not pipes: node exits before flushing a pipe (solcjs's output
    # was cut off at 64 KiB), and solcjs's readFileSync(0) fails with EAGAIN on a non-blocking
    # pipe once the standard-JSON request outgrows the pipe buffer.
    with (
        tempfile.TemporaryFile(mode="w+", encoding="utf-8") as request,
        tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out,
    ):
        request.write(stdin)
        request.seek(0)
        try:
            done = subprocess.run(
                [*solcjs, *args],
                stdin=request,
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CompileError(f"cannot run {solcjs[-1]}: {exc}") from exc
        out.seek(0)
        stdout = out.read()
    if done.returncode != 0:
        detail = (done.stderr.strip() or stdout.strip()).splitlines()
        raise CompileError(f"{solcjs[-1]} {' '.join(args)} failed: {detail[-1] if detail else '?'}")
    return stdout


def compile_artifacts() -> dict[str, str]:
    """Compile every source with the compiler its pragma asks for; artifact name -> file text."""
    sources = {
        path.name: path.read_text(encoding="utf-8") for path in sorted(CONTRACTS.glob("*.sol"))
    }
    if not sources:
        raise CompileError(f"no .sol files in {CONTRACTS.relative_to(REPO)}")
    groups: dict[str, dict[str, str]] = {}
    for name, text in sources.items():
        groups.setdefault(compiler_series(name, text), {})[name] = text
    artifacts: dict[str, str] = {}
    for series, group in sorted(groups.items()):
        if series == "0.8":
            artifacts.update(_compile_group(series, find_solcjs(), SETTINGS, group))
        else:
            artifacts.update(_compile_group(series, find_solcjs_07(), SETTINGS_07, group))
    return dict(sorted(artifacts.items()))


def _compile_group(
    series: str, solcjs: list[str], settings: dict[str, Any], sources: dict[str, str]
) -> dict[str, str]:
    """Compile `sources` (file name -> text) in one standard-JSON run of `solcjs`."""
    version = _run(solcjs, ["--version"]).strip()
    if not version.startswith(series + "."):
        raise CompileError(f"{' '.join(solcjs)} is solc {version}, not {series}.x")
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": settings,
    }
    raw = _run(solcjs, ["--standard-json"], json.dumps(request))
    try:
        output = json.loads(raw[raw.index("{") :])  # solcjs may print a banner line before it
    except ValueError as exc:
        raise CompileError("solcjs --standard-json printed no JSON output") from exc
    problems = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if problems:
        first = problems[0].get("formattedMessage") or problems[0].get("message", "?")
        raise CompileError(f"{len(problems)} compile error(s); first: {first.strip()}")
    for warning in output.get("errors", []):
        if warning.get("severity") != "error":
            message = warning.get("formattedMessage") or warning.get("message", "")
            print(f"warning: {message.strip()}", file=sys.stderr)

    artifacts = {}
    for source_name, text in sources.items():
        name = source_name.removesuffix(".sol")
        contract = output.get("contracts", {}).get(source_name, {}).get(name)
        if contract is None:
            raise CompileError(f"{source_name} must define a contract named {name}")
        artifact = {
            "contractName": name,
            "sourceName": source_name,
            "sourceSha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            "abi": contract["abi"],
            "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
            "compiler": {
                "name": "solc",
                "version": version,
                "settings": {k: v for k, v in settings.items() if k != "outputSelection"},
            },
        }
        artifacts[f"{name}.json"] = json.dumps(artifact, indent=2, sort_keys=True) + "\n"
    return artifacts


def stale_artifacts(expected: dict[str, str]) -> list[str]:
    """Artifact files that are missing, differ from `expected`, or have no source any more."""
    present = {path.name for path in ARTIFACTS.glob("*.json")}
    stale = [
        f"{name} (missing)" if name not in present else f"{name} (out of date)"
        for name, text in sorted(expected.items())
        if name not in present or (ARTIFACTS / name).read_text(encoding="utf-8") != text
    ]
    stale += [f"{name} (no source)" for name in sorted(present - expected.keys())]
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compile in memory; exit 1 listing stale artifacts"
    )
    args = parser.parse_args(argv)
    try:
        expected = compile_artifacts()
    except CompileError as exc:
        print(f"compile_contracts: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_artifacts(expected)
        for line in stale:
            print(f"stale: {ARTIFACTS.relative_to(REPO) / line}")
        if stale:
            print("run `python scripts/compile_contracts.py` to rebuild", file=sys.stderr)
        return 1 if stale else 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, text in expected.items():
        (ARTIFACTS / name).write_text(text, encoding="utf-8")
    for name in stale_artifacts(expected):  # only orphans remain after writing
        (ARTIFACTS / name.split(" ")[0]).unlink()
    print(f"wrote {len(expected)} artifacts to {ARTIFACTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
