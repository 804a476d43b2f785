"""go-ethereum's tracer fixtures (eth/tracers/internal/tracetest/testdata) run on our engine.

Each fixture is a capsule in another shape: the parent header with the prestate of every account
the transaction touches (`genesis`), the transaction's block (`context`), the raw signed
transaction (`input`), a tracer config and geth's expected tracer output (`result`). It is run
like geth's own runner does (see ../shared/fixtures/geth-tracetest/HOW-GETH-RUNS-THEM.md): a fresh
anvil whose genesis is the parent header, the hardfork geth would pick from the fixture's chain
config, the block environment from `context`, then the fixture's tracer, compared field by field.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from pydantic import BaseModel

from timemachine.chain.geth_config import hardfork_for_config
from timemachine.chain.hardforks import is_at_least
from timemachine.chain.rpc import Call
from timemachine.conformance.compare import (
    canonical_call_frame,
    canonical_flat_frame,
    differences,
)
from timemachine.errors import FixtureError, TimeMachineError
from timemachine.forks.manager import ForkManager
from timemachine.forks.quirks import engine_divergences
from timemachine.hexutil import hex_to_bytes, quantity
from timemachine.models import BlockEnv
from timemachine.ports import ExecutedBlock, ForkBackend, ForkSpec, LiveFork
from timemachine.replay.backends import PyEvmBackend, exact_backend, is_set_code_submission
from timemachine.replay.environment import env_differences
from timemachine.replay.pipeline import BlockRun, Target, run_on_fork, start_fork
from timemachine.replay.precompiles import with_geth_precompile_errors
from timemachine.replay.submit import send_params
from timemachine.settings import ForkSettings
from timemachine.trace.flat import flat_trace

SUITES: tuple[str, ...] = (
    "call_tracer",
    "call_tracer_withLog",
    "call_tracer_flat",
    "prestate_tracer",
    "prestate_tracer_with_diff_mode",
)
"""Fixture folders run, each with its tracer (the legacy JS and erc7562 ones are not)."""

TRACERS: Mapping[str, str] = {
    "call_tracer": "callTracer",
    "call_tracer_withLog": "callTracer",
    "call_tracer_flat": "flatCallTracer",
    "prestate_tracer": "prestateTracer",
    "prestate_tracer_with_diff_mode": "prestateTracer",
}

_ALLOC_FIELDS = frozenset({"balance", "nonce", "code", "storage"})

Status = Literal["matched", "failed", "error"]
Backend = Literal["anvil", "py-evm"]


def backend_for(hardfork: str, raw_tx: str) -> Backend:
    """The engine replays pick for this fork and transaction (`replay.backends.exact_backend`)."""
    set_code = is_set_code_submission(("eth_sendRawTransaction", [raw_tx]))
    return "anvil" if exact_backend(hardfork, set_code=set_code).engine == "anvil" else "py-evm"


class CaseResult(BaseModel):
    """One fixture: matched, failed (with every difference), or error (it could not run)."""

    name: str
    tracer: str
    status: Status
    hardfork: str | None = None
    backend: Backend | None = None
    """The engine that executed the transaction (None when the case could not start)."""
    differences: list[str] = []
    notes: list[str] = []
    """What could explain a difference: block fields anvil could not set, and known anvil
    divergences for this hardfork (measured, see docs/capsules.md)."""


class SuiteResult(BaseModel):
    total: int
    matched: int
    failed: int
    errors: int
    cases: list[CaseResult]


@dataclass(frozen=True)
class Fixture:
    name: str
    suite: str
    genesis: dict[str, Any]
    context: dict[str, Any]
    raw_tx: str
    tracer_config: dict[str, Any]
    result: Any

    @property
    def tracer(self) -> str:
        return TRACERS[self.suite]

    @property
    def number(self) -> int:
        return _int(self.context, "number")

    @property
    def timestamp(self) -> int:
        return _int(self.context, "timestamp")

    @property
    def hardfork(self) -> str:
        return hardfork_for_config(self.genesis.get("config", {}), self.number, self.timestamp)

    @property
    def merged(self) -> bool:
        keys = {str(key).lower(): value for key, value in self.genesis.get("config", {}).items()}
        return quantity(keys.get("terminaltotaldifficulty")) == 0

    @property
    def london(self) -> bool:
        return is_at_least(self.hardfork, "london")


def load_fixture(path: Path, suite: str) -> Fixture:
    try:
        data = json.loads(path.read_text())
        raw = str(data["input"])
        return Fixture(
            name=f"{suite}/{path.stem}",
            suite=suite,
            genesis=dict(data["genesis"]),
            context=dict(data["context"]),
            raw_tx=raw if raw[:2].lower() == "0x" else f"0x{raw}",
            tracer_config=dict(data.get("tracerConfig") or {}),
            result=data["result"],
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise FixtureError(f"{path}: not a geth tracer fixture ({error})") from error


def discover(directory: Path) -> list[tuple[Path, str]]:
    """Every fixture file of the suites we run, by suite then file name."""
    found: list[tuple[Path, str]] = []
    for suite in SUITES:
        folder = directory / suite
        if folder.is_dir():
            found += [(path, suite) for path in sorted(folder.glob("*.json"))]
    return found


def _int(mapping: Mapping[str, Any], key: str) -> int:
    value = quantity(mapping.get(key))
    if value is None:
        raise FixtureError(f"field {key!r} is missing or not a number")
    return value


def anvil_genesis(fixture: Fixture) -> dict[str, Any]:
    """A genesis.json for `anvil --init` whose block is the fixture's parent header."""
    genesis = fixture.genesis
    out: dict[str, Any] = {
        "config": {"chainId": _int(genesis.get("config") or {}, "chainId")},
        # geth's runner takes the block number from `context` and never executes the genesis;
        # anvil mines genesis + 1, so the parent is placed right below the context block (two
        # fixtures have a context number far above their genesis number).
        "number": hex(max(fixture.number - 1, 0)),
        "timestamp": hex(_int(genesis, "timestamp")),
        "gasLimit": hex(_int(genesis, "gasLimit")),
        "difficulty": hex(_int(genesis, "difficulty")),
        "coinbase": genesis.get("miner") or genesis.get("coinbase") or "0x" + "00" * 20,
        "extraData": "0x",
        # anvil's --init refuses fields it does not know (the fixtures carry codeHash).
        "alloc": {
            address: {key: value for key, value in account.items() if key in _ALLOC_FIELDS}
            for address, account in (genesis.get("alloc") or {}).items()
        },
    }
    if fixture.london:
        out["baseFeePerGas"] = hex(quantity(genesis.get("baseFeePerGas")) or 0)
    if is_at_least(fixture.hardfork, "cancun"):
        # geth's runner derives the blob base fee from a parent with no excess blob gas, so it is
        # always the minimum (1 wei); a zero-excess genesis gives anvil's next block the same.
        out["excessBlobGas"] = "0x0"
        out["blobGasUsed"] = "0x0"
    return out


