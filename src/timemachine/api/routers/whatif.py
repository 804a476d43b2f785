"""What-if replays, comparisons and fix verification: sessions run by the workers.

The API only validates, stores and queues; the forks run in a worker
(`orchestration.whatif_sessions`, which also says how the results are stored). Code patches come as
runtime `code`, a bundled `artifact` name or Solidity `source_text`, never as a server file path.
"""

from __future__ import annotations

from fastapi import APIRouter

from timemachine.api.routers.replay import START, Starter
from timemachine.api.schemas import SessionStarted
from timemachine.catalog.artifacts import load_artifact
from timemachine.catalog.devnet import DEVNET_CHAIN_ID
from timemachine.catalog.scenarios import get_scenario
from timemachine.errors import InvalidInputError
from timemachine.models.requests import PatchSpec, VerifyFixStartRequest, WhatIfStartRequest
from timemachine.models.sessions import SessionKind

router = APIRouter(prefix="/api/time-machine", tags=["whatif"])


def _check_artifacts(patches: list[PatchSpec]) -> None:
    """A bundled artifact name must exist (NotFoundError, 404, naming the known ones)."""
    for patch in patches:
        if patch.artifact is not None:
            load_artifact(patch.artifact)


@router.post("/whatif/start", **START)
def start_whatif(body: WhatIfStartRequest, starter: Starter) -> SessionStarted:
    """Replay a transaction with modifications (patched code, state overrides, sender, block,
    inserted or dropped transactions); with `compare` (default), also replay it unmodified and
    store the comparison. No modification: the original receipt vs the replay.

    Results (`GET /api/time-machine/sessions/{id}`): `tx_index` 0 is the what-if run, its
    `analysis.comparison` the comparison; `tx_index` 1 the unmodified replay."""
    _check_artifacts(body.patches)
    starter.require_chain(body.chain_id)
    return starter.start(SessionKind.WHATIF, body.model_dump(mode="json", by_alias=True))


@router.post("/verify-fix/start", **START)
def start_verify_fix(body: VerifyFixStartRequest, starter: Starter) -> SessionStarted:
    """Replay an exploit against its original and its patched code: is it stopped? Give
    `tx_hash` and `patches`, or `scenario_id` (a bundled devnet scenario and its own fix).

    Results: `tx_index` 0 is the patched run, its `analysis.verification` the verdict
    ("stopped" or "still exploitable") with the attacker's profit in both runs; `tx_index` 1
    the run against the original code."""
    if body.scenario_id is not None:
        scenario = get_scenario(body.scenario_id)
        if scenario.fix is None:
            raise InvalidInputError(
                f"{body.scenario_id} is a benign control: there is nothing to fix"
            )
    _check_artifacts(body.patches)
    chain_id = DEVNET_CHAIN_ID if body.scenario_id is not None else body.chain_id
    starter.require_chain(chain_id)
    return starter.start(SessionKind.VERIFY_FIX, body.model_dump(mode="json", by_alias=True))
