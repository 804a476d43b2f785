"""The `ForkBackend` adapters, and the rule that picks one for a replay.

- anvil: `forks.manager.ForkManager` (a pool of anvil processes; its `Fork` is the `LiveFork`).
- py-evm: `PyEvmBackend`, in process, from a prestate only (capsules, tracer fixtures). It
  matches geth's gas on the old forks where anvil 1.7.1 misprices (forks.quirks).
"""

from __future__ import annotations

from collections.abc import Sequence

from timemachine.chain.hardforks import is_at_least
from timemachine.errors import InvalidInputError
from timemachine.ports import BACKEND_NAMES, BackendName, Call, ForkBackend, ForkSpec, LiveFork

PYEVM_BEFORE = "london"
"""Before this hardfork py-evm, not anvil, matches geth (measured on geth's tracer fixtures)."""


class PyEvmBackend:
    """py-evm as a `ForkBackend`: every fork is a fresh in-memory state (nothing to pool)."""

    name = "pyevm"

    async def acquire(self, spec: ForkSpec) -> LiveFork:
        from timemachine.pyevm.node import PyEvmFork  # loads py-evm (about 0.8 s) on first use

        return PyEvmFork(spec)

    async def release(self, fork: LiveFork, *, keep_warm: bool = True) -> None:
        return None  # in memory: dropped with its last reference


def backend_name(value: str) -> BackendName:
    """`value` as a backend name (InvalidInputError naming the choices otherwise)."""
    for name in BACKEND_NAMES:
        if value == name:
            return name
    raise InvalidInputError(f"unknown backend {value!r}; choose one of {', '.join(BACKEND_NAMES)}")


def prefers_pyevm(hardfork: str, submissions: Sequence[Call]) -> bool:
    """`auto`'s rule for a prestate source: py-evm before London when every transaction is
    signed (py-evm cannot send as a sender), anvil otherwise."""
    signed = all(method == "eth_sendRawTransaction" for method, _ in submissions)
    return signed and not is_at_least(hardfork, PYEVM_BEFORE)


def pick_backend(
    choice: BackendName, anvil: ForkBackend, pyevm: ForkBackend, *, prefer_pyevm: bool
) -> ForkBackend:
    """The backend `choice` names; `auto` is py-evm only where `prefer_pyevm` says so."""
    if choice == "pyevm" or (choice == "auto" and prefer_pyevm):
        return pyevm
    return anvil
