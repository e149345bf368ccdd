"""`vkpipe keywords`, `vkpipe analyze` and `vkpipe stats` on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from analysisdata import comment, store_comments
from clirun import InProcessCli
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import keyword_matches


@pytest.fixture
def vkpipe(
    migrated_sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessCli:
    return InProcessCli(monkeypatch, capsys, {"VKPIPE_DATABASE_URL": migrated_sqlite_url})


def test_keywords_add_list_remove(vkpipe: InProcessCli) -> None:
    added = vkpipe("keywords", "add", "мэр города", "--category", "власть")
    assert added.returncode == 0, added.stderr
    assert "added keyword 1 'мэр города' (word_forms)" in added.stdout
    again = vkpipe("keywords", "add", "мэр   города", "-c", "власть")
    assert "already there: keyword 1" in again.stdout
    vkpipe("keywords", "add", "реклама", "-c", "власть", "--exclude", "-m", "exact_word")
    listing = vkpipe("keywords", "list")
    assert listing.returncode == 0
    assert "мэр города" in listing.stdout
    assert "exclude" in listing.stdout
    removed = vkpipe("keywords", "remove", "2")
    assert "removed keyword 2 'реклама'" in removed.stdout
    missing = vkpipe("keywords", "remove", "99")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "vkpipe: error: keyword 99 does not exist; see `vkpipe keywords list`"
    ]


def test_bad_rules_are_usage_errors(vkpipe: InProcessCli) -> None:
    bad_mode = vkpipe("keywords", "add", "мэр", "--mode", "regex")
    assert bad_mode.returncode == 2
    bad_phrase = vkpipe("keywords", "add", "мэр, города")
    assert bad_phrase.returncode == 2
    assert bad_phrase.stderr.strip().splitlines() == [
        "vkpipe: error: phrase 'мэр, города' has characters other than words and spaces; "
        "use --mode substring to match it literally"
    ]


def test_import_keeps_good_rows_and_export_round_trips(
    vkpipe: InProcessCli, tmp_path: Path
) -> None:
    source = tmp_path / "rules.csv"
    source.write_text(
        "phrase,category,mode,case_sensitive,exclude\n"
        "выборы,politics,,,\n"
        "мэр,power,nonsense,,\n"
        "школ,education,substring,,\n",
        encoding="utf-8",
    )
    imported = vkpipe("keywords", "import", str(source))
    assert imported.returncode == 1
    assert f"{source}:3: mode must be one of" in imported.stderr
    assert "2 added, 0 already there, 1 rejected" in imported.stdout
    exported = vkpipe("keywords", "export")
    assert exported.returncode == 0
    assert exported.stdout == (
        "phrase,category,mode,case_sensitive,exclude\n"
        "выборы,politics,word_forms,false,false\n"
        "школ,education,substring,false,false\n"
    )
    target = tmp_path / "out.csv"
    assert vkpipe("keywords", "export", "-o", str(target)).returncode == 0
    again = vkpipe("keywords", "import", str(target))
    assert again.returncode == 0
    assert "0 added, 2 already there, 0 rejected" in again.stdout


def test_analyze_rematch_and_stats(vkpipe: InProcessCli) -> None:
    engine = make_engine(vkpipe.env["VKPIPE_DATABASE_URL"])
    store_comments(
        engine,
        [comment(1, "Когда уже мэр займётся дорогой?"), comment(2, "Спасибо мэру за парк")],
    )
    vkpipe("keywords", "add", "мэр", "-c", "power")
    first = vkpipe("analyze")
    assert first.returncode == 0, first.stderr
    assert "2 comment(s) analyzed with 1 rule(s): 2 changed, 2 with matches" in first.stdout
    assert "0 comment(s) analyzed" in vkpipe("analyze").stdout
    vkpipe("keywords", "add", "дорога", "-c", "roads")
    rematched = vkpipe("analyze", "--rematch", "--batch-size", "1")
    assert "2 comment(s) analyzed with 2 rule(s): 1 changed" in rematched.stdout
    with engine.connect() as connection:
        assert len(connection.execute(select(keyword_matches)).all()) == 3
    engine.dispose()

    shown = vkpipe("stats", "--since", "2026-11-01", "--until", "2026-12-31")
    assert shown.returncode == 0, shown.stderr
    summaries = ("Top keywords", "Top categories", "Top authors", "Most discussed posts")
    positions = [shown.stdout.index(title) for title in summaries]
    assert positions == sorted(positions)
    assert "Comments per day" not in shown.stdout
    assert "2 comment(s) on 1 day(s) from 2026-11-29 to 2026-11-29" in shown.stdout
    daily = vkpipe("stats", "--daily")
    assert daily.returncode == 0, daily.stderr
    last_summary = daily.stdout.index("Most discussed posts")
    assert last_summary < daily.stdout.index("Comments per day")
    assert last_summary < daily.stdout.index("Matches per day")
    assert "2026-11-29" in daily.stdout.split("Comments per day", 1)[1]
    bad = vkpipe("stats", "--since", "yesterday")
    assert bad.returncode == 2
    assert "--since: 'yesterday' is not an ISO date" in bad.stderr
    unknown = vkpipe("stats", "--group", "nosuchgroup")
    assert unknown.returncode == 1
    assert "group 'nosuchgroup' is not monitored" in unknown.stderr
