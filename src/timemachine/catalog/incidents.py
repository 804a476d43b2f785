"""The exploit catalog: public incidents (DeFiHackLabs) and bundled devnet scenarios, one model.

Incident records are read at run time from `../shared/data/defihacklabs_incidents.csv` beside the
repository (third-party data is never copied into the repo; see that folder's README for how each
column was compiled), or from an explicit path. Each row is normalized into an `ExploitRecord`:
a stable slug id, the taxonomy class of its vulnerability text (`models.taxonomy`), the USD loss
where one is stated and the severity it implies (`catalog.severity`), and the chain id the chain
registry knows for its chain name (None for chains outside the registry).

Bundled scenarios keep their scenario id and are the only records replayable offline; incident
records replay on a fork when an RPC URL for their chain is configured.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from timemachine.catalog.severity import Severity, parse_usd, severity_for_loss
from timemachine.chain.registry import DEVNET_CHAIN_ID, find_chain, get_chain, known_chains
from timemachine.errors import InvalidInputError, NotFoundError
from timemachine.models.choices import member
from timemachine.models.taxonomy import VulnerabilityClass, classify_vulnerability

CSV_NAME = "defihacklabs_incidents.csv"
CSV_COLUMNS = (
    "date",
    "name",
    "vulnerability_type",
    "loss",
    "loss_type",
    "chain",
    "attack_tx",
    "fork_block",
    "poc_path",
)
_REPO = Path(__file__).resolve().parents[3]
_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")

Source = Literal["defihacklabs", "bundled"]


class ExploitRecord(BaseModel):
    """One exploit in the catalog, whatever its source."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable slug ('2018-04-22-beauty-chain'); scenario id if bundled.")
    date: dt.date | None = Field(description="Day of the incident; None for bundled scenarios.")
    name: str
    source: Source
    vulnerability_class: VulnerabilityClass
    vulnerability_text: str = Field(description="The vulnerability as the source words it.")
    loss_text: str | None = Field(description="The loss as the source words it.")
    loss_usd: float | None = Field(description="USD loss, only where the source states one.")
    severity: Severity
    chain: str | None = Field(description="Chain name as the source gives it.")
    chain_id: int | None = Field(description="Chain id from the registry; None if unknown.")
    attack_txs: list[str] = Field(default_factory=list)
    fork_block: int | None = None
    poc_path: str | None = Field(
        default=None,
        description="Primary PoC: a DeFiHackLabs path, or the bundled scenario's module.",
    )
    other_poc_paths: list[str] = Field(default_factory=list)
    replayable_offline: bool = Field(description="True only for bundled devnet scenarios.")


@dataclass(frozen=True)
class ExploitCatalog:
    """The loaded catalog: records in order (bundled first, then incidents by date) and warnings."""

    records: tuple[ExploitRecord, ...]
    skipped_rows: int = 0
    warnings: tuple[str, ...] = ()
    _by_id: Mapping[str, ExploitRecord] = field(default_factory=dict, repr=False)

    def get(self, exploit_id: str) -> ExploitRecord:
        """The record `exploit_id`, or NotFoundError (mentioning why incidents may be missing)."""
        record = self._by_id.get(exploit_id.strip().lower())
        if record is not None:
            return record
        hint = f" ({'; '.join(self.warnings)})" if self.warnings else ""
        raise NotFoundError(
            f"no exploit {exploit_id!r} in the catalog; run `timemachine exploits list` "
            f"for the ids{hint}"
        )

    def filter(
        self,
        *,
        vulnerability_class: str | None = None,
        severity: str | None = None,
        chain: str | None = None,
    ) -> list[ExploitRecord]:
        """Records matching every given filter; an unknown value raises InvalidInputError."""
        records: Iterable[ExploitRecord] = self.records
        if vulnerability_class is not None:
            wanted_class = parse_class(vulnerability_class)
            records = [r for r in records if r.vulnerability_class is wanted_class]
        if severity is not None:
            wanted_severity = parse_severity(severity)
            records = [r for r in records if r.severity is wanted_severity]
        if chain is not None:
            records = self._on_chain(list(records), chain)
        return list(records)

    def _on_chain(self, records: list[ExploitRecord], chain: str) -> list[ExploitRecord]:
        try:
            chain_id = find_chain(chain).chain_id
        except InvalidInputError:
            key = _chain_key(chain)
            names = {_chain_key(r.chain) for r in self.records if r.chain}
            if key not in names:
                others = {r.chain for r in self.records if r.chain and r.chain_id is None}
                valid = [c.name for c in known_chains()] + sorted(others, key=str.lower)
                raise InvalidInputError(
                    f"unknown chain {chain!r}; valid: {', '.join(valid)}; or a numeric chain id"
                ) from None
            return [r for r in records if r.chain and _chain_key(r.chain) == key]
        return [r for r in records if r.chain_id == chain_id]


