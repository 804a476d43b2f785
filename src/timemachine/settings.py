"""The one Settings object. Nothing else in the package reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration, read from the environment (names kept from the original spec)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    web3_rpc_url: str | None = Field(default=None, description="Default upstream RPC (Ethereum).")
    polygon_rpc_url: str | None = None
    bsc_rpc_url: str | None = None
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached: the environment is read once)."""
    return Settings()
