"""Secrets never reach the logs: the masking processor, through the configured pipeline."""

from __future__ import annotations

import json

import pytest
import structlog

from disparo.config import Settings
from disparo.logs import MASK, configure_logging


@pytest.mark.parametrize(
    "field",
    ["api_key", "chave_api", "token", "password", "client_secret", "Authorization", "credentials"],
)
def test_secret_fields_are_masked(field: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json"))
    structlog.get_logger("t").info("event", **{field: "s3cr3t-value"}, campaign_id="c1")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line[field] == MASK
    assert line["campaign_id"] == "c1"
    assert "s3cr3t-value" not in json.dumps(line)


def test_nested_secret_fields_are_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json"))
    structlog.get_logger("t").info("event", body={"chave_api": "s3cr3t", "nome": "campanha_1"})
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["body"] == {"chave_api": MASK, "nome": "campanha_1"}


def test_bound_campaign_context_is_on_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(log_format="json"))
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
