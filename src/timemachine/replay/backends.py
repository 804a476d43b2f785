"""The `ForkBackend` adapters, and the rule that picks the exact one for a replay.

- anvil: `forks.manager.ForkManager` (a pool of anvil processes; its `Fork` is the `LiveFork`).
- py-evm: `PyEvmBackend`, in process, from a prestate (capsules, tracer fixtures) or from an
  upstream RPC (state read lazily, see pyevm/upstream.py).
- `ByFork`: the `ForkBackend` replays use; it picks one of the two per fork (`exact_backend`)
  and says why, which the fidelity verdict quotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from timemachine.chain.hardforks import is_at_least
from timemachine.errors import InvalidInputError
from timemachine.ports import BACKEND_NAMES, BackendName, Call, ForkBackend, ForkSpec, LiveFork

PYEVM_BEFORE = "london"
"""Before this hardfork py-evm, not anvil, matches geth (measured on geth's tracer fixtures)."""

Engine = Literal["anvil", "pyevm"]


class PyEvmBackend:
    """py-evm as a `ForkBackend`: every fork is a fresh in-memory state (nothing to pool)."""

    name = "pyevm"

    async def acquire(self, spec: ForkSpec) -> LiveFork:
        from timemachine.pyevm.node import PyEvmFork  # loads py-evm (about 0.8 s) on first use

        fork = PyEvmFork(spec)
        await fork.connect()
        return fork

    async def release(self, fork: LiveFork, *, keep_warm: bool = True) -> None:
        from timemachine.pyevm.node import PyEvmFork

        if isinstance(fork, PyEvmFork):  # in memory: only its upstream connection to close
            await fork.aclose()


@dataclass(frozen=True)
class BackendChoice:
    """The engine a fork runs on, and why (the fidelity verdict quotes `reason`)."""

    engine: Engine
    reason: str


def exact_backend(hardfork: str, *, set_code: bool = False) -> BackendChoice:
    """The engine that matches geth for a block under `hardfork` (`set_code`: a traced
    transaction carries an EIP-7702 authorization list). Measured on geth's tracer fixtures;
    forks.quirks lists what anvil does differently."""
    if not is_at_least(hardfork, PYEVM_BEFORE):
        return BackendChoice(
            "pyevm",
            f"py-evm: {hardfork} is before London, where anvil 1.7.1 (revm) misprices SSTORE, "
            "EXP and SELFDESTRUCT refunds; py-evm charges what geth charges",
        )
    if set_code:
        return BackendChoice(
            "pyevm",
            "py-evm: an EIP-7702 set-code transaction, whose traced state anvil 1.7.1 reports "
            "unlike geth (it lists the delegate a transaction installs on its own target and "
            "drops code a de-authorization empties); py-evm traces it as geth does",
        )
    return BackendChoice("anvil", f"anvil: it matches geth under {hardfork}")


class ByFork:
    """A `ForkBackend` choosing per fork: the engine `choice` names, or with `auto` the one
    `exact_backend` picks for the fork's hardfork and transactions."""

    name = "auto"

    def __init__(
        self, anvil: ForkBackend, pyevm: ForkBackend, choice: BackendName = "auto"
    ) -> None:
        self.anvil = anvil
        self.pyevm = pyevm
        self.choice = choice
        self._reasons: dict[int, str] = {}

    def choose(self, spec: ForkSpec) -> BackendChoice:
        if self.choice != "auto":
            return BackendChoice(self.choice, f"{self.choice}: the backend asked for")
        if spec.hardfork is None:
            return BackendChoice("anvil", "anvil: the hardfork is not known")
        exact = exact_backend(spec.hardfork, set_code=spec.set_code)
        if spec.needs_anvil and exact.engine != "anvil":
            return BackendChoice(
                "anvil", f"anvil: {spec.needs_anvil} (py-evm would be exact: {exact.reason})"
            )
        return exact

    def backend(self, engine: Engine) -> ForkBackend:
        return self.pyevm if engine == "pyevm" else self.anvil

    async def acquire(self, spec: ForkSpec) -> LiveFork:
        choice = self.choose(spec)
        fork = await self.backend(choice.engine).acquire(spec)
        self._reasons[id(fork)] = choice.reason
        return fork

    async def release(self, fork: LiveFork, *, keep_warm: bool = True) -> None:
        self._reasons.pop(id(fork), None)
        engine: Engine = "pyevm" if fork.backend == "py-evm" else "anvil"
        await self.backend(engine).release(fork, keep_warm=keep_warm)

    def reason(self, fork: LiveFork) -> str | None:
        return self._reasons.get(id(fork))


def backend_reason(backend: ForkBackend, fork: LiveFork) -> str:
    """Why `fork` runs on its engine, as the fidelity verdict says it."""
    chosen = backend.reason(fork) if isinstance(backend, ByFork) else None
    return chosen or f"{fork.backend}: the backend this run was given"


def backend_name(value: str) -> BackendName:
    """`value` as a backend name (InvalidInputError naming the choices otherwise)."""
    for name in BACKEND_NAMES:
        if value == name:
            return name
    raise InvalidInputError(f"unknown backend {value!r}; choose one of {', '.join(BACKEND_NAMES)}")


def prefers_pyevm(hardfork: str, submissions: Sequence[Call]) -> bool:
    """`auto`'s rule for a prestate source: `exact_backend`'s, when every transaction is signed
    (from a capsule, py-evm runs signed transactions only)."""
    signed = all(method == "eth_sendRawTransaction" for method, _ in submissions)
    set_code = any(is_set_code_submission(call) for call in submissions)
    return signed and exact_backend(hardfork, set_code=set_code).engine == "pyevm"


def is_set_code_submission(call: Call) -> bool:
    """Whether a submission sends an EIP-7702 set-code transaction (type 4)."""
    method, params = call
    if method == "eth_sendRawTransaction":
        return str(params[0]).lower().removeprefix("0x").startswith("04")
    fields = params[0] if params and isinstance(params[0], dict) else {}
    return bool(fields.get("authorizationList")) or fields.get("type") in ("0x4", "0x04")


def pick_backend(
    choice: BackendName, anvil: ForkBackend, pyevm: ForkBackend, *, prefer_pyevm: bool
) -> ForkBackend:
    """The backend `choice` names; `auto` is py-evm only where `prefer_pyevm` says so."""
    if choice == "pyevm" or (choice == "auto" and prefer_pyevm):
        return pyevm
    return anvil
