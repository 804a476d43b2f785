"""The simulation consumer's parts that need no chain: the built-in handler names of `consume`,
its one-line refusal without a chain, and a pending tx off the bus rebuilt for simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.monitor_records import raw_tx
from timemachine.cli.consume import load_factory
from timemachine.errors import InvalidInputError
from timemachine.monitor.enrich import Enricher
from timemachine.monitor.ingest import normalize
from timemachine.monitor.models import MonitoredTx
from timemachine.monitor.sim_consumer import simulate
from timemachine.monitor.sinks import store
from timemachine.runtime import Runtime
from timemachine.settings import Settings
from timemachine.trace.decoder import Decoder


def test_built_in_handlers() -> None:
    assert load_factory("simulate") is simulate
    assert load_factory("store") is store
    with pytest.raises(InvalidInputError, match=r"give package\.module:factory, or print"):
        load_factory("simulation")


def test_the_consumer_needs_its_chain(tmp_path: Path) -> None:
    runtime = Runtime(settings=Settings(data_dir=tmp_path, monitor_rpc_urls=""))
    with pytest.raises(InvalidInputError, match="needs MONITOR_RPC_URLS"):
        simulate(runtime, "monitor-simulate")


@pytest.mark.parametrize(
    "fields",
    [{}, {"type": "0x0", "gasPrice": hex(7 * 10**9), "to": None, "input": "0x6001"}],
)
def test_a_tx_off_the_bus_is_rebuilt_as_the_node_showed_it(fields: dict[str, object]) -> None:
    raw = raw_tx(3, **fields)
    if fields:
        del raw["maxFeePerGas"], raw["maxPriorityFeePerGas"]
    tx = normalize("test", raw)
    enrichment = Enricher(Decoder()).enrich(tx)
    sent = MonitoredTx(tx=tx, first_seen={"p": 1.0}, enrichment=enrichment)
    off_the_bus = MonitoredTx.model_validate_json(sent.model_dump_json()).tx
    assert off_the_bus.raw == {}
    rebuilt = off_the_bus.rpc_object()
    assert normalize("test", rebuilt) == tx
    assert {k: v for k, v in rebuilt.items() if v is not None} == {
        k: v for k, v in raw.items() if v is not None
    }
