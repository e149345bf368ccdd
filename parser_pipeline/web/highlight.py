"""Matched words marked in a comment's text from the stored offsets (pure).

`segments` cuts a text into plain and marked pieces from (start, end, label) spans: spans are
clipped to the text, overlapping or touching spans merge into one mark whose label lists theirs,
and an empty span marks nothing. Offsets are `str` indices, as the matcher stores them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    labels: tuple[str, ...] = ()

    @property
    def marked(self) -> bool:
        return bool(self.labels)


def segments(text: str, spans: Iterable[tuple[int, int, str]]) -> list[Segment]:
    """`text` as consecutive segments, the matched ones labelled (see the module docstring)."""
    clipped = sorted(
        (max(0, start), min(len(text), end), label)
        for start, end, label in spans
        if min(len(text), end) > max(0, start)
    )
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, label in clipped:
        if merged and start <= merged[-1][1]:
            last_start, last_end, labels = merged[-1]
            if label not in labels:
                labels.append(label)
            merged[-1] = (last_start, max(last_end, end), labels)
        else:
            merged.append((start, end, [label]))
    out: list[Segment] = []
    position = 0
    for start, end, labels in merged:
        if start > position:
            out.append(Segment(text[position:start]))
        out.append(Segment(text[start:end], tuple(labels)))
        position = end
    if position < len(text) or not out:
        out.append(Segment(text[position:]))
    return out
