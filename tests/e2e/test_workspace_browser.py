"""The workspace in a real browser: Debian's Chromium, headless, driven by Playwright, against
`vkpipe demo --serve` (the emulator's world crawled into SQLite, then served until stopped).

One server and one browser session for the module; the tests run in file order on it, as a
reviewer's session would: sign in, filter, review with the mouse and with keys, bulk-tag, check
the API and an export, open the charts and compare them with `vkpipe stats`, sign out.
Screenshots of every page go to test-output/workspace/ (VKPIPE_TEST_OUTPUT overrides it).
"""

from __future__ import annotations

import csv
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from servicecheck import service_missing

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("VKPIPE_TEST_OUTPUT", ROOT / "test-output")) / "workspace"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags that work in containers without a GPU or a network beyond loopback.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# The demo crawls a small world and prints its key within seconds; this is the limit.
DEMO_DEADLINE_SECONDS = 120.0

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@dataclass
class Demo:
    url: str
    key: str
    database_url: str
    workdir: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _read_until_serving(process: subprocess.Popen[str], log: list[str]) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + DEMO_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            log.append(line)
            if "serving until Ctrl-C" in line:
                return
        assert process.poll() is None, "".join(log)
    raise AssertionError("vkpipe demo --serve did not start serving:\n" + "".join(log))