def parse_class(text: str) -> VulnerabilityClass:
    """A taxonomy class from user input ('price-manipulation' is accepted)."""
    return member(VulnerabilityClass, text, "vulnerability type", normalize=_enum_key)


def parse_severity(text: str) -> Severity:
    """A severity from user input."""
    return member(Severity, text, "severity", normalize=_enum_key)


def default_csv_path() -> Path:
    """`../shared/data/defihacklabs_incidents.csv` beside the repo (or beside the working dir)."""
    candidates = (
        _REPO.parent / "shared" / "data" / CSV_NAME,
        Path.cwd().resolve().parent / "shared" / "data" / CSV_NAME,
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def load_catalog(csv_path: Path | str | None = None) -> ExploitCatalog:
    """The bundled scenarios plus the incidents in `csv_path` (default: `default_csv_path()`).

    Cached per resolved path. A missing or unreadable file is not fatal: the catalog then holds
    the bundled scenarios and a warning saying where the file was looked for.
    """
    path = Path(csv_path) if csv_path is not None else default_csv_path()
    return _load_catalog(path.expanduser().resolve())


@lru_cache(maxsize=8)
def _load_catalog(path: Path) -> ExploitCatalog:
    bundled = bundled_records()
    warnings: list[str] = []
    try:
        incidents, skipped = read_incidents(path)
    except NotFoundError as error:
        incidents, skipped = [], 0
        warnings.append(str(error))
    if skipped:
        warnings.append(f"skipped {skipped} malformed row(s) in {path}")
    records = (*bundled, *incidents)
    return ExploitCatalog(
        records=records,
        skipped_rows=skipped,
        warnings=tuple(warnings),
        _by_id={r.id: r for r in records},
    )


def read_incidents(path: Path) -> tuple[list[ExploitRecord], int]:
    """The incident rows of a DeFiHackLabs CSV as records, and how many rows were skipped.

    Raises NotFoundError when the file is missing or unreadable; a malformed row (missing column,
    extra cells, bad date, block or tx hash, no name) is skipped and counted, never fatal.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = "not found" if isinstance(error, FileNotFoundError) else str(error)
        raise NotFoundError(
            f"incident data {path}: {reason}; the catalog then holds the bundled scenarios only "
            f"(put {CSV_NAME} in ../shared/data beside the repository or pass its path)"
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=False)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise NotFoundError(f"incident data {path}: no column(s) {', '.join(missing)}")
    records: list[ExploitRecord] = []
    taken: set[str] = {s.id for s in bundled_records()}
    skipped = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:  # e.g. a NUL byte; the reader resumes at the next line
            skipped += 1
            continue
        record = _incident(row, taken)
        if record is None:
            skipped += 1
            continue
        taken.add(record.id)
        records.append(record)
    return records, skipped


def _incident(
    row: Mapping[str | None, str | list[str] | None], taken: set[str]
) -> ExploitRecord | None:
    if None in row or any(not isinstance(row.get(c), str) for c in CSV_COLUMNS):
        return None  # extra or missing cells
    cell = {c: str(row[c]).strip() for c in CSV_COLUMNS}
    try:
        date = dt.date.fromisoformat(cell["date"])
        fork_block = int(cell["fork_block"]) if cell["fork_block"] else None
    except ValueError:
        return None
    txs = [tx.strip().lower() for tx in cell["attack_tx"].split(";") if tx.strip()]
    if not cell["name"] or not all(_TX_HASH.match(tx) for tx in txs):
        return None
    if fork_block is not None and fork_block < 0:
        return None
    loss_usd = parse_usd(cell["loss"])
    pocs = [p.strip() for p in cell["poc_path"].split(";") if p.strip()]
    return ExploitRecord(
        id=_unique(f"{date.isoformat()}-{slug(cell['name'])}", taken),
        date=date,
        name=cell["name"],
        source="defihacklabs",
        vulnerability_class=classify_vulnerability(cell["vulnerability_type"]),
        vulnerability_text=cell["vulnerability_type"],
        loss_text=cell["loss"] or None,
        loss_usd=loss_usd,
        severity=severity_for_loss(loss_usd),
        chain=cell["chain"] or None,
        chain_id=chain_id_for(cell["chain"]),
        attack_txs=txs,
        fork_block=fork_block,
        poc_path=pocs[0] if pocs else None,
        other_poc_paths=pocs[1:],
        replayable_offline=False,
    )


def chain_id_for(name: str | None) -> int | None:
    """The registry's chain id for a chain name or alias; None for a name it does not know."""
    if not name:
        return None
    try:
        chain = find_chain(name)
    except InvalidInputError:
        return None
    return chain.chain_id if chain.known else None


#: Severity of each bundled scenario from its ground truth (what its `stage` verifies).
#: Rule: a total loss of the victim's funds is critical, a partial loss high, a benign control
#: (class "none") low; a scenario missing here is unknown.
#: - reentrancy-bank: EtherBank is left with 0 wei (every user's deposit stolen) -> critical.
#: - reentrancy-vault-shares: ShareVault is left with 0 wei -> critical.
#: - unprotected-initializer: TreasuryWallet is left with 0 wei -> critical.
#: - signature-replay-cheque: ChequeBank loses alice's 8 ETH and keeps bob's and carol's 10 ETH
#:   (partial) -> high.
#: - vault-deposit-withdraw, cheque-cashed-once: benign controls -> low.
@lru_cache(maxsize=1)
def bundled_records() -> tuple[ExploitRecord, ...]:
    """The bundled devnet scenarios as catalog records (replayable offline)."""
    from timemachine.catalog.scenarios import SCENARIOS

    devnet = get_chain(DEVNET_CHAIN_ID)
    records = []
    for scenario in SCENARIOS:
        try:
            cls = VulnerabilityClass(scenario.vulnerability_class)
        except ValueError:
            cls = classify_vulnerability(scenario.vulnerability_class)
        severity = Severity(scenario.severity)
        module = scenario.stage.__module__.replace(".", "/")
        records.append(
            ExploitRecord(
                id=scenario.id,
                date=None,
                name=scenario.title,
                source="bundled",
                vulnerability_class=cls,
                vulnerability_text=scenario.vulnerability_class,
                loss_text=scenario.loss_text,
                loss_usd=None,
                severity=severity,
                chain=devnet.name,
                chain_id=devnet.chain_id,
                poc_path=f"src/{module}.py",
                replayable_offline=True,
            )
        )
    return tuple(records)


def slug(text: str) -> str:
    """Lower-case ASCII words joined by '-' ('Beauty Chain' -> 'beauty-chain')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "unnamed"


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _enum_key(text: str) -> str:
    return re.sub(r"[\s-]+", "_", text.strip().lower())


def _chain_key(text: str) -> str:
    return re.sub(r"[\s_-]+", "-", text.strip().lower())


def summarize(records: Sequence[ExploitRecord]) -> dict[str, dict[str, int]]:
    """Counts per class and per severity (in taxonomy / severity order), for reports and tests."""
    return {
        "vulnerability_class": {
            c.value: n
            for c in VulnerabilityClass
            if (n := sum(r.vulnerability_class is c for r in records))
        },
        "severity": {s.value: n for s in Severity if (n := sum(r.severity is s for r in records))},
    }


__all__ = [
    "CSV_COLUMNS",
    "ExploitCatalog",
    "ExploitRecord",
    "bundled_records",
    "chain_id_for",
    "default_csv_path",
    "load_catalog",
    "parse_class",
    "parse_severity",
    "read_incidents",
    "slug",
    "summarize",
]
