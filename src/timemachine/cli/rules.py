"""`timemachine rules validate|test` and `timemachine alerts list|ack`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from timemachine.cli.errors import reported_errors, run_async
from timemachine.cli.group import command_group
from timemachine.cli.inputs import JsonOption, RpcUrlOption

if TYPE_CHECKING:
    from timemachine.rules import RuleEvent, RuleSet

rules_app = command_group("Alert rules: validate a rule file, dry-run it on a transaction.")
alerts_app = command_group("Stored alerts: list and acknowledge.")

RuleFileArg = Annotated[
    Path, typer.Argument(help="Rule file (YAML or JSON).", show_default=False, dir_okay=False)
]


def _load(path: Path) -> RuleSet:
    """The rule file, compiled (its `vault:NAME` secrets from the vault), with every channel
    checked (fields, template, outbound URL)."""
    from timemachine.alerts.channels import check_channel
    from timemachine.rules import load_file
    from timemachine.security.outbound import OutboundPolicy
    from timemachine.settings import get_settings

    settings = get_settings()
    rules = load_file(path, secrets=_operator_secret)
    policy = OutboundPolicy.from_settings(settings)
    for name, channel in rules.channels.items():
        check_channel(name, channel, policy)
    return rules


def _operator_secret(name: str) -> str | None:
    """The operator's channel secret `name` (the store and the vault opened only if asked)."""
    from timemachine.rules.stored import OPERATOR, secrets_of
    from timemachine.security.vault import Vault
    from timemachine.settings import get_settings
    from timemachine.store import open_database

    settings = get_settings()
    db = open_database(settings.database_url)
    try:
        return secrets_of(db, Vault.from_settings(settings), OPERATOR)(name)
    finally:
        db.dispose()


@rules_app.command("validate")
def validate(path: RuleFileArg) -> None:
    """Parse and type-check every rule and channel; exit 2 with the first problem."""
    with reported_errors():
        rules = _load(path)
    enabled = sum(1 for r in rules.rules if r.rule.enabled)
    wasm = sum(1 for r in rules.rules if r.wasm is not None)
    typer.echo(
        f"{path}: {len(rules.rules)} rule(s) ({enabled} enabled, {wasm} WebAssembly), "
        f"{len(rules.channels)} channel(s): OK"
    )


