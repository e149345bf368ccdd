"""Typed request and response bodies of the HTTP API (pydantic); field names are the contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from parser_pipeline.analyze import stats
from parser_pipeline.analyze.rules import MAX_CATEGORY_CHARS, MAX_PHRASE_CHARS
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.names import ExportFormat, ReviewState
from parser_pipeline.store.reviews import MAX_NOTE_CHARS, MAX_SELECTION, MAX_TAGS_PER_CHANGE
from parser_pipeline.values import JSON_INTEGER, StrictBool, Tag, Text, VkId

MatchMode = Literal["word_forms", "exact_word", "substring"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ExportStatus = Literal["queued", "running", "succeeded", "failed"]

# Crawl settings as the vk_groups CHECK constraints allow them (numbers, not true or "5").
Interval = Annotated[int, Field(ge=1, le=1440), JSON_INTEGER]
Priority = Annotated[int, Field(ge=1, le=10), JSON_INTEGER]
MaxAge = Annotated[int, Field(ge=1, le=36500), JSON_INTEGER]

# A comment is at most 16,384 characters in VK; a text to test rules on may be a few of them.
MAX_TEST_TEXT_CHARS = 100_000
# Groups one crawl request may name: a request is one transaction of job rows.
MAX_CRAWL_GROUPS = 500


class Input(BaseModel):
    """A request body: unknown fields are refused (a typo is an error, not a silent no-op), and
    so is null where the schema offers none (fields declared `= NOT_NULL`)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_null(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[info.field_name or ""]
        if value is None and field.json_schema_extra is _left_out_not_null:
            raise ValueError("must not be null; leave the field out to keep its value")
        return value


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    error: ErrorDetail


class ImportLine(BaseModel):
    """One line of an uploaded CSV and what became of it."""

    line: int
    text: str | None = None
    status: Literal["added", "updated", "exists", "rejected"]
    id: int | None = None
    message: str | None = None


class ImportReport(BaseModel):
    added: int
    updated: int
    rejected: int
    lines: list[ImportLine]


# ---- groups -----------------------------------------------------------------------------------


class GroupOut(BaseModel):
    id: int
    screen_name: str | None
    name: str | None
    url: str
    is_closed: int = Field(description="VK's is_closed: 0 open, 1 closed, 2 private")
    deactivated: str | None
    is_active: bool
    crawl_interval_minutes: int
    priority: int
    max_post_age_days: int | None
    last_crawled_at: datetime | None
    next_crawl_at: datetime | None
    last_error: str | None
    last_error_code: int | None
    crawls_count: int
    added_at: datetime


class GroupPage(BaseModel):
    items: list[GroupOut]
    total: int
    limit: int
    offset: int


def _left_out_not_null(schema: dict[str, Any]) -> None:
    """The schema of a field that may be left out but not sent as null: no null branch."""
    schema.pop("default", None)  # "not sent" has no value to show
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches


# A field that may be left out (None: nothing to change) but not sent as null; the server
# refuses a null naming the field (`Input._no_null`).
NOT_NULL: Any = Field(None, json_schema_extra=_left_out_not_null)


class GroupSettings(Input):
    """A group's crawl settings; a field not sent keeps its stored (or default) value."""

    crawl_interval_minutes: Interval | None = NOT_NULL
    priority: Priority | None = NOT_NULL
    max_post_age_days: MaxAge | None = None


class GroupCreate(GroupSettings):
    group: Text = Field(
        min_length=1, max_length=300, description="Screen name, id, club123 or a vk.com link."
    )


class GroupUpdate(GroupSettings):
    """Only the fields sent change; `max_post_age_days: null` removes the age limit."""

    is_active: StrictBool | None = NOT_NULL


# ---- keywords ---------------------------------------------------------------------------------


class KeywordOut(BaseModel):
    id: int
    phrase: str
    category: str
    match_mode: str
    case_sensitive: bool
    is_exclusion: bool
    is_active: bool
    created_at: datetime
    matches: int = Field(0, description="stored matches")


Phrase = Annotated[Text, Field(min_length=1, max_length=MAX_PHRASE_CHARS)]
Category = Annotated[Text, Field(max_length=MAX_CATEGORY_CHARS)]


class KeywordCreate(Input):
    phrase: Phrase
    category: Category = ""
    match_mode: MatchMode = "word_forms"
    case_sensitive: StrictBool = False
    is_exclusion: StrictBool = False


class KeywordUpdate(Input):
    """Only the fields sent change; none may be null."""

    phrase: Phrase | None = NOT_NULL
    category: Category | None = NOT_NULL
    match_mode: MatchMode | None = NOT_NULL
    case_sensitive: StrictBool | None = NOT_NULL
    is_exclusion: StrictBool | None = NOT_NULL
    is_active: StrictBool | None = NOT_NULL


class KeywordChanged(BaseModel):
    keyword: KeywordOut | None
    requeued: int = Field(description="stored comments queued for analysis again")
    hint: str | None = None


class RuleTest(Input):
    text: Text = Field(max_length=MAX_TEST_TEXT_CHARS)
    rule: KeywordCreate | None = Field(
        None, description="The rule to try; without it, every active stored rule."
    )


class RuleMatch(BaseModel):
    keyword_id: int | None = Field(description="None for the rule under test")
    phrase: str
    category: str
    is_exclusion: bool
    start: int
    end: int
    matched_text: str
    context: str


class RuleTestResult(BaseModel):
    rules: int
    matches: list[RuleMatch]
    counted_keywords: int = Field(
        description="distinct keywords that count (no exclusion of their category matched)"
    )


# ---- comments ---------------------------------------------------------------------------------


class CommentMatch(BaseModel):
    keyword_id: int
    phrase: str
    category: str
    is_exclusion: bool
    start: int
    end: int
    matched_text: str
    context: str


class Author(BaseModel):
    id: int
    name: str | None
    screen_name: str | None
    url: str


class CommentLinks(BaseModel):
    post: str
    comment: str
    author: str | None


class ReviewOut(BaseModel):
    """A comment's review: `new` with no tags, note or reviewer until someone reviews it."""

    state: ReviewState
    tags: list[str]
    note: str
    updated_at: datetime | None
    updated_by: str | None = Field(description="the name of the API key that changed it last")


class CommentOut(BaseModel):
    group_id: int
    group_name: str | None
    owner_id: int = Field(description="VK's owner id: the negated group id")
    post_id: int
    comment_id: int
    parent_comment_id: int | None
    reply_to_comment_id: int | None
    reply_to_user_id: int | None
    date: datetime
    text: str
    likes: int
    is_deleted: bool
    matched_keywords_count: int
    author: Author | None
    links: CommentLinks
    matches: list[CommentMatch]
    review: ReviewOut


class CommentPage(BaseModel):
    items: list[CommentOut]
    limit: int
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class PostOut(BaseModel):
    group_id: int
    post_id: int
    date: datetime
    text: str
    comments_count: int
    likes_count: int
    url: str


class CommentThread(BaseModel):
    comment: CommentOut
    post: PostOut | None
    top: CommentOut = Field(description="the thread's top-level comment (maybe the comment)")
    replies: list[CommentOut]
    replies_total: int


# ---- reviews ----------------------------------------------------------------------------------


Note = Annotated[Text, Field(max_length=MAX_NOTE_CHARS)]
TagList = Annotated[list[Tag], Field(max_length=MAX_TAGS_PER_CHANGE)]


class ReviewUpdate(Input):
    """What to change; a field left out keeps its value (`note: ""` clears the note)."""

    state: ReviewState | None = NOT_NULL
    add_tags: TagList = []
    remove_tags: TagList = []
    note: Note | None = NOT_NULL


class CommentRef(Input):
    group_id: VkId
    comment_id: VkId


class BulkReview(ReviewUpdate):
    comments: list[CommentRef] = Field(min_length=1, max_length=MAX_SELECTION)


class ReviewEvent(BaseModel):
    at: datetime
    actor: str = Field(description="the API key's name")
    action: Literal["state", "tag_added", "tag_removed", "note"]
    value: str


class ReviewDetail(BaseModel):
    group_id: int
    comment_id: int
    review: ReviewOut
    history: list[ReviewEvent] = Field(description="newest first")


class BulkReviewed(BaseModel):
    items: list[ReviewDetail] = Field(description="the reviews afterwards (history left empty)")


class ExclusionSuggestion(BaseModel):
    category: str
    word: str = Field(description="a lemma: as a word_forms exclusion rule it finds every form")
    irrelevant: int = Field(description="irrelevant comments of the category that contain it")
    irrelevant_total: int
    kept: int = Field(description="kept (done, in progress) comments that contain it")
    kept_total: int


# ---- jobs -------------------------------------------------------------------------------------


class CrawlCreate(Input):
    groups: list[Annotated[Text, Field(max_length=300)]] = Field(
        min_length=1, max_length=MAX_CRAWL_GROUPS
    )
    priority: Priority | None = Field(
        None, description="default: the group's", json_schema_extra=_left_out_not_null
    )
    full_verify: StrictBool = False


class CrawlRequested(BaseModel):
    group_id: int
    job_id: int
    created: bool = Field(description="false: the group's unfinished job is returned")


class CrawlCreated(BaseModel):
    jobs: list[CrawlRequested]


class JobOut(BaseModel):
    id: int
    kind: str
    group_id: int | None
    status: str
    requested_by: str
    priority: int
    full_verify: bool
    created_at: datetime
    dispatched_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    posts_count: int
    comments_count: int
    requests_count: int
    errors_count: int
    skipped_count: int
    error: str | None
    details: Any = None


class JobPage(BaseModel):
    items: list[JobOut]


class JobProgress(BaseModel):
    stage: str | None = Field(description="listing, checking or reading while running")
    posts_by_status: dict[str, int] = Field(
        description="posts whose comments the job reads: reading, done, failed, skipped"
    )
    calls_by_status: dict[str, int] = Field(
        description="its VK calls: pending, batched, done, failed (emptied when it ends)"
    )


class PostError(BaseModel):
    post: str = Field(description="wall{owner_id}_{post_id}")
    error: str


class JobDetail(BaseModel):
    job: JobOut
    progress: JobProgress
    errors: list[PostError]


class CancelResult(BaseModel):
    """The job's status after the request: cancelled, or how it had ended already."""

    id: int
    status: JobStatus


# ---- statistics -------------------------------------------------------------------------------


class StatsOut(BaseModel):
    group_id: int | None
    comments_per_day: list[stats.GroupDay]
    matches_per_day: list[stats.MatchDay]
    matches_per_group_category_day: list[stats.GroupCategoryDay]
    top_keywords: list[stats.KeywordCount]
    top_categories: list[stats.CategoryCount]
    top_authors: list[stats.AuthorCount]
    top_posts: list[stats.PostCount]


# ---- exports ----------------------------------------------------------------------------------


class ExportCreate(Input):
    format: ExportFormat
    filters: CommentFilter = CommentFilter()
    excel: StrictBool = Field(False, description="CSV for Excel: BOM and `;`")


class ExportOut(BaseModel):
    id: int
    format: str
    status: str
    rows: int
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    filters: dict[str, Any] | None
    file_name: str
    download_url: str | None = Field(description="set when the file is ready")


class ExportPage(BaseModel):
    items: list[ExportOut]


# ---- health -----------------------------------------------------------------------------------


class Live(BaseModel):
    status: Literal["ok"] = "ok"


class CheckOut(BaseModel):
    name: str
    verdict: str
    required: bool
    detail: str | None = Field(default=None, description="only for a caller with an API key")


class Ready(BaseModel):
    """/health/ready of the API and of `vkpipe serve-health` alike."""

    ready: bool
    checks: list[CheckOut]


class Versions(BaseModel):
    vkpipe: str
    python: str
    packages: dict[str, str | None]
