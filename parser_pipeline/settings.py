"""The one typed Settings object, read from VKPIPE_* variables (and .env) once and passed down."""

from __future__ import annotations

import base64
import binascii
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from parser_pipeline.constants import ALL_QUEUES, VK_API_VERSION
from parser_pipeline.errors import ConfigError
from parser_pipeline.tiers import DEFAULT_TIERS, Tier, parse_tiers

ENV_PREFIX = "VKPIPE_"

# Drivers the store is written and tested for. A bare "postgresql://" URL is taken to mean
# psycopg 3, the only PostgreSQL driver vkpipe installs.
_SUPPORTED_DATABASES = ("sqlite", "postgresql")
_ALLOWED_DRIVERS = {"sqlite": {"pysqlite", None}, "postgresql": {"psycopg", None}}


class Settings(BaseSettings):
    """Every knob vkpipe has; see the README table for what each one does."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        validate_default=True,
        # Fields named by another program's variable (PROMETHEUS_MULTIPROC_DIR) still take their
        # field name in load_settings(**overrides).
        populate_by_name=True,
    )

    # Passwords kept in files (Docker secrets), put into the URLs below URL-encoded, so any
    # character works; declared first so the URL validators can read them.
    database_password_file: Path | None = None
    redis_password_file: Path | None = None

    # Storage and messaging. Unset broker/result backend = embedded mode (no servers).
    database_url: str = Field(default="sqlite:///vkpipe.db", repr=False)
    broker_url: str | None = Field(default=None, repr=False)
    result_backend: str | None = Field(default=None, repr=False)
    redis_url: str | None = Field(default=None, repr=False)

    # VK access.
    vk_api_url: str = "https://api.vk.ru/method"
    vk_api_version: str = VK_API_VERSION
    vk_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    vk_tokens_file: Path | None = None
    vk_rps_per_token: int = Field(default=3, ge=1, le=100)
    vk_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    vk_read_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    vk_max_attempts: int = Field(default=8, ge=1, le=50)
    vk_backoff_base_seconds: float = Field(default=0.5, gt=0, le=60)
    vk_backoff_cap_seconds: float = Field(default=30.0, gt=0, le=3600)
    vk_token_park_seconds: float = Field(default=60.0, ge=0, le=86400)
    vk_cache_ttl_seconds: int = Field(default=3600, ge=0, le=7 * 86400)
    vk_rate_margin_seconds: float = Field(default=0.05, ge=0, le=1)
    vk_daily_quotas: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=lambda: {"wall.get": 5000}
    )
    vk_quota_reset: time = time(0, 0)
    vk_quota_timezone: str = "Europe/Moscow"

    # Crawling.
    full_verify_every: int = Field(default=24, ge=0, le=10000)
    recheck_tiers: Annotated[tuple[Tier, ...], NoDecode] = DEFAULT_TIERS
    # Executes `vkpipe crawl` keeps at VK at once: VK answers in 0.2-1.5 s, so at 3 tokens × 3/s
    # up to 13 are in its hands; fewer leave the budget idle (bench/e2e.py: 8 -> 16 took the
    # crawl from 1.18 to 1.15 times the token floor).
    crawl_concurrency: int = Field(default=16, ge=1, le=64)

    # Orchestration timings (distributed mode).
    dispatch_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    reconcile_interval_seconds: float = Field(default=60.0, gt=0, le=86400)
    lost_work_after_seconds: float = Field(default=1800.0, gt=0, le=7 * 86400)

    # Logging.
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    # Operations. Readiness fails while one of these queues has no live worker.
    health_required_queues: Annotated[tuple[str, ...], NoDecode] = ALL_QUEUES
    # prometheus-client's own variable: the directory where every process of this host writes
    # its samples, added up by /metrics. Unset in distributed mode: see metrics_dir.py.
    metrics_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")

    # Flower (`vkpipe flower`, workers/flowerconfig.py): it refuses to start without credentials.
    flower_basic_auth: SecretStr | None = None
    flower_basic_auth_file: Path | None = None
    flower_address: str = "127.0.0.1"
    flower_port: int = Field(default=5555, ge=1, le=65535)
    flower_db: Path = Path("flower.db")

    # The analyst workspace (`vkpipe api serve`, /workspace): how long a sign-in lasts, and when
    # its cookie is Secure: auto = when the request came over HTTPS; always behind a proxy that
    # terminates TLS (the server then sees plain HTTP); never only for plain-HTTP testing.
    workspace_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    workspace_secure_cookie: Literal["auto", "always", "never"] = "auto"

    # Alerts (README "Alerts"). Secrets of the channels live here, never in a rule. Webhooks are
    # signed with every secret listed (Standard Webhooks, `whsec_` + base64): list the new one
    # beside the old while receivers move over, then drop the old.
    alerts_webhook_secrets: Annotated[tuple[SecretStr, ...], NoDecode] = ()
    alerts_webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    alerts_telegram_bot_token: SecretStr | None = None
    alerts_telegram_api_url: str = "https://api.telegram.org"
    alerts_smtp_host: str | None = None
    alerts_smtp_port: int = Field(default=587, ge=1, le=65535)
    alerts_smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    alerts_smtp_user: str | None = None
    alerts_smtp_password: SecretStr | None = None
    alerts_smtp_from: str = "vkpipe@localhost"
    # A CA bundle (PEM) the SMTP server's certificate is verified with; unset: the system's.
    alerts_smtp_ca_file: Path | None = None
    # A delivery that still fails this long after it was written goes to the dead letter.
    alerts_max_age_seconds: float = Field(default=86400.0, gt=0, le=30 * 86400)
    # A worker killed mid-delivery leaves its claim; another takes the row after this.
    alerts_lease_seconds: float = Field(default=120.0, ge=1, le=3600)
    # How often the fleet's beat sweeps the outbox (due deliveries, digests, spikes, deletions).
    alerts_sweep_interval_seconds: float = Field(default=5.0, gt=0, le=3600)

    @field_validator(
        "database_password_file",
        "redis_password_file",
        "flower_basic_auth_file",
        "alerts_smtp_ca_file",
    )
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            _read_secret(value)
        return value

    @field_validator("health_required_queues", mode="before")
    @classmethod
    def _split_queues(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        unknown = [q for q in value if q not in ALL_QUEUES]
        if unknown:
            raise ValueError(
                f"unknown queue {unknown[0]!r}; use a comma-separated subset of "
                f"{','.join(ALL_QUEUES)} (empty: none)"
            )
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("vk_tokens", "alerts_webhook_secrets", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("vk_daily_quotas", mode="before")
    @classmethod
    def _parse_quotas(cls, value: Any) -> Any:
        return parse_quotas(value) if isinstance(value, str) else value

    @field_validator("recheck_tiers", mode="before")
    @classmethod
    def _parse_tiers(cls, value: Any) -> Any:
        return parse_tiers(value) if isinstance(value, str) else value

    @field_validator("vk_quota_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Moscow"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str, info: ValidationInfo) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL; use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
            ) from None
        backend, driver = url.get_backend_name(), url.drivername.partition("+")[2] or None
        if backend not in _SUPPORTED_DATABASES or driver not in _ALLOWED_DRIVERS[backend]:
            raise ValueError(
                f"unsupported database {url.drivername!r}; "
                "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
            )
        if backend == "postgresql" and driver is None:
            url = url.set(drivername="postgresql+psycopg")
        secret_file = info.data.get("database_password_file")
        if secret_file is not None and url.password is None and backend == "postgresql":
            url = url.set(password=_read_secret(secret_file))
        return url.render_as_string(hide_password=False)

    @field_validator("vk_api_url", "alerts_telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.vk.ru/method")
        return value.rstrip("/")

    @field_validator("alerts_webhook_secrets")
    @classmethod
    def _check_webhook_secrets(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for secret in value:
            raw = secret.get_secret_value().removeprefix("whsec_")
            try:
                if not base64.b64decode(raw + "==", validate=False):
                    raise ValueError
            except (ValueError, binascii.Error):
                raise ValueError(
                    "a webhook secret is whsec_ followed by base64 (make one with "
                    "`vkpipe alerts secret`)"
                ) from None
        return value

    @field_validator("alerts_smtp_host", "alerts_smtp_user", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("broker_url", "result_backend", "redis_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("broker_url", "result_backend", "redis_url")
    @classmethod
    def _redis_password(cls, value: str | None, info: ValidationInfo) -> str | None:
        secret_file = info.data.get("redis_password_file")
        if value is None or secret_file is None:
            return value
        return with_redis_password(value, _read_secret(secret_file))

    @model_validator(mode="after")
    def _check_backoff(self) -> Settings:
        if self.vk_backoff_cap_seconds < self.vk_backoff_base_seconds:
            raise ValueError("vk_backoff_cap_seconds must not be below vk_backoff_base_seconds")
        return self

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: `vkpipe crawl` crawls in its own process and
        nothing is published (job rows written by others wait for a dispatcher)."""
        return self.broker_url is None

    @property
    def is_postgres(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "postgresql"

    @property
    def database_url_for_display(self) -> str:
        return make_url(self.database_url).render_as_string(hide_password=True)

    def tokens(self) -> tuple[SecretStr, ...]:
        """Tokens from VKPIPE_VK_TOKENS, then VKPIPE_VK_TOKENS_FILE, without duplicates."""
        found: list[SecretStr] = list(self.vk_tokens)
        if self.vk_tokens_file is not None:
            try:
                lines = self.vk_tokens_file.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(
                    f"{ENV_PREFIX}VK_TOKENS_FILE: cannot read {self.vk_tokens_file} "
                    f"({exc.strerror}); point it at a file with one token per line"
                ) from None
            found.extend(SecretStr(line.strip()) for line in lines if line.strip())
        unique: dict[str, SecretStr] = {t.get_secret_value(): t for t in found}
        return tuple(unique.values())

    def flower_credentials(self) -> tuple[str, ...]:
        """Flower's `user:password` pairs (comma-separated), from the variable or its file."""
        raw = self.flower_basic_auth.get_secret_value() if self.flower_basic_auth else ""
        if self.flower_basic_auth_file is not None:
            raw = ",".join(filter(None, (raw, _read_secret(self.flower_basic_auth_file))))
        return tuple(pair.strip() for pair in raw.split(",") if ":" in pair)

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string vkpipe knows of, for the log redactor: tokens, URL passwords, the
        alert channels' secrets."""
        secrets = [t.get_secret_value() for t in self.tokens()]
        secrets += [pair.split(":", 1)[1] for pair in self.flower_credentials()]
        secrets += [s.get_secret_value() for s in self.alerts_webhook_secrets]
        for secret in (self.alerts_telegram_bot_token, self.alerts_smtp_password):
            if secret is not None:
                secrets.append(secret.get_secret_value())
        for raw in (self.database_url, self.broker_url, self.result_backend, self.redis_url):
            if raw:
                try:
                    password = make_url(raw).password
                except ArgumentError:
                    password = None
                if password:
                    secrets.append(str(password))
        return tuple(s for s in secrets if s)


def _read_secret(path: Path) -> str:
    """A secret file's text without its trailing newline (as Docker secrets are written)."""
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"cannot read {path} ({reason}); point it at a readable file") from None


