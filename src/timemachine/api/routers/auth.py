"""Log in, refresh, log out, who am I; my API keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from timemachine.api.auth import Anyone, LoginOnly, charge, client_ip, record
from timemachine.api.deps import AppSettings, Db, app_state
from timemachine.api.routers.replay import ERRORS
from timemachine.errors import AuthenticationError, NotFoundError, RateLimitedError
from timemachine.models.auth import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRecord,
    LoginRequest,
    Me,
    Outcome,
    RefreshRequest,
    Scope,
    TokenResponse,
)
from timemachine.security import accounts
from timemachine.security.audit import Action
from timemachine.security.lockout import DelayPolicy, LoginDelays, login_delays
from timemachine.security.principal import Principal
from timemachine.store import ApiKeys, Users

router = APIRouter(prefix="/api/auth", tags=["auth"])
AUTH_ERRORS = ERRORS | {code: ERRORS[400] for code in (401, 403, 429)}


def login_delays_of(request: Request) -> LoginDelays:
    """This app's login delays (in-process, or in Redis when REDIS_URL is set)."""
    app_obj: Any = request.app.state
    delays: LoginDelays | None = getattr(app_obj, "login_delays", None)
    if delays is None:
        settings = app_state(request).settings
        policy = DelayPolicy(
            free=settings.login_free_failures,
            base=settings.login_delay_seconds,
            cap=settings.login_max_delay_seconds,
        )
        delays = app_obj.login_delays = login_delays(settings.redis_url, policy)
    return delays


def _tokens(pair: accounts.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        refresh_expires_in=pair.refresh_expires_in,
    )


@router.post("/login", response_model=TokenResponse, responses=AUTH_ERRORS)
def login(body: LoginRequest, request: Request, db: Db, settings: AppSettings) -> TokenResponse:
    """An access token (short-lived) and a refresh token for a username and password.

    Attempts are throttled per client IP, and failures slow down the (username, client IP)
    pair: after a few, each further attempt from that address waits twice as long as the last
    (429 with Retry-After). The owner logging in from another address is not slowed down."""
    ip = client_ip(request)
    delays = login_delays_of(request)
    pair_key = f"{body.username}\x00{ip}"
    try:
        charge(
            request,
            f"login:ip:{ip}",
            rate_per_minute=settings.login_attempts_per_minute,
            burst=settings.login_burst,
        )
        wait = delays.wait(pair_key)
        if wait > 0:
            raise RateLimitedError(
                f"too many failed logins for this user from your address; retry in {wait:.0f} s",
                retry_after=wait,
            )
    except RateLimitedError:
        record(request, Action.LOGIN, actor=body.username, outcome=Outcome.DENIED,
               detail={"reason": "throttled"})  # fmt: skip
        raise
    try:
        user, pair = accounts.login(settings, db, body.username, body.password)
    except AuthenticationError:
        delays.failed(pair_key)
        record(request, Action.LOGIN, actor=body.username, outcome=Outcome.FAILURE)
        raise
    delays.succeeded(pair_key)
    actor = Principal(user_id=user.id, username=user.username, role=user.role)
    record(request, Action.LOGIN, actor=actor, resource=f"user:{user.id}")
    return _tokens(pair)


@router.post("/refresh", response_model=TokenResponse, responses=AUTH_ERRORS)
def refresh(body: RefreshRequest, request: Request, db: Db, settings: AppSettings) -> TokenResponse:
    """A new token pair for a refresh token, which is used up (rotation). Presenting a used or
    revoked refresh token is refused and revokes every token of that login."""
    charge(
        request,
        f"ip:{client_ip(request)}",
        rate_per_minute=settings.ip_rate_limit_per_minute,
        burst=settings.ip_rate_limit_burst,
    )
    try:
        user, pair = accounts.refresh(settings, db, body.refresh_token)
    except AuthenticationError as exc:
        record(request, Action.REFRESH, actor=None, outcome=Outcome.FAILURE,
               detail={"reason": exc.message})  # fmt: skip
        raise
    actor = Principal(user_id=user.id, username=user.username, role=user.role)
    record(request, Action.REFRESH, actor=actor, resource=f"user:{user.id}")
    return _tokens(pair)


@router.post("/logout", responses=AUTH_ERRORS)
def logout(
    body: RefreshRequest, request: Request, principal: Anyone, db: Db, settings: AppSettings
) -> dict[str, bool]:
    """Revoke the refresh token (and every token rotated from the same login) and the access
    token sending this request: both are refused from now on (401), and WebSockets opened with
    that access token are closed."""
    revoked = accounts.logout(settings, db, body.refresh_token, principal=principal)
    if not revoked:
        raise NotFoundError("no such refresh token of yours")
    record(request, Action.LOGOUT, actor=principal, resource=f"user:{principal.user_id}")
    return {"logged_out": True}


@router.get("/me", response_model=Me, responses=AUTH_ERRORS)
def me(principal: Anyone, db: Db) -> Me:
    """The caller: user, role, and what this credential may do."""
    with db.session() as s:
        user = Users(s).require(principal.user_id)
    scopes = sorted(principal.scopes) if principal.scopes is not None else list(Scope)
    return Me(
        user=user,
        via="api_key" if principal.api_key_id else "login",
        api_key_id=principal.api_key_id,
        scopes=[s for s in scopes if principal.role.allows(accounts.SCOPE_ROLE[s])],
    )


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, responses=AUTH_ERRORS)
def create_api_key(
    body: ApiKeyCreate, request: Request, principal: LoginOnly, db: Db
) -> ApiKeyCreated:
    """A new API key with `scopes` (within your role). The key is in this answer only: store it
    now. Needs a password login (an API key cannot create keys)."""
    key_record, key = accounts.create_api_key(db, principal, name=body.name, scopes=body.scopes)
    scopes = [str(s) for s in key_record.scopes]
    record(request, Action.API_KEY_CREATE, actor=principal, resource=f"api_key:{key_record.id}",
           detail={"scopes": scopes, "prefix": key_record.prefix})  # fmt: skip
    return ApiKeyCreated(**key_record.model_dump(), key=key)


@router.get("/api-keys", response_model=list[ApiKeyRecord], responses=AUTH_ERRORS)
def list_api_keys(principal: LoginOnly, db: Db) -> list[ApiKeyRecord]:
    """Your API keys (prefix, scopes, last use, revocation; never the key)."""
    with db.session() as s:
        return ApiKeys(s).list(principal.user_id)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyRecord, responses=AUTH_ERRORS)
def revoke_api_key(key_id: str, request: Request, principal: LoginOnly, db: Db) -> ApiKeyRecord:
    """Revoke one of your API keys at once (admins: anyone's). Another user's key: 404."""
    with db.session() as s:
        revoked = ApiKeys(s).revoke(key_id, user_id=principal.owner_scope)
    if revoked is None:
        record(request, Action.API_KEY_REVOKE, actor=principal, resource=f"api_key:{key_id}",
               outcome=Outcome.FAILURE)  # fmt: skip
        raise NotFoundError(f"no API key {key_id!r} of yours; list them at /api/auth/api-keys")
    record(request, Action.API_KEY_REVOKE, actor=principal, resource=f"api_key:{key_id}")
    return revoked
