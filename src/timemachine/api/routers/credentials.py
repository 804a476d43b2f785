"""The credential vault over HTTP: a user stores RPC provider URLs/keys per chain, lists them
(redacted hints only) and deletes them. A stored URL never leaves the server; the workers
decrypt it when they replay that user's transactions (`EngineRuntime.rpc_url`).

The owner is always the caller: viewers (and API keys with `credentials:read`) list their own,
analysts (`credentials:write`) store and delete their own; another user's credential is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel

from timemachine.api.auth import Authorize, record
from timemachine.api.deps import AppSettings, Db
from timemachine.api.routers.replay import ERRORS
from timemachine.models.auth import Role, Scope
from timemachine.models.bounds import ChainId
from timemachine.models.credentials import ProviderCredentialCreate, ProviderCredentialRecord
from timemachine.security.audit import Action
from timemachine.security.outbound import OutboundPolicy
from timemachine.security.principal import Principal
from timemachine.security.vault import Vault
from timemachine.store import ProviderCredentials

router = APIRouter(prefix="/api/credentials", tags=["credentials"])


def get_vault(request: Request, settings: AppSettings) -> Vault:
    """The instance's vault (its keys read once, on first use)."""
    vault: Vault | None = getattr(request.app.state, "credential_vault", None)
    if vault is None:
        vault = Vault.from_settings(settings)
        request.app.state.credential_vault = vault
    return vault


CredentialReader = Annotated[Principal, Depends(Authorize(Role.VIEWER, Scope.CREDENTIALS_READ))]
CredentialWriter = Annotated[Principal, Depends(Authorize(Role.ANALYST, Scope.CREDENTIALS_WRITE))]
VaultDep = Annotated[Vault, Depends(get_vault)]


class CredentialDeleted(BaseModel):
    id: str
    deleted: bool


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProviderCredentialRecord,
    responses=ERRORS,
)
def store_credential(
    body: ProviderCredentialCreate,
    request: Request,
    caller: CredentialWriter,
    db: Db,
    vault: VaultDep,
    settings: AppSettings,
) -> ProviderCredentialRecord:
    """Store (or replace) the provider URL for a chain, encrypted; answers its redacted hint.

    The URL must be public: a host that is (or resolves to) a loopback, private, link-local or
    other non-public address is refused (400), unless an admin allows it (OUTBOUND_ALLOW_HOSTS);
    it is checked again at every connection a worker makes."""
    url = OutboundPolicy.from_settings(settings).check_url(body.url.get_secret_value())
    with db.session() as s:
        stored = ProviderCredentials(s, vault).store(
            owner=caller.user_id,
            chain_id=body.chain_id,
            url=url,
            label=body.label,
        )
    _audit(request, Action.CREDENTIAL_STORE, caller, stored)
    return stored


@router.get("", response_model=list[ProviderCredentialRecord], responses=ERRORS)
def list_credentials(
    request: Request,
    caller: CredentialReader,
    db: Db,
    vault: VaultDep,
    chain_id: Annotated[ChainId | None, Query()] = None,
) -> list[ProviderCredentialRecord]:
    """Your stored credentials: chain, label and redacted hint (never the URL)."""
    with db.session() as s:
        records = ProviderCredentials(s, vault).list_by_owner(caller.user_id, chain_id=chain_id)
    record(
        request,
        Action.CREDENTIAL_READ,
        actor=caller,
        resource="credentials",
        detail={"count": len(records), "chain_id": chain_id},
    )
    return records


@router.delete("/{credential_id}", response_model=CredentialDeleted, responses=ERRORS)
def delete_credential(
    credential_id: str, request: Request, caller: CredentialWriter, db: Db, vault: VaultDep
) -> CredentialDeleted:
    """Delete one of your credentials (another user's id: 404)."""
    with db.session() as s:
        deleted = ProviderCredentials(s, vault).delete(caller.user_id, credential_id)
    _audit(request, Action.CREDENTIAL_DELETE, caller, deleted)
    return CredentialDeleted(id=credential_id, deleted=True)


def _audit(
    request: Request, action: Action, caller: Principal, credential: ProviderCredentialRecord
) -> None:
    """One audit entry naming the credential by id, chain and label (never the URL or hint)."""
    record(
        request,
        action,
        actor=caller,
        resource=f"credential:{credential.id}",
        detail={"chain_id": credential.chain_id, "label": credential.label},
    )
