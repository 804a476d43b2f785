"""An alert: what a rule match becomes once the rule's window, cooldown and de-duplication let
it through."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from timemachine.models.analysis import Severity
from timemachine.rules.engine import Match
from timemachine.rules.event import Stage


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable for a (rule, chain, tx) when the rule de-duplicates.")
    rule_id: str
    severity: Severity
    stage: Stage
    chain: str
    chain_id: int
    tx_hash: str | None
    block_number: int | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict)
    notify: list[str] = Field(default_factory=list)
    matches: int = Field(1, description="Matches the window counted into this alert.")
    created_at: dt.datetime


def dedup_key(match: Match) -> str | None:
    """Same rule, chain and tx → same key, whatever the stage or provider (None: no tx)."""
    tx_hash = match.event.tx.hash
    if tx_hash is None:
        return None
    return f"{match.rule_id}|{match.event.chain_id}|{tx_hash}"


def alert_id(match: Match, *, dedup: bool) -> str:
    key = dedup_key(match) if dedup else None
    if key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def alert_from(match: Match, *, dedup: bool, now: dt.datetime, matches: int = 1) -> Alert:
    event = match.event
    return Alert(
        id=alert_id(match, dedup=dedup),
        rule_id=match.rule_id,
        severity=match.severity,
        stage=event.stage,
        chain=event.chain,
        chain_id=event.chain_id,
        tx_hash=event.tx.hash,
        block_number=event.block_number,
        evidence=match.evidence,
        links=dict(event.links),
        notify=list(match.notify),
        matches=matches,
        created_at=now,
    )
