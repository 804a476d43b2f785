"""Rules over HTTP: rule documents stored per user (create, read, update as a new version, the
version history, enable/disable, delete, dry run) and the channel secrets they name.

A document is a rule file (YAML or JSON: `channels`, `watchlists`, `rules`), checked when it is
written (422 with the parser's message). Owners: analysts see and edit their own documents,
admins every one, viewers only read; another user's document is 404. The monitor loads every
enabled document (and reloads within seconds of a change). A channel secret is stored in the
vault with `PUT /rules/secrets/NAME` and named `vault:NAME` in a channel; it is never returned.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.exceptions import HTTPException
from pydantic import BaseModel, Field

from timemachine.alerts.channels import check_channel
from timemachine.alerts.dryrun import dry_run
from timemachine.api.auth import Analyst, Reader
from timemachine.api.deps import Db, app_state
from timemachine.api.routers.credentials import CredentialReader, CredentialWriter, VaultDep
from timemachine.api.routers.replay import ERRORS
from timemachine.api.schemas import ErrorBody, RequestErrors
from timemachine.rules.errors import RuleError
from timemachine.rules.event import RuleEvent
from timemachine.rules.loader import RuleSet, Secrets
from timemachine.rules.stored import compile_document, namespaced, secrets_of
from timemachine.security.outbound import OutboundPolicy
from timemachine.store.db import Database
from timemachine.store.rules import ChannelSecrets, Cipher, RuleVersion, StoredRule, StoredRules

router = APIRouter(prefix="/api/time-machine/rules", tags=["rules"])
MAX_DOCUMENT = 1_000_000
RuleId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The document's id.")]
SecretName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
WRITE_ERRORS: dict[int | str, dict[str, object]] = {
    **ERRORS,
    422: {"model": ErrorBody | RequestErrors},  # a document that does not check; a bad request
}


class RuleCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    document: str = Field(max_length=MAX_DOCUMENT, description="A rule file (YAML or JSON).")
    enabled: bool = True


class RuleUpdate(BaseModel):
    """The fields to change; the others are kept. Every update is a new version."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    document: str | None = Field(default=None, max_length=MAX_DOCUMENT)
    enabled: bool | None = None


class RuleTest(BaseModel):
    event: RuleEvent


class SecretValue(BaseModel):
    value: str = Field(min_length=1, max_length=10_000)


def checked(document: str, request: Request, secrets: Secrets | None) -> RuleSet:
    """The compiled document with every channel checked (fields, template, outbound URL);
    RuleError with the first problem."""
    rules = compile_document(document, secrets, "the document")
    policy = OutboundPolicy.from_settings(app_state(request).settings)
    for name, channel in rules.channels.items():
        check_channel(name, channel, policy)
    return rules


def _written(document: str, request: Request, db: Database, vault: Cipher, owner: str) -> None:
    try:
        checked(document, request, secrets_of(db, vault, owner))
    except RuleError as error:
        raise HTTPException(422, error.message) from None


@router.get("/secrets", response_model=list[str], responses=ERRORS)
def secret_names(caller: CredentialReader, db: Db) -> list[str]:
    """The names of the caller's channel secrets (never their values)."""
    with db.session() as s:
        return ChannelSecrets(s).names(caller.user_id)


@router.put("/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
def put_secret(
    name: SecretName, body: SecretValue, caller: CredentialWriter, db: Db, vault: VaultDep
) -> Response:
    """Store (or replace) a channel secret in the vault, named `vault:NAME` in a channel."""
    with db.session() as s:
        ChannelSecrets(s, vault).put(caller.user_id, name, body.value)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/secrets/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
def delete_secret(name: SecretName, caller: CredentialWriter, db: Db) -> Response:
    with db.session() as s:
        ChannelSecrets(s).delete(caller.user_id, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=list[StoredRule], responses=ERRORS)
def list_rules(principal: Reader, db: Db) -> list[StoredRule]:
    """The caller's rule documents (an admin's: everyone's), oldest first."""
    with db.session() as s:
        return StoredRules(s).owned(owner=principal.owner_scope)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=StoredRule, responses=WRITE_ERRORS
)
def create_rule(
    body: RuleCreate, request: Request, principal: Analyst, db: Db, vault: VaultDep
) -> StoredRule:
    """Store a rule document (version 1), checked first (422 with the first problem)."""
    _written(body.document, request, db, vault, principal.user_id)
    with db.session() as s:
        return StoredRules(s).create(
            owner=principal.user_id, name=body.name, document=body.document, enabled=body.enabled
        )


@router.get("/{rule_id}", response_model=StoredRule, responses=ERRORS)
def get_rule(rule_id: RuleId, principal: Reader, db: Db) -> StoredRule:
    with db.session() as s:
        return StoredRules(s).get(rule_id, owner=principal.owner_scope)


@router.put("/{rule_id}", response_model=StoredRule, responses=WRITE_ERRORS)
def update_rule(
    rule_id: RuleId,
    body: RuleUpdate,
    request: Request,
    principal: Analyst,
    db: Db,
    vault: VaultDep,
) -> StoredRule:
    """A new version (the previous one stays in the history): a new document, name, or
    enabled flag."""
    with db.session() as s:
        current = StoredRules(s).get(rule_id, owner=principal.owner_scope)
    if body.document is not None:
        _written(body.document, request, db, vault, current.owner)
    with db.session() as s:
        return StoredRules(s).update(
            rule_id, owner=principal.owner_scope, author=principal.user_id,
            name=body.name, document=body.document, enabled=body.enabled,
        )  # fmt: skip


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ERRORS)
def delete_rule(rule_id: RuleId, principal: Analyst, db: Db) -> Response:
    """Delete the document and its history (the monitor stops running its rules)."""
    with db.session() as s:
        StoredRules(s).delete(rule_id, owner=principal.owner_scope)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{rule_id}/versions", response_model=list[RuleVersion], responses=ERRORS)
def rule_versions(rule_id: RuleId, principal: Reader, db: Db) -> list[RuleVersion]:
    """Every version of the document, newest first."""
    with db.session() as s:
        return StoredRules(s).versions(rule_id, owner=principal.owner_scope)


@router.post("/{rule_id}/test", responses=ERRORS)
def test_rule(
    rule_id: RuleId, body: RuleTest, principal: Reader, db: Db, vault: VaultDep
) -> dict[str, Any]:
    """Dry run of the stored document on an event (as `timemachine rules test --event`): the
    rules that match, their evidence and each channel's message; nothing is sent or stored.
    Rule and channel names are as the monitor runs them: `<document id>:<name>`."""
    with db.session() as s:
        record = StoredRules(s).get(rule_id, owner=principal.owner_scope)
    rules = compile_document(record.document, secrets_of(db, vault, record.owner), rule_id)
    return dry_run(namespaced(record, rules), body.event)