def block_env(fixture: Fixture) -> BlockEnv:
    """The next block's environment from `context`; the base fee only when London is active."""
    context = fixture.context
    return BlockEnv(
        number=fixture.number,
        timestamp=fixture.timestamp,
        coinbase=str(context["miner"]),
        gas_limit=_int(context, "gasLimit"),
        base_fee=quantity(context.get("baseFeePerGas")) or 0 if fixture.london else None,
        difficulty=quantity(context.get("difficulty")) or 0,
        # geth's runner sets PREVRANDAO to the genesis mixHash only for a post-merge block.
        prevrandao=fixture.genesis.get("mixHash") if fixture.merged else None,
    )


async def run_fixture(
    fixture: Fixture, forks: ForkBackend, pyevm: ForkBackend | None = None
) -> CaseResult:
    """Run one fixture on its backend (`forks`, anvil; py-evm before London) and compare with
    its `result`; the fork is always stopped."""
    try:
        hardfork = fixture.hardfork
    except (TimeMachineError, ValueError) as error:
        return CaseResult(
            name=fixture.name,
            tracer=fixture.tracer,
            status="error",
            differences=[f"hardfork: {error}"],
        )
    backend = backend_for(hardfork, fixture.raw_tx)
    engine = forks if backend == "anvil" else pyevm or PyEvmBackend()
    env = block_env(fixture)
    traced: dict[str, Any] = {}

    async def capture(fork: LiveFork, executed: ExecutedBlock) -> None:
        traced["forms"] = await trace_forms(fork, fixture, hardfork, executed)
        traced["notes"] = env_differences(env, executed.block)

    async def no_targets(fork: LiveFork, executed: ExecutedBlock) -> list[Target]:
        return []  # geth's tracer output is compared, not a replay result

    try:
        spec = ForkSpec(hardfork=hardfork, genesis=anvil_genesis(fixture))
        fork = await start_fork(engine, spec)
        await run_on_fork(
            engine,
            fork,
            [BlockRun(env, *submission(fixture.raw_tx), targets=no_targets)],
            None,
            keep_warm=False,
            on_executed=capture,
        )
    except (TimeMachineError, KeyError, TypeError, ValueError) as error:
        # Engine refusals and malformed fixture fields: this case could not run; the rest do.
        return CaseResult(
            name=fixture.name,
            tracer=fixture.tracer,
            status="error",
            hardfork=hardfork,
            backend=backend,
            differences=[
                str(error)
                if isinstance(error, TimeMachineError)
                else f"malformed fixture ({type(error).__name__}: {error})"
            ],
        )
    expected, actual = traced["forms"]
    notes: list[str] = traced["notes"] if backend == "anvil" else []
    found = differences(expected, actual)
    if found and backend == "anvil":
        notes += engine_divergences(hardfork)
    return CaseResult(
        name=fixture.name,
        tracer=fixture.tracer,
        status="failed" if found else "matched",
        hardfork=hardfork,
        backend=backend,
        differences=found,
        notes=notes,
    )


