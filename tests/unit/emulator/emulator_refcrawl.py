"""A plain `requests` VK client with retries and a reference crawler, for the emulator contract."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import requests

# Transient VK errors (VK_API.md): retry them; everything else is final.
TRANSIENT_CODES = frozenset({1, 6, 9, 10})
MAX_ATTEMPTS = 30
PAGE = 100  # VK's page cap for wall.get and wall.getComments
THREAD_PREVIEW = 10  # VK's cap for thread_items_count
EXECUTE_BATCH = 25  # VK's cap on API calls per execute
DEFAULT_TOKEN = "emulator-token"  # the emulator's default token


class VkCallError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message


class Client:
    """Calls `base_url/method` by POST; retries transport faults and transient VK errors."""

    def __init__(self, base_url: str, token: str = DEFAULT_TOKEN, retry: bool = True) -> None:
        self.base_url = base_url
        self.token = token
        self.retry = retry
        self.session = requests.Session()
        self.retries = 0

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The whole decoded answer ({"response"...} or {"error"...}), retrying transient faults."""
        data = {**{k: str(v) for k, v in params.items()}, "access_token": self.token, "v": "5.199"}
        for _ in range(MAX_ATTEMPTS):
            resp = self.session.post(f"{self.base_url}/{method}", data=data, timeout=10)
            try:
                body: dict[str, Any] = resp.json() if resp.status_code == 200 else {}
            except ValueError:
                body = {}
            if not body or body.get("error", {}).get("error_code") in TRANSIENT_CODES:
                if not self.retry:
                    return body
                self.retries += 1
                continue
            return body
        raise AssertionError(f"{method} still failing after {MAX_ATTEMPTS} attempts")

    def call(self, method: str, **params: Any) -> Any:
        body = self.answer(method, params)
        if "error" in body:
            raise VkCallError(body["error"]["error_code"], body["error"]["error_msg"])
        return body["response"]

    def many(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Run calls through `execute` 25 at a time, retrying inner transient failures."""
        results: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        for _ in range(MAX_ATTEMPTS):
            if not pending:
                return results
            retry: list[int] = []
            for start in range(0, len(pending), EXECUTE_BATCH):
                chunk = pending[start : start + EXECUTE_BATCH]
                code = "return [{}];".format(
                    ",".join(
                        f"API.{calls[i][0]}({json.dumps(calls[i][1], ensure_ascii=False)})"
                        for i in chunk
                    )
                )
                body = self.answer("execute", {"code": code})
                if "error" in body:
                    raise VkCallError(body["error"]["error_code"], body["error"]["error_msg"])
                errors = iter(body.get("execute_errors", []))
                for i, r in zip(chunk, body["response"], strict=True):
                    if r is False:
                        err = next(errors)
                        if err["error_code"] not in TRANSIENT_CODES:
                            raise VkCallError(err["error_code"], err["error_msg"])
                        retry.append(i)
                    else:
                        results[i] = r
            pending = retry
        raise AssertionError("execute batch still failing")


@dataclass
class RefCrawler:
    """What a careful crawler stores; `crawl()` again after each advance() is incremental.

    A post is (re)read when its comments.count changed; a thread is (re)paged when its
    thread.count changed and does not fit in the preview. A comment missing from a full
    listing it used to be in, or shown as `deleted`, is marked deleted, keeping its content.
    """

    client: Client
    screen_names: list[str]
    use_execute: bool = True
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    posts: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    comments: dict[tuple[int, int, int], dict[str, Any]] = field(default_factory=dict)
    authors: dict[int, dict[str, Any]] = field(default_factory=dict)
    thread_counts: dict[tuple[int, int, int], int] = field(default_factory=dict)
    children: dict[tuple[int, int, int], set[int]] = field(default_factory=dict)  # parent 0: tops

    def crawl(self) -> None:
        found = self.client.call("groups.getById", group_ids=",".join(self.screen_names))
        for g in found["groups"]:
            self.groups[g["id"]] = {
                "id": g["id"], "screen_name": g["screen_name"], "name": g["name"],
                "is_closed": g["is_closed"], "deactivated": g.get("deactivated"),
            }  # fmt: skip
        for gid in sorted(self.groups):
            try:
                self.crawl_wall(-gid)
            except VkCallError as exc:
                if exc.code != 15:  # only closed/blocked walls may refuse
                    raise

    def _learn(self, answer: dict[str, Any]) -> None:
        for p in answer.get("profiles", []):
            name = f"{p['first_name']} {p['last_name']}"
            self.authors[p["id"]] = {"id": p["id"], "name": name, "screen_name": p["screen_name"]}
        for g in answer.get("groups", []):
            self.authors[-g["id"]] = {
                "id": -g["id"],
                "name": g["name"],
                "screen_name": g["screen_name"],
            }

    def crawl_wall(self, owner_id: int) -> None:
        offset, seen, changed = 0, set(), []
        while True:
            page = self.client.call(
                "wall.get", owner_id=owner_id, offset=offset, count=PAGE, extended=1
            )
            self._learn(page)
            for item in page["items"]:
                key = (owner_id, item["id"])
                if key in seen:
                    continue
                seen.add(key)
                old = self.posts.get(key)
                count = item["comments"]["count"]
                self.posts[key] = {
                    "owner_id": owner_id, "post_id": item["id"], "from_id": item["from_id"],
                    "date": item["date"], "text": item["text"], "comments_count": count,
                    "likes_count": item["likes"]["count"],
                    "reposts_count": item["reposts"]["count"],
                    "views_count": item["views"]["count"],
                    "is_pinned": bool(item.get("is_pinned")),
                    "comments_closed": item["comments"]["can_post"] == 0,
                }  # fmt: skip
                if item["comments"]["can_post"] and (old is None or old["comments_count"] != count):
                    changed.append(item["id"])
            offset += len(page["items"])
            if not page["items"] or offset >= page["count"]:
                break
        for post_id in changed:
            self.crawl_post(owner_id, post_id)

    def _store(self, owner_id: int, post_id: int, c: dict[str, Any]) -> None:
        key = (owner_id, post_id, c["id"])
        if c.get("deleted") and key in self.comments:
            self.comments[key]["is_deleted"] = True
            return
        parent = c["parents_stack"][0] if c["parents_stack"] else 0
        self.children.setdefault((owner_id, post_id, parent), set()).add(c["id"])
        self.comments[key] = {
            "owner_id": owner_id, "post_id": post_id, "comment_id": c["id"],
            "parent_comment_id": c["parents_stack"][0] if c["parents_stack"] else None,
            "reply_to_comment_id": c.get("reply_to_comment"),
            "reply_to_user_id": c.get("reply_to_user"),
            "from_id": c["from_id"], "date": c["date"], "text": c["text"],
            "likes_count": c["likes"]["count"], "is_deleted": bool(c.get("deleted")),
            "attachments": c.get("attachments", []),
        }  # fmt: skip

    def _missing_are_deleted(self, owner_id: int, post_id: int, parent: int, ids: set[int]) -> None:
        for cid in self.children.get((owner_id, post_id, parent), set()) - ids:
            self.comments[(owner_id, post_id, cid)]["is_deleted"] = True

    def crawl_post(self, owner_id: int, post_id: int) -> None:
        base = {"owner_id": owner_id, "post_id": post_id, "need_likes": 1, "extended": 1}
        offset, tops, to_page = 0, set(), []
        while True:
            page = self.client.call(
                "wall.getComments",
                **base,
                offset=offset,
                count=PAGE,
                thread_items_count=THREAD_PREVIEW,
            )
            self._learn(page)
            for c in page["items"]:
                tops.add(c["id"])
                self._store(owner_id, post_id, c)
                tkey = (owner_id, post_id, c["id"])
                thread = c["thread"]
                if self.thread_counts.get(tkey, 0) == thread["count"]:
                    continue
                self.thread_counts[tkey] = thread["count"]
                if thread["count"] <= len(thread["items"]):
                    for r in thread["items"]:
                        self._store(owner_id, post_id, r)
                    self._missing_are_deleted(
                        owner_id, post_id, c["id"], {r["id"] for r in thread["items"]}
                    )
                else:
                    to_page.append((c["id"], thread["count"]))
            offset += len(page["items"])
            if not page["items"] or offset >= page["current_level_count"]:
                break
        self._missing_are_deleted(owner_id, post_id, 0, tops)
        calls = [
            ("wall.getComments", {**base, "comment_id": top, "offset": off, "count": PAGE})
            for top, n in to_page
            for off in range(0, n, PAGE)
        ]
        if self.use_execute:
            answers = self.client.many(calls)
        else:
            answers = [self.client.call(m, **p) for m, p in calls]
        replies: dict[int, set[int]] = {}
        for (_, params), answer in zip(calls, answers, strict=True):
            self._learn(answer)
            for r in answer["items"]:
                self._store(owner_id, post_id, r)
                replies.setdefault(params["comment_id"], set()).add(r["id"])
        for top, _ in to_page:
            self._missing_are_deleted(owner_id, post_id, top, replies.get(top, set()))

    def result(self) -> dict[str, list[dict[str, Any]]]:
        """The stored rows in the truth's layout and order."""
        return {
            "groups": [self.groups[k] for k in sorted(self.groups)],
            "posts": [self.posts[k] for k in sorted(self.posts)],
            "comments": [self.comments[k] for k in sorted(self.comments)],
            "authors": [self.authors[k] for k in sorted(self.authors)],
        }
