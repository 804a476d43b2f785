"""The one Settings object. Nothing else in the package reads the environment."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_FILE = "timemachine.db"


def normalize_database_url(url: str) -> str:
    """`postgresql://` and `postgres://` (Heroku style) URLs get the psycopg v3 driver; an explicit
    driver (`postgresql+asyncpg://`) and every other URL are kept as given."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Runtime configuration, read from the environment (names kept from the original spec)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    web3_rpc_url: str | None = Field(
        default=None,
        description="Default upstream RPC (Ethereum); a comma-separated list (`url#weight=N`, "
        "http(s) or ws(s)) makes a provider pool (docs/chain.md).",
    )
    polygon_rpc_url: str | None = None
    bsc_rpc_url: str | None = None
    # -- chain access (issue 14): per-chain provider lists, joined with the single-URL names --
    ethereum_rpc_urls: str | None = None
    arbitrum_rpc_urls: str | None = None
    optimism_rpc_urls: str | None = None
    base_rpc_urls: str | None = None
    bsc_rpc_urls: str | None = None
    polygon_rpc_urls: str | None = None
    rpc_quorum: str = Field(
        default="2/3+1",
        pattern=r"^(any|majority|2/3\+1|all)$",
        description="Quorum policy of reads that decide what the chain is (any, majority, "
        "2/3+1, all of the healthy providers).",
    )
    rpc_provider_concurrency: int = Field(default=16, ge=1, description="In-flight per provider.")
    rpc_provider_rate: float = Field(
        default=0.0, ge=0, description="Requests per second per provider (0: unlimited)."
    )
    rpc_max_head_lag: int = Field(
        default=5, ge=0, description="Blocks behind the best head before a provider is skipped."
    )
    log_level: str = "WARNING"
    debug: bool = False

    anvil_path: Path | None = Field(default=None, description="Explicit anvil binary.")
    max_live_forks: int = Field(default=8, ge=1, description="Global cap on live anvil forks.")
    fork_ttl_seconds: float = Field(default=3600.0, gt=0, description="Idle forks die after this.")
    fork_start_timeout: float = Field(default=20.0, gt=0)
    prefetch_state: bool = Field(
        default=True,
        description="Seed forks with the upstream's prestate trace when it has a debug API.",
    )
    rpc_timeout: float = Field(default=30.0, gt=0)
    rpc_retries: int = Field(default=4, ge=0)
    rpc_backoff: float = Field(
        default=0.25, ge=0, description="First retry delay, doubled each time."
    )

    data_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("TIME_MACHINE_DATA_DIR", "data_dir"),
        description="Per-user data directory (default: $XDG_DATA_HOME/timemachine, "
        "else ~/.local/share/timemachine); holds the embedded SQLite database.",
    )
    xdg_data_home: Path | None = Field(default=None, description="XDG base directory for data.")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the store. Empty: SQLite file `timemachine.db` in the data "
        "directory. `postgresql://` and `postgres://` URLs are mapped to the psycopg (v3) driver.",
    )

    redis_url: str | None = Field(
        default=None,
        description="Redis for event fan-out across API instances (and rate limits); "
        "unset: events stay in-process.",
    )
    # -- event streaming (issue 17): the durable topics and their consumer groups -------------
    event_bus_url: str | None = Field(
        default=None,
        description="NATS JetStream server (`nats://host:4222`, comma-separated for a cluster) "
        "for the event bus: durable topics, consumer groups across processes, fan-out to every "
        "API instance. Unset: Redis pub/sub fan-out when REDIS_URL is set, else in-process.",
    )
    event_bus_stream: str = Field(
        default="TIMEMACHINE", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="JetStream name."
    )
    event_bus_prefix: str = Field(
        default="timemachine",
        pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="Subject prefix: events go to `<prefix>.<topic>`.",
    )
    event_bus_max_age: float = Field(
        default=7 * 24 * 3600.0, ge=0, description="Seconds an event is kept (0: no limit)."
    )
    event_bus_max_bytes: int = Field(
        default=1 << 30, ge=-1, description="Bytes the stream keeps (-1: no limit)."
    )
    event_bus_max_per_topic: int = Field(
        default=1_000_000, ge=-1, description="Events kept per topic (-1: no limit)."
    )
    event_bus_duplicate_window: float = Field(
        default=120.0, gt=0, description="Seconds within which a repeated event_id is dropped."
    )
    event_bus_ack_wait: float = Field(
        default=30.0, gt=0, description="Seconds before an unacknowledged event is redelivered."
    )
    event_bus_max_deliver: int = Field(
        default=5, ge=1, description="Deliveries of one event to one group before it is dropped."
    )

    celery_broker_url: str | None = Field(
        default=None,
        description="Celery broker (redis:// or amqp://). Unset: the embedded broker, a SQLite "
        "file in the data directory, served by a real worker process with no external server.",
    )
    celery_result_backend: str | None = Field(
        default=None, description="Celery result backend. Unset: the store's database."
    )
    broker_visibility_timeout: float = Field(
        default=1020.0,
        gt=0,
        description="Seconds before Redis redelivers an unacknowledged task. Above the hard "
        "task time limit, so a task still running is never handed out twice; a dead worker's "
        "sessions are re-queued much sooner by their expired lease (SESSION_LEASE_SECONDS).",
    )
    session_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A worker running a session renews its lease every third of this; a session "
        "whose lease expired (its worker died) is re-queued by the sweeper of any live worker.",
    )
    session_max_attempts: int = Field(
        default=3, ge=1, description="Runs of one session before a lost worker fails it."
    )
    task_soft_time_limit: float = Field(default=900.0, gt=0, description="Seconds per task.")
    task_time_limit: float = Field(default=960.0, gt=0, description="Hard kill after this.")
    monitor_simulate: str = Field(
        default="watched,flash-loan,unknown,value>=10eth",
        description="Which pending transactions the mempool monitor simulates (`--simulate`).",
    )
    monitor_watch: str = Field(
        default="", description="Comma-separated addresses the monitor watches (alerts)."
    )
    monitor_forks: int = Field(default=2, ge=1, description="Warm forks simulating at once.")
    monitor_backlog: int = Field(
        default=256, ge=1, description="Pending transactions waiting for a simulation at most."
    )
    monitor_deadline: float = Field(default=10.0, gt=0, description="Seconds per simulation.")
    monitor_drop_after: int = Field(
        default=3, ge=1, description="Heads a tx may be missing from every pool before dropped."
    )
    monitor_retention_hours: float = Field(
        default=24.0, gt=0, description="Settled monitored transactions are kept this long."
    )
    monitor_chains: str = Field(
        default="",
        description="Comma-separated chains (`ethereum`, `base`, …) `timemachine serve` monitors, "
        "each through its configured providers.",
    )
    monitor_rpc_urls: str = Field(
        default="",
        description="Comma-separated providers of one more chain `timemachine serve` monitors "
        "(a devnet, a chain without a registry entry).",
    )
    alert_rules_file: Path | None = Field(
        default=None,
        description="The operator's rule file: run by the monitors `serve` starts (with the "
        "rules stored over REST) and read by the delivery workers for its channels.",
    )
    alert_delivery: Literal["inline", "queue"] = Field(
        default="inline",
        description="How the monitor delivers alerts: `inline`, in its own process; `queue`, "
        "as jobs on the `alerts` queue of the Celery workers (what `serve` runs).",
    )
    monitor_store: Literal["local", "bus"] = Field(
        default="local",
        description="Where the monitor's records are stored: `local`, by the monitor itself; "
        "`bus`, by `timemachine consume` members with the handler "
        "`timemachine.monitor.sinks:store` (needs EVENT_BUS_URL=nats://…).",
    )
    time_machine_host: str = Field(default="127.0.0.1", description="Where `serve` listens.")
    time_machine_port: int = Field(default=8000, ge=1, le=65535)

    vault_keys: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TIME_MACHINE_VAULT_KEYS", "vault_keys"),
        description="Credential vault keys, comma-separated `id:base64key` (32-byte AES-256 "
        "keys); the first encrypts, every one decrypts (rotation: put a new key first, run "
        "`timemachine keys rotate`, then drop the old one). Unset: one key generated on first "
        "use and kept (mode 0600) in `vault.keys` in the data directory.",
    )

    # -- security (issue 6): authentication, abuse limits, CORS --------------------------------
    secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TIME_MACHINE_SECRET_KEY", "secret_key"),
        description="HMAC key signing the JWT access/refresh tokens (HS256; 32+ random bytes). "
        "Unset: one is generated on first start and kept (mode 0600) in `secret.key` in the data "
        "directory. Changing it logs everybody out (API keys keep working).",
    )
    access_token_minutes: float = Field(default=15.0, gt=0, le=24 * 60)
    refresh_token_days: float = Field(default=14.0, gt=0, le=365)
    metrics_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TIME_MACHINE_METRICS_TOKEN", "metrics_token"),
        description="Static bearer token Prometheus may scrape /metrics with (besides an admin "
        "login or an API key with the `metrics:read` scope). Unset: no scrape token.",
    )
    cors_origins: str = Field(
        default="",
        validation_alias=AliasChoices("TIME_MACHINE_CORS_ORIGINS", "cors_origins"),
        description="Comma-separated origins allowed by CORS (e.g. https://ui.example.org). "
        "Empty (default): no cross-origin browser access.",
    )
    bootstrap_admin: bool = Field(
        default=True,
        description="On start, when no user exists, create `admin` with a random password and "
        "print once how to log in.",
    )
    rate_limit_per_minute: float = Field(
        default=600.0, gt=0, description="Requests per minute per user / API key (token bucket)."
    )
    rate_limit_burst: int = Field(default=120, ge=1)
    ip_rate_limit_per_minute: float = Field(
        default=1200.0, gt=0, description="Requests per minute per client IP (token bucket)."
    )
    ip_rate_limit_burst: int = Field(default=240, ge=1)
    login_attempts_per_minute: float = Field(
        default=5.0, gt=0, description="Login attempts per minute per username and per IP."
    )
    login_burst: int = Field(default=10, ge=1)
    max_active_sessions_per_user: int = Field(
        default=4,
        ge=1,
        description="Pending + running sessions one user may have (each running session holds "
        "one anvil fork in a worker, so this also caps forks per user).",
    )

    # -- hardening (issue 13): outbound URLs, proxies, login delays, WebSocket caps ----------
    outbound_allow_hosts: str = Field(
        default="",
        description="Comma-separated hosts (names, IPs or CIDR networks) that user-supplied URLs "
        "(stored RPC credentials; later webhooks, S3, alert channels) may reach although they "
        "are loopback, private, link-local or otherwise non-public. Empty (default): none. "
        "The server's own RPC settings (WEB3_RPC_URL, ...) and the devnet are never checked.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated IPs or CIDR networks of trusted reverse proxies whose "
        "X-Forwarded-For header names the client, or `*`. Empty (default): the header is "
        "ignored and the connection's peer address is the client IP.",
    )
    login_free_failures: int = Field(
        default=5, ge=0, description="Failed logins per (username, IP) before delays start."
    )
    login_delay_seconds: float = Field(
        default=1.0, gt=0, description="First delay after the free failures; doubles each time."
    )
    login_max_delay_seconds: float = Field(
        default=300.0, gt=0, description="Cap on the delay between two login attempts."
    )
    ws_max_per_user: int = Field(
        default=20, ge=1, description="Open WebSockets per user (per API process)."
    )
    ws_max_per_ip: int = Field(
        default=50, ge=1, description="Open WebSockets per client IP (per API process)."
    )

    # -- historical archive (issue 19): continuous archival, retention, queries ---------------
    archive_dir: Path | None = Field(
        default=None, description="Archive chunk files (default: `archive` in the data directory)."
    )
    archive_chains: str = Field(
        default="",
        description="Comma-separated networks the archival beat job archives: a chain name "
        "(`ethereum`, through its configured providers) or `name=url` (any node, e.g. a devnet).",
    )
    archive_interval_hours: float = Field(
        default=1.0, gt=0, description="Hours between continuous archival runs (Celery beat)."
    )
    archive_confirmations: int | None = Field(
        default=None,
        ge=1,
        description="Blocks below the head that count as final for archival; unset: the node's "
        "`finalized` block.",
    )
    archive_start_block: int = Field(
        default=0, ge=0, description="Where continuous archival of a network with no chunks starts."
    )
    archive_datasets: str = Field(
        default="blocks,transactions,logs,traces",
        description="Comma-separated chain datasets the archival beat job extracts (besides our "
        "own datasets: mempool, MEV, alerts, replays); empty: our own only.",
    )
    batch_size: int = Field(
        default=1000, ge=1, description="Blocks per archive chunk (continuous archival)."
    )
    compression_type: str = Field(
        default="lz4",
        description="Parquet compression of archive chunks: lz4 (cryo's default), zstd N, "
        "gzip N, snappy or none.",
    )
    archive_retention: str = Field(
        default="",
        description="Retention policies, `;`-separated `dataset:rule` with rule `keep_days=N`, "
        "`keep_blocks=N` or `compact=N` (merge chunks into N-block ones); dataset `*` for all "
        "(docs/archive.md). Empty: keep everything as written.",
    )

    @field_validator("event_bus_url")
    @classmethod
    def _nats_url(cls, value: str | None) -> str | None:
        if value and not all(
            url.strip().startswith(("nats://", "tls://")) for url in value.split(",")
        ):
            raise ValueError("EVENT_BUS_URL must be nats://host:port (or tls://), comma-separated")
        return value or None

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",")):
            if entry and entry != "*":
                ipaddress.ip_network(entry, strict=False)  # ValueError names the bad entry
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @model_validator(mode="after")
    def _monitor_store_needs_the_bus(self) -> Settings:
        if self.monitor_store == "bus" and not self.event_bus_url:
            raise ValueError("MONITOR_STORE=bus needs EVENT_BUS_URL=nats://… (its consumers store)")
        return self

    @model_validator(mode="after")
    def _resolve_storage(self) -> Settings:
        if self.data_dir is None:
            base = self.xdg_data_home or Path.home() / ".local" / "share"
            self.data_dir = base / "timemachine"
        self.data_dir = self.data_dir.expanduser()
        self.archive_dir = (self.archive_dir or self.data_dir / "archive").expanduser()
        if not self.database_url.strip():
            self.database_url = f"sqlite:///{self.data_dir / DATABASE_FILE}"
        self.database_url = normalize_database_url(self.database_url)
        return self


@dataclass(frozen=True)
class ForkSettings:
    """What the fork manager and the devnet need (defaults: those of `Settings`)."""

    anvil_path: Path | None = None
    max_live_forks: int = 8
    fork_ttl_seconds: float = 3600.0
    fork_start_timeout: float = 20.0
    rpc_timeout: float = 30.0

    @classmethod
    def of(cls, settings: Settings | ForkSettings | None) -> ForkSettings:
        """`settings`' fork part (None: the defaults, no environment read)."""
        if settings is None or isinstance(settings, ForkSettings):
            return settings or cls()
        return cls(**{field.name: getattr(settings, field.name) for field in fields(cls)})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached: the environment is read once)."""
    return Settings()
