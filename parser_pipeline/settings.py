"""The one typed Settings object, read from VKPIPE_* variables (and .env) once and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from parser_pipeline.constants import VK_API_VERSION
from parser_pipeline.errors import ConfigError

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
    )

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

    # Crawling.
    full_verify_every: int = Field(default=24, ge=0, le=10000)

    # Orchestration timings (distributed mode).
    dispatch_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    reconcile_interval_seconds: float = Field(default=60.0, gt=0, le=86400)
    lost_work_after_seconds: float = Field(default=1800.0, gt=0, le=7 * 86400)

    # Logging.
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("vk_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
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
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return value

    @field_validator("vk_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.vk.ru/method")
        return value.rstrip("/")

    @field_validator("broker_url", "result_backend", "redis_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

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

    def secret_values(self) -> tuple[str, ...]:
        """Every secret string vkpipe knows of, for the log redactor: tokens and URL passwords."""
        secrets = [t.get_secret_value() for t in self.tokens()]
        for raw in (self.database_url, self.broker_url, self.result_backend, self.redis_url):
            if raw:
                try:
                    password = make_url(raw).password
                except ArgumentError:
                    password = None
                if password:
                    secrets.append(str(password))
        return tuple(s for s in secrets if s)


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
