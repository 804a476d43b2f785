"""The simulation filter and the bounded backlog that tightens it under load."""

from __future__ import annotations

import pytest

from tests.unit.monitor_records import TARGET, record
from timemachine.errors import InvalidInputError
from timemachine.monitor.backlog import Backlog
from timemachine.monitor.prefilter import SimulationFilter


def test_filter_terms() -> None:
    rich, poor = record(1, value=hex(20 * 10**18)), record(2, value="0x1")
    unknown = record(3, input="0xdeadbeef" + "00" * 32)
    assert SimulationFilter.parse("value>=10eth").passes(rich)
    assert not SimulationFilter.parse("value>=10eth").passes(poor)
    assert SimulationFilter.parse("value>=1").passes(poor)
    assert SimulationFilter.parse("unknown").passes(unknown)
    assert not SimulationFilter.parse("unknown,flash-loan").passes(poor)
    assert SimulationFilter.parse("kind=transfer").passes(poor)
    assert SimulationFilter.parse("all").passes(poor)
    assert not SimulationFilter.parse("none").passes(rich)
    watched = record(4)
    watched.enrichment.watched.append(TARGET)
    assert SimulationFilter.parse("watched").passes(watched)


@pytest.mark.parametrize("text", ["", "everything", "kind=teleport", "value>=lots"])
def test_bad_filters_say_what_is_allowed(text: str) -> None:
    with pytest.raises(InvalidInputError):
        SimulationFilter.parse(text)


async def test_a_full_backlog_keeps_the_most_important_and_reports_the_shedding() -> None:
    backlog = Backlog(capacity=2)
    small, medium = record(1, value="0x1"), record(2, value="0x2")
    unknown = record(3, input="0xdeadbeef" + "00" * 32)
    assert backlog.offer(small)
    assert backlog.offer(medium)
    assert backlog.floor is None
    assert backlog.offer(unknown)  # displaces `small`
    assert (len(backlog), backlog.shed) == (2, 1)
    assert backlog.floor == 0
    assert not backlog.offer(record(4, value="0x0"))  # ranks below everything waiting
    assert backlog.shed == 2
    assert await backlog.take() is unknown
    assert await backlog.take() is medium
    assert len(backlog) == 0
