"""What a user types to name a community: refs, CSV imports, and their resolution through VK."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from parser_pipeline.crawl.groups import register_groups, resolve_groups
from parser_pipeline.emulator import Emulator
from parser_pipeline.group_refs import GroupRef, parse_group_ref
from parser_pipeline.groups_import import ImportProblem, ImportRow, parse_groups_csv
from parser_pipeline.records import GroupInfo
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import vk_groups
from parser_pipeline.vk.client import VkClient


@pytest.mark.parametrize(
    ("text", "group_id", "screen_name"),
    [
        ("apiclub", None, "apiclub"),
        ("@apiclub", None, "apiclub"),
        ("  apiclub \n", None, "apiclub"),
        ("APIClub", None, "apiclub"),
        ("api.club_2", None, "api.club_2"),
        ("club1", 1, None),
        ("public1", 1, None),
        ("event1", 1, None),
        ("Club77", 77, None),
        ("-1", 1, None),
        ("1", 1, None),
        ("https://vk.com/apiclub", None, "apiclub"),
        ("http://vk.com/apiclub/", None, "apiclub"),
        ("vk.com/apiclub", None, "apiclub"),
        ("https://vk.ru/apiclub", None, "apiclub"),
        ("https://vk.com/@apiclub", None, "apiclub"),
        ("https://vk.com/apiclub?w=wall-1_2", None, "apiclub"),
        ("https://m.vk.com/club5?x=1", 5, None),
        ("https://vk.com/public123", 123, None),
        ("https://vk.com/apiclub/?from=search", None, "apiclub"),
        ("https://www.vk.com/apiclub", None, "apiclub"),
    ],
)
def test_parse_group_ref(text: str, group_id: int | None, screen_name: str | None) -> None:
    assert parse_group_ref(text) == GroupRef(text, group_id=group_id, screen_name=screen_name)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "a", "a b", "привет", "0", "-0", "https://vk.com/", "https://example.com/apiclub",
     "apiclub;30", "wall-1_2"],
)  # fmt: skip
def test_parse_group_ref_refuses_with_the_text_in_the_message(text: str) -> None:
    expected = f"{text!r} is not a VK community id, screen name or vk.com link"
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_group_ref(text)


def row(line: int, group: str, *settings: int | None) -> ImportRow:
    return ImportRow(line, group, CrawlSettings(*settings))


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        pytest.param("apiclub\nclub1\n", [row(1, "apiclub"), row(2, "club1")], id="no-header"),
        pytest.param("apiclub\nclub1,30,7,90\n", [row(1, "apiclub"), row(2, "club1", 30, 7, 90)],
                     id="no-header-columns-by-position"),
        pytest.param("group,interval,priority\napiclub,30,7\nclub1,,\n",
                     [row(2, "apiclub", 30, 7), row(3, "club1")], id="header"),
        pytest.param("priority,max_age_days,screen_name\n7,90,apiclub\n",
                     [row(2, "apiclub", None, 7, 90)], id="header-columns-in-any-order"),
        pytest.param("group;interval\napiclub;30\nclub1;60\n",
                     [row(2, "apiclub", 30), row(3, "club1", 60)], id="semicolons"),
        pytest.param("group\tpriority\napiclub\t3\nclub1\t4\n",
                     [row(2, "apiclub", None, 3), row(3, "club1", None, 4)], id="tabs"),
        pytest.param("# groups to watch\napiclub\n\n  \nclub1\n",
                     [row(2, "apiclub"), row(5, "club1")], id="comment-and-blank-lines"),
        pytest.param("group , interval\n apiclub , 30 \n", [row(2, "apiclub", 30)],
                     id="cells-are-trimmed"),
        pytest.param("", [], id="empty-file"),
        pytest.param("group;interval\n# мои группы, для демо\napiclub;30\nclub1;60\n",
                     [row(3, "apiclub", 30), row(4, "club1", 60)],
                     id="semicolons-and-a-comment-line"),
        pytest.param("group;priority\napiclub;3\nclub1\n",
                     [row(2, "apiclub", None, 3), row(3, "club1")],
                     id="semicolons-and-a-short-row"),
        pytest.param("# exported list\ngroup,interval\napiclub,30\n", [row(3, "apiclub", 30)],
                     id="header-after-a-comment-line"),
    ],
)  # fmt: skip
def test_parse_groups_csv_rows(text: str, rows: list[ImportRow]) -> None:
    assert parse_groups_csv(text) == (rows, [])


@pytest.mark.parametrize(
    ("text", "rows", "problems"),
    [
        pytest.param(
            "group,interval\napiclub,0\nclub1,abc\nclub2,30\n",
            [row(4, "club2", 30)],
            [ImportProblem(2, "crawl_interval_minutes must be a whole number from 1 to 1440, "
                              "not '0'"),
             ImportProblem(3, "crawl_interval_minutes must be a whole number from 1 to 1440, "
                              "not 'abc'")],
            id="bad-interval",
        ),
        pytest.param(
            "group,interval,priority\napiclub,30,11\nclub1,30,-1\nclub2,30,10\n",
            [row(4, "club2", 30, 10)],
            [ImportProblem(2, "priority must be a whole number from 1 to 10, not '11'"),
             ImportProblem(3, "priority must be a whole number from 1 to 10, not '-1'")],
            id="bad-priority",
        ),
        pytest.param(
            "group,interval\n,30\napiclub,30\n",
            [row(3, "apiclub", 30)],
            [ImportProblem(2, "the group is empty")],
            id="empty-group",
        ),
        pytest.param(
            "interval,priority\n30,5\n",
            [],
            [ImportProblem(1, "the header has no 'group' column")],
            id="header-without-group",
        ),
    ],
)  # fmt: skip
def test_parse_groups_csv_problems(
    text: str, rows: list[ImportRow], problems: list[ImportProblem]
) -> None:
    assert parse_groups_csv(text) == (rows, problems)


GOROD = GroupInfo(30000560, "gorod_novosti", "Новости города N", 0)
DVOR = GroupInfo(31000824, "dvor_i_doroga", "Двор и дорога", 0)
CLOSED = GroupInfo(32000776, "zakrytyi_klub", "Закрытый клуб жильцов", 1)


def test_the_emulator_world_is_the_one_these_tests_name(emu: Emulator) -> None:
    names = emu.world.group_screen_names()
    assert names == {
        "gorod_novosti": GOROD.id,
        "dvor_i_doroga": DVOR.id,
        "zakrytyi_klub": CLOSED.id,
    }


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("gorod_novosti", GOROD),
        ("GOROD_NOVOSTI", GOROD),
        ("@dvor_i_doroga", DVOR),
        ("https://vk.com/dvor_i_doroga", DVOR),
        ("zakrytyi_klub", CLOSED),
        (str(GOROD.id), GOROD),
        (f"-{DVOR.id}", DVOR),
        (f"club{CLOSED.id}", CLOSED),
    ],
)
def test_resolve_groups_finds_the_community(client: VkClient, text: str, group: GroupInfo) -> None:
    (resolution,) = resolve_groups(client, [text])
    assert (resolution.ref, resolution.group, resolution.problem) == (text, group, None)


def test_resolve_unknown_name_names_it(client: VkClient) -> None:
    (resolution,) = resolve_groups(client, ["nosuchname_zz"])
    assert resolution.group is None
    assert resolution.problem == "no VK community is called 'nosuchname_zz'"


def test_resolve_unknown_id_names_it(client: VkClient) -> None:
    (resolution,) = resolve_groups(client, ["club1"])
    assert resolution.group is None
    assert resolution.problem == "no VK community has id 1"


def test_resolve_user_screen_name_is_not_a_community(client: VkClient, emu: Emulator) -> None:
    user = next(u for u in emu.world.users if not u.screen_name.startswith("id"))
    (resolution,) = resolve_groups(client, [user.screen_name])
    assert resolution.group is None
    assert resolution.problem == f"{user.screen_name!r} is a VK user, not a community"


def test_resolve_groups_keeps_order_and_reports_each_problem(client: VkClient) -> None:
    texts = ["a b", "dvor_i_doroga", "nosuchname_zz", "club1", str(GOROD.id)]
    resolutions = resolve_groups(client, texts)
    assert [r.ref for r in resolutions] == texts
    assert [r.group for r in resolutions] == [None, DVOR, None, None, GOROD]
    assert [r.problem is None for r in resolutions] == [False, True, False, False, True]


def test_register_groups_stores_the_found_ones_with_their_settings(
    client: VkClient, sqlite_url: str
) -> None:
    migrations.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        resolutions = register_groups(
            engine,
            client,
            [("gorod_novosti", CrawlSettings(30, 7, 90)), ("nosuchname_zz", CrawlSettings())],
        )
        with engine.connect() as connection:
            stored = connection.execute(select(vk_groups)).all()
    finally:
        engine.dispose()
    assert [r.group for r in resolutions] == [GOROD, None]
    assert [(g.id, g.screen_name, g.name, g.is_closed) for g in stored] == [
        (GOROD.id, GOROD.screen_name, GOROD.name, 0)
    ]
    assert (stored[0].crawl_interval_minutes, stored[0].priority, stored[0].max_post_age_days) == (
        30,
        7,
        90,
    )