@rules_app.command("test")
def dry_run_command(
    path: RuleFileArg,
    tx: Annotated[
        str | None, typer.Option("--tx", help="Replay this transaction and test the rules on it.")
    ] = None,
    event_file: Annotated[
        Path | None, typer.Option("--event", help="Or: a RuleEvent as a JSON file.")
    ] = None,
    stage: Annotated[
        str,
        typer.Option(
            "--stage", help="Stage the replayed tx is tested as: pending, simulated or mined."
        ),
    ] = "mined",
    rpc_url: RpcUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Dry run: which rules match the transaction (or event), with the evidence each read and
    the message each channel would get. Nothing is sent or stored."""
    from timemachine.errors import InvalidInputError

    with reported_errors():
        rules = _load(path)
        if (tx is None) == (event_file is None):
            raise InvalidInputError("give either --tx HASH or --event FILE")
        if stage not in ("pending", "simulated", "mined"):
            raise InvalidInputError(f"--stage {stage!r}: use pending, simulated or mined")
    event = run_async(_event(tx, event_file, stage, rpc_url))
    from timemachine.alerts.dryrun import dry_run

    with reported_errors():
        report = dry_run(rules, event)
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
        return
    typer.echo(f"tx {event.tx.hash} ({event.stage} on {event.chain}): "
               f"{len(report['matches'])} rule(s) match")  # fmt: skip
    for match in report["matches"]:
        typer.echo(f"- {match['rule']} [{match['severity']}] → {', '.join(match['notify']) or '-'}")
        for name, value in match["evidence"].items():
            typer.echo(f"    {name} = {value}")
    for rule, error in report["disabled"].items():
        typer.echo(f"! {rule} disabled: {error}")


async def _event(
    tx: str | None, event_file: Path | None, stage: str, rpc_url: str | None
) -> RuleEvent:
    from pydantic import ValidationError

    from timemachine.errors import InvalidInputError
    from timemachine.machine import TimeMachine
    from timemachine.rules import RuleEvent, event_from_replay

    if event_file is not None:
        try:
            return RuleEvent.model_validate_json(event_file.read_bytes())
        except (OSError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            raise InvalidInputError(f"{event_file} is not a readable RuleEvent: {first}") from None
    assert tx is not None
    async with TimeMachine(rpc_url) as machine:
        result, analysis = await machine.analyze_replay(tx)
    return event_from_replay(result, analysis, stage=stage)  # type: ignore[arg-type]


@alerts_app.command("list")
def list_alerts(
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's alerts.")] = None,
    unacked: Annotated[bool, typer.Option("--unacked", help="Only unacknowledged.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Stored alerts, newest first."""
    from timemachine.settings import get_settings
    from timemachine.store import AlertStore, open_database

    with reported_errors():
        db = open_database(get_settings().database_url)
        try:
            with db.session() as s:
                records = AlertStore(s).recent(
                    rule_id=rule, acked=False if unacked else None, limit=limit
                )
        finally:
            db.dispose()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return
    for r in records:
        state = f"acked by {r.acked_by}" if r.acked_at else "open"
        typer.echo(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M:%S}  {r.severity:<8} {r.rule_id}  "
                   f"{r.stage} {r.chain} {r.tx_hash or '-'}  {state}")  # fmt: skip


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[str, typer.Argument(help="The alert's id.", show_default=False)],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges it.")] = "cli",
) -> None:
    """Acknowledge an alert."""
    from timemachine.settings import get_settings
    from timemachine.store import AlertStore, open_database

    with reported_errors():
        db = open_database(get_settings().database_url)
        try:
            with db.session() as s:
                record = AlertStore(s).ack(alert_id, by=by)
        finally:
            db.dispose()
    typer.echo(
        f"{record.id} acknowledged by {record.acked_by} at {record.acked_at:%Y-%m-%d %H:%M:%S}"
    )


secret_app = command_group(
    "Channel secrets in the vault, named `vault:NAME` in a rule file's channels."
)
rules_app.add_typer(secret_app, name="secret")
SecretNameArg = Annotated[str, typer.Argument(help="The secret's name.", show_default=False)]


@secret_app.command("set")
def set_secret(name: SecretNameArg) -> None:
    """Store a channel secret read from stdin (one line), sealed by the vault: a rule file
    names it `vault:NAME` (the operator's secrets; REST users store their own)."""
    import sys

    from timemachine.errors import InvalidInputError
    from timemachine.rules.stored import OPERATOR
    from timemachine.security.vault import Vault
    from timemachine.settings import get_settings
    from timemachine.store import ChannelSecrets, open_database

    with reported_errors():
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise InvalidInputError('no secret on stdin: e.g. `printf %s "$TOKEN" | ...`')
        settings = get_settings()
        db = open_database(settings.database_url)
        try:
            with db.session() as s:
                ChannelSecrets(s, Vault.from_settings(settings)).put(OPERATOR, name, value)
        finally:
            db.dispose()
    typer.echo(f"secret {name!r} stored in the vault; name it `vault:{name}` in a channel")


@secret_app.command("list")
def list_secrets() -> None:
    """The names of the operator's channel secrets (never their values)."""
    from timemachine.rules.stored import OPERATOR
    from timemachine.settings import get_settings
    from timemachine.store import ChannelSecrets, open_database

    with reported_errors():
        db = open_database(get_settings().database_url)
        try:
            with db.session() as s:
                names = ChannelSecrets(s).names(OPERATOR)
        finally:
            db.dispose()
    for name in names:
        typer.echo(name)
