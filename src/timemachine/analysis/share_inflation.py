"""Share inflation: a donation to an ERC-4626 vault that makes another party's deposit mint
(next to) no shares, the donor's side then redeeming the difference (first-depositor attack).

Keyed on the standard ERC-4626 `Deposit`/`Withdraw` events and ERC-20 `Transfer` logs, read from
the raw topics in emission order (frames that reverted are skipped). A vault is a contract that
emits ERC-4626 events; its asset is the token whose Transfer into (out of) the vault carries a
Deposit's (Withdraw's) assets. A donation is a transfer of that asset into the vault that no
Deposit accounts for.

Signals, per vault: a donation by address D (required); D's side (D, the tx sender, and the
owners and receivers of their deposits and withdrawals) depositing only a sliver before donating;
a later deposit by another party that minted 0 shares, or under half of what the rate before the
donation gave; D's side taking out more than it put in; that depositor losing value.

Severity comes from the depositor's loss only when a diluted deposit and the side's gain are both
present; a diluted deposit alone is medium; a donation after the side's own sliver deposit (the
setup half of the attack) is low; any other donation is info.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timemachine.analysis.evidence import (
    amount_text,
    confidence_from,
    losses_of,
    lower,
    path_text,
    severity_for_loss,
)
from timemachine.models.analysis import Amount, Evidence, Finding, Severity, severity_rank
from timemachine.models.replay import ReplayResult
from timemachine.models.taxonomy import VulnerabilityClass
from timemachine.models.trace import CallFrame, LogEntry
from timemachine.trace.order import EmissionOrder
from timemachine.trace.signatures import keccak_signature

NAME = "share_inflation"

TRANSFER = keccak_signature("Transfer(address,address,uint256)")
DEPOSIT = keccak_signature("Deposit(address,address,uint256,uint256)")
WITHDRAW = keccak_signature("Withdraw(address,address,address,uint256,uint256)")
ZERO = "0x" + "0" * 40
SLIVER = 1000
"""A deposit is a sliver when the donation that follows is at least this many times larger."""
DILUTION = 2
"""A deposit is diluted when it minted under 1/DILUTION of the shares the earlier rate gave."""


@dataclass(frozen=True)
class _Log:
    """One parsed Transfer, Deposit or Withdraw log, in emission order."""

    kind: str
    emitter: str
    frame: str
    sender: str
    """Transfer: from; Deposit/Withdraw: the caller."""
    target: str
    """Transfer: to; Deposit: owner; Withdraw: receiver."""
    owner: str
    """Withdraw: the owner whose shares burnt; Deposit: the owner; Transfer: to."""
    assets: int
    """Transfer: the amount; Deposit/Withdraw: assets."""
    shares: int = 0


@dataclass
class _Vault:
    address: str
    asset: str | None = None
    events: list[tuple[int, _Log]] = field(default_factory=list)
    matched: set[int] = field(default_factory=set)
    """Positions of asset inflows that a Deposit accounts for."""


def _address(topic: str) -> str | None:
    digits = topic[2:] if topic.startswith("0x") else topic
    if len(digits) != 64 or digits[:24].strip("0"):
        return None
    return "0x" + digits[24:].lower()


def _words(data: str, count: int) -> list[int] | None:
    digits = data[2:] if data.startswith("0x") else data
    if len(digits) != 64 * count:
        return None
    try:
        return [int(digits[64 * i : 64 * (i + 1)], 16) for i in range(count)]
    except ValueError:
        return None


def _parse(log: LogEntry, where: str) -> _Log | None:
    if not log.topics:
        return None
    topic = log.topics[0].lower()
    addresses = [_address(t) for t in log.topics[1:]]
    if any(a is None for a in addresses):
        return None
    parties = [a for a in addresses if a is not None]
    emitter = lower(log.address)
    if topic == TRANSFER and len(parties) == 2 and (words := _words(log.data, 1)):
        return _Log("transfer", emitter, where, parties[0], parties[1], parties[1], words[0])
    if topic == DEPOSIT and len(parties) == 2 and (words := _words(log.data, 2)):
        return _Log("deposit", emitter, where, parties[0], parties[1], parties[1], *words)
    if topic == WITHDRAW and len(parties) == 3 and (words := _words(log.data, 2)):
        return _Log("withdraw", emitter, where, parties[0], parties[1], parties[2], *words)
    return None


def _logs(trace: CallFrame) -> list[_Log]:
    """Parsed logs of the frames that succeeded, in emission order."""
    if trace.error is not None:
        return []
    order = EmissionOrder(trace)
    found: list[_Log] = []
    stack: list[tuple[CallFrame, tuple[int, ...], list[LogEntry | CallFrame]]] = [
        (trace, (), order.items(trace))
    ]
    while stack:
        frame, path, items = stack[-1]
        if not items:
            stack.pop()
            continue
        item = items.pop(0)
        if isinstance(item, LogEntry):
            parsed = _parse(item, path_text(path))
            if parsed is not None:
                found.append(parsed)
        elif item.error is None:
            index = next(i for i, child in enumerate(frame.calls) if child is item)
            stack.append((item, (*path, index), order.items(item)))
    return found


def _vaults(logs: list[_Log]) -> dict[str, _Vault]:
    """ERC-4626 vaults with their asset and the positions of inflows their Deposits account for."""
    vaults: dict[str, _Vault] = {}
    for log in logs:
        if log.kind != "transfer":
            vaults.setdefault(log.emitter, _Vault(log.emitter))
    for vault in vaults.values():
        for position, log in enumerate(logs):
            if log.emitter == vault.address and log.kind != "transfer":
                vault.events.append((position, log))
                _match(vault, logs, position, log)
    return vaults


def _match(vault: _Vault, logs: list[_Log], position: int, event: _Log) -> None:
    """The asset transfer that carried a Deposit's (Withdraw's) assets: the latest one before
    the event (from the depositor when there is one), else the first after it."""

    def candidates(flow: range) -> list[int]:
        found = []
        for index in flow:
            log = logs[index]
            if log.kind != "transfer" or log.emitter == vault.address or index in vault.matched:
                continue
            if vault.asset is not None and log.emitter != vault.asset:
                continue
            inflow = log.target == vault.address and event.kind == "deposit"
            outflow = log.sender == vault.address and event.kind == "withdraw"
            if (inflow or outflow) and log.assets == event.assets:
                found.append(index)
        return found

    before = candidates(range(position - 1, -1, -1))
    after = candidates(range(position + 1, len(logs)))
    preferred = [i for i in before if logs[i].sender in (event.sender, event.owner)]
    choices = preferred or before or after
    if not choices or event.assets == 0:
        return
    chosen = choices[0]
    vault.matched.add(chosen)
    vault.asset = vault.asset or logs[chosen].emitter


def _side(result: ReplayResult, donors: set[str], vault: _Vault) -> set[str]:
    """The donors, the tx sender, and who their deposits and withdrawals went to or came from."""
    side = {*donors, lower(result.sender)}
    changed = True
    while changed:
        changed = False
        for _, event in vault.events:
            parties = {event.sender, event.owner, event.target}
            if parties & side and not parties <= side:
                side |= parties
                changed = True
    return side


def _reference(vault: _Vault, first_donation: int) -> tuple[int, int] | None:
    """(assets, shares) of the vault's last event before the first donation."""
    rates = [
        (event.assets, event.shares)
        for position, event in vault.events
        if position < first_donation and event.assets and event.shares
    ]
    return rates[-1] if rates else None


