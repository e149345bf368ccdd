"""What the API shows of one post's comments at one epoch, and how it counts them.

Counting rules (as VK):
- `total` (the post's `comments.count` and `wall.getComments` `count`): comments that exist,
  top-level and replies, not counting deleted ones (placeholders included).
- `tops` (`current_level_count`): top-level comments that exist, plus deleted top-level
  comments that still have at least one existing reply (shown as `deleted: true` placeholders).
- `replies[top_id]` (`thread.count`): existing replies of that thread.
A deleted reply, or a deleted top-level comment without replies, is not shown at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Comment


@dataclass
class PostView:
    tops: list[Comment] = field(default_factory=list)
    replies: dict[int, list[Comment]] = field(default_factory=dict)
    total: int = 0
    by_id: dict[int, Comment] = field(default_factory=dict)

    def thread(self, top_id: int) -> list[Comment]:
        return self.replies.get(top_id, [])


def build_view(comments: list[Comment], epoch: int) -> PostView:
    """The visible comments at `epoch`; `comments` must be in id order."""
    view = PostView()
    replies: dict[int, list[Comment]] = {}
    for c in comments:
        if c.parent and c.exists_at(epoch):
            replies.setdefault(c.parent, []).append(c)
    total = sum(len(r) for r in replies.values())
    for c in comments:
        if c.parent or c.created > epoch:
            continue
        alive = not c.is_deleted_at(epoch)
        if alive or c.id in replies:
            view.tops.append(c)
            total += alive
    view.replies = replies
    view.total = total
    view.by_id = {c.id: c for c in view.tops}
    for thread in replies.values():
        view.by_id.update((c.id, c) for c in thread)
    return view
