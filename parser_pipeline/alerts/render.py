"""Alerts as people read them: a payload's subject, plain text (Telegram, email) and HTML
(email), and the rules as a terminal table (both CLIs)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Final

from rich.table import Table

from parser_pipeline.alerts.decisions import TELEGRAM_MAX_CHARS

# Characters of one comment's text in a human message (the webhook payload has all of it).
TEXT_CHARS: Final = 500
# Room kept for the "… N more" line when a message is cut.
_MORE_RESERVE: Final = 200


def _short(text: str, limit: int = TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def headline(payload: dict[str, Any]) -> str:
    """One line: the rule and what happened."""
    data = payload["data"]
    name, kind, count = data["rule"]["name"], payload["type"].removeprefix("alert."), data["count"]
    if kind == "digest":
        return f"vkpipe «{name}»: digest, {count} comments since {data['since'][:16]} UTC"
    if kind == "spike":
        return (
            f"vkpipe «{name}»: spike, {count} comments in the last hour "
            f"(mean {data['mean']}, σ {data['sigma']}, threshold {data['threshold']})"
        )
    if kind == "deleted":
        return f"vkpipe «{name}»: {count} watched comment(s) deleted from VK"
    if kind == "test":
        return f"vkpipe «{name}»: test message"
    return f"vkpipe «{name}»: {count} new comment(s)"


def _item_lines(item: dict[str, Any]) -> str:
    author = item.get("author_name") or f"id{item['author_id']}"
    keywords = ", ".join(item.get("matched_keywords") or ())
    head = f"— {author}, {item['date'][:16].replace('T', ' ')} UTC"
    if keywords:
        head += f" [{keywords}]"
    return f"{head}\n{_short(item['text'])}\n{item['url']}"


def text_message(payload: dict[str, Any], limit: int | None = None) -> str:
    """Plain text; within `limit` characters (Telegram's) by listing fewer comments, with a
    line that says how many more there are and links to the first of them."""
    items = payload["data"].get("comments", [])
    parts = [headline(payload)]
    budget = (limit or 10**9) - _MORE_RESERVE
    for index, item in enumerate(items):
        block = _item_lines(item)
        if limit is not None and len("\n\n".join([*parts, block])) > budget:
            parts.append(f"… {len(items) - index} more, from {item['url']}")
            break
        parts.append(block)
    text = "\n\n".join(parts)
    return text[:limit] if limit is not None else text


def telegram_text(payload: dict[str, Any]) -> str:
    return text_message(payload, TELEGRAM_MAX_CHARS)


def html_message(payload: dict[str, Any]) -> str:
    """The email's HTML part."""
    rows = []
    for item in payload["data"].get("comments", []):
        author = html.escape(item.get("author_name") or f"id{item['author_id']}")
        keywords = html.escape(", ".join(item.get("matched_keywords") or ()))
        rows.append(
            f"<li><b>{author}</b> {html.escape(item['date'][:16])} UTC"
            + (f" <i>[{keywords}]</i>" if keywords else "")
            + f"<br>{html.escape(_short(item['text']))}"
            + f'<br><a href="{html.escape(item["url"])}">{html.escape(item["url"])}</a></li>'
        )
    return (
        f"<html><body><p>{html.escape(headline(payload))}</p><ul>{''.join(rows)}</ul></body></html>"
    )


def rules_table(views: Sequence[dict[str, Any]]) -> Table:
    """Each rule (`service.list_all`'s views) with its state and its deliveries per status."""
    table = Table("id", "name", "mode", "channels", "state", "pending", "delivered", "dead")
    for v in views:
        d = v["deliveries"]
        table.add_row(
            str(v["id"]), v["name"], v["mode"], ", ".join(v["channels"]),
            "paused" if v["paused"] else "active",
            str(d["pending"]), str(d["delivered"]), str(d["dead"]),
        )  # fmt: skip
    return table
