"""The one error tree. Every message says what went wrong and what to do next.

Shells map these to exit codes and HTTP statuses in one place each; engine code raises them and
adapters translate vendor errors into them at the boundary.
"""

from __future__ import annotations


class TimeMachineError(Exception):
    """Root of every error Time Machine raises on purpose."""

    #: Exit code for the CLI; HTTP status for the API (kept side by side so both stay consistent).
    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInputError(TimeMachineError):
    """The caller gave something malformed (bad hash, bad address, bad block number)."""

    exit_code = 2
    http_status = 400


class CapsuleError(InvalidInputError):
    """A capsule file is corrupt, truncated, of another version, or exceeds a safety limit."""


class FixtureError(InvalidInputError):
    """A file that cannot be read as a go-ethereum tracer fixture."""


class MevInputError(InvalidInputError):
    """A block file or trace document that cannot be read as traces to inspect for MEV."""


class NotFoundError(TimeMachineError):
    """The thing asked for does not exist where we looked."""

    exit_code = 3
    http_status = 404


class TransactionNotFoundError(NotFoundError):
    """The node does not know the transaction hash."""


class BlockNotFoundError(NotFoundError):
    """The node does not know the block (for example a block before genesis or in the future)."""


class RpcError(TimeMachineError):
    """The upstream node answered with an error we could not interpret more precisely."""

    exit_code = 4
    http_status = 502

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RpcUnavailableError(RpcError):
    """The node could not be reached (connection refused, DNS, timeouts after retries)."""


class OutboundRefusedError(RpcUnavailableError):
    """A user-supplied URL's host is not allowed at connect time (loopback, private, link-local,
    multicast or unspecified address, or an odd numeric form); see `security.outbound`."""


class RpcRateLimitedError(RpcError):
    """The node kept answering 429 after every retry."""

    retry_after: float | None = None
    """Seconds the node asked us to wait (its Retry-After header), when it said."""


class RpcBadResponseError(RpcError):
    """The node answered something that is not a JSON-RPC reply (HTML, garbage, a wrong shape)."""


class QuorumError(RpcError):
    """The providers of a pool disagreed and too few agreed; the message says who said what."""


class MethodUnavailableError(RpcError):
    """The node does not expose a JSON-RPC method we need."""


class DebugApiUnavailableError(MethodUnavailableError):
    """The node does not expose the debug_* tracing API."""


class TraceApiUnavailableError(MethodUnavailableError):
    """The node has neither `trace_block` nor `debug_traceBlockByNumber` (MEV inspection)."""


class ArchiveStateUnavailableError(RpcError):
    """The node has pruned the historical state the replay needs."""


class EngineError(TimeMachineError):
    """The execution engine (anvil) could not be found, started, or crashed."""

    exit_code = 5
    http_status = 503


class BrokerUnreachableError(EngineError):
    """The task broker did not answer (HTTP 503)."""


class BrokerUnavailableError(EngineError):
    """The task could not be queued: the broker is down. The session is marked failed."""


class EngineNotFoundError(EngineError):
    """No anvil binary on PATH or in node_modules/.bin."""


class DevnetBuildError(EngineError):
    """The devnet did not build the history we expected (wrong flags, a reverted tx, ...)."""


class ForkLimitError(EngineError):
    """The global cap on live forks is reached."""


class ReplayError(TimeMachineError):
    """The replay could not be carried out (for example the engine rejected a transaction)."""

    exit_code = 6
    http_status = 422


class OutboundPolicyError(InvalidInputError):
    """A user-supplied URL is refused by the outbound policy (scheme, or a host that is or
    resolves to a non-public address); an admin may allow a host with OUTBOUND_ALLOW_HOSTS."""


class ConflictError(TimeMachineError):
    """The request clashes with the current state (a finished session cannot start, a running
    session cannot be deleted). Re-read the state and decide again; retrying as is won't help."""

    exit_code = 7
    http_status = 409


class StorageError(TimeMachineError):
    """The database could not be reached, or refused an operation for a reason not caused by the
    request (check DATABASE_URL and that the database server is up)."""

    exit_code = 8
    http_status = 503


class VaultError(TimeMachineError):
    """The credential vault cannot decrypt or encrypt: a key is missing from
    TIME_MACHINE_VAULT_KEYS, the key list is malformed, or a stored ciphertext fails
    authentication (tampered, or moved to another owner/chain/row). 503: the operator must fix
    the key ring; nothing the caller sent is wrong."""

    exit_code = 9
    http_status = 503


class AuthenticationError(TimeMachineError):
    """No credentials, or credentials that are invalid, expired, revoked or of a disabled user
    (HTTP 401). Log in again (`POST /api/auth/login`) or use a valid API key."""

    exit_code = 10
    http_status = 401
    headers: dict[str, str] = {"WWW-Authenticate": "Bearer"}  # noqa: RUF012 - read only


class PermissionDeniedError(TimeMachineError):
    """Authenticated, but the role or the API key's scopes do not allow this (HTTP 403)."""

    exit_code = 11
    http_status = 403


class RateLimitedError(TimeMachineError):
    """Too many requests from this key, user or address (HTTP 429); retry after `retry_after`
    seconds."""

    exit_code = 12
    http_status = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(max(1, int(retry_after + 0.999)))}


class CompileError(InvalidInputError):
    """Solidity compilation could not run or failed; the message is one readable line."""


class SignatureError(InvalidInputError, ValueError):
    """A text signature or ABI entry that cannot be parsed (still a ValueError, so pydantic
    validators that parse signatures report it as a validation error)."""


class AddressInUseError(ConflictError):
    """The API cannot listen where it was asked to (port taken, address not local)."""


class ServiceProcessError(EngineError):
    """A worker or beat process of `serve` could not start or died."""


class TooManyActiveSessionsError(RateLimitedError):
    """The user has as many pending/running sessions as allowed (HTTP 429)."""


class SessionStopped(TimeMachineError):
    """Not shown to anyone: the session left `running` under the worker (cancelled, failed as
    stale, deleted), so the worker stops working on it."""
