"""WASM custom rules: the example rule, and rules that trap, loop or want too much memory are
each disabled with a clear error while the other rules keep firing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.rule_events import ETHER, finding, tx_event
from timemachine.rules import RuleEngine, load_text
from timemachine.rules.wasm import WasmRule, WasmRuleError, event_record

EXAMPLE = Path(__file__).resolve().parents[2] / "src/timemachine/rules/examples"
ALLOC = """
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) (i32.const 0))
"""
MODULES = {
    "trap.wat": f"""(module {ALLOC}
      (func (export "match") (param i32 i32) (result i32) unreachable))""",
    "loop.wat": f"""(module {ALLOC}
      (func (export "match") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 1)))""",
    "hungry.wat": f"""(module {ALLOC}
      (func (export "match") (param i32 i32) (result i32)
        (drop (memory.grow (i32.const 1024)))                 ;; 64 MiB: refused, -1
        (i32.store (i32.const 60000000) (i32.const 1))        ;; so this is out of bounds
        (i32.const 1)))""",
    "big.wat": '(module (memory (export "memory") 1024))',
    "imports.wat": '(module (import "env" "now" (func)) (memory (export "memory") 1))',
}


def test_example_rule_reads_the_header(tmp_path: Path) -> None:
    rule = WasmRule.from_file(EXAMPLE / "pending_high_value.wat")
    assert rule.matches(tx_event(tx={"value": ETHER}, findings=[finding("high")]))
    assert not rule.matches(tx_event(tx={"value": ETHER - 1}, findings=[finding("critical")]))
    assert not rule.matches(tx_event(tx={"value": ETHER}, findings=[finding("medium")]))
    assert not rule.matches(
        tx_event(stage="mined", tx={"value": ETHER}, findings=[finding("critical")])
    )
    # a record bigger than the initial page makes alloc grow the memory
    padded = tx_event(
        tx={"value": ETHER, "input": "0x" + "00" * 70_000}, findings=[finding("critical")]
    )
    assert len(event_record(padded)) > 65536
    assert rule.matches(padded)


def test_bad_rules_are_disabled_and_the_others_keep_firing(tmp_path: Path) -> None:
    for name in ("trap.wat", "loop.wat", "hungry.wat"):
        (tmp_path / name).write_text(MODULES[name])
    example = EXAMPLE / "pending_high_value.wat"
    (tmp_path / "rules.yaml").write_text("")
    engine = RuleEngine(
        load_text(
            f"""
rules:
  - {{id: trap, wasm: trap.wat}}
  - {{id: example, wasm: "{example}"}}
  - {{id: loop, wasm: loop.wat}}
  - {{id: hungry, wasm: hungry.wat}}
  - {{id: expression, when: 'finding.severity >= "high"'}}
""",
            base=tmp_path,
        )
    )
    event = tx_event(tx={"value": 2 * ETHER}, findings=[finding("critical")])
    for _ in range(2):
        assert [m.rule_id for m in engine.evaluate(event)] == ["example", "expression"]
    assert engine.disabled["trap"].startswith("trap.wat: trapped: ")
    assert "unreachable" in engine.disabled["trap"]
    assert engine.disabled["loop"] == (
        "loop.wat: ran out of fuel (1000000 units): an endless or too long loop"
    )
    assert engine.disabled["hungry"].startswith("hungry.wat: memory access out of bounds")
    assert set(engine.disabled) == {"trap", "loop", "hungry"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("big.wat", "big.wat: could not start (memory limited to 16777216 bytes)"),
        (
            "imports.wat",
            "imports.wat: the module imports env.now; a rule module may import nothing",
        ),
    ],
)
def test_modules_refused_at_load(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / name).write_text(MODULES[name])
    with pytest.raises(WasmRuleError) as caught:
        WasmRule.from_file(tmp_path / name)
    assert caught.value.message.startswith(message)


def test_not_a_module(tmp_path: Path) -> None:
    (tmp_path / "junk.wasm").write_bytes(b"\x00asm junk")
    with pytest.raises(WasmRuleError, match=r"junk.wasm: not a valid WebAssembly module"):
        WasmRule.from_file(tmp_path / "junk.wasm")
