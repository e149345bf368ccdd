"""What a user types to name a VK community, read once for the CLI, the API, cache and store.

`apiclub`, `@apiclub`, `club1`, `public1`, `event1`, `-1`, `1` and vk.com (or vk.ru) links of
any of them all name a community, by id or by screen name; anything else names none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parser_pipeline.values import is_vk_id

_LINK = re.compile(r"^(?:https?://)?(?:www\.|m\.)?vk\.(?:com|ru)/", re.IGNORECASE)
_NUMERIC = re.compile(r"^(?:club|public|event)?-?(\d+)$", re.IGNORECASE)
_SCREEN_NAME = re.compile(r"^[A-Za-z0-9_.]{2,64}$")


@dataclass(frozen=True, slots=True)
class GroupRef:
    """What the user typed, read as a numeric id or a screen name (exactly one is set)."""

    text: str
    group_id: int | None = None
    screen_name: str | None = None

    @property
    def key(self) -> str:
        """One spelling per community: its id as digits, or its screen name in lower case."""
        return str(self.group_id) if self.group_id is not None else str(self.screen_name)


def parse_group_ref(text: str) -> GroupRef:
    """Read `apiclub`, `@apiclub`, `club1`, `-1`, `1` or `https://vk.com/apiclub`; pure.

    ValueError names the text when it cannot name a community (also an id beyond VK's range).
    """
    path = re.split(r"[?#]", _LINK.sub("", text.strip()), maxsplit=1)[0]
    cleaned = path.strip("/").lstrip("@")
    numeric = _NUMERIC.match(cleaned)
    if numeric:
        group_id = int(numeric.group(1))
        if is_vk_id(group_id):
            return GroupRef(text, group_id=group_id)
    elif _SCREEN_NAME.match(cleaned):
        return GroupRef(text, screen_name=cleaned.lower())
    raise ValueError(f"{text!r} is not a VK community id, screen name or vk.com link")
