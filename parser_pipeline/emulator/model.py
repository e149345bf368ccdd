"""Plain records of the emulated world: communities, users, posts and comments."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Epoch 0 is the initial world; `advance()` moves to 1, 2, ...  `None` means "never".
NEVER: int | None = None


def derive_seed(*parts: object) -> int:
    """A stable 64-bit seed from any parts (independent of PYTHONHASHSEED)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True)
class Group:
    """A community; `target` ones are what a crawl is pointed at, the rest only comment."""

    id: int
    screen_name: str
    name: str
    type: str  # "group" | "page"
    is_closed: int  # 0 open, 1 closed, 2 private, as VK
    deactivated: str | None
    target: bool

    @property
    def owner_id(self) -> int:
        return -self.id

    @property
    def wall_denied(self) -> bool:
        """Whether `wall.get` answers error 15 for an outsider's token."""
        return self.is_closed != 0 or self.deactivated is not None


@dataclass(frozen=True)
class User:
    id: int
    first_name: str
    last_name: str
    screen_name: str
    sex: int
    deactivated: str | None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Post:
    """A wall post; its comments are generated lazily from `seed` (see threads.py)."""

    owner_id: int
    post_id: int
    from_id: int
    date: int
    seed: int
    n_comments: int  # base comments, ids post_id+1 .. post_id+n_comments
    likes: int
    reposts: int
    views: int
    has_photo: bool
    is_pinned: bool = False
    comments_closed: bool = False
    hard: bool = False  # the scenario's showcase post with every hard case
    created_epoch: int = 0


class Comment:
    """One comment; `parent` is 0 for top-level, `deleted` the epoch it was deleted at."""

    __slots__ = (
        "attach",
        "created",
        "date",
        "deleted",
        "from_id",
        "id",
        "kind",
        "likes",
        "parent",
        "reply_to",
        "reply_to_user",
    )

    def __init__(
        self,
        id: int,
        parent: int,
        reply_to: int,
        reply_to_user: int,
        from_id: int,
        date: int,
        likes: int,
        kind: int,
        attach: int,
        created: int = 0,
        deleted: int | None = None,
    ) -> None:
        self.id = id
        self.parent = parent
        self.reply_to = reply_to
        self.reply_to_user = reply_to_user
        self.from_id = from_id
        self.date = date
        self.likes = likes
        self.kind = kind
        self.attach = attach
        self.created = created
        self.deleted = deleted

    def copy(self) -> Comment:
        return Comment(
            self.id,
            self.parent,
            self.reply_to,
            self.reply_to_user,
            self.from_id,
            self.date,
            self.likes,
            self.kind,
            self.attach,
            self.created,
            self.deleted,
        )

    def is_deleted_at(self, epoch: int) -> bool:
        return self.deleted is not None and self.deleted <= epoch

    def exists_at(self, epoch: int) -> bool:
        """Created by `epoch` and not deleted by it."""
        return self.created <= epoch and not self.is_deleted_at(epoch)

    def ever_seen(self) -> bool:
        """Whether some crawl saw its content (not if created and deleted in one step)."""
        return self.deleted is None or self.deleted > self.created
