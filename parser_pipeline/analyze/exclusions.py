"""Exclusion suggestions from review marks: a word many irrelevant matches of a category share
and its relevant ones lack ("these 40 irrelevant comments share the word X").

Per keyword category, the comments reviewers marked `irrelevant` and those they kept (`done`,
`in_progress`) are read as sets of lemmas (so "рекламы" and "рекламу" are one word, the
`word_forms` reading of a rule). `suggest` (pure) ranks the lemmas by how many irrelevant
comments share them, leaving out the category's own keywords, function words and any lemma that
kept comments contain more often than `MAX_RELEVANT_SHARE` allows: adding it as an exclusion rule
of the category would then drop those comments' matches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, and_, select

from parser_pipeline.analyze.morphology import Lemmatizer, default_lemmatizer
from parser_pipeline.analyze.rules import phrase_words
from parser_pipeline.analyze.text import fold, words
from parser_pipeline.store.names import ReviewState
from parser_pipeline.store.schema import comment_reviews, keyword_matches, keywords, vk_comments

# A suggestion needs at least this many irrelevant comments sharing the word.
MIN_SHARED: Final = 3
# ... and at most this share of the kept comments of the category may contain it.
MAX_RELEVANT_SHARE: Final = 0.05
# Suggestions per category.
TOP: Final = 5
# Marked comments read per category and kind (newest marks first): enough for a word shared by
# many, and a bounded cost however many comments were marked.
SAMPLE: Final = 2000
# Lemmas shorter than this are particles, prepositions and the like.
MIN_WORD_CHARS: Final = 3
# Frequent Russian function words and fillers of 3+ letters (lemmas): never an exclusion.
_STOP_WORDS_TEXT: Final = (
    "это этот тот как так что чтобы когда где там тут уже ещё еще если или нет для при про без "
    "над под после через весь всё все вот даже только очень тоже также себя свой мой твой наш "
    "ваш его она они оно который какой кто чей сам быть мочь можно нужно надо просто"
)
STOP_WORDS: Final = frozenset(_STOP_WORDS_TEXT.split())
KEPT_STATES: Final = (ReviewState.done.value, ReviewState.in_progress.value)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """`word` is shared by `irrelevant` of the category's `irrelevant_total` irrelevant
    comments and by `kept` of its `kept_total` kept ones."""

    category: str
    word: str
    irrelevant: int
    irrelevant_total: int
    kept: int
    kept_total: int


def suggest(
    category: str,
    irrelevant: Sequence[frozenset[str]],
    kept: Sequence[frozenset[str]],
    ignore: frozenset[str] = frozenset(),
    *,
    min_shared: int = MIN_SHARED,
    max_kept_share: float = MAX_RELEVANT_SHARE,
    top: int = TOP,
) -> list[Suggestion]:
    """The best exclusion words of a category from its comments' lemma sets (pure): most shared
    by irrelevant comments first, then least found in kept ones, then alphabetical."""
    shared = Counter(lemma for lemmas in irrelevant for lemma in lemmas)
    in_kept = Counter(lemma for lemmas in kept for lemma in lemmas)
    allowed_kept = max_kept_share * len(kept)
    found = [
        Suggestion(category, word, count, len(irrelevant), in_kept[word], len(kept))
        for word, count in shared.items()
        if count >= min_shared
        and in_kept[word] <= allowed_kept
        and word not in ignore
        and word not in STOP_WORDS
        and len(word) >= MIN_WORD_CHARS
        and word.isalpha()
    ]
    found.sort(key=lambda s: (-s.irrelevant, s.kept, s.word))
    return found[:top]


def lemma_set(text: str, lemmatizer: Lemmatizer) -> frozenset[str]:
    """Every lemma of every word of `text` (folded: lower case, ё = е)."""
    found: set[str] = set()
    for word in words(text):
        found |= lemmatizer.lemmas(fold(word.text))
    return frozenset(found)


def _marked(connection: Connection, states: Iterable[str]) -> dict[str, list[str]]:
    """Texts of marked comments by the categories they matched, newest marks first."""
    r, c, km, k = comment_reviews.c, vk_comments.c, keyword_matches.c, keywords.c
    query = (
        select(k.category, c.owner_id, c.comment_id, c.text, r.updated_at)
        .distinct()
        .select_from(comment_reviews)
        .join(vk_comments, and_(c.owner_id == r.owner_id, c.comment_id == r.comment_id))
        .join(keyword_matches, and_(km.owner_id == r.owner_id, km.comment_id == r.comment_id))
        .join(keywords, k.id == km.keyword_id)
        .where(r.state.in_(list(states)), ~k.is_exclusion)
        .order_by(r.updated_at.desc(), c.owner_id, c.comment_id)
    )
    texts: dict[str, list[str]] = {}
    for row in connection.execute(query):
        bucket = texts.setdefault(row.category, [])
        if len(bucket) < SAMPLE:
            bucket.append(row.text)
    return texts


def exclusion_suggestions(
    connection: Connection, lemmatizer: Lemmatizer | None = None
) -> list[Suggestion]:
    """Suggestions for every category with irrelevant marks, by category."""
    lemmatizer = lemmatizer or default_lemmatizer()
    irrelevant = _marked(connection, [ReviewState.irrelevant.value])
    if not irrelevant:
        return []
    kept = _marked(connection, KEPT_STATES)
    own: dict[str, set[str]] = {}
    for row in connection.execute(select(keywords.c.category, keywords.c.phrase)):
        for word in phrase_words(row.phrase):
            own.setdefault(row.category, set()).update(lemmatizer.keyword_lemmas(word))
    found: list[Suggestion] = []
    for category in sorted(irrelevant):
        found += suggest(
            category,
            [lemma_set(text, lemmatizer) for text in irrelevant[category]],
            [lemma_set(text, lemmatizer) for text in kept.get(category, [])],
            frozenset(own.get(category, ())),
        )
    return found
