"""/groups: list, get, add (resolved through VK), import a CSV, update, delete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile

from parser_pipeline.api import (
    http,  # noqa: F401  (registers the group_ref path convertor)
    models,
)
from parser_pipeline.api.auth import Reader, Writer
from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import conflict, invalid
from parser_pipeline.api.limits import read_text_upload
from parser_pipeline.api.params import Offset
from parser_pipeline.api.views import group_out
from parser_pipeline.crawl.groups import register_groups, resolve_groups
from parser_pipeline.groups_import import parse_groups_csv
from parser_pipeline.services import forget_cached_group
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.groups import CrawlSettings

router = APIRouter(prefix="/groups", tags=["groups"], dependencies=[Reader])

GroupSort = Literal[
    "id", "-id", "screen_name", "-screen_name", "name", "-name", "priority", "-priority",
    "crawl_interval_minutes", "-crawl_interval_minutes", "last_crawled_at", "-last_crawled_at",
    "next_crawl_at", "-next_crawl_at", "added_at", "-added_at", "crawls_count", "-crawls_count",
]  # fmt: skip
MAX_PAGE = 1000


@router.get("", response_model=models.GroupPage)
def list_groups(
    state: State,
    active: bool | None = None,
    closed: Annotated[bool | None, Query(description="VK says closed or private")] = None,
    errors: Annotated[bool | None, Query(description="the last crawl left an error")] = None,
    sort: GroupSort = "id",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Offset = 0,
) -> models.GroupPage:
    """Monitored groups, filtered and sorted (a "-" prefix sorts descending), a page at a time."""
    with state.engine.connect() as connection:
        rows, total = group_store.groups_page(
            connection,
            active=active,
            closed=closed,
            errors=errors,
            sort=sort,
            limit=limit,
            offset=offset,
        )
    return models.GroupPage(
        items=[group_out(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{ref:group_ref}", response_model=models.GroupOut)
def get_group(state: State, ref: str) -> models.GroupOut:
    """A group by id or screen name."""
    with state.engine.connect() as connection:
        (row,) = group_store.find_groups(connection, [ref])
    return group_out(row)


@router.post("", response_model=models.GroupOut, status_code=201, dependencies=[Writer])
def add_group(state: State, body: models.GroupCreate) -> models.GroupOut:
    """Resolve a community through VK and start monitoring it (409 if it is monitored)."""
    with state.vk() as vk:
        (resolution,) = resolve_groups(vk, [body.group])
    group = resolution.group
    if group is None:
        raise invalid("group", resolution.problem or "not a VK community")
    settings = CrawlSettings(body.crawl_interval_minutes, body.priority, body.max_post_age_days)
    with transaction(state.engine) as connection:
        if group_store.find_known_group(connection, group_id=group.id) is not None:
            raise conflict(
                "group_exists",
                f"group {group.id} is monitored already; change it with PATCH /groups/{group.id}",
                group_id=group.id,
            )
        group_store.add_groups(connection, [group], settings)
        row = group_store.update_group(connection, group.id, {})
    return group_out(row)


@router.post("/import", response_model=models.ImportReport, dependencies=[Writer])
def import_groups(
    state: State,
    file: Annotated[UploadFile, File(description="CSV: group[,interval,priority,max_age]")],
) -> models.ImportReport:
    """Add every group of a CSV file (known ones get the file's settings); a line per row."""
    upload = read_text_upload(file)
    rows, problems = parse_groups_csv(upload.text)
    lines = [
        models.ImportLine(line=p.line, status="rejected", message=p.message)
        for p in [*upload.problems, *problems]
    ]
    if rows:
        with state.engine.connect() as connection:
            before = group_store.group_ids(connection)
        with state.vk() as vk:
            resolutions = register_groups(
                state.engine, vk, [(row.group, row.settings) for row in rows]
            )
        for row, resolution in zip(rows, resolutions, strict=True):
            found = resolution.group
            if found is None:
                lines.append(
                    models.ImportLine(
                        line=row.line, text=row.group, status="rejected", message=resolution.problem
                    )
                )
            else:
                status: Literal["added", "updated"] = "updated" if found.id in before else "added"
                lines.append(
                    models.ImportLine(line=row.line, text=row.group, status=status, id=found.id)
                )
    lines.sort(key=lambda line: line.line)
    return models.ImportReport(
        added=sum(line.status == "added" for line in lines),
        updated=sum(line.status == "updated" for line in lines),
        rejected=sum(line.status == "rejected" for line in lines),
        lines=lines,
    )


@router.patch("/{ref:group_ref}", response_model=models.GroupOut, dependencies=[Writer])
def update_group(state: State, ref: str, body: models.GroupUpdate) -> models.GroupOut:
    """Change a group's interval, priority, depth (max_post_age_days) or active state."""
    values = body.model_dump(exclude_unset=True)
    with transaction(state.engine) as connection:
        (row,) = group_store.find_groups(connection, [ref])
        updated = group_store.update_group(connection, row.id, values)
    forget_cached_group(state.settings, row.id)
    return group_out(updated)


@router.delete("/{ref:group_ref}", status_code=204, dependencies=[Writer])
def delete_group(state: State, ref: str) -> Response:
    """Stop monitoring a group; its posts and comments stay (they are collected data)."""
    with transaction(state.engine) as connection:
        (row,) = group_store.find_groups(connection, [ref])
        group_store.remove_groups(connection, [row.id])
    forget_cached_group(state.settings, row.id)
    return Response(status_code=204)
