"""The one place configuration is read: `BACKROOM_*` environment variables and `.env`."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that look like someone copied an example file: refused as secrets.
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password", "dev", "test", "example"}
_MIN_SECRET_LENGTH = 32

OnOff = Literal["on", "off"]


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which variable and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BACKROOM_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    data_dir: Path = Path("./var")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    rate_limit: OnOff = "on"
    cache: OnOff = "on"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    tax_rate_bps: int = Field(default=0, ge=0, le=10_000)
    shipping_cents: int = Field(default=0, ge=0)
    free_shipping_over_cents: int | None = Field(default=None, ge=0)
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300)
    cors_origins: str = ""
    password_min_length: int = Field(default=12, ge=8, le=128)
    order_payment_timeout_seconds: int = Field(default=1800, ge=1)
    # How long a request holds the Idempotency-Key it claimed before a retry may take
    # it over: above the proxy's 60 s read timeout, so a live request is never raced.
    idempotency_lease_seconds: int = Field(default=90, ge=1, le=3600)
    webhook_allow_private_urls: bool = False

    # Operational knobs beyond the contract; documented in docs/configuration.md.
    json_body_limit_bytes: int = Field(default=1024 * 1024, ge=1024)
    import_body_limit_bytes: int = Field(default=1024**3, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    # off: no server-side prepared statements are reused (PgBouncer in transaction mode
    # before 1.21, or with max_prepared_statements = 0); see docs/deployment.md.
    db_statement_cache: OnOff = "on"
    rate_limit_anonymous: str = "300/minute"
    rate_limit_user: str = "1200/minute"
    rate_limit_login_account: str = "10/5minutes"
    rate_limit_login_address: str = "50/5minutes"
    # Jobs: unset = run them in this process unless Redis is configured (then
    # `backroom worker` processes run them); the scheduler enqueues periodic work.
    jobs_in_process: bool | None = None
    scheduler: OnOff = "on"
    import_batch_rows: int = Field(default=5_000, ge=1, le=10_000)
    # SQLite: consecutive batches share a transaction up to this many rows (a
    # commit writes every page the transaction dirtied: fewer, larger ones write
    # less), holding the write lock for a few seconds at a time.
    import_sqlite_commit_rows: int = Field(default=50_000, ge=1, le=100_000)
    job_lease_seconds: int = Field(default=30, ge=2, le=3600)
    job_sweep_seconds: int = Field(default=15, ge=1, le=3600)
    # Events: a product whose stock drops from above this to at or below it
    # records `stock.low` (the inventory report's default threshold too).
    low_stock_threshold: int = Field(default=5, ge=0, le=1_000_000_000)
    event_retention_days: int = Field(default=7, ge=7, le=3650)
    # Webhooks: per-attempt timeout, retry backoff and how long a delivery is
    # retried (less than the retention, so its event is still there).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhook_retry_max_delay_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    webhook_retry_horizon_seconds: int = Field(default=3 * 86_400, ge=1, le=6 * 86_400)
    webhook_poll_seconds: int = Field(default=2, ge=1, le=3600)
    # The live stream (GET /events): heartbeat comment interval, the reconnect hint,
    # streams per process, the safety-net poll of the log, events per read and send,
    # and how long one send may wait on a client that stopped reading.
    events_heartbeat_seconds: float = Field(default=15.0, gt=0, le=300)
    events_retry_ms: int = Field(default=3000, ge=100, le=600_000)
    events_max_streams: int = Field(default=100, ge=1, le=100_000)
    events_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    events_page_size: int = Field(default=100, ge=1, le=1000)
    events_send_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Set by `backroom serve --workers N`: an in-process cache is only safe in one process.
    workers: int = Field(default=1, ge=1)
    # Behind a reverse proxy: the peers whose X-Forwarded-For/-Proto are believed.
    trusted_proxies: str = ""
    hsts: Literal["off", "https", "always"] = "https"
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)
    # SIGTERM: how long in-flight requests (and, separately, running jobs) get to finish.
    shutdown_timeout_seconds: int = Field(default=20, ge=1, le=3600)
    log_level: str = "INFO"
    access_log: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in _split(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'backroom.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def cors_origin_list(self) -> list[str]:
        return _split(self.cors_origins)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _split(self.trusted_proxies)

    @property
    def rate_limit_enabled(self) -> bool:
        return self.rate_limit == "on"

    @property
    def runs_jobs(self) -> bool:
        """Whether the web process itself consumes jobs (embedded default: yes)."""
        if self.jobs_in_process is not None:
            return self.jobs_in_process
        return self.redis_url is None

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def cache_enabled(self) -> bool:
        return self.cache == "on"

    @cached_property
    def signing_key(self) -> bytes:
        """The secret that signs tokens and cursors: given, or generated once into the data dir."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < _MIN_SECRET_LENGTH or value.lower() in _PLACEHOLDER_SECRETS:
                raise ConfigError(
                    f"BACKROOM_SECRET_KEY must be at least {_MIN_SECRET_LENGTH} random characters"
                )
            return value.encode()
        return _load_or_create_secret(self.data_dir / "secret_key")


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _load_or_create_secret(path: Path) -> bytes:
    """Read the key file, creating it with mode 0600 if absent.

    The key is written to a private temporary file and hard-linked into place, so
    several workers starting at once all end up reading the same complete key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_urlsafe(48).encode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    value = path.read_bytes().strip()
    if len(value) < _MIN_SECRET_LENGTH:
        raise ConfigError(f"{path} holds fewer than {_MIN_SECRET_LENGTH} bytes")
    return value
