"""What-if replays: the target transaction on a fork modified first (patched code, state
overrides, another sender, another block, extra or fewer earlier transactions).

Every modification is applied on the fork before the block is mined: code and state with anvil's
`anvil_set*` calls, senders by impersonation. Patched code replaces the runtime code only; the
account's storage stays, so a patched contract must keep the original's storage layout (new
variables after the old ones), or it reads the old slots under other meanings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.address import is_hex_address, to_checksum_address
from eth_utils.crypto import keccak

from timemachine.chain.blocks import parse_block_env, parse_receipt, quantity, validate_tx_hash
from timemachine.chain.registry import get_chain
from timemachine.chain.rpc import Call
from timemachine.errors import InvalidInputError, ReplayError, RpcError
from timemachine.models import BlockEnv, ReplayResult
from timemachine.models.whatif import CallSpec, CodePatch, WhatIf
from timemachine.ports import ChainRPC, ExecutedBlock, LiveFork
from timemachine.replay.assemble import preceding_notes
from timemachine.replay.block import nonce_calls
from timemachine.replay.engine import ReplayEngine
from timemachine.replay.environment import env_differences
from timemachine.replay.pipeline import BlockRun, Target, run_on_fork, start_fork
from timemachine.replay.source import OriginalTx, fetch_block, fetch_original
from timemachine.replay.stopwatch import Stopwatch
from timemachine.replay.submit import send_params

WHATIF_NEEDS_ANVIL = (
    "a what-if edits its fork and calls it over RPC, which a py-evm fork does not serve"
)
_CREATE_GAS = hex(30_000_000)


@dataclass(frozen=True)
class WhatIfRun:
    """What a what-if executed, for a hook that captures it (a capsule export): the block the
    fork started from, the state calls applied first, the transactions sent in order (gas
    filled in, no nonce on inserted ones and the target) and the mined block."""

    parent: int
    state_calls: list[Call]
    transactions: list[dict[str, Any]]
    executed: ExecutedBlock


WhatIfHook = Callable[[LiveFork, WhatIfRun], Awaitable[None]]


def _address(value: str, what: str) -> str:
    if not is_hex_address(value.strip()):
        raise InvalidInputError(f"{what} {value!r} is not a 20-byte hex address")
    return str(to_checksum_address(value.strip()))


def _word(value: str | int, what: str) -> str:
    """A storage slot or value as a 32-byte 0x-hex word (accepts decimal or 0x-hex)."""
    try:
        number = value if isinstance(value, int) else int(str(value).strip(), 0)
    except ValueError as error:
        raise InvalidInputError(f"{what} {value!r} is not a number (decimal or 0x-hex)") from error
    if not 0 <= number < 2**256:
        raise InvalidInputError(f"{what} {value!r} does not fit in 32 bytes")
    return "0x" + number.to_bytes(32, "big").hex()


def _bytecode(value: str, what: str) -> str:
    text = value.strip().lower()
    body = text[2:] if text.startswith("0x") else text
    if len(body) % 2 or any(c not in "0123456789abcdef" for c in body):
        raise InvalidInputError(f"{what} is not hex bytecode")
    return "0x" + body


async def override_calls(whatif: WhatIf) -> list[Call]:
    """anvil calls setting every state override of `whatif`."""
    calls: list[Call] = []
    for item in whatif.overrides:
        address = _address(item.address, "override address")
        if item.balance is not None:
            calls.append(("anvil_setBalance", [address, hex(item.balance)]))
        if item.nonce is not None:
            calls.append(("anvil_setNonce", [address, hex(item.nonce)]))
        if item.code is not None:
            calls.append(("anvil_setCode", [address, _bytecode(item.code, "override code")]))
        for slot, value in item.storage.items():
            calls.append(
                (
                    "anvil_setStorageAt",
                    [address, _word(slot, "storage slot"), _word(value, "storage value")],
                )
            )
    return calls


def _coerce(kind: str, value: Any) -> Any:
    """A CLI/JSON constructor argument as the Python value eth_abi encodes for `kind`."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if kind == "address":
        return _address(text, "constructor argument")
    if kind == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise InvalidInputError(f"constructor argument {value!r} is not a bool")
        return text.lower() in ("true", "1")
    if kind.startswith(("uint", "int")):
        try:
            return int(text, 0)
        except ValueError as error:
            raise InvalidInputError(f"constructor argument {value!r} is not a number") from error
    if kind.startswith("bytes"):
        return bytes.fromhex(_bytecode(text, "constructor argument")[2:])
    return text


