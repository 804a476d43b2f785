"""What the daemon answers `replay --json` with reads back as the same results, however deep the
call tree (a re-entrancy nests past what pydantic's own JSON parser accepts)."""

from __future__ import annotations

from tests.unit.analysis_trees import ATTACKER, VICTIM, call, result
from timemachine.models.replay import ReplayResult
from timemachine.models.trace import CallFrame
from timemachine.orchestration.daemon import results_from_json, results_json

DEPTH = 120  # frames: ~240 JSON nesting levels, past pydantic-core's parser limit of 200


def _deep_result(depth: int) -> ReplayResult:
    frame = call(VICTIM, ATTACKER)
    for _ in range(depth):
        frame = call(ATTACKER, VICTIM, calls=[frame])
    return result(frame)


def _depth(frame: CallFrame) -> int:
    depth = 0
    while frame.calls:
        frame = frame.calls[0]
        depth += 1
    return depth


def test_one_deep_result_round_trips() -> None:
    original = _deep_result(DEPTH)
    (back,) = results_from_json(results_json([original]).encode())
    assert back == original
    assert _depth(back.trace) == DEPTH


def test_several_results_round_trip_as_a_list() -> None:
    results = [_deep_result(DEPTH), _deep_result(3)]
    assert results_from_json(results_json(results).encode()) == results
