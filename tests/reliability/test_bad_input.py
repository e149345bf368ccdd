"""Bad input gets one clear message naming it, a non-zero exit, and loses nothing stored.

Malformed VK answers come from a small HTTP server in front of the emulator that damages its
answers (that server is "VK" to vkpipe). Every case starts from a database that already holds a
complete crawl equal to the truth, and ends with that data intact.
"""

from __future__ import annotations

import errno
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, select

from fleet import TOKENS, register_all
from parser_pipeline.cli import run
from parser_pipeline.emulator import Emulator
from parser_pipeline.export import service as export_service
from parser_pipeline.store.schema import vk_comments, vk_groups
from truthcheck import database_state, differences

pytestmark = [pytest.mark.postgres]

Damage = Callable[[Any], Any]


def walk(value: Any, change: Callable[[dict[str, Any]], None]) -> Any:
    """Apply `change` to every JSON object inside `value`, depth first."""
    if isinstance(value, dict):
        for item in value.values():
            walk(item, change)
        change(value)
    elif isinstance(value, list):
        for item in value:
            walk(item, change)
    return value


def is_comment(obj: dict[str, Any]) -> bool:
    return "post_id" in obj and "from_id" in obj and "text" in obj


def _wrong_type(obj: dict[str, Any]) -> None:
    if "count" in obj and "items" in obj and "current_level_count" in obj:
        obj["count"] = "many"


def _missing_items(obj: dict[str, Any]) -> None:
    if "current_level_count" in obj:
        del obj["items"]


def _unknown_fields(obj: dict[str, Any]) -> None:
    if is_comment(obj) or "items" in obj or "first_name" in obj:  # not inside attachments
        obj["zz_field_from_the_future"] = {"nested": [1, "two", None]}


def _nul_in_comment_text(obj: dict[str, Any]) -> None:
    if is_comment(obj) and obj.get("text"):
        obj["text"] = obj["text"][:2] + "\x00" + obj["text"][2:]


def _nul_in_author_name(obj: dict[str, Any]) -> None:
    if "first_name" in obj and "last_name" in obj:
        obj["first_name"] = obj["first_name"] + "\x00"


