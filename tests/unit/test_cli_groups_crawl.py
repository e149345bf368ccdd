"""`vkpipe groups`, `vkpipe crawl` and `vkpipe demo` as processes, on SQLite and the emulator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from parser_pipeline.cli.demo import DEMO_TOKENS
from parser_pipeline.emulator import Emulator, EmulatorConfig, World, build_truth, run_emulator
from parser_pipeline.emulator.timeline import advance
from parser_pipeline.records import GroupInfo
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.groups import CrawlSettings, add_groups
from parser_pipeline.store.schema import (
    crawl_jobs,
    fetch_batches,
    vk_authors,
    vk_comments,
    vk_groups,
    vk_posts,
)
from truthcheck import database_state, differences, truth_state

VKPIPE = [str(Path(sys.executable).with_name("vkpipe"))]
TOKEN = "cli-secret-token-4f9a2c"  # the emulator accepts this one token
KNOWN = "gorod_novosti"
UNKNOWN = "nosuchname_zz"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """A small world that no test advances, so its truth stays that of epoch 0."""
    config = EmulatorConfig(scenario="small", seed=1, tokens=(TOKEN,), rate_limit_per_second=None)
    with run_emulator(config) as emulator:
        yield emulator


@pytest.fixture
def env(emu: Emulator, sqlite_url: str) -> dict[str, str]:
    return {
        "VKPIPE_DATABASE_URL": sqlite_url,
        "VKPIPE_VK_API_URL": emu.base_url,
        "VKPIPE_VK_TOKENS": TOKEN,
        "VKPIPE_VK_RPS_PER_TOKEN": "100",
    }


class Result:
    """Exit code, stdout, and stderr as lines."""

    def __init__(self, code: int, stdout: str, errors: list[str]) -> None:
        self.code, self.stdout, self.errors = code, stdout, errors

    def __repr__(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.stdout}\nstderr:\n" + "\n".join(self.errors)


def vkpipe(*args: str, env: dict[str, str], secrets: tuple[str, ...] = (TOKEN,)) -> Result:
    base = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    done = subprocess.run(
        [*VKPIPE, *args], env={**base, **env}, capture_output=True, text=True, timeout=120
    )
    for secret in secrets:
        assert secret not in done.stdout + done.stderr, f"a token leaked from vkpipe {args}"
    return Result(done.returncode, done.stdout, done.stderr.strip().splitlines())


def stored_groups(database_url: str) -> dict[int, tuple[int, int]]:
    """Stored groups: id -> (crawl interval, priority)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(vk_groups).order_by(vk_groups.c.id))
            return {r.id: (r.crawl_interval_minutes, r.priority) for r in rows}
    finally:
        engine.dispose()


def store_group(database_url: str, group_id: int, name: str) -> None:
    engine = make_engine(database_url)
    try:
        with transaction(engine) as connection:
            add_groups(connection, [GroupInfo(group_id, name, name, 0)], CrawlSettings())
    finally:
        engine.dispose()


def test_groups_add_stores_the_known_and_names_the_unknown(
    env: dict[str, str], emu: Emulator
) -> None:
    upgrade = vkpipe("db", "upgrade", env=env)
    assert upgrade.code == 0, upgrade
    result = vkpipe("groups", "add", KNOWN, UNKNOWN, env=env)
    assert result.code == 1, result
    assert len(result.errors) == 1, result
    assert repr(UNKNOWN) in result.errors[0]
    assert list(stored_groups(env["VKPIPE_DATABASE_URL"])) == [
        emu.world.group_screen_names()[KNOWN]
    ]


def test_groups_add_problem_is_one_line_however_long(
    env: dict[str, str], migrated_sqlite_url: str
) -> None:
    long_name = "no_such_community_with_a_rather_long_screen_name_0123456789"
    result = vkpipe("groups", "add", long_name, env=env)
    assert result.code == 1, result
    assert result.errors == [f"vkpipe: error: no VK community is called {long_name!r}"]


