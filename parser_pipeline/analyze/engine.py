"""The matching engine: every active rule compiled once, each comment read in one pass.

What a rule matches, by `match_mode` (ё and е are one letter everywhere; without
`case_sensitive` letter case is ignored):
- `word_forms`: each word of the phrase in any grammatical form (see `morphology`), a phrase's
  words in order as neighbouring words of the comment: only whitespace between them, since a
  comma, a full stop or an emoji between two words breaks a phrase for a reader. Case-sensitive
  rules also compare each word's case shape (`text.shape`), so "Орёл" finds "Орла", not "орла".
- `exact_word`: the phrase's words exactly as written, as whole words ("мэр" is not in "мэрия").
- `substring`: the phrase anywhere in the text, inside words too.
A hyphenated word ("экс-мэр", "Санкт-Петербурга") is one word, and each of its parts can also
stand in its place, so "мэр" finds "экс-мэр" (the span is then the part's).

How: words are cut by one regular expression; each distinct word is turned once (per compiled
rule set, memoized) into its symbols: integer ids of its folded surface, its lemmas and, for
case-sensitive rules, their case-shaped variants, keeping only symbols some rule uses. All
`word_forms` and `exact_word` rules form one trie over symbol sequences, run as an automaton
whose live states advance on every symbol of each word. pyahocorasick cannot take that part:
it reads one symbol per position, while a word may carry several (each lemma of an ambiguous
form, its surface, its parts). `substring` rules go into two pyahocorasick automata (folded and
case-sensitive text). Per comment the cost is one regex scan, a dict lookup per word and one
automaton pass, whatever the number of rules; no rule has a regular expression of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple

import ahocorasick  # type: ignore[import-not-found]  # a C extension without stubs

from parser_pipeline.analyze.morphology import Lemmatizer, default_lemmatizer
from parser_pipeline.analyze.rules import MODE_SUBSTRING, MODE_WORD_FORMS, Rule, phrase_words
from parser_pipeline.analyze.text import (
    CONTEXT_CHARS,
    PART_RE,
    WORD_RE,
    context,
    fold,
    fold_yo,
    shape,
)

# Distinct words whose symbols are memoized per compiled rule set; ~150 bytes each. Cleared
# when full: cheaper than LRU bookkeeping on every word, and refilled from the lemma cache.
WORD_CACHE_SIZE: Final = 200_000

# Symbol kinds: folded surface, case-kept surface, lemma, lemma with case shape.
_SURFACE: Final = "s"
_SURFACE_CASED: Final = "t"
_LEMMA: Final = "l"
_LEMMA_CASED: Final = "c"

Entry = tuple[int, int, int]  # (symbol, start, end) relative to the word's start


class Match(NamedTuple):
    """One occurrence of a rule in a comment; `text[start:end] == matched_text`.

    A named tuple, not a dataclass: a busy comment has dozens and they are built in the hot loop.
    """

    keyword_id: int
    start: int
    end: int
    matched_text: str
    context: str


class MatchEngine:
    """A compiled rule set; `match` is pure and thread-safe apart from its memo."""

    def __init__(self, rules: Sequence[Rule], lemmatizer: Lemmatizer | None = None) -> None:
        self.rules: dict[int, Rule] = {rule.id: rule for rule in rules}
        self._lemmatizer = lemmatizer or default_lemmatizer()
        self._symbols: dict[tuple[str, ...], int] = {}
        self._children: list[dict[int, int]] = [{}]
        self._outputs: list[tuple[int, ...]] = [()]
        self._substrings = {False: ahocorasick.Automaton(), True: ahocorasick.Automaton()}
        self._substring_keys: dict[bool, dict[str, list[int]]] = {False: {}, True: {}}
        self._word_cache: dict[str, tuple[Entry, ...]] = {}
        for rule in rules:
            self._add(rule)
        kinds = {key[0] for key in self._symbols}
        self._uses_cased_surface = _SURFACE_CASED in kinds
        self._uses_lemmas = bool(kinds & {_LEMMA, _LEMMA_CASED})
        self._uses_cased_lemmas = _LEMMA_CASED in kinds
        self._has_word_rules = len(self._children) > 1
        for cased, keys in self._substring_keys.items():
            for key, ids in keys.items():
                self._substrings[cased].add_word(key, (len(key), tuple(ids)))
            if keys:
                self._substrings[cased].make_automaton()

    # ---- compiling --------------------------------------------------------------------------

    def _symbol(self, key: tuple[str, ...]) -> int:
        return self._symbols.setdefault(key, len(self._symbols))

    def _word_symbols(self, rule: Rule, word: str) -> set[int]:
        if rule.match_mode == MODE_WORD_FORMS:
            lemmas = self._lemmatizer.keyword_lemmas(word)
            if rule.case_sensitive:
                word_shape = shape(word)
                return {self._symbol((_LEMMA_CASED, lemma, word_shape)) for lemma in lemmas}
            return {self._symbol((_LEMMA, lemma)) for lemma in lemmas}
        if rule.case_sensitive:
            return {self._symbol((_SURFACE_CASED, fold_yo(word)))}
        return {self._symbol((_SURFACE, fold(word)))}

    def _add(self, rule: Rule) -> None:
        if rule.match_mode == MODE_SUBSTRING:
            key = fold_yo(rule.phrase) if rule.case_sensitive else fold(rule.phrase)
            self._substring_keys[rule.case_sensitive].setdefault(key, []).append(rule.id)
            return
        positions = [self._word_symbols(rule, word) for word in phrase_words(rule.phrase)]
        if not positions:
            return  # make_spec refuses such phrases; a row written by hand is skipped
        for path in itertools.product(*(sorted(p) for p in positions)):
            node = 0
            for symbol in path:
                child = self._children[node].get(symbol)
                if child is None:
                    child = len(self._children)
                    self._children[node][symbol] = child
                    self._children.append({})
                    self._outputs.append(())
                node = child
            if rule.id not in self._outputs[node]:
                self._outputs[node] = (*self._outputs[node], rule.id)

    # ---- matching ---------------------------------------------------------------------------

    def _surface_symbols(self, surface: str) -> list[int]:
        found: list[int] = []
        get = self._symbols.get
        folded = fold(surface)
        keys: list[tuple[str, ...]] = [(_SURFACE, folded)]
        if self._uses_cased_surface:
            keys.append((_SURFACE_CASED, fold_yo(surface)))
        if self._uses_lemmas:
            word_shape = shape(surface) if self._uses_cased_lemmas else ""
            for lemma in self._lemmatizer.lemmas(folded):
                keys.append((_LEMMA, lemma))
                if word_shape:
                    keys.append((_LEMMA_CASED, lemma, word_shape))
        for key in keys:
            symbol = get(key)
            if symbol is not None:
                found.append(symbol)
        return found

    def _entries(self, word: str) -> tuple[Entry, ...]:
        """The symbols of a word and of its parts, with their spans; memoized."""
        entries = {(symbol, 0, len(word)) for symbol in self._surface_symbols(word)}
        if not word.isalnum():
            for part in PART_RE.finditer(word):
                for symbol in self._surface_symbols(part.group()):
                    entries.add((symbol, part.start(), part.end()))
        result = tuple(sorted(entries))
        if len(self._word_cache) >= WORD_CACHE_SIZE:
            self._word_cache.clear()
        self._word_cache[word] = result
        return result

    def _word_matches(self, text: str, found: dict[tuple[int, int], int]) -> None:
        children = self._children
        outputs = self._outputs
        root = children[0]
        cache = self._word_cache
        live: list[tuple[int, int]] = []
        previous_end = 0
        for word_match in WORD_RE.finditer(text):
            start, end = word_match.span()
            if live and not text[previous_end:start].isspace():
                live = []
            previous_end = end
            word = word_match.group()
            entries = cache.get(word)
            if entries is None:
                entries = self._entries(word)
            if not entries:
                live = []
                continue
            advanced: dict[tuple[int, int], None] = {}
            for symbol, rel_start, rel_end in entries:
                node = root.get(symbol)
                if node is not None:
                    advanced[(node, start + rel_start)] = None
                    for rule_id in outputs[node]:
                        _keep(found, rule_id, start + rel_start, start + rel_end)
                for state, phrase_start in live:
                    node = children[state].get(symbol)
                    if node is not None:
                        advanced[(node, phrase_start)] = None
                        for rule_id in outputs[node]:
                            _keep(found, rule_id, phrase_start, start + rel_end)
            live = [state for state in advanced if children[state[0]]]

    def _substring_matches(self, text: str, found: dict[tuple[int, int], int]) -> None:
        for cased, automaton in self._substrings.items():
            if not self._substring_keys[cased]:
                continue
            haystack = fold_yo(text) if cased else fold(text)
            for last, (length, rule_ids) in automaton.iter(haystack):
                for rule_id in rule_ids:
                    _keep(found, rule_id, last - length + 1, last + 1)

    def match(self, text: str) -> list[Match]:
        """Every match of every rule in `text`, by start offset then keyword id.

        One match per rule and start offset: where a rule could end at two places from one
        start (a hyphenated word and its first part), the longer span is kept.
        """
        found: dict[tuple[int, int], int] = {}
        if self._has_word_rules:
            self._word_matches(text, found)
        self._substring_matches(text, found)
        if not found:
            return []
        # In a short text every match's context is the whole text: build it once.
        whole = " ".join(text.split()) if len(text) <= 2 * CONTEXT_CHARS else None
        return [
            Match(rule_id, start, end, text[start:end], whole or context(text, start, end))
            for (rule_id, start), end in sorted(found.items(), key=_by_start)
        ]

    def counted_keywords(self, matches: Iterable[Match]) -> int:
        """`matched_keywords_count`: distinct non-exclusion keywords whose category has no
        exclusion rule matching in the same comment."""
        matched = [self.rules[m.keyword_id] for m in matches]
        excluded = {rule.category for rule in matched if rule.is_exclusion}
        return len({r.id for r in matched if not r.is_exclusion and r.category not in excluded})


def _by_start(item: tuple[tuple[int, int], int]) -> tuple[int, int]:
    return item[0][1], item[0][0]


def _keep(found: dict[tuple[int, int], int], rule_id: int, start: int, end: int) -> None:
    key = (rule_id, start)
    if found.get(key, -1) < end:
        found[key] = end
