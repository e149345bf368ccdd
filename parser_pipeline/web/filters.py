"""The workspace's filter form: the URL's query as typed, the `CommentFilter` it means, and an
error per field it cannot mean (shown next to that field).

The parameter names are those of `GET /comments`, so a feed URL and an API URL read alike and a
view can be shared by its address. The feed shows comments with matches unless the URL says
`matched_only=false`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import Connection, select

from parser_pipeline.errors import NotFoundError
from parser_pipeline.store import search
from parser_pipeline.store.comment_filter import (
    MAX_TEXT_CHARS,
    MIN_TEXT_CHARS,
    CommentFilter,
    DeletedMode,
    resolve_keyword_ids,
)
from parser_pipeline.store.groups import find_groups
from parser_pipeline.store.names import ReviewState
from parser_pipeline.store.schema import keywords
from parser_pipeline.values import is_vk_id, normalize_tag, parse_bound

SORTS: Final = {"-date": "newest first", "date": "oldest first", "-likes": "most liked first"}
LISTED: Final = ("group", "category", "review_state", "tag")
SINGLE: Final = ("text", "author", "since", "until", "deleted", "matched_only", "sort")


@dataclass
class FilterForm:
    """What the form shows (values as typed), its errors by field, and the filter (None while
    any field has an error)."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    filter: CommentFilter | None = None

    @property
    def sort(self) -> search.Sort:
        sort = self.values.get("sort") or "-date"
        return sort if sort in SORTS else "-date"  # type: ignore[return-value]  # checked

    def query(self, **extra: str) -> str:
        """The form's values as a query string (empty ones left out), plus `extra`."""
        pairs = [(k, v) for k in (*SINGLE, *LISTED) for v in _listed(self.values.get(k)) if v]
        return urlencode([*pairs, *extra.items()])


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def read_form(params: Mapping[str, Any], getlist: Any) -> dict[str, Any]:
    """The form's values from a query: one value or a list per field, as typed (pure)."""
    values: dict[str, Any] = {name: (params.get(name) or "").strip() for name in SINGLE}
    values |= {name: [v.strip() for v in getlist(name) if v.strip()] for name in LISTED}
    return values


def parse_filters(
    connection: Connection, values: dict[str, Any], *, matched_default: bool = True
) -> FilterForm:
    """The filter the form's values mean, or the errors that stop it."""
    form = FilterForm(values)
    errors = form.errors
    fields: dict[str, Any] = {}
    text = values["text"]
    if text and not MIN_TEXT_CHARS <= len(text) <= MAX_TEXT_CHARS:
        errors["text"] = f"type {MIN_TEXT_CHARS} to {MAX_TEXT_CHARS} characters"
    fields["text"] = text or None
    group_ids: list[int] = []
    for ref in values["group"]:
        try:
            group_ids += [row.id for row in find_groups(connection, [ref])]
        except NotFoundError as exc:
            errors["group"] = str(exc)
    fields["group_ids"] = tuple(dict.fromkeys(group_ids))
    fields["categories"] = tuple(values["category"])
    author = values["author"]
    if author and not (author.lstrip("-").isdigit() and is_vk_id(abs(int(author)))):
        errors["author"] = "a VK id: a number, negative for a community"
    fields["author_ids"] = (int(author),) if author and "author" not in errors else ()
    for name, end in (("since", False), ("until", True)):
        try:
            fields[name] = parse_bound(values[name], end=end) if values[name] else None
        except ValueError as exc:
            errors[name] = str(exc)
    deleted = values["deleted"] or DeletedMode.include.value
    if deleted not in {m.value for m in DeletedMode}:
        errors["deleted"] = "include, exclude or only"
    fields["deleted"] = deleted
    matched = values["matched_only"] or ("true" if matched_default else "false")
    if matched not in ("true", "false"):
        errors["matched_only"] = "true or false"
    fields["matched_only"] = matched == "true"
    states = values["review_state"]
    if any(s not in {r.value for r in ReviewState} for s in states):
        errors["review_state"] = "new, in_progress, done or irrelevant"
    fields["review_states"] = tuple(dict.fromkeys(states))
    try:
        fields["tags"] = tuple(dict.fromkeys(normalize_tag(t) for t in values["tag"]))
    except ValueError as exc:
        errors["tag"] = str(exc)
    if values["sort"] and values["sort"] not in SORTS:
        errors["sort"] = "newest first, oldest first or most liked first"
    if errors:
        return form
    form.filter = CommentFilter.model_validate(fields)
    try:
        resolve_keyword_ids(connection, form.filter)
    except NotFoundError as exc:
        errors["category"] = str(exc)
        form.filter = None
    return form


def categories(connection: Connection) -> list[str]:
    """The keyword categories a comment can match (exclusion rules select nothing)."""
    k = keywords.c
    query = select(k.category).where(~k.is_exclusion, k.category != "").distinct()
    return sorted(connection.execute(query).scalars())


def chosen(values: dict[str, Any], name: str, option: str) -> bool:
    """Whether `option` is selected in the listed field `name` (for templates)."""
    listed: Sequence[str] = values.get(name) or ()
    return option in listed
