"""How a crawl job ends (pure): the verdict table both runners share."""

from __future__ import annotations

import pytest

from parser_pipeline.crawl.verdict import Failure, JobTally, JobVerdict, job_verdict
from parser_pipeline.errors import VkAccessDeniedError, VkServerError

CLOSED = Failure.of(VkAccessDeniedError("Access denied", code=15, method="wall.get"))
BROKEN = Failure.of(VkServerError("Internal server error", code=10, method="wall.get"))
POST_BROKEN = Failure("wall-7_3", "wall.getComments: VK error 10: Internal server error", 10)
POST_CLOSED = Failure("wall-7_4", "wall.getComments: VK error 212: comments closed", 212, True)


@pytest.mark.parametrize(
    ("tally", "expected"),
    [
        pytest.param(JobTally(7), JobVerdict("succeeded"), id="all-well"),
        pytest.param(
            JobTally(7, listing_failures=[CLOSED]),
            JobVerdict(
                "succeeded",
                skipped=[{"group_id": 7, "code": 15, "reason": CLOSED.message}],
                group_error="wall.get: VK error 15: Access denied",
                group_error_code=15,
            ),
            id="closed-wall-is-skipped-with-its-reason-on-the-group",
        ),
        pytest.param(
            JobTally(7, listing_failures=[BROKEN]),
            JobVerdict(
                "failed",
                error="wall.get: VK error 10: Internal server error",
                errors_count=1,
                group_error="wall.get: VK error 10: Internal server error",
                group_error_code=10,
            ),
            id="wall-that-kept-failing-fails-the-job",
        ),
        pytest.param(
            JobTally(7, read_failures=[POST_BROKEN]),
            JobVerdict(
                "failed",
                error=POST_BROKEN.line,
                errors_count=1,
                group_error=POST_BROKEN.line,
            ),
            id="post-that-kept-failing-fails-the-job-naming-the-post",
        ),
        pytest.param(
            JobTally(7, read_skips=[POST_CLOSED]),
            JobVerdict(
                "succeeded",
                skipped=[{"post": "wall-7_4", "code": 212, "reason": POST_CLOSED.message}],
            ),
            id="post-with-comments-closed-is-skipped",
        ),
        pytest.param(
            JobTally(7, listing_failures=[BROKEN], read_failures=[POST_BROKEN]),
            JobVerdict(
                "failed",
                error=BROKEN.line,
                errors_count=2,
                group_error=BROKEN.line,
                group_error_code=10,
            ),
            id="the-wall-error-comes-first",
        ),
    ],
)
def test_job_verdict(tally: JobTally, expected: JobVerdict) -> None:
    assert job_verdict(tally) == expected


def test_failure_line_names_where_and_why() -> None:
    assert POST_BROKEN.line == "wall-7_3: wall.getComments: VK error 10: Internal server error"
    assert CLOSED.line == "wall.get: VK error 15: Access denied"
    assert CLOSED.permanent
    assert not BROKEN.permanent
