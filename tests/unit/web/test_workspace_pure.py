"""The workspace's pure decisions: highlights, review changes, tags, suggestions, redirects."""

from __future__ import annotations

import pytest

from parser_pipeline.analyze.exclusions import Suggestion, suggest
from parser_pipeline.store.feed import excerpt
from parser_pipeline.store.names import ReviewState
from parser_pipeline.store.reviews import Review, ReviewChange, after, review_actions
from parser_pipeline.values import normalize_tag, split_tags, strict_tag
from parser_pipeline.web.highlight import Segment, segments
from parser_pipeline.web.session import safe_target


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("", [], [Segment("")]),
        ("abc", [], [Segment("abc")]),
        ("дорога домой", [(0, 6, "дорога")], [Segment("дорога", ("дорога",)), Segment(" домой")]),
        ("ab cd", [(3, 5, "x")], [Segment("ab "), Segment("cd", ("x",))]),
        # overlapping and touching spans are one mark listing both keywords
        ("мэр города", [(0, 3, "мэр"), (0, 10, "мэр города")],
         [Segment("мэр города", ("мэр", "мэр города"))]),
        ("abcdef", [(0, 2, "a"), (2, 4, "b")], [Segment("abcd", ("a", "b")), Segment("ef")]),
        # spans beyond the text are clipped, empty ones mark nothing
        ("abc", [(1, 99, "k"), (2, 2, "e"), (-5, 0, "n")], [Segment("a"), Segment("bc", ("k",))]),
        ("a b", [(2, 3, "k"), (2, 3, "k")], [Segment("a "), Segment("b", ("k",))]),
    ],
)  # fmt: skip
def test_segments(text: str, spans: list[tuple[int, int, str]], expected: list[Segment]) -> None:
    assert segments(text, spans) == expected


NEW = Review()
DONE_TAGGED = Review(ReviewState.done, ("a", "b"), "seen")


@pytest.mark.parametrize(
    ("before", "change", "actions"),
    [
        (NEW, ReviewChange(), []),
        (NEW, ReviewChange(state=ReviewState.done), [("state", "done")]),
        (DONE_TAGGED, ReviewChange(state=ReviewState.done), []),  # no change, no audit line
        (NEW, ReviewChange(add_tags=("x", "x", "y")), [("tag_added", "x"), ("tag_added", "y")]),
        (DONE_TAGGED, ReviewChange(add_tags=("a",)), []),
        (DONE_TAGGED, ReviewChange(remove_tags=("a", "zz")), [("tag_removed", "a")]),
        (NEW, ReviewChange(add_tags=("x",), remove_tags=("x",)), []),  # removing wins
        (DONE_TAGGED, ReviewChange(note="seen"), []),
        (DONE_TAGGED, ReviewChange(note=""), [("note", "")]),
        (
            NEW,
            ReviewChange(state=ReviewState.irrelevant, add_tags=("spam",), note="ad"),
            [("state", "irrelevant"), ("tag_added", "spam"), ("note", "ad")],
        ),
    ],
)
def test_review_actions(
    before: Review, change: ReviewChange, actions: list[tuple[str, str]]
) -> None:
    assert review_actions(before, change) == actions


def test_after_applies_the_actions() -> None:
    change = ReviewChange(state=ReviewState.new, add_tags=("c",), remove_tags=("a",), note="")
    result = after(DONE_TAGGED, review_actions(DONE_TAGGED, change))
    assert (result.state, result.tags, result.note) == (ReviewState.new, ("b", "c"), "")


@pytest.mark.parametrize(
    ("typed", "tag"),
    [("Жалоба", "жалоба"), ("  two   words ", "two words"), ("ЖКХ-2024", "жкх-2024")],
)
def test_normalize_tag(typed: str, tag: str) -> None:
    assert normalize_tag(typed) == tag


@pytest.mark.parametrize("typed", ["", "   ", "a,b", "a|b", "x" * 65, "\x07bell", "a\ufeffb"])
def test_normalize_tag_refuses(typed: str) -> None:
    with pytest.raises(ValueError, match="tag"):
        normalize_tag(typed)


def test_strict_tag_takes_no_spaces_around() -> None:
    assert strict_tag("Срочно") == "срочно"
    with pytest.raises(ValueError, match="single spaces"):
        strict_tag(" срочно")


def test_split_tags() -> None:
    assert split_tags("b, A ,,a, c d") == ("b", "a", "c d")


def lemmas(*words: str) -> frozenset[str]:
    return frozenset(words)


@pytest.mark.parametrize(
    ("irrelevant", "kept", "ignore", "expected"),
    [
        ([], [], frozenset(), []),
        # shared by 3 irrelevant comments, absent from kept ones
        ([lemmas("реклама", "дорога")] * 3, [lemmas("дорога")] * 5, frozenset({"дорога"}),
         [("реклама", 3, 0)]),
        # too few irrelevant comments share it
        ([lemmas("реклама")] * 2, [], frozenset(), []),
        # kept comments contain it too often (more than 5%)
        ([lemmas("ремонт")] * 4, [lemmas("ремонт")] + [lemmas()] * 9, frozenset(), []),
        # stop words, short words and numbers are never suggested
        ([lemmas("это", "да", "2024", "скидка")] * 3, [], frozenset(), [("скидка", 3, 0)]),
        # most shared first, then least kept, then alphabetical
        ([lemmas("бонус", "акция")] * 3 + [lemmas("акция")], [], frozenset(),
         [("акция", 4, 0), ("бонус", 3, 0)]),
    ],
)  # fmt: skip
def test_suggest(
    irrelevant: list[frozenset[str]],
    kept: list[frozenset[str]],
    ignore: frozenset[str],
    expected: list[tuple[str, int, int]],
) -> None:
    found = suggest("city", irrelevant, kept, ignore)
    assert [(s.word, s.irrelevant, s.kept) for s in found] == expected
    assert all(isinstance(s, Suggestion) and s.category == "city" for s in found)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        (None, 10, None),
        ("short\ntext", 20, "short text"),
        ("one two three four", 10, "one two…"),
        ("x" * 30, 10, "x" * 10 + "…"),
    ],
)
def test_excerpt(text: str | None, limit: int, expected: str | None) -> None:
    assert excerpt(text, limit) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/workspace/feed"),
        ("/workspace/charts?since=2024-01-01", "/workspace/charts?since=2024-01-01"),
        ("https://evil.example/workspace/feed", "/workspace/feed"),
        ("//evil.example/workspace/feed", "/workspace/feed"),
        ("/docs", "/workspace/feed"),
    ],
)
def test_safe_target_stays_in_the_workspace(target: str | None, expected: str) -> None:
    assert safe_target(target) == expected