@dataclass
class _Case:
    """What happened around one vault's donations."""

    vault: str
    asset: str
    donations: list[_Log]
    donors: list[str]
    donated: int
    victims: list[tuple[_Log, int | None]]
    """Diluted deposits by other parties, with the shares the earlier rate would have given."""
    slivers: list[_Log]
    put_in: int
    taken_out: int
    withdraw_frames: list[str]

    @property
    def gain(self) -> int:
        return self.taken_out - self.put_in

    @property
    def payers(self) -> list[str]:
        return list(dict.fromkeys(event.sender for event, _ in self.victims))


def _assess(result: ReplayResult, logs: list[_Log], vault: _Vault) -> _Case | None:
    asset = vault.asset
    if asset is None:
        return None
    donations = [
        (position, log)
        for position, log in enumerate(logs)
        if log.kind == "transfer"
        and log.emitter == asset
        and log.target == vault.address
        and log.sender not in (ZERO, vault.address)
        and log.assets > 0
        and position not in vault.matched
    ]
    if not donations:
        return None
    first = donations[0][0]
    donated = sum(log.assets for _, log in donations)
    donors = list(dict.fromkeys(log.sender for _, log in donations))
    side = _side(result, set(donors), vault)
    reference = _reference(vault, first)
    victims: list[tuple[_Log, int | None]] = []
    for position, event in vault.events:
        if position < first or event.kind != "deposit" or not event.assets:
            continue
        if event.sender in side or event.owner in side:
            continue
        expected = event.assets * reference[1] // reference[0] if reference else None
        if event.shares == 0 or (expected is not None and event.shares * DILUTION < expected):
            victims.append((event, expected))
    ours = [
        (position, event)
        for position, event in vault.events
        if {event.sender, event.owner, event.target} & side
    ]
    return _Case(
        vault=vault.address,
        asset=asset,
        donations=[log for _, log in donations],
        donors=donors,
        donated=donated,
        victims=victims,
        slivers=[
            event
            for position, event in ours
            if position < first and event.kind == "deposit" and event.assets * SLIVER <= donated
        ],
        put_in=donated + sum(event.assets for _, event in ours if event.kind == "deposit"),
        taken_out=sum(event.assets for _, event in ours if event.kind == "withdraw"),
        withdraw_frames=[
            event.frame for position, event in ours if position > first and event.kind == "withdraw"
        ],
    )


