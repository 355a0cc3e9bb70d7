"""Settings as users write them, and .env.example documenting every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from disparo.config import Settings, to_async_url
from disparo.providers.registry import build_registry, env_names, provider_settings
from tests.support import clean_settings

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
    settings = clean_settings(data_dir=Path("/tmp/x"))
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:////tmp/x/disparo.sqlite3"
    assert settings.redis_url == ""


def test_api_keys_are_comma_separated_and_outbound_key_falls_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISPARO_API_KEYS", " k1, k2 ,,")
    monkeypatch.delenv("DISPARO_WORDPRESS_API_KEY", raising=False)
    settings = clean_settings()
    assert [key.get_secret_value() for key in settings.api_keys] == ["k1", "k2"]
    assert settings.outbound_wordpress_key == "k1"
    assert "k1" not in repr(settings)  # secrets stay out of reprs and logs
    monkeypatch.setenv("DISPARO_WORDPRESS_API_KEY", "wp-master")
    assert clean_settings().outbound_wordpress_key == "wp-master"


def test_env_example_documents_every_setting() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0] for line in lines if line.startswith("DISPARO_")}
    base = {f"DISPARO_{name.upper()}" for name in Settings.model_fields}
    base.discard("DISPARO_PROVIDER_OVERRIDES")  # tests' and the demo's, not an operator's
    assert documented == base | set(env_names())


# Every provider variable as it was named when they were fields of the one Settings class:
# each must still reach its provider's settings (and its adapter) under the same name.
OLD_PROVIDER_VARIABLES = [
    "CDA_BATCH_SIZE",
    "CDA_TIMEOUT",
    "CDA_MAX_ATTEMPTS",
    "RCS_BATCH_SIZE",
    "RCS_TIMEOUT",
    "RCS_MAX_ATTEMPTS",
    "RCS_OTIMA_BATCH_SIZE",
    "RCS_OTIMA_TIMEOUT",
    "RCS_OTIMA_MAX_ATTEMPTS",
    "RCS_OTIMA_STATUS_CALLBACK_URL",
    "RCS_OTIMA_MO_CALLBACK_URL",
    "GOSAC_BATCH_SIZE",
    "GOSAC_TIMEOUT",
    "GOSAC_MAX_ATTEMPTS",
    "GOSAC_START_ENABLED",
    "GOSAC_START_DELAY",
    "GOSAC_START_TIMEOUT",
    "GOSAC_START_MAX_ATTEMPTS",
    "NOAH_BATCH_SIZE",
    "NOAH_TIMEOUT",
    "NOAH_MAX_ATTEMPTS",
    "SALESFORCE_BATCH_SIZE",
    "SALESFORCE_TIMEOUT",
    "SALESFORCE_MAX_ATTEMPTS",
    "SALESFORCE_API_VERSION",
    "SALESFORCE_EMPTY_CPF",
    "SALESFORCE_MKC_DELAY",
    "SALESFORCE_MKC_TIMEOUT",
    "SALESFORCE_MKC_MAX_ATTEMPTS",
    "SALESFORCE_MKC_RATE_LIMIT_WAITS",
]


def _a_value_unlike_the_default(default: object) -> tuple[str, object]:
    if isinstance(default, bool):
        return ("false", False) if default else ("true", True)
    if isinstance(default, int):
        return "7", 7
    if isinstance(default, float):
        return "7.5", 7.5
    return "valor-de-teste", "valor-de-teste"


@pytest.mark.parametrize("name", OLD_PROVIDER_VARIABLES)
def test_every_old_provider_variable_still_takes_effect(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = f"DISPARO_{name}"
    assert variable in env_names(), f"{variable} is no longer read"
    code, field = env_names()[variable]
    default = getattr(provider_settings(Settings(_env_file=None), code), field)
    raw, expected = _a_value_unlike_the_default(default)
    monkeypatch.setenv(variable, raw)
    settings = Settings(_env_file=None)
    assert getattr(provider_settings(settings, code), field) == expected
    adapter = build_registry(settings)[code]
    if field == "batch_size":
        assert adapter.batch_size() == expected
    if field == "max_attempts":
        assert adapter.max_attempts == expected


def test_tests_and_the_demo_override_a_provider_setting_by_code() -> None:
    settings = Settings(_env_file=None).with_provider("CDA", batch_size=3)
    assert provider_settings(settings, "CDA").batch_size == 3
    assert build_registry(settings)["CDA"].batch_size() == 3
    assert provider_settings(Settings(_env_file=None), "CDA").batch_size == 100_000