def _wait_until_live(url: str, process: subprocess.Popen[str]) -> None:
    """uvicorn binds its port just after the demo says it serves: poll /health/live."""
    deadline = time.monotonic() + DEMO_DEADLINE_SECONDS
    while True:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        assert process.poll() is None, "vkpipe demo --serve exited"
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`vkpipe demo --serve` on a free port: the URL and key it printed."""
    workdir = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env["COLUMNS"] = "200"
    command = [str(BIN / "vkpipe"), "demo", "--dir", str(workdir / "d"), "--serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    log: list[str] = []
    try:
        _read_until_serving(process, log)
        text = "".join(log)
        url = re.search(r"workspace: (http://\S+/workspace/)", text)
        key = re.search(r"sign in with the API key (vkp_\S+)", text)
        database = re.search(r"VKPIPE_DATABASE_URL=(sqlite:///\S+?)\)", text)
        assert url is not None, text
        assert key is not None, text
        assert database is not None, text
        _wait_until_live(url.group(1).replace("/workspace/", "/health/live"), process)
        yield Demo(url.group(1), key.group(1), database.group(1), workdir)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def page(demo: Demo) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        service_missing("Chromium (apt-get install chromium)", CHROMIUM)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=False)


def api(demo: Demo, path: str) -> Any:
    base = demo.url.removesuffix("/workspace/")
    response = requests.get(f"{base}{path}", headers={"X-API-Key": demo.key}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def vkpipe(demo: Demo, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env["VKPIPE_DATABASE_URL"] = demo.database_url
    done = subprocess.run(
        [str(BIN / "vkpipe"), *args], env=env, capture_output=True, text=True, timeout=120,
        cwd=demo.workdir, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_sign_in_refuses_a_wrong_key_next_to_the_field_then_takes_the_demo_key(
    page: Any, demo: Demo
) -> None:
    page.goto(demo.url)
    expect(page).to_have_url(re.compile(r"/workspace/sign-in\?next="))
    page.get_by_label("API key").fill("vkp_000000000000_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#key-error")).to_have_text("This key is unknown or revoked.")
    expect(page.get_by_label("API key")).to_have_attribute("aria-invalid", "true")
    shot(page, "sign-in")
    page.get_by_label("API key").fill(demo.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/workspace/feed"))
    expect(page.get_by_text("Signed in as")).to_contain_text("demo")
    cookie = next(c for c in page.context.cookies() if c["name"] == "vkpipe_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"


def test_filters_stay_in_the_url_and_select_comments(page: Any, demo: Demo) -> None:
    groups = api(demo, "/groups")["items"]
    group = groups[0]
    page.get_by_label("Groups").select_option(str(group["screen_name"]))
    page.get_by_label("Order").select_option("-likes")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(
        re.compile(rf"group={group['screen_name']}.*sort=-likes|sort=-likes.*group=")
    )
    articles = page.locator("article.comment")
    expect(articles.first).to_be_visible()
    for name in articles.locator("h2").all_inner_texts():
        assert group["name"] in name
    expect(articles.first.locator("mark").first).to_be_visible()  # matches from stored offsets
    page.reload()  # the view is its address
    expect(page.get_by_label("Groups")).to_have_values([str(group["screen_name"])])


def test_review_with_the_mouse_persists_and_shows_in_the_api(page: Any, demo: Demo) -> None:
    page.goto(demo.url + "feed")
    first = page.locator("article.comment").first
    key = first.get_attribute("data-key")
    first.get_by_role("button", name="✓ Done").click()
    item = page.locator(f"#c{key}")
    expect(item.locator(".badge")).to_have_text("✓ done")
    item.get_by_label("Add tags").fill("Жалоба")
    item.get_by_role("button", name="Add", exact=True).click()
    expect(item.locator(".tags")).to_contain_text("жалоба")
    page.reload()
    item = page.locator(f"#c{key}")
    expect(item.locator(".badge")).to_have_text("✓ done")
    expect(item.locator(".by")).to_contain_text("by demo")
    item.locator("summary", has_text="History").click()
    expect(item.locator(".history")).to_contain_text("set the state to done")
    owner, comment = key.split("_")
    review = api(demo, f"/comments/{-int(owner)}/{comment}/review")
    assert review["review"]["state"] == "done"
    assert review["review"]["tags"] == ["жалоба"]
    assert review["review"]["updated_by"] == "demo"
    found = api(demo, "/comments?review_state=done&tag=%D0%B6%D0%B0%D0%BB%D0%BE%D0%B1%D0%B0")
    assert [c["comment_id"] for c in found["items"]] == [int(comment)]
    shot(page, "feed")


def test_review_with_the_keyboard(page: Any, demo: Demo) -> None:
    page.goto(demo.url + "feed?review_state=new")
    articles = page.locator("article.comment")
    keys = [articles.nth(i).get_attribute("data-key") for i in range(3)]
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator(f"#c{keys[0]}")).to_be_focused()
    page.keyboard.press("i")  # irrelevant, then the next one
    expect(page.locator(f"#c{keys[1]}")).to_be_focused()
    expect(page.locator(f"#c{keys[0]} .badge")).to_have_text("✕ irrelevant")
    page.keyboard.press("d")
    expect(page.locator(f"#c{keys[1]} .badge")).to_have_text("✓ done")
    page.keyboard.press("k")
    expect(page.locator(f"#c{keys[1]}")).to_be_focused()
    page.keyboard.press("t")
    expect(page.locator(f"#t{keys[1]}")).to_be_focused()
    page.keyboard.type("срочно")
    page.keyboard.press("Enter")
    expect(page.locator(f"#c{keys[1]} .tags")).to_contain_text("срочно")
    page.reload()  # reviewed comments are no longer new: the filter leaves them out
    expect(page.locator(f"#c{keys[0]}")).to_have_count(0)
    page.goto(demo.url + "feed?review_state=irrelevant")
    expect(page.locator(f"#c{keys[0]} .badge")).to_have_text("✕ irrelevant")
    irrelevant = api(demo, "/comments?review_state=irrelevant")["items"]
    assert [(c["comment_id"], c["review"]["state"]) for c in irrelevant] == [
        (int(keys[0].split("_")[1]), "irrelevant")
    ]


def test_bulk_tag_then_filter_by_the_tag_and_export_it(page: Any, demo: Demo) -> None:
    page.goto(demo.url + "feed?review_state=new")
    articles = page.locator("article.comment")
    keys = [articles.nth(i).get_attribute("data-key") for i in range(3)]
    for key in keys:
        page.locator(f"#s{key}").check()
    expect(page.locator("#selected-count")).to_have_text("3 selected")
    page.locator("#bulk-state").select_option("in_progress")
    page.locator("#bulk-tags").fill("проверить")
    page.get_by_role("button", name="Apply to selected").click()
    for key in keys:
        expect(page.locator(f"#c{key} .tags")).to_contain_text("проверить")
    expect(page.locator("#status")).to_have_text("3 comments reviewed.")
    page.goto(demo.url + "feed?tag=проверить&review_state=in_progress")
    expect(page.locator("article.comment")).to_have_count(3)
    out = demo.workdir / "in-progress.csv"
    vkpipe(demo, "export", "--format", "csv", "--out", str(out), "--review-state", "in_progress")
    with out.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert sorted(f"{-int(r['group_id'])}_{r['comment_id']}" for r in rows) == sorted(keys)
    assert {r["review_state"] for r in rows} == {"in_progress"}
    assert {r["tags"] for r in rows} == {"проверить"}


def test_charts_show_the_numbers_of_vkpipe_stats(page: Any, demo: Demo) -> None:
    page.goto(demo.url + "charts")
    expect(page.locator("#charts[data-ready=true]")).to_be_attached()
    stats = json.loads(vkpipe(demo, "stats", "--json"))
    comments = sum(d["comments"] for d in stats["comments_per_day"])
    matches = sum(d["matches"] for d in stats["matches_per_day"])
    expect(page.locator("#chart-summary")).to_have_text(f"{comments} comments, {matches} matches.")
    rows = page.locator("#top-keywords table tbody tr")
    shown = [row.locator("th, td").all_inner_texts() for row in rows.all()]
    assert shown == [
        [k["phrase"], str(k["matches"]), str(k["comments"])] for k in stats["top_keywords"]
    ]
    authors = page.locator("#top-authors table tbody tr td:first-of-type").all_inner_texts()
    assert authors == [str(a["comments"]) for a in stats["top_authors"]]
    expect(page.locator("#comments-per-day svg[role=img]")).to_be_visible()
    shot(page, "charts")


def test_groups_jobs_and_keywords_pages(page: Any, demo: Demo) -> None:
    page.goto(demo.url + "groups")
    expect(page.get_by_role("table")).to_contain_text("as configured")
    shot(page, "groups")
    page.get_by_role("button", name=re.compile("^Crawl .* now$")).first.click()
    expect(page).to_have_url(re.compile(r"/workspace/jobs\?asked=\d+"))
    expect(page.get_by_role("status")).to_contain_text("is queued")
    shot(page, "jobs")
    page.get_by_role("button", name=re.compile(r"^Cancel job \d+$")).first.click()
    expect(page.locator("table.data tbody tr").first).to_contain_text("cancelled")
    page.goto(demo.url + "keywords")
    page.get_by_label("Text", exact=True).fill("Дороги опять разбиты, выборы скоро")
    page.get_by_role("button", name="Test").click()
    expect(page.locator(".trial mark").first).to_have_text("Дороги")
    shot(page, "keywords")


def test_sign_out_ends_the_session(page: Any, demo: Demo) -> None:
    page.goto(demo.url + "feed")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    page.goto(demo.url + "feed")
    expect(page).to_have_url(re.compile(r"/workspace/sign-in"))
