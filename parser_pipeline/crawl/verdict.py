"""How a crawl job ends, decided from what happened to its calls and reads; pure.

One verdict for both runners, so `vkpipe crawl` and the fleet end the same crawl the same way:

    wall or count check refused for good (15, 18, 30, ...)  succeeded; the group is skipped,
                                                            the reason recorded on the group
    wall or count check failed (retries spent)              failed, naming the call
    a post's read failed (retries spent, malformed answer)  failed, naming the post
    a post's comments refused for good (212, ...)           succeeded; the post is skipped
    otherwise                                               succeeded
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from parser_pipeline.errors import VkError, VkPermanentError


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed call or read, as a job records it: where, why (one line), VK's code."""

    where: str
    message: str
    code: int | None = None
    permanent: bool = False

    @classmethod
    def of(cls, error: VkError, where: str = "") -> Failure:
        return cls(where, str(error), error.code, isinstance(error, VkPermanentError))

    @property
    def line(self) -> str:
        """The one line a job, a group and a log show: `wall-1_2: wall.getComments: VK ...`."""
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass(frozen=True, slots=True)
class JobTally:
    """What a job's calls and reads came to."""

    group_id: int | None
    listing_failures: Sequence[Failure] = ()
    read_failures: Sequence[Failure] = ()
    read_skips: Sequence[Failure] = ()


@dataclass(frozen=True, slots=True)
class JobVerdict:
    status: str
    error: str | None = None
    skipped: list[dict[str, Any]] = field(default_factory=list)
    errors_count: int = 0
    group_error: str | None = None
    group_error_code: int | None = None

    @property
    def details(self) -> dict[str, Any] | None:
        return {"skipped": self.skipped} if self.skipped else None


def _skip_entry(failure: Failure, key: str, value: Any) -> dict[str, Any]:
    return {key: value, "code": failure.code, "reason": failure.message}


def job_verdict(tally: JobTally) -> JobVerdict:
    """The job's status, its error line, its skipped items and what the group records."""
    refused = [f for f in tally.listing_failures if f.permanent]
    broken = [f for f in tally.listing_failures if not f.permanent]
    skipped = [_skip_entry(f, "group_id", tally.group_id) for f in refused[:1]]
    skipped += [_skip_entry(f, "post", f.where) for f in tally.read_skips]
    failures = broken + list(tally.read_failures)
    # The group keeps VK's code only for its wall: a post's error says nothing of the group.
    wall_failures = broken or refused
    wall_failure = wall_failures[0] if wall_failures else None
    group_error = wall_failure.line if wall_failure is not None else None
    return JobVerdict(
        status="failed" if failures else "succeeded",
        error=failures[0].line if failures else None,
        skipped=skipped,
        errors_count=len(failures),
        group_error=group_error or (failures[0].line if failures else None),
        group_error_code=wall_failure.code if wall_failure is not None else None,
    )
