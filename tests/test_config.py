"""Settings as users write them, and .env.example documenting every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from disparo.config import Settings, to_async_url

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/disparo", "postgresql+asyncpg://u:p@db:5432/disparo"),
        ("postgres://u@db/disparo", "postgresql+asyncpg://u@db/disparo"),
        ("sqlite:///var/disparo.sqlite3", "sqlite+aiosqlite:///var/disparo.sqlite3"),
        ("sqlite:////abs/path.db", "sqlite+aiosqlite:////abs/path.db"),
        ("postgresql+asyncpg://u@db/x", "postgresql+asyncpg://u@db/x"),
    ],
)
def test_database_urls_as_users_write_them(url: str, expected: str) -> None:
    assert to_async_url(url) == expected


def test_a_database_url_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ValueError, match="DISPARO_DATABASE_URL"):
        to_async_url("localhost")


def test_embedded_default_is_a_sqlite_file_under_the_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISPARO_DATABASE_URL", raising=False)
    settings = Settings(data_dir=Path("/tmp/x"), _env_file=None)
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:////tmp/x/disparo.sqlite3"
    assert settings.redis_url == ""


def test_api_keys_are_comma_separated_and_outbound_key_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPARO_API_KEYS", " k1, k2 ,,")
    monkeypatch.delenv("DISPARO_WORDPRESS_API_KEY", raising=False)
    settings = Settings(_env_file=None)
    assert [key.get_secret_value() for key in settings.api_keys] == ["k1", "k2"]
    assert settings.outbound_wordpress_key == "k1"
    assert "k1" not in repr(settings)  # secrets stay out of reprs and logs
    monkeypatch.setenv("DISPARO_WORDPRESS_API_KEY", "wp-master")
    assert Settings(_env_file=None).outbound_wordpress_key == "wp-master"


def test_env_example_documents_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0] for line in lines if line.startswith("DISPARO_")}
    assert documented == {f"DISPARO_{name.upper()}" for name in Settings.model_fields}