def _signals(case: _Case, lost: dict[str, dict[str, int]]) -> list[str]:
    asset = case.asset
    signals = [
        f"{len(case.donations)} direct transfer(s) of {amount_text(asset, case.donated)} into "
        f"vault {case.vault} by {', '.join(case.donors)} with no Deposit for them (a donation)"
    ]
    if case.slivers:
        sliver = case.slivers[0]
        signals.append(
            f"the donor's side first deposited only {amount_text(asset, sliver.assets)} "
            f"for {sliver.shares} share(s)"
        )
    for event, expected in case.victims:
        rate = f" (the rate before the donation gave {expected})" if expected is not None else ""
        signals.append(
            f"{event.sender}'s deposit of {amount_text(asset, event.assets)} after the donation "
            f"minted {event.shares} share(s){rate}"
        )
    if case.gain > 0:
        signals.append(
            f"the donor's side took {amount_text(asset, case.taken_out)} out of the vault after "
            f"putting in {amount_text(asset, case.put_in)}: {amount_text(asset, case.gain)} more"
        )
    if any(lost.values()):
        signals.append("the diluted depositor lost value over the transaction")
    return signals


def _severity(result: ReplayResult, case: _Case) -> Severity:
    if not case.victims:
        return "low" if case.slivers else "info"
    if case.gain <= 0:
        return "medium"
    worst = min((severity_for_loss(result, payer) for payer in case.payers), key=severity_rank)
    return worst if severity_rank(worst) <= severity_rank("medium") else "medium"


def _explanation(case: _Case) -> tuple[str, str]:
    """The finding's title and explanation."""
    asset, vault = case.asset, case.vault
    donated = (
        f"{', '.join(case.donors)} transferred {amount_text(asset, case.donated)} straight to "
        f"vault {vault}"
    )
    if not case.victims:
        return (
            f"Direct asset transfer (donation) into ERC-4626 vault {vault}",
            f"{donated} without depositing: the vault's share price rose for its holders. No "
            "other party deposited at the inflated price in this transaction.",
        )
    first = case.victims[0][0]
    deposits = " ".join(
        f"{event.sender} then deposited {amount_text(asset, event.assets)} and got "
        f"{event.shares} share(s)."
        for event, _ in case.victims
    )
    kept = (
        f" The donor's side redeemed {amount_text(asset, case.taken_out)} after putting in "
        f"{amount_text(asset, case.put_in)}, keeping {amount_text(asset, case.gain)} of the "
        "depositors' assets."
        if case.gain > 0
        else ""
    )
    return (
        f"ERC-4626 share inflation: a donation to {vault} made {first.sender}'s deposit mint "
        f"{first.shares} share(s)",
        f"{donated}, raising the value of each of its shares without minting any. {deposits}{kept}",
    )


def _finding(result: ReplayResult, case: _Case) -> Finding:
    payers = case.payers
    lost = {payer: losses_of(result, payer) for payer in payers}
    signals = _signals(case, lost)
    title, explanation = _explanation(case)
    frames = [log.frame for log in case.donations]
    frames += [event.frame for event, _ in case.victims]
    frames += case.withdraw_frames
    return Finding(
        detector=NAME,
        vulnerability_class=VulnerabilityClass.SHARE_INFLATION,
        severity=_severity(result, case),
        confidence=confidence_from(len(signals) - 1, base=0.5),
        title=title,
        explanation=explanation,
        recommendation=(
            "Do not count raw token balances as vault assets (track deposited assets internally), "
            "add virtual shares and assets / a decimals offset (OpenZeppelin ERC4626 >= 4.9), or "
            "seed the vault with dead shares at deployment; depositors should require a minimum "
            "number of shares (ERC-4626 router slippage checks) and reject 0-share deposits."
        ),
        evidence=Evidence(
            frames=list(dict.fromkeys(frames)),
            addresses=list(dict.fromkeys([case.vault, *payers, *case.donors])),
            amounts=[
                *(
                    Amount(address=payer, asset=asset, amount=amount)
                    for payer in payers
                    for asset, amount in lost[payer].items()
                ),
                *(
                    Amount(address=log.sender, asset=case.asset, amount=log.assets)
                    for log in case.donations
                ),
                *(
                    [Amount(address=case.donors[0], asset=case.asset, amount=case.gain)]
                    if case.gain > 0
                    else []
                ),
            ],
            signals=signals,
        ),
    )


def detect(result: ReplayResult) -> list[Finding]:
    """One finding per ERC-4626 vault that received a donation in the transaction."""
    logs = _logs(result.trace)
    findings: list[Finding] = []
    for vault in _vaults(logs).values():
        case = _assess(result, logs, vault)
        if case is not None:
            findings.append(_finding(result, case))
    return findings
