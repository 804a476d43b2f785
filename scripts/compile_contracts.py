"""Compile the bundled Solidity scenarios into deterministic JSON artifacts.

Every `src/timemachine/catalog/scenarios/contracts/<Name>.sol` must define a contract `<Name>`;
it is compiled with the pinned solcjs its `pragma solidity` asks for (the runner lives in
`timemachine.solidity`) (0.8.x: npm `solc`,
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
import sys
from pathlib import Path
from typing import Any

from timemachine.errors import CompileError
from timemachine.solidity import (
    SETTINGS,
    SETTINGS_07,
    compile_sources,
    compiler_series,
    find_solcjs,
    find_solcjs_07,
)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "src" / "timemachine" / "catalog" / "scenarios"
CONTRACTS = SCENARIOS / "contracts"
ARTIFACTS = SCENARIOS / "artifacts"

__all__ = ["SETTINGS", "SETTINGS_07", "CompileError", "compile_artifacts", "main"]


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
    group = compile_sources(series, solcjs, settings, sources)
    for warning in group.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    artifacts = {}
    for source_name, text in sources.items():
        name = source_name.removesuffix(".sol")
        contract = group.contracts.get(source_name, {}).get(name)
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
                "version": group.version,
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
