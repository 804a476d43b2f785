"""Compile the bundled Solidity scenarios into deterministic JSON artifacts.

Every `src/timemachine/catalog/scenarios/contracts/<Name>.sol` must define a contract `<Name>`;
the generalization set's sources (`scenarios/generalization/contracts/*.sol`) may define several
contracts each, and every deployable one with an ABI (not an internal library) gets an artifact
in `generalization/artifacts/`. Each is compiled with the pinned solcjs its `pragma solidity`
asks for (the runner lives in `timemachine.solidity`) (0.8.x: npm `solc`,
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
GENERALIZATION = SCENARIOS / "generalization"
SETS = (
    (CONTRACTS, ARTIFACTS, False),
    (GENERALIZATION / "contracts", GENERALIZATION / "artifacts", True),
)
"""(sources, artifacts, every deployable contract of a file rather than the one named after it)"""

__all__ = ["SETTINGS", "SETTINGS_07", "CompileError", "compile_artifacts", "main"]


def compile_artifacts(contracts: Path = CONTRACTS, every_contract: bool = False) -> dict[str, str]:
    """Compile every source with the compiler its pragma asks for; artifact name -> file text."""
    sources = {
        path.name: path.read_text(encoding="utf-8") for path in sorted(contracts.glob("*.sol"))
    }
    if not sources:
        raise CompileError(f"no .sol files in {contracts.relative_to(REPO)}")
    groups: dict[str, dict[str, str]] = {}
    for name, text in sources.items():
        groups.setdefault(compiler_series(name, text), {})[name] = text
    artifacts: dict[str, str] = {}
    for series, group in sorted(groups.items()):
        if series == "0.8":
            compiled = _compile_group(series, find_solcjs(), SETTINGS, group, every_contract)
        else:
            compiled = _compile_group(series, find_solcjs_07(), SETTINGS_07, group, every_contract)
        clash = sorted(artifacts.keys() & compiled.keys())
        if clash:
            raise CompileError(f"contract names defined twice: {', '.join(clash)}")
        artifacts.update(compiled)
    return dict(sorted(artifacts.items()))


def _compile_group(
    series: str,
    solcjs: list[str],
    settings: dict[str, Any],
    sources: dict[str, str],
    every_contract: bool,
) -> dict[str, str]:
    """Compile `sources` (file name -> text) in one standard-JSON run of `solcjs`."""
    group = compile_sources(series, solcjs, settings, sources)
    for warning in group.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    artifacts = {}
    for source_name, text in sources.items():
        defined = group.contracts.get(source_name, {})
        if every_contract:
            names = [
                n for n, c in defined.items() if c["abi"] and c["evm"]["deployedBytecode"]["object"]
            ]
        else:
            names = [source_name.removesuffix(".sol")]
        for name in names:
            if name not in defined:
                raise CompileError(f"{source_name} must define a contract named {name}")
            artifacts[f"{name}.json"] = _artifact(
                name, source_name, text, defined[name], group.version, settings
            )
    return artifacts


def _artifact(
    name: str,
    source_name: str,
    text: str,
    contract: dict[str, Any],
    version: str,
    settings: dict[str, Any],
) -> str:
    """The artifact file text of one compiled contract."""
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
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def stale_artifacts(expected: dict[str, str], artifacts: Path = ARTIFACTS) -> list[str]:
    """Artifact files that are missing, differ from `expected`, or have no source any more."""
    present = {path.name for path in artifacts.glob("*.json")}
    stale = [
        f"{name} (missing)" if name not in present else f"{name} (out of date)"
        for name, text in sorted(expected.items())
        if name not in present or (artifacts / name).read_text(encoding="utf-8") != text
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
        built = [(artifacts, compile_artifacts(src, every)) for src, artifacts, every in SETS]
    except CompileError as exc:
        print(f"compile_contracts: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = [
            artifacts.relative_to(REPO) / line
            for artifacts, expected in built
            for line in stale_artifacts(expected, artifacts)
        ]
        for line in stale:
            print(f"stale: {line}")
        if stale:
            print("run `python scripts/compile_contracts.py` to rebuild", file=sys.stderr)
        return 1 if stale else 0
    for artifacts, expected in built:
        artifacts.mkdir(parents=True, exist_ok=True)
        for name, text in expected.items():
            (artifacts / name).write_text(text, encoding="utf-8")
        for name in stale_artifacts(expected, artifacts):  # only orphans remain after writing
            (artifacts / name.split(" ")[0]).unlink()
        print(f"wrote {len(expected)} artifacts to {artifacts.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