class DamagingVk:
    """A loopback "VK" that forwards to the emulator and damages the JSON (or answers HTML)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.damage: Damage | None = None
        self.html = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.html:
                    self._answer(200, b"<html><body>Service Unavailable</body></html>", "text/html")
                    return
                answer = requests.post(
                    outer.upstream + self.path.removeprefix("/method"),
                    data=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "")},
                    timeout=30,
                )
                payload = answer.json()
                if outer.damage is not None and "response" in payload:
                    payload["response"] = walk(payload["response"], outer.damage)
                self._answer(200, json.dumps(payload).encode(), "application/json")

            def _answer(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/method"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def crawled(
    postgres_url: str,
    emulators: Callable[..., Emulator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[tuple[Engine, Emulator]]:
    """A PostgreSQL database holding a complete crawl of the small world (embedded mode)."""
    from reliability_kit import migrated_engine

    emulator = emulators()
    engine = migrated_engine(postgres_url)
    register_all(engine, emulator)
    monkeypatch.setenv("VKPIPE_DATABASE_URL", postgres_url)
    monkeypatch.setenv("VKPIPE_VK_API_URL", emulator.base_url)
    monkeypatch.setenv("VKPIPE_VK_TOKENS", ",".join(TOKENS))
    monkeypatch.setenv("VKPIPE_VK_RPS_PER_TOKEN", "100")
    monkeypatch.setenv("VKPIPE_VK_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("VKPIPE_VK_BACKOFF_BASE_SECONDS", "0.01")
    monkeypatch.setenv("VKPIPE_VK_BACKOFF_CAP_SECONDS", "0.05")
    assert run(["crawl"]) == 0
    capsys.readouterr()
    assert differences(engine, emulator.truth()) == []
    yield engine, emulator
    engine.dispose()


@pytest.fixture
def damaging_vk(
    crawled: tuple[Engine, Emulator], monkeypatch: pytest.MonkeyPatch
) -> Iterator[DamagingVk]:
    vk = DamagingVk(crawled[1].base_url)
    monkeypatch.setenv("VKPIPE_VK_API_URL", vk.url)
    yield vk
    vk.close()


def recrawl(capsys: pytest.CaptureFixture[str], emulator: Emulator) -> tuple[int, str, str]:
    """`vkpipe crawl --full` of every community: every post and comment is read again."""
    return cli(capsys, "crawl", "--full", *sorted(emulator.world.group_screen_names()))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_wrong_type, "field 'count' should be int, got str"),
        (_missing_items, "field 'items' should be a list"),
    ],
    ids=["wrong-type", "missing-field"],
)
def test_malformed_vk_answer_is_named_and_nothing_stored_is_lost(
    crawled: tuple[Engine, Emulator],
    damaging_vk: DamagingVk,
    capsys: pytest.CaptureFixture[str],
    damage: Damage,
    message: str,
) -> None:
    engine, emulator = crawled
    damaging_vk.damage = damage
    code, out, err = recrawl(capsys, emulator)
    assert code == 1, out + err
    assert message in out + err
    assert differences(engine, emulator.truth()) == []


def test_html_instead_of_json_is_named_and_nothing_stored_is_lost(
    crawled: tuple[Engine, Emulator], damaging_vk: DamagingVk, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, emulator = crawled
    damaging_vk.html = True
    code, out, err = recrawl(capsys, emulator)
    assert code == 1
    assert "VK answered with broken JSON" in out + err
    assert differences(engine, emulator.truth()) == []


def test_unknown_fields_are_ignored(
    crawled: tuple[Engine, Emulator], damaging_vk: DamagingVk, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, emulator = crawled
    damaging_vk.damage = _unknown_fields
    code, out, err = recrawl(capsys, emulator)
    assert code == 0, out + err
    assert differences(engine, emulator.truth()) == []


@pytest.mark.parametrize(
    ("damage", "where"),
    [(_nul_in_comment_text, "comment wall-"), (_nul_in_author_name, "")],
    ids=["comment-text", "author-name"],
)
def test_nul_character_is_dropped_with_a_warning_and_the_rest_stored(
    crawled: tuple[Engine, Emulator],
    damaging_vk: DamagingVk,
    capsys: pytest.CaptureFixture[str],
    damage: Damage,
    where: str,
) -> None:
    """PostgreSQL text cannot hold U+0000: vkpipe stores the text without it, and says so."""
    engine, emulator = crawled
    damaging_vk.damage = damage
    code, out, err = recrawl(capsys, emulator)
    assert code == 0, out + err
    assert "crawl.nul_removed" in err
    assert where in err
    assert differences(engine, emulator.truth()) == []


def test_unknown_groups_and_screen_names_are_named(
    crawled: tuple[Engine, Emulator], capsys: pytest.CaptureFixture[str]
) -> None:
    engine, emulator = crawled
    code, _, err = cli(capsys, "groups", "add", "no_such_community_zz", "987654321", "vk.com/")
    assert code == 1
    assert err.splitlines() == [
        "vkpipe: error: no VK community is called 'no_such_community_zz'",
        "vkpipe: error: no VK community has id 987654321",
        "vkpipe: error: 'vk.com/' is not a VK community id, screen name or vk.com link",
    ]
    assert differences(engine, emulator.truth()) == []


def test_group_that_turns_closed_keeps_its_collected_comments(
    crawled: tuple[Engine, Emulator], capsys: pytest.CaptureFixture[str]
) -> None:
    engine, emulator = crawled
    before = database_state(engine)
    world = emulator.world
    target = next(g for g in world.open_groups() if world.posts.get(g.owner_id))
    with emulator.service.lock:  # the community's admins close it between two crawls
        closed = replace(target, is_closed=1)
        world.groups[world.groups.index(target)] = closed
        world.group_by_id[target.id] = closed
    code, out, err = recrawl(capsys, emulator)
    assert code == 0, out + err
    assert "VK error 15" in out
    after = database_state(engine)
    assert after["comments"] == before["comments"]
    assert after["posts"] == before["posts"]
    with engine.connect() as connection:
        code_15 = connection.execute(
            select(vk_groups.c.last_error_code).where(vk_groups.c.id == target.id)
        ).scalar_one()
    assert code_15 == 15


@pytest.mark.parametrize(
    ("env", "args", "line"),
    [
        ({}, ["groups", "add", "x", "--priority", "11"], "Invalid value for '--priority'"),
        (
            {"VKPIPE_VK_RPS_PER_TOKEN": "0"},
            ["groups", "list"],
            "vkpipe: error: VKPIPE_VK_RPS_PER_TOKEN: Input should be greater than or equal to 1",
        ),
        (
            {"VKPIPE_LOG_LEVEL": "LOUD"},
            ["groups", "list"],
            "vkpipe: error: VKPIPE_LOG_LEVEL: must be one of "
            "'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
        ),
        (
            {"VKPIPE_DATABASE_URL": "mysql://root@localhost/vk"},
            ["groups", "list"],
            "vkpipe: error: VKPIPE_DATABASE_URL: unsupported database 'mysql'; "
            "use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB",
        ),
    ],
    ids=["cli-argument", "rps-zero", "log-level", "database-url"],
)
def test_invalid_arguments_and_settings_exit_2_naming_them(
    crawled: tuple[Engine, Emulator],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    args: list[str],
    line: str,
) -> None:
    engine, emulator = crawled
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert line in err
    assert differences(engine, emulator.truth()) == []


KEYWORDS_CSV = """phrase,category,mode
пожар,ЧС,word_forms
,ЧС,word_forms
дорога,ЖКХ,fuzzy
ямы,ЖКХ,substring
"""


def test_keywords_csv_bad_rows_are_named_by_line_and_good_rows_kept(
    crawled: tuple[Engine, Emulator], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    engine, emulator = crawled
    assert cli(capsys, "keywords", "add", "авария", "--category", "ЧС")[0] == 0
    path = tmp_path / "keywords.csv"
    path.write_text(KEYWORDS_CSV, encoding="utf-8")
    code, out, err = cli(capsys, "keywords", "import", str(path))
    assert code == 1
    assert err.splitlines() == [
        f"vkpipe: error: {path}:3: the phrase is empty",
        f"vkpipe: error: {path}:4: mode must be one of word_forms, exact_word, substring, "
        "not 'fuzzy'",
    ]
    assert "2 added, 0 already there, 2 rejected" in out
    code, out, _ = cli(capsys, "keywords", "export")
    assert code == 0
    assert sorted(line.split(",")[0] for line in out.splitlines()[1:]) == ["авария", "пожар", "ямы"]
    assert differences(engine, emulator.truth()) == []


def test_export_to_an_unwritable_path_is_refused_naming_it(
    crawled: tuple[Engine, Emulator], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    engine, emulator = crawled
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    out_path = not_a_dir / "comments.csv"
    code, _, err = cli(capsys, "export", "--format", "csv", "--out", str(out_path))
    assert code == 2
    assert err.strip() == (
        f"vkpipe: error: cannot write {out_path}: directory {not_a_dir} does not exist"
    )
    assert differences(engine, emulator.truth()) == []


class FillsUp:
    """A file on a disk that fills after `room` bytes (ENOSPC), like a real full disk."""

    def __init__(self, path: Path, room: int) -> None:
        self.file = open(path, "xb")  # noqa: SIM115 (closed by the export through __exit__)
        self.room = room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.file.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)

    def __enter__(self) -> FillsUp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()


def test_full_disk_during_export_leaves_no_file_and_keeps_the_previous_one(
    crawled: tuple[Engine, Emulator],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    engine, emulator = crawled
    out_path = tmp_path / "comments.csv"
    assert cli(capsys, "export", "--format", "csv", "--out", str(out_path))[0] == 0
    previous = out_path.read_bytes()
    assert len(previous.splitlines()) > len(emulator.truth()["comments"])

    # The export module opens its temporary file with open(); that open now meets a full disk.
    monkeypatch.setattr(
        export_service, "open", lambda path, mode: FillsUp(Path(path), 4096), raising=False
    )
    code, _, err = cli(capsys, "export", "--format", "csv", "--out", str(out_path), "--force")
    assert code == 1
    assert [line for line in err.splitlines() if line.startswith("vkpipe: error:")] == [
        f"vkpipe: error: no space left on the device of {tmp_path}; {out_path} was not written"
    ]
    assert out_path.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []
    with engine.connect() as connection:
        stored = len(connection.execute(select(vk_comments.c.comment_id)).all())
    assert stored == len(emulator.truth()["comments"])