def test_groups_import_reports_the_bad_row_by_line_and_adds_the_good_ones(
    env: dict[str, str], emu: Emulator, migrated_sqlite_url: str, tmp_path: Path
) -> None:
    csv_path = tmp_path / "groups.csv"
    csv_path.write_text(
        "group,interval,priority\ngorod_novosti,30,7\ndvor_i_doroga,0,5\nzakrytyi_klub,,\n",
        encoding="utf-8",
    )
    result = vkpipe("groups", "import", str(csv_path), env=env)
    ids = emu.world.group_screen_names()
    assert result.code == 1, result
    assert len(result.errors) == 1, result
    assert result.errors[0].startswith(f"vkpipe: error: {csv_path}:3: crawl_interval_minutes")
    assert stored_groups(migrated_sqlite_url) == {
        ids["gorod_novosti"]: (30, 7),
        ids["zakrytyi_klub"]: (60, 5),
    }


@pytest.mark.parametrize("verb", ["pause", "resume", "remove"])
def test_changing_an_unknown_group_is_one_clear_line(
    env: dict[str, str], migrated_sqlite_url: str, verb: str
) -> None:
    store_group(migrated_sqlite_url, 5, "some_group")
    result = vkpipe("groups", verb, "nosuch_group", env=env)
    assert result.code == 1, result
    assert result.errors == [
        "vkpipe: error: group 'nosuch_group' is not monitored; "
        "add it with `vkpipe groups add nosuch_group`"
    ]
    assert list(stored_groups(migrated_sqlite_url)) == [5]


def test_crawl_of_every_due_group_stores_exactly_what_vk_shows(
    env: dict[str, str], emu: Emulator, migrated_sqlite_url: str
) -> None:
    for name, group_id in emu.world.group_screen_names().items():
        store_group(migrated_sqlite_url, group_id, name)
    result = vkpipe("crawl", env=env)
    assert result.code == 0, result
    engine = make_engine(migrated_sqlite_url)
    try:
        got = database_state(engine)["comments"]
    finally:
        engine.dispose()
    want = truth_state(emu.truth())["comments"]
    assert len(want) > 100
    assert sorted(set(want) ^ set(got)) == []
    assert [key for key in want if got[key] != want[key]] == []


