"""Secrets never reach the logs: the masking processor, through the configured pipeline."""

from __future__ import annotations

import json

import pytest
import structlog
from pydantic import SecretStr

from disparo.logs import (
    MASK,
    body_excerpt,
    configure_logging,
    mask_text,
    remember_settings_secrets,
)
from tests.support import clean_settings


@pytest.mark.parametrize(
    "field",
    ["api_key", "chave_api", "token", "password", "client_secret", "Authorization", "credentials"],
)
def test_secret_fields_are_masked(field: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(clean_settings(log_format="json"))
    structlog.get_logger("t").info("event", **{field: "s3cr3t-value"}, campaign_id="c1")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line[field] == MASK
    assert line["campaign_id"] == "c1"
    assert "s3cr3t-value" not in json.dumps(line)


def test_nested_secret_fields_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(clean_settings(log_format="json"))
    structlog.get_logger("t").info("event", body={"chave_api": "s3cr3t", "nome": "campanha_1"})
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["body"] == {"chave_api": MASK, "nome": "campanha_1"}


def test_bound_campaign_context_is_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(clean_settings(log_format="json"))
    with structlog.contextvars.bound_contextvars(
        campaign_id="c1", agendamento_id="C2025", provider="CDA"
    ):
        structlog.get_logger("t").info("one")
        structlog.get_logger("t").warning("two")
    lines = [json.loads(raw) for raw in capsys.readouterr().out.strip().splitlines()[-2:]]
    for line in lines:
        assert (line["campaign_id"], line["agendamento_id"], line["provider"]) == (
            "c1",
            "C2025",
            "CDA",
        )


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('{"chave_api": "k-123", "nome": "x"}', "k-123"),
        ('{"api_key":"k-123"}', "k-123"),
        ('{"access_token": "tok.en", "expires_in": 3600}', "tok.en"),
        ('{"client_secret": 9876543210}', "9876543210"),
        ("grant_type=client_credentials&client_secret=k-123&x=1", "k-123"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ('{"password": "with \\"quote\\" inside"}', "quote"),
    ],
)
def test_secrets_inside_a_body_are_masked(text: str, secret: str) -> None:
    masked = mask_text(text)
    assert secret not in masked
    assert MASK in masked


def test_a_body_is_cut_to_the_limit_and_a_secret_cut_in_half_is_still_masked() -> None:
    body = b'{"nome": "campanha", "chave_api": "' + b"S" * 50 + b'", "mensagens": []}'
    cut_inside_the_key = body.index(b"SSSS") + 10
    excerpt = body_excerpt(body, cut_inside_the_key)
    assert "S" * 3 not in excerpt and MASK in excerpt
    assert excerpt.endswith(f"… (of {len(body)})")
    assert body_excerpt(b'{"ok": true}', 100) == '{"ok": true}'


def test_a_named_inbound_key_is_masked_by_its_bare_value() -> None:
    # DISPARO_API_KEYS holds `NAME:SCOPES:KEY`; what a client sends, and what would be
    # logged, is KEY alone.
    entries = ["wp:dispatch+read:named-inbound-secret-41", "bad:nosuchscope:malformed-secret-42"]
    remember_settings_secrets(clean_settings(api_keys=[SecretStr(e) for e in entries]))
    text = "X-API-KEY named-inbound-secret-41 and malformed-secret-42 and wp:dispatch+read"
    assert mask_text(text) == f"X-API-KEY {MASK} and {MASK} and wp:dispatch+read"