Runner = Callable[[Fixture, ForkManager], Awaitable[CaseResult]]
"""Runs one fixture on an engine (offline: `run_fixture`; through RPC: conformance/live.py)."""


async def run_suite(
    directory: Path,
    forks: ForkManager | None = None,
    progress: Callable[[CaseResult], None] | None = None,
    *,
    settings: ForkSettings | None = None,
    runner: Runner | None = None,
) -> SuiteResult:
    """Every fixture of `SUITES` under `directory`, one fresh fork each, in a stable order
    (`settings` configure the anvil forks when `forks` is not given; `runner` runs each one,
    `run_fixture` by default)."""
    run = runner or run_fixture
    manager = forks or ForkManager(settings)
    cases: list[CaseResult] = []
    try:
        for path, suite in discover(directory):
            try:
                fixture = load_fixture(path, suite)
            except FixtureError as error:
                name = f"{suite}/{path.stem}"
                cases.append(
                    CaseResult(
                        name=name, tracer=TRACERS[suite], status="error", differences=[str(error)]
                    )
                )
                continue
            cases.append(await run(fixture, manager))
            if progress is not None:
                progress(cases[-1])
    finally:
        if forks is None:
            await manager.shutdown()
    return SuiteResult(
        total=len(cases),
        matched=sum(case.status == "matched" for case in cases),
        failed=sum(case.status == "failed" for case in cases),
        errors=sum(case.status == "error" for case in cases),
        cases=cases,
    )


async def trace_forms(
    fork: LiveFork, fixture: Fixture, hardfork: str, executed: ExecutedBlock
) -> tuple[Any, Any]:
    """(expected, actual) in the canonical form geth's runner compares."""
    tx_hash = executed.hashes[0]
    with fork.crash_guard("tracing the transaction"):
        tx = await fork.rpc.call("eth_getTransactionByHash", [tx_hash])
        config = fixture.tracer_config
        if fixture.tracer == "prestateTracer":
            actual = await _prestate(fork, tx_hash, config)
            return fixture.result, actual
        call_config = (
            {key: config[key] for key in ("onlyTopCall", "withLog") if key in config}
            if fixture.tracer == "callTracer"
            else {}
        )
        (raw,) = await fork.trace(tx_hash, {"tracer": "callTracer", "tracerConfig": call_config})
    # Normalization (docs/capsules.md): the root frame takes the tx gas limit and the receipt's
    # gasUsed, which is what geth reports; anvil 1.7.1 reports other values there.
    root = {
        **with_geth_precompile_errors(raw),
        "gas": tx["gas"],
        "gasUsed": executed.receipts[0].get("gasUsed"),
    }
    return _call_forms(fixture, hardfork, root)


def _call_forms(fixture: Fixture, hardfork: str, root: dict[str, Any]) -> tuple[Any, Any]:
    """(expected, actual) for a callTracer or flatCallTracer fixture, from a callTracer tree."""
    config = fixture.tracer_config
    if fixture.tracer == "callTracer":
        return canonical_call_frame(fixture.result), canonical_call_frame(root)
    flat = flat_trace(
        root,
        hardfork,
        include_precompiles=bool(config.get("includePrecompiles")),
        convert_parity_errors=bool(config.get("convertParityErrors")),
    )
    expected = [canonical_flat_frame(frame) for frame in fixture.result]
    return expected, [canonical_flat_frame(frame) for frame in flat]


