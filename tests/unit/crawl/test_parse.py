"""VK answers become typed records exactly; malformed answers raise VkMalformedAnswerError."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from parser_pipeline.crawl.parse import (
    ThreadState,
    parse_comments_page,
    parse_group,
    parse_thread_page,
    parse_wall_page,
)
from parser_pipeline.errors import VkMalformedAnswerError
from parser_pipeline.records import AuthorRecord, CommentRecord, GroupInfo, PostRecord

OWNER = -30000560
POST = 42
DATE = 1_717_243_200  # 2024-06-01 12:00 UTC
PHOTO = [{"type": "photo", "photo": {"id": 457239017, "owner_id": 5, "sizes": []}}]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def vk_post(post_id: int, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": post_id,
        "owner_id": OWNER,
        "from_id": OWNER,
        "date": DATE,
        "text": f"post {post_id}",
        "comments": {"count": 3, "can_post": 1},
        "likes": {"count": 10},
        "reposts": {"count": 2},
        "views": {"count": 900},
    }
    item.update(extra)
    return item


def vk_comment(comment_id: int, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": comment_id,
        "from_id": 1001,
        "date": DATE + comment_id,
        "text": f"comment {comment_id}",
        "post_id": POST,
        "owner_id": OWNER,
        "parents_stack": [],
        "likes": {"count": 1},
    }
    item.update(extra)
    return item


def record(comment_id: int, **extra: Any) -> CommentRecord:
    values: dict[str, Any] = {
        "owner_id": OWNER,
        "comment_id": comment_id,
        "post_id": POST,
        "parent_comment_id": None,
        "reply_to_comment_id": None,
        "reply_to_user_id": None,
        "from_id": 1001,
        "date": at(DATE + comment_id),
        "text": f"comment {comment_id}",
        "likes_count": 1,
        "attachments": None,
        "is_deleted": False,
    }
    values.update(extra)
    return CommentRecord(**values)


def test_wall_page_has_the_total_and_the_posts_in_order() -> None:
    page = parse_wall_page({"count": 250, "items": [vk_post(9), vk_post(7)]}, OWNER)
    assert page.total == 250
    assert [p.post_id for p in page.posts] == [9, 7]


def test_post_fields() -> None:
    item = vk_post(9, attachments=PHOTO)
    assert parse_wall_page({"count": 1, "items": [item]}, OWNER).posts == [
        PostRecord(
            owner_id=OWNER,
            post_id=9,
            from_id=OWNER,
            date=at(DATE),
            text="post 9",
            comments_count=3,
            likes_count=10,
            reposts_count=2,
            views_count=900,
            is_pinned=False,
            comments_closed=False,
            attachments=PHOTO,
        )
    ]


def test_pinned_post() -> None:
    (post,) = parse_wall_page({"count": 1, "items": [vk_post(1, is_pinned=1)]}, OWNER).posts
    assert post.is_pinned is True


@pytest.mark.parametrize(
    ("comments", "closed", "count"),
    [
        pytest.param({"count": 0, "can_post": 0}, True, 0, id="can_post-0-and-count-0"),
        pytest.param({"count": 4, "can_post": 0}, False, 4, id="can_post-0-with-old-comments"),
        pytest.param({"count": 0, "can_post": 1}, False, 0, id="open-without-comments"),
        pytest.param({"count": 0}, False, 0, id="can_post-absent"),
    ],
)
def test_comments_closed(comments: dict[str, int], closed: bool, count: int) -> None:
    (post,) = parse_wall_page({"count": 1, "items": [vk_post(1, comments=comments)]}, OWNER).posts
    assert (post.comments_closed, post.comments_count) == (closed, count)


def test_views_absent_is_none_and_empty_attachments_are_none() -> None:
    item = vk_post(1, attachments=[])
    del item["views"]
    (post,) = parse_wall_page({"count": 1, "items": [item]}, OWNER).posts
    assert post.views_count is None
    assert post.attachments is None


def test_comments_page_with_inline_thread_items() -> None:
    answer = {
        "count": 5,
        "current_level_count": 2,
        "items": [
            vk_comment(
                10,
                thread={
                    "count": 14,
                    "items": [
                        vk_comment(11, parents_stack=[10]),
                        vk_comment(12, parents_stack=[10], attachments=PHOTO),
                    ],
                },
            ),
            vk_comment(20, thread={"count": 0, "items": []}),
        ],
    }
    page = parse_comments_page(answer, OWNER, POST)
    assert (page.count, page.current_level_count) == (5, 2)
    assert page.comments == [
        record(10),
        record(11, parent_comment_id=10),
        record(12, parent_comment_id=10, attachments=PHOTO),
        record(20),
    ]
    assert page.threads == {10: ThreadState(count=14, inline=2), 20: ThreadState(0, 0)}
    assert [c.thread_count for c in page.comments] == [14, None, None, 0]


def test_deleted_placeholder_has_empty_text_and_is_deleted() -> None:
    placeholder = {"id": 10, "deleted": True, "text": "", "from_id": 1001, "date": DATE + 10,
                   "likes": {"count": 1},
                   "thread": {"count": 1, "items": [vk_comment(11)]}}  # fmt: skip
    page = parse_comments_page({"count": 2, "items": [placeholder]}, OWNER, POST)
    assert page.comments[0] == record(10, text="", is_deleted=True)
    assert page.comments[1].parent_comment_id == 10


def test_deleted_placeholder_without_date_or_text_is_kept() -> None:
    page = parse_comments_page({"count": 1, "items": [{"id": 10, "deleted": True}]}, OWNER, POST)
    (comment,) = page.comments
    assert (comment.comment_id, comment.text, comment.is_deleted) == (10, "", True)


def test_reply_to_fields() -> None:
    answer = {"count": 2, "items": [vk_comment(12, reply_to_comment=11, reply_to_user=1002)]}
    (comment,) = parse_thread_page(answer, OWNER, POST, 10).comments
    assert (comment.reply_to_comment_id, comment.reply_to_user_id) == (11, 1002)


def test_community_authors_from_groups_are_negative() -> None:
    answer = {
        "count": 2,
        "items": [vk_comment(10, from_id=-7), vk_comment(11)],
        "profiles": [{"id": 1001, "first_name": "Анна", "last_name": "Петрова",
                      "screen_name": "anna_p"}],
        "groups": [{"id": 7, "name": "Дорожный дозор", "screen_name": "dorozhny_dozor"}],
    }  # fmt: skip
    page = parse_comments_page(answer, OWNER, POST)
    assert page.comments[0].from_id == -7
    assert page.authors == [
        AuthorRecord(1001, "Анна Петрова", "anna_p"),
        AuthorRecord(-7, "Дорожный дозор", "dorozhny_dozor"),
    ]


def test_thread_page_replies_get_the_top_level_as_parent() -> None:
    answer = {"count": 14, "items": [vk_comment(21, parents_stack=[10]), vk_comment(22)]}
    page = parse_thread_page(answer, OWNER, POST, 10)
    assert page.count == 14
    assert page.comments == [record(21, parent_comment_id=10), record(22, parent_comment_id=10)]
    assert page.threads == {}


TEXTS = [
    pytest.param("Ура 🎉👍🏽 — «ёлка»", id="emoji"),
    pytest.param("a\tb", id="tab"),
    pytest.param("line one\nline two\r\nline three\n", id="newlines"),
    pytest.param("  leading and trailing  ", id="spaces"),
    pytest.param("null", id="literal-null"),
    pytest.param("\\N", id="copy-null-marker"),
    pytest.param("x" * 4096, id="4096-chars"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("text", TEXTS)
def test_comment_text_kept_exactly(text: str) -> None:
    page = parse_comments_page({"count": 1, "items": [vk_comment(10, text=text)]}, OWNER, POST)
    assert page.comments[0].text == text


@pytest.mark.parametrize("text", TEXTS)
def test_post_text_kept_exactly(text: str) -> None:
    (post,) = parse_wall_page({"count": 1, "items": [vk_post(1, text=text)]}, OWNER).posts
    assert post.text == text


def test_nul_removed_from_comment_and_logged() -> None:
    with structlog.testing.capture_logs() as logs:
        page = parse_comments_page(
            {"count": 1, "items": [vk_comment(10, text="a\x00b\x00")]}, OWNER, POST
        )
    assert page.comments[0].text == "ab"
    assert [e for e in logs if e["event"] == "crawl.nul_removed"] == [
        {
            "event": "crawl.nul_removed",
            "log_level": "warning",
            "where": f"comment wall{OWNER}_{POST}?reply=10",
            "count": 2,
        }
    ]


def test_nul_removed_from_post_and_logged() -> None:
    with structlog.testing.capture_logs() as logs:
        (post,) = parse_wall_page({"count": 1, "items": [vk_post(9, text="\x00x")]}, OWNER).posts
    assert post.text == "x"
    assert [(e["event"], e["where"]) for e in logs] == [
        ("crawl.nul_removed", f"post wall{OWNER}_9")
    ]


def test_text_without_nul_logs_nothing() -> None:
    with structlog.testing.capture_logs() as logs:
        parse_comments_page({"count": 1, "items": [vk_comment(10)]}, OWNER, POST)
    assert logs == []


def wall(answer: Any) -> Any:
    return parse_wall_page(answer, OWNER)


def comments(answer: Any) -> Any:
    return parse_comments_page(answer, OWNER, POST)


def thread(answer: Any) -> Any:
    return parse_thread_page(answer, OWNER, POST, 10)


AT_POST = f"wall{OWNER}_{POST}"


@pytest.mark.parametrize(
    ("parse", "answer", "where"),
    [
        pytest.param(wall, {"count": 3}, f"wall.get of {OWNER}", id="wall-without-items"),
        pytest.param(wall, {"items": []}, f"wall.get of {OWNER}", id="wall-without-count"),
        pytest.param(wall, [], f"wall.get of {OWNER}", id="wall-not-an-object"),
        pytest.param(wall, {"count": 1, "items": [vk_post(1, id="1")]},
                     f"wall.get post of {OWNER}", id="post-id-a-string"),
        pytest.param(wall, {"count": 1, "items": [vk_post(1, date="2024-06-01")]},
                     f"post wall{OWNER}_1", id="post-date-a-string"),
        pytest.param(comments, {"count": 1}, f"wall.getComments of {AT_POST}",
                     id="comments-without-items"),
        pytest.param(comments, {"count": 1, "items": [vk_comment(10, id=None)]},
                     f"comment on {AT_POST}", id="comment-id-missing"),
        pytest.param(comments, {"count": 1, "items": [vk_comment(10, date="yesterday")]},
                     f"comment {AT_POST}?reply=10", id="comment-date-a-string"),
        pytest.param(comments, {"count": 1, "items": [vk_comment(10, text=5)]},
                     f"comment {AT_POST}?reply=10", id="comment-text-a-number"),
        pytest.param(comments, {"count": 1, "items": [vk_comment(10, thread={"items": ["x"]})]},
                     f"comment on {AT_POST}", id="inline-reply-not-an-object"),
        pytest.param(thread, {"count": "2", "items": []},
                     f"wall.getComments thread 10 of {AT_POST}", id="thread-count-a-string"),
        pytest.param(parse_group, {"id": "1", "name": "x"}, "groups.getById",
                     id="group-id-a-string"),
    ],
)  # fmt: skip
def test_malformed_answer_names_where(parse: Any, answer: Any, where: str) -> None:
    with pytest.raises(VkMalformedAnswerError) as caught:
        parse(answer)
    assert str(caught.value).startswith(f"{where}:")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            {"id": 5, "name": "Клуб", "screen_name": "club_five", "is_closed": 1, "type": "group"},
            GroupInfo(5, "club_five", "Клуб", 1),
            id="closed",
        ),
        pytest.param(
            {"id": 6, "name": "Нет", "screen_name": "gone", "deactivated": "banned"},
            GroupInfo(6, "gone", "Нет", 0, "banned"),
            id="deactivated",
        ),
        pytest.param({"id": 7}, GroupInfo(7, None, "", 0), id="bare"),
        pytest.param({"id": 8, "name": "x", "is_closed": 9}, GroupInfo(8, None, "x", 0),
                     id="unknown-is_closed-is-open"),
    ],
)  # fmt: skip
def test_parse_group(item: dict[str, Any], expected: GroupInfo) -> None:
    assert parse_group(item) == expected
