"""How an export is stored: its `CommentFilter` and its `ExportOptions` as one JSON object.

`export_jobs.filters` and `export_subscriptions.filters` hold the filter's fields plus the
options under the key `options`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from parser_pipeline.errors import ConfigError
from parser_pipeline.store.comment_filter import CommentFilter, first_error
from parser_pipeline.values import StrictBool

OPTIONS_KEY = "options"


class ExportOptions(BaseModel):
    """How the file is written: `excel` is CSV for Excel (BOM, `;`), `force` overwrites."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    excel: StrictBool = False
    force: StrictBool = False


def to_stored(filters: CommentFilter, options: ExportOptions | None = None) -> dict[str, Any]:
    """The JSON object kept in a job or subscription row."""
    return {**filters.to_json(), OPTIONS_KEY: (options or ExportOptions()).model_dump()}


def from_stored(data: dict[str, Any] | None) -> tuple[CommentFilter, ExportOptions]:
    options = (data or {}).get(OPTIONS_KEY) or {}
    try:
        parsed = ExportOptions.model_validate(options)
    except ValidationError as exc:
        raise ConfigError(f"stored export options are invalid: {first_error(exc)}") from None
    fields = {k: v for k, v in (data or {}).items() if k != OPTIONS_KEY}
    return CommentFilter.from_json(fields), parsed
