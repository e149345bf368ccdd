"""structlog set up once for the whole process, with a processor that redacts every secret."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from parser_pipeline.settings import Settings

REDACTED = "***"

# VK tokens also travel inside URLs and form bodies that libraries may print ("access_token=...").
_ACCESS_TOKEN_RE = re.compile(r"(access_token[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;}]+", re.IGNORECASE)
# A password in a URL (postgresql://user:secret@host, redis://:secret@host).
_URL_PASSWORD_RE = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(@)", re.IGNORECASE)


class SecretRedactor:
    """A structlog processor that replaces known secrets and token-shaped values everywhere."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def redact_text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _ACCESS_TOKEN_RE.sub(rf"\g<1>{REDACTED}", text)
        return _URL_PASSWORD_RE.sub(rf"\g<1>{REDACTED}\g<2>", text)

    def redact(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return type(value)(self.redact(item) for item in value)
        if isinstance(value, BaseException):
            return self.redact_text(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        for key, value in list(event_dict.items()):
            event_dict[key] = self.redact(value)
        return event_dict


LogFormat = Literal["auto", "console", "json"]


def resolve_format(log_format: LogFormat, *, default: Literal["console", "json"]) -> str:
    """`auto` means console lines for a person (the CLI) and JSON lines for a worker."""
    return default if log_format == "auto" else log_format


def configure_logging(
    *,
    level: str = "INFO",
    log_format: LogFormat = "auto",
    default_format: Literal["console", "json"] = "console",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> SecretRedactor:
    """Configure structlog and the standard `logging` root so both go through the redactor."""
    redactor = SecretRedactor(secrets)
    fmt = resolve_format(log_format, default=default_format)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redactor,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # Records from plain `logging` (Celery, kombu, SQLAlchemy) get the same treatment.
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic narrates every step at INFO; the CLI prints its own one-line result.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # urllib3 logs every request URL at DEBUG, query string (and so any token) included.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, logging.getLevelName(level)))
    return redactor


def configure_command_logging(settings: Settings) -> SecretRedactor:
    """For a command that prints its own results (vkpipe, the celery subcommands): log lines
    below WARNING only when VKPIPE_LOG_LEVEL asks for them."""
    level = settings.log_level if "log_level" in settings.model_fields_set else "WARNING"
    return configure_logging(
        level=level,
        log_format=settings.log_format,
        default_format="console",
        secrets=settings.secret_values(),
    )


def bind_context(**values: Any) -> None:
    """Bind fields (job_id, group_id, task_id...) into every log line of this thread or task."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()
