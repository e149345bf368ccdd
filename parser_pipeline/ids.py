"""The ranges of VK's ids and of the integer columns that hold them: one place to check against."""

from __future__ import annotations

from typing import Final

# PostgreSQL's BIGINT (and SQLite's INTEGER): every VK id column (groups, posts, comments,
# authors) and every row id (jobs, keywords, exports) is one. A larger number can name nothing
# stored, and handing it to the driver fails (SQLite OverflowError, PostgreSQL out of range).
BIGINT_MAX: Final = 2**63 - 1
# PostgreSQL's INTEGER: counts and settings (priority, interval, likes) are stored as one.
INT_MAX: Final = 2**31 - 1
# VK ids are positive for users and communities; an owner id is a community's id negated.
# VK keeps its ids within BIGINT (64-bit ids for users since 2023), so the column range is
# VK's range too.
MAX_VK_ID: Final = BIGINT_MAX


def is_vk_id(value: int) -> bool:
    """A positive id VK could have given a user, a community, a post or a comment."""
    return 0 < value <= MAX_VK_ID
