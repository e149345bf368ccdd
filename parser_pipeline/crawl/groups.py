"""Resolve what a user typed (screen name, id, club123, a vk.com link) into VK communities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from parser_pipeline.crawl.parse import parse_group
from parser_pipeline.errors import VkMalformedAnswerError, VkPermanentError
from parser_pipeline.group_refs import parse_group_ref
from parser_pipeline.records import GroupInfo
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.groups import CrawlSettings, add_groups, find_known_group

_COMMUNITY_TYPES = frozenset({"group", "page", "event"})


class GroupApi(Protocol):
    def resolve_screen_name(self, name: str) -> Any: ...
    def get_groups(self, ids_or_names: Sequence[int | str]) -> list[dict[str, Any]]: ...
    def invalidate_group(self, id_or_screen_name: int | str) -> None: ...


@dataclass(frozen=True, slots=True)
class Resolution:
    ref: str
    group: GroupInfo | None = None
    problem: str | None = None


def resolve_groups(api: GroupApi, texts: Sequence[str]) -> list[Resolution]:
    """Each text as a community from VK, or the one-line reason it is not one; order kept."""
    results: dict[int, Resolution] = {}
    wanted: dict[int, int] = {}
    for index, text in enumerate(texts):
        try:
            ref = parse_group_ref(text)
        except ValueError as exc:
            results[index] = Resolution(text, problem=str(exc))
            continue
        if ref.group_id is not None:
            wanted[index] = ref.group_id
            continue
        answer = api.resolve_screen_name(ref.screen_name or "")
        if not isinstance(answer, dict) or not answer:
            results[index] = Resolution(text, problem=f"no VK community is called {text!r}")
        elif answer.get("type") not in _COMMUNITY_TYPES:
            results[index] = Resolution(
                text, problem=f"{text!r} is a VK {answer.get('type')}, not a community"
            )
        else:
            wanted[index] = int(answer["object_id"])
    if wanted:
        cards = _cards_by_id(api, sorted(set(wanted.values())))
        for index, group_id in wanted.items():
            card = cards.get(group_id)
            if card is None:
                results[index] = Resolution(
                    texts[index], problem=f"no VK community has id {group_id}"
                )
            else:
                results[index] = Resolution(texts[index], group=card)
    return [results[i] for i in range(len(texts))]


def _cards_by_id(api: GroupApi, ids: list[int]) -> dict[int, GroupInfo]:
    try:
        answer = api.get_groups(ids)
    except VkPermanentError:
        # groups.getById refuses the whole call when one id is invalid: ask one by one.
        if len(ids) == 1:
            return {}
        found: dict[int, GroupInfo] = {}
        for group_id in ids:
            found.update(_cards_by_id(api, [group_id]))
        return found
    cards: dict[int, GroupInfo] = {}
    for item in answer:
        try:
            card = parse_group(item)
        except VkMalformedAnswerError:
            continue
        if card.id in ids:
            cards[card.id] = card
    return cards


def register_groups(
    engine: Engine, api: GroupApi, requests: Sequence[tuple[str, CrawlSettings]]
) -> list[Resolution]:
    """Resolve each (text, settings) through VK and store the communities found, in one go.

    Adding a group again is how a user refreshes it: its cached VK answers are dropped first.
    """
    with engine.connect() as connection:
        known = [row for text, _ in requests if (row := _stored(connection, text)) is not None]
    for row in known:
        api.invalidate_group(row.id)
        if row.screen_name:
            api.invalidate_group(row.screen_name)
    resolutions = resolve_groups(api, [text for text, _ in requests])
    with transaction(engine) as connection:
        for resolution, (_, settings) in zip(resolutions, requests, strict=True):
            if resolution.group is not None:
                add_groups(connection, [resolution.group], settings)
    return resolutions


def _stored(connection: Connection, text: str) -> Any:
    """The stored group the text names, or None (also for text that names no group)."""
    try:
        ref = parse_group_ref(text)
    except ValueError:
        return None
    return find_known_group(connection, group_id=ref.group_id, screen_name=ref.screen_name)
