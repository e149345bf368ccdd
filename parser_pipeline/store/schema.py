"""The database schema as SQLAlchemy Core tables; table and column names are a public contract."""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    func,
    text,
    true,
)

from parser_pipeline.store.names import (
    ALERT_MODES,
    CHANNEL_KINDS,
    DELIVERY_STATUSES,
    EXPORT_FORMATS,
    REVIEW_STATES,
)
from parser_pipeline.store.types import AutoIdType, JsonType, UtcDateTime

# Named constraints so Alembic migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

JOB_STATUSES: Final = ("queued", "running", "succeeded", "failed", "cancelled")
# A crawl or export job that has not ended (at most one per group: uq_crawl_jobs_active_group).
UNFINISHED_JOB_STATUSES: Final = ("queued", "running")
JOB_REQUESTERS: Final = ("beat", "cli", "api")
JOB_KINDS: Final = ("crawl",)
# A running crawl job lists the wall (new posts), then re-checks the counts of known posts that
# are due (wall.getById), then reads the comments of the posts that need it.
JOB_STAGES: Final = ("listing", "checking", "reading")
# One VK call a job needs: a wall.get page, a wall.getById count check of up to 100 posts, a
# page of top-level comments, a page of one thread's replies.
CALL_KINDS: Final = ("wall", "check", "top", "thread")
# pending: waiting to be packed; batched: in a fetch batch; done / failed: answered (or given up).
CALL_STATUSES: Final = ("pending", "batched", "done", "failed")
CALL_FINAL_STATUSES: Final = ("done", "failed")
# A post whose comments a job reads: reading until its last call is answered, then done,
# failed (a transient error outlasted the retries: its watermark stays) or skipped (VK refuses
# its comments for good, e.g. error 212: recorded on the post).
READ_STATUSES: Final = ("reading", "done", "failed", "skipped")
# A fetch batch (up to 25 calls, one execute): pending (written, not yet on the broker),
# enqueued (published), running (a worker has it), done or failed. PostgreSQL alone can tell
# what is unfinished; the reconciler puts lost batches back to pending.
BATCH_STATUSES: Final = ("pending", "enqueued", "running", "done", "failed")
BATCH_UNFINISHED_STATUSES: Final = ("pending", "enqueued", "running")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


vk_groups = Table(
    "vk_groups",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False, comment="VK group id, > 0"),
    Column("screen_name", String(255)),
    Column("name", Text),
    Column("is_closed", SmallInteger, nullable=False, server_default=text("0")),
    Column("deactivated", String(32), comment="VK's deactivated state: deleted, banned"),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("crawl_interval_minutes", Integer, nullable=False, server_default=text("60")),
    Column("priority", SmallInteger, nullable=False, server_default=text("5")),
    Column("max_post_age_days", Integer),
    Column("last_crawled_at", UtcDateTime),
    Column("next_crawl_at", UtcDateTime, comment="NULL: due now"),
    Column("last_error", Text),
    Column("last_error_code", Integer),
    Column("crawls_count", Integer, nullable=False, server_default=text("0")),
    Column("added_at", UtcDateTime, nullable=False, server_default=func.now()),
    # Incremental listing: the newest (non-pinned) post date the last complete listing saw. A
    # later crawl reads the top of the wall down to it; NULL lists the whole wall.
    Column("wall_listed_until", UtcDateTime),
    # The interval the dispatcher actually uses when the VK budget cannot serve every group at
    # its configured interval (orchestration/schedule.py); NULL: the configured one.
    Column("effective_interval_minutes", Integer),
    CheckConstraint("id > 0", name="id_positive"),
    CheckConstraint(
        "crawl_interval_minutes BETWEEN 1 AND 1440", name="crawl_interval_minutes_range"
    ),
    CheckConstraint("priority BETWEEN 1 AND 10", name="priority_range"),
    CheckConstraint("max_post_age_days IS NULL OR max_post_age_days >= 1", name="max_age_positive"),
    CheckConstraint("is_closed IN (0, 1, 2)", name="is_closed_values"),
    Index("ix_vk_groups_due", "is_active", "next_crawl_at"),
    Index("ix_vk_groups_screen_name", "screen_name", unique=True),
)

