"""Named keys with scopes, and the production verdict (`disparo check-config`, and what stops
`serve`/`worker` from starting)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from disparo.apikeys import ALL_SCOPES, KeyConfigError, Scope, find_key, parse_keys
from disparo.config import Settings
from disparo.production import config_problems

DISPARO = str(Path(sys.executable).with_name("disparo"))
LONG_WP = "w" * 40
LONG_OPS = "o" * 40


def test_named_keys_with_scopes_and_bare_keys_with_every_scope() -> None:
    keys = parse_keys(
        ["wp:dispatch+read:abc", "ops:read+operate+dashboard:d:e:f", "bare", "x:all:y"]
    )
    assert [(k.name, k.secret) for k in keys] == [
        ("wp", "abc"),
        ("ops", "d:e:f"),  # a key may contain ':' after its name and scopes
        ("key3", "bare"),
        ("x", "y"),
    ]
    assert keys[0].scopes == {Scope.DISPATCH, Scope.READ}
    assert keys[1].scopes == {Scope.READ, Scope.OPERATE, Scope.DASHBOARD}
    assert keys[2].scopes == ALL_SCOPES and keys[3].scopes == ALL_SCOPES
    assert find_key(keys, " abc ") is keys[0]
    assert find_key(keys, "ab") is None and find_key(keys, "") is None


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["ops:read+opreate:secret-value"], "unknown scope(s) opreate"),
        (["a:read:secret-one", "a:dispatch:secret-two"], "used twice: a"),
        (["a:read:"], "'a' has an empty key"),
    ],
)
def test_a_malformed_key_list_is_refused_without_showing_a_key(
    entries: list[str], message: str
) -> None:
    with pytest.raises(KeyConfigError) as refused:
        parse_keys(entries)
    assert message in str(refused.value)
    assert "secret" not in str(refused.value)


def _production(**values: Any) -> Settings:
    base: dict[str, Any] = {
        "env": "production",
        "api_keys": [SecretStr(f"wp:dispatch:{'k' * 32}"), SecretStr(f"ops:all:{LONG_OPS}")],
        "wordpress_api_key": SecretStr(LONG_WP),
        "webhook_secret": SecretStr("s" * 32),
        "dashboard_secret": SecretStr("d" * 32),
    }
    return Settings.model_construct(**(Settings(_env_file=None).model_dump() | base | values))


def test_production_with_safe_settings_starts() -> None:
    assert config_problems(_production()) == []


def test_production_names_each_unsafe_setting_on_its_own_line() -> None:
    unsafe = _production(
        api_keys=[SecretStr("short"), SecretStr(f"ops:all:{LONG_WP}")],
        webhook_secret=None,
        dashboard_secret=SecretStr(""),
        dashboard_secure_cookie=False,
        heartbeat_ttl=10.0,
    )
    assert config_problems(unsafe) == [
        "DISPARO_API_KEYS: key 'key1' is shorter than 32 characters",
        "DISPARO_WORDPRESS_API_KEY: equals inbound key 'ops' of DISPARO_API_KEYS",
        "DISPARO_WEBHOOK_SECRET: not set (webhooks to WordPress go unsigned)",
        "DISPARO_DASHBOARD_SECRET: not set",
        "DISPARO_OUTBOUND_UNACKED_TIMEOUT: not below DISPARO_HEARTBEAT_TTL (a request cut off"
        " mid-way could reach the provider after its batch was judged)",
        "DISPARO_DASHBOARD_SECURE_COOKIE: false (the session cookie needs HTTPS)",
    ]
    no_outbound = config_problems(_production(wordpress_api_key=None))
    assert no_outbound == ["DISPARO_WORDPRESS_API_KEY: not set (the key disparo sends WordPress)"]
    # Development accepts all of it (the dev stack, the demo, the tests).
    assert config_problems(unsafe.model_copy(update={"env": "development"})) == []


def test_production_never_falls_back_to_an_inbound_key_and_the_cookie_is_secure() -> None:
    settings = _production(wordpress_api_key=None)
    assert settings.outbound_wordpress_key == ""
    assert settings.secure_cookie is True
    development = settings.model_copy(update={"env": "development"})
    assert development.outbound_wordpress_key == "k" * 32  # the first inbound key
    assert development.secure_cookie is False


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPARO_")}
    return env | {"COLUMNS": "80", **values}


def test_check_config_and_serve_refuse_unsafe_production_settings(tmp_path: Path) -> None:
    env = _env(
        DISPARO_DATA_DIR=str(tmp_path),
        DISPARO_API_KEYS=f"wp:dispatch:{'k' * 40},short-one",
        DISPARO_WORDPRESS_API_KEY="k" * 40,
        DISPARO_DASHBOARD_SECURE_COOKIE="false",
    )  # DISPARO_ENV unset: production is the default
    checked = subprocess.run(
        [DISPARO, "check-config"], env=env, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    for expected in (
        "  - DISPARO_API_KEYS: key 'key2' is shorter than 32 characters",
        "  - DISPARO_WORDPRESS_API_KEY: equals inbound key 'wp' of DISPARO_API_KEYS",
        "  - DISPARO_WEBHOOK_SECRET: not set (webhooks to WordPress go unsigned)",
        "  - DISPARO_DASHBOARD_SECRET: not set",
        "  - DISPARO_DASHBOARD_SECURE_COOKIE: false (the session cookie needs HTTPS)",
    ):
        assert expected in lines, checked.stdout
    assert "k" * 40 not in checked.stdout and "short-one" not in checked.stdout
    for command in (["serve", "--port", "1"], ["worker"]):
        started = subprocess.run(
            [DISPARO, *command], env=env, capture_output=True, text=True, timeout=60
        )
        assert started.returncode == 1 and "DISPARO_DASHBOARD_SECRET: not set" in started.stdout
    fine = env | {
        "DISPARO_DASHBOARD_SECURE_COOKIE": "",  # unset: Secure outside development
        "DISPARO_WORDPRESS_API_KEY": "w" * 40,
        "DISPARO_API_KEYS": f"wp:dispatch:{'k' * 40}",
        "DISPARO_WEBHOOK_SECRET": "s" * 32,
        "DISPARO_DASHBOARD_SECRET": "d" * 32,
    }
    accepted = subprocess.run(
        [DISPARO, "check-config"], env=fine, capture_output=True, text=True, timeout=60
    )
    assert accepted.returncode == 0 and "configuration accepted" in accepted.stdout
    dev = subprocess.run(
        [DISPARO, "check-config"],
        env=env | {"DISPARO_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dev.returncode == 0, dev.stdout
