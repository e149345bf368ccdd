"""What an export selects (`ExportFilters`) and how it is written (`ExportOptions`), as JSON.

Both are stored in `export_jobs.filters` and `export_subscriptions.filters` as one JSON object:
the filter fields, plus the options under the key `options`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from parser_pipeline.errors import ConfigError

DeletedMode = Literal["include", "exclude", "only"]
DELETED_MODES: tuple[DeletedMode, ...] = ("include", "exclude", "only")
OPTIONS_KEY = "options"


class ExportFilters(BaseModel):
    """Which comments an export holds; empty lists and None mean "no restriction".

    `since` is inclusive and `until` exclusive, both aware. Keyword ids, phrases and categories
    together select the comments that matched at least one of the named keywords.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    group_ids: tuple[int, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    keyword_ids: tuple[int, ...] = ()
    keywords: tuple[str, ...] = Field(default=(), description="keyword phrases")
    categories: tuple[str, ...] = ()
    matched_only: bool = False
    author_ids: tuple[int, ...] = ()
    deleted: DeletedMode = "include"

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a date bound needs a time zone")
        return value.astimezone(UTC) if value is not None else None

    @field_validator("group_ids")
    @classmethod
    def _positive_groups(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(g <= 0 for g in value):
            raise ValueError("group ids are positive (VK's owner id is the negated group id)")
        return value

    @property
    def by_keyword(self) -> bool:
        return bool(self.keyword_ids or self.keywords or self.categories)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ExportFilters:
        try:
            return cls.model_validate({k: v for k, v in (data or {}).items() if k != OPTIONS_KEY})
        except ValidationError as exc:
            raise ConfigError(f"stored export filters are invalid: {_first_error(exc)}") from None


class ExportOptions(BaseModel):
    """How the file is written: `excel` is CSV for Excel (BOM, `;`), `force` overwrites."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    excel: bool = False
    force: bool = False


def to_stored(filters: ExportFilters, options: ExportOptions | None = None) -> dict[str, Any]:
    """The JSON object kept in a job or subscription row."""
    return {**filters.to_json(), OPTIONS_KEY: (options or ExportOptions()).model_dump()}


def from_stored(data: dict[str, Any] | None) -> tuple[ExportFilters, ExportOptions]:
    options = (data or {}).get(OPTIONS_KEY) or {}
    try:
        parsed = ExportOptions.model_validate(options)
    except ValidationError as exc:
        raise ConfigError(f"stored export options are invalid: {_first_error(exc)}") from None
    return ExportFilters.from_json(data), parsed


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}"


def parse_bound(text: str, *, name: str, end: bool) -> datetime:
    """A `--since`/`--until` value: an ISO date or date-time; naive means UTC.

    A bare date as the end bound means the whole day: `--until 2024-06-30` stops before
    2024-07-01 00:00 UTC, so `--since D --until D` is the day D.
    """
    value = text.strip()
    try:
        if len(value) == len("YYYY-MM-DD"):
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(), tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{name}: {text!r} is not an ISO date (2024-06-01) or date-time "
            "(2024-06-01T12:00:00+03:00)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