def submission(raw_tx: str) -> tuple[list[Call], list[Call]]:
    """Setup calls and the submission that put the fixture's signed transaction in the block.

    A blob transaction (type 3) in a fixture has no sidecar (the blobs are not part of the
    transaction), and anvil 1.7.1 refuses it raw ("eip4844 tx variant without sidecar"); it is
    sent by impersonating its signer with every execution-relevant field, as replays do. The
    blob contents are unreachable from the EVM (only their versioned hashes are), so execution is
    the same.
    """
    if not raw_tx.lower().startswith("0x03"):
        return [], [("eth_sendRawTransaction", [raw_tx])]
    decoded = TypedTransaction.from_bytes(HexBytes(raw_tx)).as_dict()
    sender = Account.recover_transaction(raw_tx).lower()
    fields = {
        "from": sender,
        "to": "0x" + bytes(decoded["to"]).hex(),
        "value": hex(decoded["value"]),
        "gas": hex(decoded["gas"]),
        "nonce": hex(decoded["nonce"]),
        "input": "0x" + bytes(decoded["data"]).hex(),
        "type": "0x3",
        "maxFeePerGas": hex(decoded["maxFeePerGas"]),
        "maxPriorityFeePerGas": hex(decoded["maxPriorityFeePerGas"]),
        "maxFeePerBlobGas": hex(decoded["maxFeePerBlobGas"]),
        "blobVersionedHashes": ["0x" + bytes(h).hex() for h in decoded["blobVersionedHashes"]],
        "accessList": [
            {
                "address": "0x" + bytes(entry["address"]).hex(),
                "storageKeys": ["0x" + bytes(key).hex() for key in entry["storageKeys"]],
            }
            for entry in decoded.get("accessList") or ()
        ],
        "chainId": hex(decoded["chainId"]),
    }
    return [("anvil_impersonateAccount", [sender])], [
        ("eth_sendTransaction", [send_params(fields)])
    ]


async def _prestate(fork: LiveFork, tx_hash: str, config: dict[str, Any]) -> Any:
    """The fork's prestateTracer output, with geth's `codeHash` added (anvil 1.7.1 omits it).

    geth reports codeHash for every account that has code, whatever disableCode says; the code
    comes from a second trace with code enabled, and codeHash is its keccak-256.
    """
    tracers = [{"tracer": "prestateTracer", "tracerConfig": config}]
    if config.get("disableCode"):
        tracers.append(
            {"tracer": "prestateTracer", "tracerConfig": {**config, "disableCode": False}}
        )
    traced = await fork.trace(tx_hash, *tracers)
    finish_prestate(traced[0], traced[-1], config)
    return traced[0]


def finish_prestate(traced: dict[str, Any], with_code: dict[str, Any], config: Any) -> None:
    """geth's codeHash and includeEmpty on a prestate result, from the same result with code."""
    if config.get("diffMode"):
        for section in ("pre", "post"):
            add_code_hashes(
                traced.get(section, {}), with_code.get(section, {}), changed=section == "post"
            )
        if not config.get("includeEmpty"):
            drop_empty_accounts(traced.get("pre", {}), with_code.get("pre", {}))
    else:
        add_code_hashes(traced, with_code)
        if not config.get("includeEmpty"):
            drop_empty_accounts(traced, with_code)


def drop_empty_accounts(accounts: dict[str, Any], with_code: dict[str, Any]) -> None:
    """geth's default (includeEmpty false): accounts empty before the tx are left out.

    Empty is EIP-161's: no balance, nonce 0, no code (storage does not count). anvil 1.7.1
    ignores includeEmpty and always lists them.
    """
    for address in list(accounts):
        account = accounts[address]
        code = hex_to_bytes((with_code.get(address) or {}).get("code"))
        if not quantity(account.get("balance")) and not account.get("nonce") and not code:
            del accounts[address]


def add_code_hashes(
    accounts: dict[str, Any], with_code: dict[str, Any], *, changed: bool = False
) -> None:
    """geth's codeHash: of every account with code, and in a diff's `post` (`changed`) of
    every account whose code changed, emptied code included (an EIP-7702 delegation cleared)."""
    for address, account in accounts.items():
        written = (with_code.get(address) or {}).get("code")
        code = hex_to_bytes(written)
        if (code or (changed and written is not None)) and "codeHash" not in account:
            account["codeHash"] = "0x" + keccak(code or b"").hex()
