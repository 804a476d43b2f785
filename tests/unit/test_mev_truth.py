"""Ground-truth comparison: a finding matches on the fields the truth names, recursively; a wrong
amount, a missing finding or an MEV type the truth does not expect is a mismatch."""

from __future__ import annotations

from tests.unit.test_mev_inspectors import SEARCHER, WETH, sandwich_block
from timemachine.mev.truth import project, truth_mismatches


def test_project_keeps_only_the_named_fields() -> None:
    actual = {"a": 1, "b": {"c": 2, "d": 3}, "e": [{"f": 4, "g": 5}]}
    assert project(actual, {"b": {"c": 0}, "e": [{"f": 0}]}) == {"b": {"c": 2}, "e": [{"f": 4}]}
    assert project(actual, {"e": [{}, {}]}) == {"e": [{"f": 4, "g": 5}]}  # lengths differ: all


def test_truth_mismatches_catch_wrong_missing_and_extra_mev() -> None:
    result = sandwich_block(100, 13)  # a balanced sandwich making 3 WETH units
    expected = {
        "sandwicher_address": SEARCHER,
        "profit_token_address": WETH,
        "profit_amount": 3,
        "backrun_swap": {"token_in_amount": 100},
    }
    truth = {"sandwiches": [expected]}
    assert truth_mismatches(result, truth) == []
    wrong = {"sandwiches": [{**expected, "profit_amount": 4}]}
    [problem] = truth_mismatches(result, wrong)
    assert problem.startswith("sandwiches: expected")
    assert [p.split(":")[0] for p in truth_mismatches(result, {})] == ["sandwiches"]
    missing = truth | {"arbitrages": [{"profit_amount": 1}]}
    assert [p.split(":")[0] for p in truth_mismatches(result, missing)] == ["arbitrages"]