async def _getter(rpc: ChainRPC, target: str, name: str, kind: str) -> Any:
    """The value of `target.name()` on the fork, decoded as `kind`."""
    data = "0x" + keccak(text=f"{name}()")[:4].hex()
    try:
        output = await rpc.call("eth_call", [{"to": target, "data": data}, "latest"])
        return abi_decode([kind], bytes.fromhex(str(output)[2:]))[0]
    except (RpcError, ValueError, TypeError) as error:  # eth_abi errors derive from these
        raise InvalidInputError(
            f"cannot read constructor argument {name!r} from {target}.{name}(): pass "
            "constructor_args (CLI: --patch-args ADDR=a,b,...)"
        ) from error


async def _constructor_args(
    rpc: ChainRPC, target: str, inputs: list[dict[str, Any]], given: list[Any] | None
) -> list[Any]:
    if given is not None and len(given) != len(inputs):
        raise InvalidInputError(
            f"the constructor takes {len(inputs)} arguments, {len(given)} were given"
        )
    values = []
    for position, param in enumerate(inputs):
        kind = str(param["type"])
        if kind.startswith("tuple"):
            raise InvalidInputError("constructor arguments of tuple type are not supported")
        value = given[position] if given is not None else "@" + str(param["name"]).strip("_")
        if isinstance(value, str) and value.startswith("@"):
            values.append(await _getter(rpc, target, value[1:], kind))
        else:
            values.append(_coerce(kind, value))
    return values


async def patched_code(rpc: ChainRPC, patch: CodePatch) -> str:
    """The runtime code `patch` puts at its address (compiled, then created in an eth_call)."""
    target = _address(patch.address, "patch address")
    if patch.code:
        return _bytecode(patch.code, f"the patch code of {target}")
    if patch.artifact:
        from timemachine.catalog.artifacts import load_artifact

        artifact = load_artifact(patch.artifact)
        abi, init = artifact.abi, artifact.bytecode
    else:
        from timemachine.solidity import compile_file

        compiled = compile_file(Path(str(patch.source)), patch.contract)
        abi, init = compiled.abi, compiled.bytecode
    ctor = next((item for item in abi if item.get("type") == "constructor"), None)
    inputs = list(ctor["inputs"]) if ctor else []
    args = await _constructor_args(rpc, target, inputs, patch.constructor_args)
    types = [str(param["type"]) for param in inputs]
    data = init + (abi_encode(types, args).hex() if types else "")
    try:
        runtime = await rpc.call("eth_call", [{"data": data, "gas": _CREATE_GAS}, "latest"])
    except RpcError as error:
        raise ReplayError(
            f"the patched contract's constructor failed on the fork: {error.message}"
        ) from error
    if not runtime or runtime == "0x":
        raise ReplayError(f"the patched contract for {target} deployed no runtime code")
    return str(runtime)


async def apply_state(fork: LiveFork, whatif: WhatIf) -> list[Call]:
    """Put patched code and state overrides on `fork` (before anything of the block runs);
    returns the anvil calls made (patched code as the runtime bytecode put there)."""
    calls: list[Call] = []
    for patch in whatif.patches:
        code = await patched_code(fork.rpc, patch)
        calls.append(("anvil_setCode", [_address(patch.address, "patch address"), code]))
    calls += await override_calls(whatif)
    if calls:
        with fork.crash_guard("applying what-if modifications"):
            await fork.rpc.batch(calls)
    return calls


async def _inserted(upstream: ChainRPC, entries: list[str | CallSpec]) -> list[dict[str, Any]]:
    """JSON-RPC tx objects for the transactions inserted before the target (no nonce: the fork
    gives each its sender's next one)."""
    txs: list[dict[str, Any]] = []
    for entry in entries:
        if isinstance(entry, CallSpec):
            tx: dict[str, Any] = {
                "from": _address(entry.from_, "call sender"),
                "input": _bytecode(entry.data, "call data"),
                "value": hex(entry.value),
            }
            if entry.to:
                tx["to"] = _address(entry.to, "call target")
            if entry.gas:
                tx["gas"] = hex(entry.gas)
            txs.append(tx)
            continue
        mined = await upstream.call("eth_getTransactionByHash", [validate_tx_hash(entry)])
        if mined is None:
            raise InvalidInputError(f"transaction {entry} (--before) is unknown to the upstream")
        txs.append({key: value for key, value in mined.items() if key != "nonce"})
    return txs


