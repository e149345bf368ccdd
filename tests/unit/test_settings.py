"""Settings: defaults, parsing, one-line errors naming the variable, secrets kept out of reprs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from parser_pipeline.errors import ConfigError
from parser_pipeline.settings import Settings, load_settings

TOKEN = "vk1.a.SETTINGS-SECRET-91c2"


def test_defaults_are_the_embedded_mode() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///vkpipe.db"
    assert settings.embedded is True
    assert settings.vk_api_url == "https://api.vk.ru/method"
    assert settings.vk_api_version == "5.199"
    assert settings.vk_rps_per_token == 3
    assert settings.tokens() == ()


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VKPIPE_BROKER_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("VKPIPE_VK_TOKENS", f"{TOKEN}, second-token ,")
    monkeypatch.setenv("VKPIPE_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.embedded is False
    assert [t.get_secret_value() for t in settings.tokens()] == [TOKEN, "second-token"]
    assert settings.log_level == "DEBUG"


def test_reads_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("VKPIPE_VK_RPS_PER_TOKEN=20\n", encoding="utf-8")
    assert load_settings().vk_rps_per_token == 20


def test_tokens_file_is_merged_and_deduplicated(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(f"{TOKEN}\n\nfile-token\n", encoding="utf-8")
    settings = load_settings(vk_tokens=TOKEN, vk_tokens_file=path)
    assert [t.get_secret_value() for t in settings.tokens()] == [TOKEN, "file-token"]


def test_missing_tokens_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^VKPIPE_VK_TOKENS_FILE: cannot read .*missing\.txt"):
        load_settings(vk_tokens_file=tmp_path / "missing.txt")


def test_bare_postgresql_url_means_psycopg3() -> None:
    settings = load_settings(database_url="postgresql://postgres@127.0.0.1:5432/test")
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert settings.is_postgres


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("VKPIPE_DATABASE_URL", "mysql://root@localhost/x", r"^VKPIPE_DATABASE_URL: unsupported"),
        ("VKPIPE_DATABASE_URL", "not a url", r"^VKPIPE_DATABASE_URL: not a database URL"),
        ("VKPIPE_DATABASE_URL", "postgresql+asyncpg://h/db", r"^VKPIPE_DATABASE_URL: unsupported"),
        ("VKPIPE_VK_RPS_PER_TOKEN", "0", r"^VKPIPE_VK_RPS_PER_TOKEN: .*greater than or equal to 1"),
        ("VKPIPE_VK_RPS_PER_TOKEN", "three", r"^VKPIPE_VK_RPS_PER_TOKEN: .*valid integer"),
        ("VKPIPE_LOG_FORMAT", "xml", r"^VKPIPE_LOG_FORMAT: must be one of 'auto', 'console' or"),
        ("VKPIPE_LOG_LEVEL", "loud", r"^VKPIPE_LOG_LEVEL: must be one of 'DEBUG'"),
        ("VKPIPE_VK_API_URL", "ftp://x", r"^VKPIPE_VK_API_URL: must be an http\(s\) URL"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_secrets_stay_out_of_repr_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VKPIPE_VK_TOKENS", TOKEN)
    monkeypatch.setenv("VKPIPE_DATABASE_URL", "postgresql+psycopg://u:DB-PASS-77@h/db")
    settings = load_settings()
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert "DB-PASS-77" not in repr(settings)
    assert "DB-PASS-77" not in settings.database_url_for_display
    assert set(settings.secret_values()) == {TOKEN, "DB-PASS-77"}
    monkeypatch.setenv("VKPIPE_VK_RPS_PER_TOKEN", "-1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert TOKEN not in str(caught.value)


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.vk_rps_per_token = 5  # type: ignore[misc]


def test_password_files_go_into_the_urls_url_encoded(tmp_path: Path) -> None:
    (tmp_path / "pg").write_text("p@ss:w/rd#%\n")
    (tmp_path / "redis").write_text("r:@/?\n")
    settings = load_settings(
        database_url="postgresql+psycopg://vkpipe@db:5432/vkpipe",
        database_password_file=tmp_path / "pg",
        broker_url="redis://redis:6379/0",
        redis_url="redis://:own@redis:6379/2",
        redis_password_file=tmp_path / "redis",
    )
    assert make_url(settings.database_url).password == "p@ss:w/rd#%"
    assert make_url(settings.database_url).host == "db"
    assert settings.broker_url == "redis://:r%3A%40%2F%3F@redis:6379/0"
    assert settings.redis_url == "redis://:own@redis:6379/2"  # a password of its own stays
    assert {"p@ss:w/rd#%", "r:@/?"} <= set(settings.secret_values())
    assert "p@ss" not in settings.database_url_for_display


def test_unreadable_secret_file_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^VKPIPE_REDIS_PASSWORD_FILE: cannot read"):
        load_settings(redis_password_file=tmp_path / "missing")


def test_required_queues_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VKPIPE_HEALTH_REQUIRED_QUEUES", "fetch, analyze")
    assert load_settings().health_required_queues == ("fetch", "analyze")
    monkeypatch.setenv("VKPIPE_HEALTH_REQUIRED_QUEUES", "fetch,mail")
    with pytest.raises(ConfigError, match="VKPIPE_HEALTH_REQUIRED_QUEUES: unknown queue 'mail'"):
        load_settings()


def test_flower_credentials_from_the_variable_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "auth").write_text("b:2\n")
    settings = load_settings(flower_basic_auth="a:1", flower_basic_auth_file=tmp_path / "auth")
    assert settings.flower_credentials() == ("a:1", "b:2")
    assert {"1", "2"} <= set(settings.secret_values())
