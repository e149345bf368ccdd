"""Russian lemmas through pymorphy3 and its OpenCorpora dictionaries, cached per process.

A word's lemmas are the dictionary forms of every parse pymorphy3 offers, not only the likeliest:
"выборам" is a form of "выборы" and of "выбор", "дорогой" of "дорога" and of "дорогой", and a
reader would take either. Lemmas are compared with ё read as е and in lower case.

A keyword's word is looked up the same way, except that a word the user typed in a dictionary
form stands for that lemma alone: the keyword "выборы" is the lemma "выборы" (so it matches
"выборов" and "выборах", not "выбор", a different word), while an inflected keyword ("дороги")
stands for all of its lemmas.
"""

from __future__ import annotations

import functools
import threading
from typing import Final

import pymorphy3  # type: ignore[import-untyped]

from parser_pipeline.analyze.text import fold

# Words looked up per process. pymorphy3 takes ~40 µs to parse a word and a cached answer
# ~0.1 µs; comment vocabulary is Zipfian, so 200,000 entries (~60 MB) catch nearly every word a
# worker meets, and matching runs at the speed of the cache, not of the dictionary.
LEMMA_CACHE_SIZE: Final = 200_000
# Longer "words" are URLs' leftovers or keyboard mashing; no dictionary word is this long, and
# pymorphy3's guesser gets slow on them. They stand for themselves.
MAX_DICTIONARY_WORD_CHARS: Final = 40


class Lemmatizer:
    """The lemmas of a word, folded (lower case, ё = е); thread-safe, memoized."""

    def __init__(self, cache_size: int = LEMMA_CACHE_SIZE) -> None:
        self._analyzer = pymorphy3.MorphAnalyzer(lang="ru")
        self._lock = threading.Lock()
        self.lemmas = functools.lru_cache(maxsize=cache_size)(self._lemmas)

    def _lemmas(self, word: str) -> frozenset[str]:
        """The lemmas of a folded word (see `fold`)."""
        if len(word) > MAX_DICTIONARY_WORD_CHARS or not any(c.isalpha() for c in word):
            return frozenset((word,))
        with self._lock:  # the analyzer's caches are not documented as thread-safe
            parses = self._analyzer.parse(word)
        found = frozenset(fold(p.normal_form) for p in parses)
        return found or frozenset((word,))

    def keyword_lemmas(self, word: str) -> frozenset[str]:
        """The lemmas a keyword's word stands for (see the module docstring)."""
        folded = fold(word)
        lemmas: frozenset[str] = self.lemmas(folded)
        return frozenset((folded,)) if folded in lemmas else lemmas

    def cache_info(self) -> functools._CacheInfo:
        return self.lemmas.cache_info()


@functools.lru_cache(maxsize=1)
def default_lemmatizer() -> Lemmatizer:
    """The process's lemmatizer: the dictionaries (~15 MB) load once, on first use."""
    return Lemmatizer()