def batches_done_and_job_statuses(database_url: str) -> tuple[int, list[str]]:
    """(batches answered and stored, statuses of the crawl's jobs)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            done = connection.execute(
                select(func.count()).where(fetch_batches.c.status == "done")
            ).scalar_one()
            jobs = connection.execute(select(crawl_jobs.c.status)).scalars().all()
            return int(done), list(jobs)
    finally:
        engine.dispose()


def test_a_killed_crawl_is_taken_over_by_the_next_and_ends_at_the_truth(
    env: dict[str, str], emu: Emulator, migrated_sqlite_url: str
) -> None:
    for name, group_id in emu.world.group_screen_names().items():
        store_group(migrated_sqlite_url, group_id, name)
    base = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    # Two requests a second: the crawl is still running when a few batches are stored.
    slow = {**base, **env, "VKPIPE_VK_RPS_PER_TOKEN": "2"}
    crawl = subprocess.Popen(
        [*VKPIPE, "crawl"], env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while batches_done_and_job_statuses(migrated_sqlite_url)[0] < 3:
            assert crawl.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, "the crawl stored no batch in a minute"
            time.sleep(0.1)
    finally:
        crawl.kill()
        crawl.wait(timeout=30)
    done, statuses = batches_done_and_job_statuses(migrated_sqlite_url)
    assert "running" in statuses, statuses
    result = vkpipe("crawl", env=env)
    assert result.code == 0, result
    assert not any("already being crawled" in line for line in result.errors), result
    engine = make_engine(migrated_sqlite_url)
    try:
        got, want = database_state(engine), truth_state(emu.truth())
    finally:
        engine.dispose()
    stored_batches, jobs = batches_done_and_job_statuses(migrated_sqlite_url)
    for part in ("posts", "comments"):  # the groups were stored by hand, names and all
        assert got[part] == want[part], part
    assert sorted(jobs) == ["succeeded"] * len(statuses), "the killed crawl's jobs, finished"
    assert stored_batches > done, "the second crawl went on from where the first stopped"


def test_crawl_of_groups_named_by_link_or_prefix_crawls_the_stored_groups(
    env: dict[str, str], emu: Emulator, migrated_sqlite_url: str
) -> None:
    (name, group_id), (_, other_id) = sorted(emu.world.group_screen_names().items())[:2]
    store_group(migrated_sqlite_url, group_id, name)
    store_group(migrated_sqlite_url, other_id, f"other{other_id}")
    result = vkpipe("crawl", f"https://vk.com/{name}", f"public{other_id}", env=env)
    assert result.code == 0, result
    engine = make_engine(migrated_sqlite_url)
    try:
        with engine.connect() as connection:
            crawled = set(
                connection.execute(
                    select(vk_groups.c.id).where(vk_groups.c.last_crawled_at.is_not(None))
                ).scalars()
            )
    finally:
        engine.dispose()
    assert crawled == {group_id, other_id}


def test_crawl_without_a_token_names_the_setting(
    env: dict[str, str], migrated_sqlite_url: str
) -> None:
    store_group(migrated_sqlite_url, 30000560, KNOWN)
    del env["VKPIPE_VK_TOKENS"]
    result = vkpipe("crawl", env=env)
    assert result.code == 2, result
    assert len(result.errors) == 1, result
    assert "VKPIPE_VK_TOKENS" in result.errors[0]


def test_crawl_before_db_upgrade_says_to_run_it(env: dict[str, str]) -> None:
    result = vkpipe("crawl", env=env)
    assert result.code == 1, result
    assert len(result.errors) == 1, result
    assert "run `vkpipe db upgrade`" in result.errors[0]


def test_demo_ends_with_a_summary_of_the_counts_and_the_worlds_truth(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = vkpipe("demo", "--dir", str(workdir), env={}, secrets=(TOKEN, *DEMO_TOKENS))
    assert result.code == 0, result
    lines = result.stdout.strip().splitlines()
    # The summary, then where the workspace is and a key to sign in with (issue 21).
    assert re.fullmatch(
        r"VK requests: first crawl \d+, an hour later \d+, a day later \d+", lines[-4]
    )
    assert lines[-2].startswith("workspace: http://127.0.0.1:8000/workspace/ after `vkpipe api")
    assert re.fullmatch(r"sign in with the API key vkp_[0-9a-f]{12}_\S+", lines[-1])
    # The demo's world moved on once; a day later every post's count was due: all is stored.
    world = World("small", 1)
    advance(world)
    engine = make_engine(f"sqlite:///{workdir / 'vkpipe.db'}")
    assert differences(engine, build_truth(world)) == []
    engine.dispose()
    summary = next(line for line in lines if line.startswith("done: "))
    found = re.match(
        r"done: (\d+) groups, (\d+) posts, (\d+) comments \((\d+) marked deleted, "
        r"(\d+) with keyword matches\), (\d+) authors",
        summary,
    )
    assert found, summary
    engine = make_engine(f"sqlite:///{workdir / 'vkpipe.db'}")
    try:
        with engine.connect() as connection:
            counts = [
                connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (vk_groups, vk_posts, vk_comments)
            ]
            deleted = connection.execute(
                select(func.count()).select_from(vk_comments).where(vk_comments.c.is_deleted)
            ).scalar_one()
            authors = connection.execute(select(func.count()).select_from(vk_authors)).scalar_one()
            matched = connection.execute(
                select(func.count())
                .select_from(vk_comments)
                .where(vk_comments.c.matched_keywords_count > 0)
            ).scalar_one()
    finally:
        engine.dispose()
    assert [int(n) for n in found.groups()] == [*counts, deleted, matched, authors]
    assert matched > 0
    exported = sorted(
        p.name for p in workdir.iterdir() if p.suffix != ".db" and "vkpipe.db" not in p.name
    )
    assert exported == [
        "comments.csv",
        "comments.jsonl",
        "comments.parquet",
        "comments.xlsx",
        "matched.csv",
    ]
    assert counts[2] > 0