async def _fill_gas(fork: LiveFork, txs: list[dict[str, Any]], limit: int) -> None:
    """Give calls without a gas limit an estimate (on the modified fork, before the block) with
    50% headroom, capped at a quarter of the block: the whole block's gas would crowd out the
    target. A call the estimate says reverts gets that cap, so it runs and shows its revert."""
    cap = limit // 4
    for tx in txs:
        if tx.get("gas") is not None:
            continue
        call = {key: tx[key] for key in ("from", "to", "input", "value") if key in tx}
        try:
            estimate = quantity(await fork.rpc.call("eth_estimateGas", [call, "latest"]))
        except RpcError:
            estimate = cap
        tx["gas"] = hex(min(cap, estimate * 3 // 2))


def _target(original: OriginalTx, whatif: WhatIf) -> dict[str, Any]:
    tx = {key: value for key, value in original.tx.items() if key != "nonce"}
    if whatif.sender:
        tx["from"] = _address(whatif.sender, "sender")
    return tx


def _kept_preceding(original: OriginalTx, whatif: WhatIf) -> list[dict[str, Any]]:
    preceding = original.preceding() if whatif.mode == "exact" else []
    drop = {validate_tx_hash(h).lower() for h in whatif.drop}
    if drop and (whatif.mode != "exact" or whatif.at_block is not None):
        raise InvalidInputError("--drop applies to the block's earlier transactions in exact mode")
    known = {str(tx["hash"]).lower() for tx in preceding}
    unknown = sorted(drop - known)
    if unknown:
        raise InvalidInputError(
            f"{unknown[0]} is not an earlier transaction of block {original.block_number}; "
            "--drop removes transactions that ran before the target in its block"
        )
    return [tx for tx in preceding if str(tx["hash"]).lower() not in drop]


async def _environment(
    engine: ReplayEngine, original: OriginalTx, whatif: WhatIf
) -> tuple[int, BlockEnv, dict[str, Any]]:
    """The block to fork at, the environment of the block mined on top, and the header whose
    rules (hardfork) apply."""
    env = parse_block_env(original.block)
    if whatif.at_block is None:
        return original.block_number - 1, env, original.block
    header = await fetch_block(engine.upstream, whatif.at_block)
    base = parse_block_env(header)
    block_time = get_chain(original.chain_id).block_time
    return (
        base.number,
        env.model_copy(
            update={
                "number": base.number + 1,
                "timestamp": base.timestamp + block_time,
                "hash": None,
                "parent_hash": base.hash,
            }
        ),
        header,
    )


async def replay_whatif(
    engine: ReplayEngine, tx_hash: str, whatif: WhatIf, *, on_executed: WhatIfHook | None = None
) -> ReplayResult:
    """Replay `tx_hash` with `whatif`'s modifications; the fidelity part compares the result with
    the original receipt (so a what-if that changes the outcome is `diverged`, differences named)
    and its notes list every modification applied. `on_executed` sees the fork right after the
    block was mined (a capsule export captures its state there)."""
    tx_hash = validate_tx_hash(tx_hash)
    clock = Stopwatch()
    requests_before = engine.upstream.requests
    with clock.stage("fetch"):
        original = await fetch_original(engine.upstream, tx_hash, full_block=True)
        chain = get_chain(original.chain_id)
        fork_block, env, header = await _environment(engine, original, whatif)
        hardfork = await engine.hardfork_at(chain, header)
        kept = [] if whatif.at_block is not None else _kept_preceding(original, whatif)
        inserted = await _inserted(engine.upstream, whatif.before)
    txs = [*kept, *inserted, _target(original, whatif)]
    setup: list[Call] = [("anvil_autoImpersonateAccount", [True]), *nonce_calls(kept)]
    state_calls: list[Call] = []

    async def prepare(fork: LiveFork) -> None:
        state_calls.extend(await apply_state(fork, whatif))
        await _fill_gas(fork, inserted, env.gas_limit)

    async def targets(fork: LiveFork, executed: ExecutedBlock) -> list[Target]:
        if on_executed is not None:
            await on_executed(fork, WhatIfRun(fork_block, state_calls, txs, executed))
        notes = [f"what-if: {line}" for line in whatif.describe()]
        notes += env_differences(env, executed.block)
        if whatif.at_block is None:
            notes += preceding_notes(original, executed, len(kept)) if not whatif.drop else []
        info = original.info
        if whatif.sender:
            info = info.model_copy(update={"sender": _address(whatif.sender, "sender")})
        return [
            Target(
                position=len(txs) - 1,
                info=info,
                index=len(kept) + len(inserted),
                preceding=len(kept) + len(inserted),
                original=parse_receipt(original.receipt),
                mode=whatif.mode,
                notes=notes,
            )
        ]

    block = BlockRun(
        env,
        setup,
        # Built after `prepare`: it fills in the gas of inserted calls.
        lambda: [("eth_sendTransaction", [send_params(tx)]) for tx in txs],
        targets=targets,
    )
    spec = engine.fork_spec(fork_block, hardfork, needs_anvil=WHATIF_NEEDS_ANVIL)
    fork = await start_fork(engine.forks, spec, clock)
    # A modified fork must not serve later replays: stop it rather than keep it warm.
    results = await run_on_fork(
        engine.forks,
        fork,
        [block],
        engine.facts(original.chain_id, hardfork, clock, requests_before),
        keep_warm=False,
        prepare=prepare,
    )
    return results[-1]