vk_posts = Table(
    "vk_posts",
    metadata,
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("post_id", BigInteger, primary_key=True, autoincrement=False),
    Column("from_id", BigInteger),
    Column("date", UtcDateTime, nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("comments_count", Integer, nullable=False, server_default=text("0")),
    Column("likes_count", Integer, nullable=False, server_default=text("0")),
    Column("reposts_count", Integer, nullable=False, server_default=text("0")),
    Column("views_count", Integer),
    Column("is_pinned", Boolean, nullable=False, server_default=false()),
    Column("comments_closed", Boolean, nullable=False, server_default=false()),
    Column("attachments", JsonType),
    Column("last_fetched_at", UtcDateTime, nullable=False, comment="last seen in wall.get"),
    # Watermarks for incremental crawling: the comment count the wall showed when this post's
    # comments were last read completely. A different count in a later listing means re-read.
    Column("comments_synced_count", Integer),
    Column("comments_synced_at", UtcDateTime),
    Column("comments_error", Text, comment="why comments cannot be read (e.g. VK error 212)"),
    # Tiers (tiers.py): when its comment count was last read from VK (a listing or a
    # wall.getById check), and when its comments were last read in full (every thread).
    Column("comments_checked_at", UtcDateTime),
    Column("comments_verified_at", UtcDateTime),
    Index("ix_vk_posts_owner_date", "owner_id", "date"),
)

vk_comments = Table(
    "vk_comments",
    metadata,
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("post_id", BigInteger, nullable=False),
    Column("parent_comment_id", BigInteger, comment="NULL for top level; the thread's top id"),
    Column("reply_to_comment_id", BigInteger),
    Column("reply_to_user_id", BigInteger),
    Column("from_id", BigInteger),
    Column("date", UtcDateTime, nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("likes_count", Integer, nullable=False, server_default=text("0")),
    Column("attachments", JsonType),
    Column("is_deleted", Boolean, nullable=False, server_default=false()),
    # Watermark for a top-level comment: the thread size whose replies are all stored.
    Column("thread_synced_count", Integer),
    # Analysis: NULL until the keyword rules ran over this text (set back to NULL when it
    # changes), and how many keyword matches it has (so "comments with matches" is indexed).
    Column("analyzed_at", UtcDateTime),
    Column("matched_keywords_count", Integer, nullable=False, server_default=text("0")),
    Column("first_seen_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    Index("ix_vk_comments_post", "owner_id", "post_id"),
    Index("ix_vk_comments_date", "date"),
    Index("ix_vk_comments_from", "from_id"),
    Index(
        "ix_vk_comments_unanalyzed",
        "owner_id",
        "comment_id",
        postgresql_where=text("analyzed_at IS NULL"),
        sqlite_where=text("analyzed_at IS NULL"),
    ),
    Index(
        "ix_vk_comments_matched_date",
        "date",
        postgresql_where=text("matched_keywords_count > 0"),
        sqlite_where=text("matched_keywords_count > 0"),
    ),
)

vk_authors = Table(
    "vk_authors",
    metadata,
    Column(
        "id", BigInteger, primary_key=True, autoincrement=False, comment="users > 0, groups < 0"
    ),
    Column("name", Text),
    Column("screen_name", String(255)),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
)

crawl_jobs = Table(
    "crawl_jobs",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False, server_default="crawl"),
    Column("group_id", BigInteger, ForeignKey("vk_groups.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False, server_default="queued"),
    Column("requested_by", String(16), nullable=False),
    Column("priority", SmallInteger, nullable=False, server_default=text("5")),
    Column("full_verify", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("dispatched_at", UtcDateTime, comment="when the dispatcher turned it into work"),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("posts_count", Integer, nullable=False, server_default=text("0")),
    Column("comments_count", Integer, nullable=False, server_default=text("0")),
    Column("requests_count", Integer, nullable=False, server_default=text("0")),
    Column("errors_count", Integer, nullable=False, server_default=text("0")),
    Column("skipped_count", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("details", JsonType, comment="skipped items with their reasons"),
    Column("stage", String(16), comment="listing, checking or reading while running"),
    Column("calls", JsonType, comment="VK calls answered, by method (the daily quotas' unit)"),
    Column("runner", String(64), comment="who carries it: fleet, or cli:<host>:<pid>"),
    Column("updated_at", UtcDateTime, comment="last progress (a heartbeat of its runner)"),
    CheckConstraint(_in("status", JOB_STATUSES), name="status_values"),
    CheckConstraint(_in("requested_by", JOB_REQUESTERS), name="requested_by_values"),
    CheckConstraint(_in("kind", JOB_KINDS), name="kind_values"),
    Index("ix_crawl_jobs_status_created", "status", "created_at"),
    Index("ix_crawl_jobs_dispatched", "status", "dispatched_at"),
    # At most one unfinished job per group, whoever asks and however often.
    Index(
        "uq_crawl_jobs_active_group",
        "group_id",
        unique=True,
        postgresql_where=text(_in("status", UNFINISHED_JOB_STATUSES)),
        sqlite_where=text(_in("status", UNFINISHED_JOB_STATUSES)),
    ),
    Index("ix_crawl_jobs_group_status", "group_id", "status"),
)

fetch_batches = Table(
    "fetch_batches",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("priority", SmallInteger, nullable=False, server_default=text("5")),
    Column("calls", Integer, nullable=False, server_default=text("0")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("claimed_by", String(64), comment="the task or thread running it"),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("finished_at", UtcDateTime),
    CheckConstraint(_in("status", BATCH_STATUSES), name="status_values"),
    Index("ix_fetch_batches_status_updated", "status", "updated_at"),
)

vk_calls = Table(
    "vk_calls",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("job_id", BigInteger, ForeignKey("crawl_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("method", String(64), nullable=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("post_id", BigInteger, comment="the post whose comments it reads (top, thread)"),
    Column("params", JsonType, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("priority", SmallInteger, nullable=False, server_default=text("5")),
    Column("batch_id", BigInteger, ForeignKey("fetch_batches.id", ondelete="SET NULL")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("request_share", Float, nullable=False, server_default=text("0"),
           comment="its share of the requests its batches took"),
    Column("result", JsonType, comment="what the post's completion needs: the ids it saw"),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    CheckConstraint(_in("status", CALL_STATUSES), name="status_values"),
    CheckConstraint(_in("kind", CALL_KINDS), name="kind_values"),
    Index("ix_vk_calls_pending", "status", "priority", "id"),
    Index("ix_vk_calls_job_post", "job_id", "owner_id", "post_id"),
    Index("ix_vk_calls_batch", "batch_id"),
)  # fmt: skip

crawl_reads = Table(
    "crawl_reads",
    metadata,
    Column(
        "job_id",
        BigInteger,
        ForeignKey("crawl_jobs.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("post_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comments_count", Integer, nullable=False, comment="its watermark once read"),
    Column("verify", Boolean, nullable=False, server_default=false(), comment="every thread"),
    Column("status", String(16), nullable=False, server_default="reading"),
    Column("comments", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    CheckConstraint(_in("status", READ_STATUSES), name="status_values"),
    Index("ix_crawl_reads_job_status", "job_id", "status"),
)

vk_quota_usage = Table(
    "vk_quota_usage",
    metadata,
    Column("day", String(10), primary_key=True, comment="the quota day (YYYY-MM-DD), its zone"),
    Column("token_id", String(16), primary_key=True, comment="sha256 prefix, never the token"),
    Column("method", String(64), primary_key=True),
    Column("used", Integer, nullable=False, server_default=text("0")),
    Column("resting_until", UtcDateTime,
           comment="VK answered error 29: the token rests from the method until then"),
)  # fmt: skip

MATCH_MODES: Final = ("word_forms", "exact_word", "substring")

keywords = Table(
    "keywords",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("phrase", Text, nullable=False),
    Column("category", String(255), nullable=False, server_default=""),
    Column("match_mode", String(16), nullable=False, server_default="word_forms"),
    Column("case_sensitive", Boolean, nullable=False, server_default=false()),
    Column("is_exclusion", Boolean, nullable=False, server_default=false()),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    CheckConstraint(_in("match_mode", MATCH_MODES), name="match_mode_values"),
    CheckConstraint("length(phrase) > 0", name="phrase_not_empty"),
    Index(
        "uq_keywords_rule",
        "phrase",
        "category",
        "match_mode",
        "case_sensitive",
        "is_exclusion",
        unique=True,
    ),
)

keyword_matches = Table(
    "keyword_matches",
    metadata,
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    Column(
        "keyword_id",
        BigInteger,
        ForeignKey("keywords.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("start", Integer, primary_key=True, autoincrement=False, comment="character offset"),
    Column("end", Integer, nullable=False, comment="character offset, exclusive"),
    Column("matched_text", Text, nullable=False),
    Column("context", Text, nullable=False),
    Column("matched_at", UtcDateTime, nullable=False, server_default=func.now()),
    Index("ix_keyword_matches_keyword", "keyword_id"),
)

EXPORT_STATUSES: Final = ("queued", "running", "succeeded", "failed")

export_subscriptions = Table(
    "export_subscriptions",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("format", String(16), nullable=False),
    Column("directory", Text, nullable=False),
    Column("filters", JsonType, comment="the same filters as `vkpipe export`"),
    Column("group_ids", JsonType, comment="groups whose finished crawls trigger it"),
    Column("categories", JsonType, comment="keyword categories it follows"),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("exported_until", UtcDateTime, comment="watermark: rows changed before it are out"),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    CheckConstraint(_in("format", EXPORT_FORMATS), name="format_values"),
)

export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column(
        "subscription_id",
        BigInteger,
        ForeignKey("export_subscriptions.id", ondelete="SET NULL"),
    ),
    Column("format", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("filters", JsonType),
    Column("status", String(16), nullable=False, server_default="queued"),
    Column("requested_by", String(16), nullable=False),
    Column("rows", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("dispatched_at", UtcDateTime, comment="when the dispatcher published it (outbox)"),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    CheckConstraint(_in("format", EXPORT_FORMATS), name="format_values"),
    CheckConstraint(_in("status", EXPORT_STATUSES), name="status_values"),
    CheckConstraint(_in("requested_by", JOB_REQUESTERS), name="requested_by_values"),
    Index("ix_export_jobs_status_created", "status", "created_at"),
)

service_heartbeats = Table(
    "service_heartbeats",
    metadata,
    Column("name", String(64), primary_key=True, comment="beat, dispatcher, ..."),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("details", JsonType),
)

# ---- the HTTP API (parser_pipeline/api) -------------------------------------------------------

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("prefix", String(32), nullable=False, comment="the key's public part, for lookup"),
    Column("secret_hash", String(64), nullable=False, comment="SHA-256 (hex) of the whole key"),
    Column("read_only", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("last_used_at", UtcDateTime),
    Column("revoked_at", UtcDateTime, comment="NULL: the key works"),
    Index("uq_api_keys_prefix", "prefix", unique=True),
    # One working key per name; a revoked key's name can be given to a new key.
    Index(
        "uq_api_keys_active_name",
        "name",
        unique=True,
        postgresql_where=text("revoked_at IS NULL"),
        sqlite_where=text("revoked_at IS NULL"),
    ),
)

# Comment search (api/search.py): every documented filter and sort order has an index; the
# order is (sort key, owner_id, comment_id), the keyset of its pages.
Index(
    "ix_vk_comments_owner_date",
    vk_comments.c.owner_id,
    vk_comments.c.date,
    vk_comments.c.comment_id,
)
Index(
    "ix_vk_comments_likes",
    vk_comments.c.likes_count,
    vk_comments.c.owner_id,
    vk_comments.c.comment_id,
)
Index(
    "ix_vk_comments_owner_likes",
    vk_comments.c.owner_id,
    vk_comments.c.likes_count,
    vk_comments.c.comment_id,
)
Index(
    "ix_vk_comments_deleted_date",
    vk_comments.c.date,
    postgresql_where=text("is_deleted"),
    sqlite_where=text("is_deleted"),
)
# "Text contains" has no index on vk_comments: see comment_search (migration 0012) below.

# ---- exports belong to API keys (migration 0008) ----------------------------------------------
# Appended here, apart from the tables above, so the change stays one block.
api_keys.append_column(
    Column(
        "is_admin",
        Boolean,
        nullable=False,
        server_default=false(),
        comment="sees every export, not only its own",
    )
)
export_jobs.append_column(
    Column(
        "api_key_id",
        BigInteger,
        ForeignKey("api_keys.id", ondelete="SET NULL"),
        comment="the API key that asked for it; NULL: the CLI or beat",
    )
)
Index("ix_export_jobs_api_key", export_jobs.c.api_key_id, export_jobs.c.id)

# ---- the analyst workspace: reviews, tags, their audit trail, sign-in sessions (migration 0010) --
# Appended here, apart from the tables above, so the change stays one block. A comment without a
# comment_reviews row is `new`; the reviewer is the API key's name at the time of the change.
REVIEW_ACTIONS: Final = ("state", "tag_added", "tag_removed", "note")

comment_reviews = Table(
    "comment_reviews",
    metadata,
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("state", String(16), nullable=False, server_default="new"),
    Column("note", Text, nullable=False, server_default=""),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("updated_by", String(255), nullable=False, comment="the API key's name"),
    CheckConstraint(_in("state", REVIEW_STATES), name="state_values"),
    # "in these states": driven from here when few comments are in them.
    Index("ix_comment_reviews_state", "state", "owner_id", "comment_id"),
)

comment_tags = Table(
    "comment_tags",
    metadata,
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    # 255: a tag has at most 64 characters as typed; lower case may lengthen a few letters.
    Column("tag", String(255), primary_key=True, comment="lower case"),
    Column("tagged_at", UtcDateTime, nullable=False, server_default=func.now()),
    Index("ix_comment_tags_tag", "tag", "owner_id", "comment_id"),
)

review_events = Table(
    "review_events",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("owner_id", BigInteger, nullable=False),
    Column("comment_id", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(255), nullable=False, comment="the API key's name"),
    Column("action", String(16), nullable=False),
    Column("value", Text, nullable=False, server_default="", comment="the state, tag or note"),
    CheckConstraint(_in("action", REVIEW_ACTIONS), name="action_values"),
    Index("ix_review_events_comment", "owner_id", "comment_id", "id"),
)

workspace_sessions = Table(
    "workspace_sessions",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, comment="SHA-256 (hex) of the cookie"),
    Column(
        "api_key_id",
        BigInteger,
        ForeignKey("api_keys.id", ondelete="CASCADE"),
        nullable=False,
        comment="who signed in; a revoked key ends its sessions",
    ),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("uq_workspace_sessions_token", "token_hash", unique=True),
    Index("ix_workspace_sessions_expires", "expires_at"),
)

# The feed's "new since you opened it": comments stored after a moment, found by an index.
Index("ix_vk_comments_first_seen", vk_comments.c.first_seen_at)

# ---- alerts: rules, what each rule has seen, the outbox of deliveries, channel health (0011) ---
# Appended here, apart from the tables above, so the change stays one block. Channel secrets
# (bot token, SMTP password, webhook signing secrets) live in Settings, never in these rows.
alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("mode", String(16), nullable=False),
    Column("filter", JsonType, nullable=False, comment="a CommentFilter as JSON"),
    Column("options", JsonType, nullable=False, comment="the mode's parameters"),
    Column("channels", JsonType, nullable=False, comment="[{kind, target}]"),
    Column("quiet_hours", String(32), comment="HH:MM-HH:MM UTC; NULL: none"),
    Column("cooldown_seconds", Integer, nullable=False, server_default=text("0")),
    Column("is_paused", Boolean, nullable=False, server_default=false()),
    Column("starts_at", UtcDateTime, nullable=False, comment="comments stored before are not sent"),
    Column("last_fired_at", UtcDateTime, comment="the last message written for it"),
    Column("created_at", UtcDateTime, nullable=False, server_default=func.now()),
    Column("updated_at", UtcDateTime, nullable=False, server_default=func.now()),
    CheckConstraint(_in("mode", ALERT_MODES), name="mode_values"),
)

alert_seen = Table(
    "alert_seen",
    metadata,
    Column(
        "rule_id",
        BigInteger,
        ForeignKey("alert_rules.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("seen_at", UtcDateTime, nullable=False),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", AutoIdType, primary_key=True, autoincrement=True),
    Column("delivery_id", String(64), nullable=False, comment="stable across retries"),
    Column("rule_id", BigInteger, ForeignKey("alert_rules.id", ondelete="CASCADE")),
    Column("channel", String(16), nullable=False),
    Column("target", Text, nullable=False, comment="URL, chat id or address"),
    Column("payload", JsonType, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("first_stored_at", UtcDateTime, comment="the earliest comment's first_seen_at"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("leased_until", UtcDateTime, comment="a worker is sending it until then"),
    Column("delivered_at", UtcDateTime),
    Column("last_error", Text),
    CheckConstraint(_in("channel", CHANNEL_KINDS), name="channel_values"),
    CheckConstraint(_in("status", DELIVERY_STATUSES), name="status_values"),
    Index("uq_alert_deliveries_delivery_id", "delivery_id", unique=True),
    Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
    Index("ix_alert_deliveries_rule", "rule_id", "id"),
)

alert_channels = Table(
    "alert_channels",
    metadata,
    Column("key", String(64), primary_key=True, comment="SHA-256 of kind and target"),
    Column("channel", String(16), nullable=False),
    Column("hold_until", UtcDateTime, comment="rate limited (429, Retry-After) until then"),
    Column("failing_since", UtcDateTime, comment="NULL: the last attempt worked"),
    Column("last_error", Text),
)

# ---- comment text search (migration 0012) ------------------------------------------------------
# "Text contains" on PostgreSQL: the texts of analyzed comments, copied here by the analyze stage
# (store/text_search.py), with the trigram GIN index that serves ILIKE '%needle%' (pg_trgm).
# Migration 0006 had that index on vk_comments.text, where every stored comment paid for it: the
# fleet stored at 0.165 of its 10k rate at 1M comments (bench/RESULTS.md, "Comment search"). Now the
# crawl's writes never touch a GIN index, and the analyze stage, which rewrites each new comment
# anyway, pays for it once per text. SQLite keeps this table empty: text search there scans
# vk_comments.text (embedded, demo-sized data), and the index is an empty partial one (WHERE 0).
comment_search = Table(
    "comment_search",
    metadata,
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False, comment="vk_comments.text when it was analyzed"),
    Index(
        "ix_comment_search_text_trgm",
        "text",
        postgresql_using="gin",
        postgresql_ops={"text": "gin_trgm_ops"},
        sqlite_where=text("0"),
    ),
)
