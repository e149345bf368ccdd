"""An alert rule as a typed value: its filter (the search's `CommentFilter`), mode, channels.

A channel is `kind:target` as typed: `webhook:https://…`, `telegram:<chat id>`,
`email:<address>`. Secrets that channels need (the bot token, the SMTP password, the webhook
signing secrets) come from Settings, never from a rule; a chat id is shown by its last four
characters only (`Channel.display`).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parser_pipeline.alerts.decisions import parse_quiet_hours
from parser_pipeline.errors import ConfigError
from parser_pipeline.store.comment_filter import CommentFilter, first_error
from parser_pipeline.store.names import AlertMode, ChannelKind
from parser_pipeline.values import Text

# A rule sends to a handful of places; more is a mailing list, not an alert.
MAX_CHANNELS: Final = 10
# Characters of a secret-like target (chat id) shown: the last four, as the issue asks.
SHOWN_CHARS: Final = 4
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$")

Name = Annotated[Text, Field(min_length=1, max_length=255, pattern=r"^[^\s].*$")]


def mask(value: str) -> str:
    """A secret shown by its last four characters at most."""
    return "…" + value[-SHOWN_CHARS:] if len(value) > SHOWN_CHARS else "…"


class Channel(BaseModel):
    """One destination of a rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChannelKind
    target: Text = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _check_target(self) -> Channel:
        if self.kind is ChannelKind.webhook:
            parts = urlsplit(self.target)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("a webhook target is an http(s) URL")
        elif self.kind is ChannelKind.telegram and not _CHAT.match(self.target):
            raise ValueError("a telegram target is a chat id (-100…) or @channelname")
        elif self.kind is ChannelKind.email and not _EMAIL.match(self.target):
            raise ValueError("an email target is an address (name@example.org)")
        return self

    @classmethod
    def parse(cls, text: str) -> Channel:
        """`kind:target` as typed; ConfigError naming the value and the forms there are."""
        kind, sep, target = text.partition(":")
        try:
            if not sep:
                raise ValueError("no kind")
            return cls(kind=ChannelKind(kind.strip().lower()), target=target.strip())
        except (ValueError, ValidationError) as exc:
            detail = first_error(exc) if isinstance(exc, ValidationError) else ""
            raise ConfigError(
                f"channel {text!r} is not webhook:<URL>, telegram:<chat id> or email:<address>"
                + (f" ({detail})" if detail else "")
            ) from None

    @property
    def display(self) -> str:
        """The channel as shown in lists and answers: no chat id, no URL query or password."""
        if self.kind is ChannelKind.telegram:
            return f"telegram:{mask(self.target)}"
        if self.kind is ChannelKind.webhook:
            parts = urlsplit(self.target)
            host = parts.hostname or ""
            netloc = f"{host}:{parts.port}" if parts.port else host
            return "webhook:" + urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        return f"email:{self.target}"


class AlertOptions(BaseModel):
    """The mode's parameters; each has a default, so an empty object is valid for every mode."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    every_minutes: int | None = Field(None, ge=1, le=7 * 24 * 60, description="digest period")
    at: time | None = Field(None, description="digest: once a day at this time (UTC)")
    min_count: int | None = Field(None, ge=1, le=1_000_000, description="digest, spike")
    top: int = Field(10, ge=1, le=100, description="digest, spike: comments listed")
    window_hours: int = Field(24, ge=2, le=24 * 28, description="spike: hours of history")
    k: float = Field(3.0, gt=0, le=100, description="spike: standard deviations above the mean")


# Defaults that depend on the mode.
DIGEST_EVERY_MINUTES: Final = 60
DIGEST_MIN_COUNT: Final = 1
SPIKE_MIN_COUNT: Final = 5
# A spike is reported at most once per this many seconds unless the rule's cooldown is longer.
SPIKE_MIN_COOLDOWN_SECONDS: Final = 3600


class AlertRuleSpec(BaseModel):
    """What an operator gives to add or change a rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    mode: AlertMode = AlertMode.instant
    filter: CommentFilter = CommentFilter()
    channels: tuple[Channel, ...] = Field(min_length=1, max_length=MAX_CHANNELS)
    options: AlertOptions = AlertOptions()
    quiet_hours: str | None = Field(None, max_length=32, description="HH:MM-HH:MM UTC")
    cooldown_seconds: int = Field(0, ge=0, le=7 * 86400)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value:
            try:
                parse_quiet_hours(value)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value or None

    @model_validator(mode="after")
    def _mode_options(self) -> AlertRuleSpec:
        if self.mode is AlertMode.digest and self.options.every_minutes and self.options.at:
            raise ValueError("a digest runs every N minutes or at a time of day, not both")
        return self

    @property
    def quiet(self) -> tuple[time, time] | None:
        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None

    @property
    def min_count(self) -> int:
        if self.options.min_count is not None:
            return self.options.min_count
        return SPIKE_MIN_COUNT if self.mode is AlertMode.spike else DIGEST_MIN_COUNT

    @property
    def every_minutes(self) -> int | None:
        if self.options.at is not None:
            return None
        return self.options.every_minutes or DIGEST_EVERY_MINUTES

    @property
    def spike_cooldown_seconds(self) -> int:
        return max(self.cooldown_seconds, SPIKE_MIN_COOLDOWN_SECONDS)

    def to_row(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode.value,
            "filter": self.filter.to_json(),
            "options": self.options.model_dump(mode="json", exclude_none=True),
            "channels": [c.model_dump(mode="json") for c in self.channels],
            "quiet_hours": self.quiet_hours,
            "cooldown_seconds": self.cooldown_seconds,
        }

    @classmethod
    def from_row(cls, row: Any) -> AlertRuleSpec:
        """A stored rule; ConfigError naming the field if it no longer validates."""
        try:
            return cls.model_validate(
                {
                    "name": row.name,
                    "mode": row.mode,
                    "filter": row.filter or {},
                    "options": row.options or {},
                    "channels": row.channels,
                    "quiet_hours": row.quiet_hours,
                    "cooldown_seconds": row.cooldown_seconds,
                }
            )
        except ValidationError as exc:
            raise ConfigError(f"alert rule {row.name!r} is invalid: {first_error(exc)}") from None