def with_redis_password(url: str, password: str) -> str:
    """`url` with `password` URL-encoded into it, unless the URL has a password of its own."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or parts.password is not None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = quote(parts.username or "", safe="")
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def parse_quotas(text: str) -> dict[str, int]:
    """`wall.get=5000,wall.search=1000` -> {method: calls a day}; ValueError says what is wrong."""
    quotas: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        method, sep, number = part.partition("=")
        method = method.strip()
        if not sep or "." not in method or not number.strip().isdigit():
            raise ValueError(f"{part!r} is not METHOD=CALLS (e.g. wall.get=5000)")
        if int(number) < 1:
            raise ValueError(f"{part!r}: a daily quota is at least 1 call")
        quotas[method] = int(number)
    return quotas


def _describe(error: ErrorDetails) -> str:
    """One line for one pydantic error: the variable, what was wrong, what is allowed."""
    field = str(error["loc"][0]) if error.get("loc") else ""
    name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    context = error.get("ctx") or {}
    if error.get("type") == "literal_error" and "expected" in context:
        message = f"must be one of {context['expected']}"
    return f"{name}: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment (and `overrides`); errors become one ConfigError line."""
    try:
        settings = Settings(**overrides)
        settings.tokens()  # a missing tokens file is a configuration error, found now
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0])) from None
    return settings
