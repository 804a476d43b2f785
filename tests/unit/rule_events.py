"""Builders of `RuleEvent`s for the rule and alert tests (plain data, as the monitor sends)."""

from __future__ import annotations

from typing import Any

from timemachine.rules.event import RuleEvent

TREASURY = "0x" + "11" * 20
ATTACKER = "0x" + "aa" * 20
TOKEN = "0x" + "70" * 20
ETHER = 10**18


def tx_event(**fields: Any) -> RuleEvent:
    """A devnet transaction event; `fields` override RuleEvent fields (`tx` merges)."""
    tx = {"hash": "0x" + "ab" * 32, "from": ATTACKER, "to": TREASURY, "value": 0, "input": "0x"}
    tx.update(fields.pop("tx", {}))
    data: dict[str, Any] = {"stage": "pending", "chain": "devnet", "chain_id": 31337, "tx": tx}
    data.update(fields)
    return RuleEvent.model_validate(data)


def finding(severity: str, cls: str = "reentrancy") -> dict[str, Any]:
    return {"class": cls, "severity": severity, "title": f"{cls} ({severity})"}
