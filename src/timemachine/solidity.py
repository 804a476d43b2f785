"""The pinned npm solc (solcjs) as a library: find it, pick the series a source's pragma asks for,
compile in standard-JSON mode with fixed settings.

`scripts/compile_contracts.py` builds the bundled artifacts with it; what-if replays compile a
patched contract (`--patch ADDR=FILE.sol[:Contract]`) with it. 0.8.x sources build with npm `solc`
(`node_modules/solc/solc.js`, evm `prague`), 0.7.x with npm `solc-0.7` (solc 0.7.6,
`node_modules/solc-0.7/solcjs`, evm `istanbul`); both run with node, since the two packages fight
over the `node_modules/.bin/solcjs` link.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timemachine.errors import CompileError
from timemachine.logs import get_logger
from timemachine.untrusted import MAX_SOLIDITY_BYTES, refuse_nul

log = get_logger(__name__)

TIMEOUT = 300.0
# Within one line: `^\s*` spanning blank lines made a search quadratic in the source's size.
_PRAGMA = re.compile(r"^[ \t]*pragma[ \t]+solidity[ \t]+([^;\n]+);", re.MULTILINE)
_REPO = Path(__file__).resolve().parents[2]

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


def node_modules() -> Path:
    """The repository's node_modules (next to `src/`), else one in the working directory."""
    for root in (_REPO, Path.cwd()):
        if (root / "node_modules").is_dir():
            return root / "node_modules"
    return _REPO / "node_modules"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise CompileError("node not found on PATH; solcjs needs Node.js")
    return node


def find_solcjs() -> list[str]:
    """The 0.8 solcjs command: the pinned one in node_modules, else a `solcjs` on PATH."""
    pinned = node_modules() / "solc" / "solc.js"
    if pinned.exists():
        return [_node(), str(pinned)]
    found = shutil.which("solcjs")
    if found is None:
        raise CompileError(
            f"solcjs not found at {pinned} or on PATH; run `npm install` in the repository root"
        )
    return [found]


def find_solcjs_07() -> list[str]:
    """The 0.7.6 solcjs command (npm alias `solc-0.7`)."""
    pinned = node_modules() / "solc-0.7" / "solcjs"
    if not pinned.exists():
        raise CompileError(
            f"solc 0.7.6 not found at {pinned}; run `npm install` in the repository root"
        )
    return [_node(), str(pinned)]


def compiler_series(name: str, text: str) -> str:
    """'0.7' or '0.8': the compiler series the source's `pragma solidity` asks for."""
    match = _PRAGMA.search(text)
    series = re.search(r"0\.(\d+)\.", match.group(1)) if match else None
    if series is None:
        raise CompileError(f"{name} has no `pragma solidity 0.x.y` line")
    if series.group(1) not in ("7", "8"):
        raise CompileError(f"{name} asks for solidity 0.{series.group(1)}; only 0.7 and 0.8 exist")
    return f"0.{series.group(1)}"


def solcjs_for(series: str) -> tuple[list[str], dict[str, Any]]:
    """The compiler command and settings of a series."""
    if series == "0.8":
        return find_solcjs(), SETTINGS
    return find_solcjs_07(), SETTINGS_07


def run_solcjs(solcjs: list[str], args: list[str], stdin: str = "") -> str:
    """Run solcjs; its stdout. stdin and stdout are files, not pipes: node exits before flushing
    a pipe (output was cut off at 64 KiB), and solcjs's readFileSync(0) fails with EAGAIN on a
    non-blocking pipe once the standard-JSON request outgrows the pipe buffer."""
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


@dataclass(frozen=True)
class CompiledGroup:
    """One standard-JSON run: the compiler version, its `contracts` output, its warnings."""

    version: str
    contracts: dict[str, dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def compile_sources(
    series: str, solcjs: list[str], settings: dict[str, Any], sources: dict[str, str]
) -> CompiledGroup:
    """Compile `sources` (file name -> text) in one standard-JSON run of `solcjs`."""
    version = run_solcjs(solcjs, ["--version"]).strip()
    if not version.startswith(series + "."):
        raise CompileError(f"{' '.join(solcjs)} is solc {version}, not {series}.x")
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": settings,
    }
    raw = run_solcjs(solcjs, ["--standard-json"], json.dumps(request))
    try:
        output = json.loads(raw[raw.index("{") :])  # solcjs may print a banner line before it
    except ValueError as exc:
        raise CompileError("solcjs --standard-json printed no JSON output") from exc
    problems = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if problems:
        first = problems[0].get("formattedMessage") or problems[0].get("message", "?")
        raise CompileError(f"{len(problems)} compile error(s); first: {first.strip()}")
    warnings = [
        str(w.get("formattedMessage") or w.get("message", "")).strip()
        for w in output.get("errors", [])
        if w.get("severity") != "error"
    ]
    return CompiledGroup(version=version, contracts=output.get("contracts", {}), warnings=warnings)


@dataclass(frozen=True)
class CompiledContract:
    """ABI, init code and runtime code of one contract compiled from a file."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler: str


def compile_file(path: Path, contract: str | None = None) -> CompiledContract:
    """Compile one self-contained Solidity file (no imports) with the pinned solc its pragma asks
    for; `contract` defaults to the file's stem, else its only contract."""
    try:
        size = path.stat().st_size
        if size > MAX_SOLIDITY_BYTES:
            raise CompileError(
                f"{path} is {size:,} bytes; the limit for one Solidity source is "
                f"{MAX_SOLIDITY_BYTES:,}"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CompileError(f"cannot read {path}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise CompileError(f"{path} is not UTF-8 text (byte {error.start})") from None
    refuse_nul(text, what=str(path))
    series = compiler_series(path.name, text)
    solcjs, settings = solcjs_for(series)
    log.info("compiling", path=str(path), series=series)
    group = compile_sources(series, solcjs, settings, {path.name: text})
    defined = group.contracts.get(path.name, {})
    name = contract or (path.stem if path.stem in defined else None)
    if name is None and len(defined) == 1:
        name = next(iter(defined))
    if name is None or name not in defined:
        raise CompileError(
            f"{path} defines {', '.join(sorted(defined)) or 'no contract'}; name one as "
            f"{path.name}:Contract"
        )
    output = defined[name]
    deployed = output["evm"]["deployedBytecode"]["object"]
    if not deployed:
        raise CompileError(f"{name} in {path} is abstract or an interface: it has no runtime code")
    return CompiledContract(
        name=name,
        abi=output["abi"],
        bytecode="0x" + output["evm"]["bytecode"]["object"],
        deployed_bytecode="0x" + deployed,
        compiler=group.version,
    )
