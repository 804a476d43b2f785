"""What-if and verify-fix sessions: what a worker runs for the `whatif` and `verify_fix` kinds.

Stored results, two rows per session (`GET /api/time-machine/sessions/{id}`):

- `tx_index` 0: the modified run (the what-if, or the exploit against the patched code). Its
  `replay` is the `ReplayResult`; its `analysis` is the run's `AnalysisReport` plus one extra key,
  `comparison` (a `Comparison`: the unmodified replay vs the what-if; for a what-if without
  modifications, the original receipt vs the replay) or `verification` (a `FixVerification`,
  with its `verdict` "stopped" or "still exploitable"). The extra key does not disturb the
  Markdown/HTML report of the row, which reads the `AnalysisReport` fields only.
- `tx_index` 1: the unmodified replay (with its analysis), when one was run: a what-if with
  `compare`, and every verify-fix.

Solidity `source_text` patches are written to a private temporary directory (mode 0700) under
`<data dir>/tmp`, compiled there by the engine, and removed afterwards.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from timemachine.analysis import analyze
from timemachine.analysis.compare import compare_runs, original_run, replay_run
from timemachine.analysis.fix import verify_fix
from timemachine.catalog.devnet import DEVNET_CHAIN_ID
from timemachine.errors import InvalidInputError
from timemachine.models.analysis import AnalysisReport
from timemachine.models.replay import ReplayResult
from timemachine.models.requests import PatchSpec, VerifyFixStartRequest, WhatIfStartRequest
from timemachine.models.sessions import ReplaySessionRecord
from timemachine.models.whatif import CodePatch, WhatIf
from timemachine.orchestration.progress import Reporter, stops_when_gone
from timemachine.orchestration.runtime import EngineRuntime
from timemachine.store import Database, ReplaySessions

TEMP_DIR = "tmp"
"""Under the data directory: where `source_text` patches are written while a worker uses them."""
MODIFIED, BASELINE = 0, 1
"""The `tx_index` of the modified run and of the unmodified replay."""


@contextmanager
def source_files(data_dir: Path | None, patches: list[PatchSpec]) -> Iterator[list[Path | None]]:
    """Where each patch's `source_text` was written (None for other patches): a private
    directory under `data_dir/tmp`, removed afterwards."""
    if not any(spec.source_text is not None for spec in patches):
        yield [None] * len(patches)
        return
    assert data_dir is not None  # resolved by Settings
    root = data_dir / TEMP_DIR
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="patch-", dir=root) as folder:
        os.chmod(folder, 0o700)
        paths: list[Path | None] = []
        for index, spec in enumerate(patches):
            if spec.source_text is None:
                paths.append(None)
                continue
            path = Path(folder) / f"patch{index}.sol"
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(spec.source_text)
            paths.append(path)
        yield paths


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    """`value` with every temporary source file path replaced by `source_text[i]`."""
    if isinstance(value, str):
        return pattern.sub(r"source_text[\1]", value)
    if isinstance(value, list):
        return [_scrub(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, pattern) for key, item in value.items()}
    return value


def _store(
    db: Database,
    reporter: Reporter,
    index: int,
    result: ReplayResult,
    report: AnalysisReport,
    extra: dict[str, Any] | None = None,
    *,
    data_dir: Path | None,
) -> None:
    """Store one run; the server's temporary file paths (in patch descriptions and notes) are
    replaced by `source_text[i]`, so no server path reaches a client."""
    root = re.escape(str((data_dir or Path()) / TEMP_DIR))
    pattern = re.compile(root + r"/patch-[^/\"]+/patch(\d+)\.sol")
    replay = _scrub(result.model_dump(mode="json", by_alias=True), pattern)
    analysis = _scrub(report.model_dump(mode="json") | (extra or {}), pattern)
    with stops_when_gone(), db.session() as s:
        ReplaySessions(s).store_result(
            reporter.session_id, index, tx_hash=result.tx_hash, replay=replay, analysis=analysis
        )


def run_whatif(
    db: Database, runtime: EngineRuntime, reporter: Reporter, record: ReplaySessionRecord
) -> None:
    """Replay the target with the modifications (and, with `compare`, without) and compare."""
    request = WhatIfStartRequest.model_validate(record.request)
    machine = runtime.run(runtime.machine(request.chain_id, owner=record.owner, db=db))
    with source_files(runtime.settings.data_dir, request.patches) as paths:
        whatif = request.whatif(paths)
        if whatif.empty:
            reporter.progress(10, "replaying the transaction (no modification)")
            replayed = runtime.run(machine.replay(request.tx_hash, mode=whatif.mode))
            comparison = compare_runs(original_run(replayed), replay_run(replayed, None, "replay"))
            compared = {"comparison": comparison.model_dump(mode="json")}
            _store(
                db,
                reporter,
                MODIFIED,
                replayed,
                analyze(replayed),
                compared,
                data_dir=runtime.settings.data_dir,
            )
            return
        reporter.progress(10, "replaying with the modifications")
        modified = runtime.run(machine.whatif(request.tx_hash, whatif))
    modified_report = analyze(modified)
    extra: dict[str, Any] = {}
    if request.compare:
        reporter.progress(55, "replaying the unmodified transaction")
        replayed = runtime.run(machine.replay(request.tx_hash, mode=whatif.mode))
        replayed_report = analyze(replayed)
        comparison = compare_runs(
            replay_run(replayed, replayed_report, "replay"),
            replay_run(modified, modified_report, "what-if"),
        )
        extra["comparison"] = comparison.model_dump(mode="json")
    reporter.progress(90, "storing the results")
    _store(
        db, reporter, MODIFIED, modified, modified_report, extra, data_dir=runtime.settings.data_dir
    )
    if request.compare:
        _store(
            db, reporter, BASELINE, replayed, replayed_report, data_dir=runtime.settings.data_dir
        )


def _scenario_patch(runtime: EngineRuntime, scenario_id: str) -> tuple[str, CodePatch]:
    """The exploit tx of a bundled scenario and the patch of its bundled fix (devnet)."""
    from timemachine.catalog.scenarios import get_scenario

    scenario = get_scenario(scenario_id)
    if scenario.fix is None:
        raise InvalidInputError(f"{scenario_id} is a benign control: there is nothing to fix")
    fix = scenario.fix
    net = runtime.run(runtime.devnet())
    patch = CodePatch(
        address=net.history.address_of(fix.contract),
        artifact=fix.artifact,
        constructor_args=list(fix.constructor_args) if fix.constructor_args else None,
    )
    return net.history.scenario(scenario_id).exploit_tx, patch


def run_verify_fix(
    db: Database, runtime: EngineRuntime, reporter: Reporter, record: ReplaySessionRecord
) -> None:
    """Replay the exploit against the original and the patched code; store the verdict."""
    request = VerifyFixStartRequest.model_validate(record.request)
    if request.scenario_id is not None:
        tx_hash, patch = _scenario_patch(runtime, request.scenario_id)
        chain_id, fixed = DEVNET_CHAIN_ID, [patch]
    else:
        assert request.tx_hash is not None  # checked by the request model
        tx_hash, chain_id, fixed = request.tx_hash, request.chain_id, []
    machine = runtime.run(runtime.machine(chain_id, owner=record.owner, db=db))
    reporter.progress(10, "replaying the exploit against the original code")
    original = runtime.run(machine.replay(tx_hash))
    with source_files(runtime.settings.data_dir, request.patches) as paths:
        given = zip(request.patches, paths, strict=True)
        patches = fixed + [spec.to_patch(path) for spec, path in given]
        reporter.progress(50, "replaying the exploit against the patched code")
        patched = runtime.run(machine.whatif(tx_hash, WhatIf(patches=patches)))
    verification = verify_fix(original, patched, patches)
    reporter.progress(90, "storing the results")
    extra = {"verification": verification.model_dump(mode="json")}
    _store(
        db, reporter, MODIFIED, patched, analyze(patched), extra, data_dir=runtime.settings.data_dir
    )
    _store(db, reporter, BASELINE, original, analyze(original), data_dir=runtime.settings.data_dir)
