"""Names shared by every process: queue names, Redis key prefixes, VK limits."""

from __future__ import annotations

from typing import Final

# Celery queues. Beat/dispatcher -> fetch -> analyze/export -> notify; one name per stage so each
# pool can be scaled on its own (see README "Running in production").
QUEUE_DISPATCH: Final = "dispatch"
QUEUE_FETCH: Final = "fetch"
QUEUE_ANALYZE: Final = "analyze"
QUEUE_EXPORT: Final = "export"
# Alert deliveries (webhooks, Telegram, email): their own pool, so a slow receiver never holds
# a fetch or analyze worker, and a crawl backlog never delays an alert.
QUEUE_NOTIFY: Final = "notify"
ALL_QUEUES: Final = (QUEUE_DISPATCH, QUEUE_FETCH, QUEUE_ANALYZE, QUEUE_EXPORT, QUEUE_NOTIFY)

# Priorities 0..9: Celery's Redis transport emulates them with one list per step, named
# QUEUE for step 0 and QUEUE + BROKER_PRIORITY_SEP + STEP for the others (kombu's layout), which
# is how /metrics reads a queue's length without scanning Redis.
BROKER_PRIORITY_STEPS: Final = tuple(range(10))
BROKER_PRIORITY_SEP: Final = "\x06\x16"

# Redis key prefixes. Everything vkpipe keeps in Redis is disposable (PostgreSQL is the
# source of truth), and the prefixes keep it apart from the broker's own keys.
REDIS_PREFIX: Final = "vkpipe:"
REDIS_RATE_LIMIT_PREFIX: Final = REDIS_PREFIX + "ratelimit:"
REDIS_CACHE_PREFIX: Final = REDIS_PREFIX + "cache:"
REDIS_QUOTA_PREFIX: Final = REDIS_PREFIX + "quota:"

# prometheus-client's own variable: where the processes of a host write their samples.
PROMETHEUS_MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"

# VK API limits (../shared/VK_API.md).
VK_API_VERSION: Final = "5.199"
VK_EXECUTE_MAX_CALLS: Final = 25  # VK rejects an execute with more API calls than this
VK_WALL_GET_MAX_COUNT: Final = 100  # wall.get count cap
VK_WALL_GET_BY_ID_MAX_POSTS: Final = 100  # wall.getById posts cap
VK_COMMENTS_MAX_COUNT: Final = 100  # wall.getComments count cap
VK_THREAD_ITEMS_MAX: Final = 10  # wall.getComments thread_items_count cap
