"""The per-campaign callback token: derived from the server secret, naming one campaign,
checked without the database, masked wherever its URL is written; and the Ótima requests
carry the campaign's URLs only when disparo has a public address."""

from __future__ import annotations

import dataclasses
import logging
import uuid

from pydantic import SecretStr

from disparo.campaigns.callback_tokens import callback_urls, campaign_of_token, token_for
from disparo.logs import MaskingFilter
from disparo.production import config_problems
from disparo.providers.base import BatchRequest, Recipient
from disparo.providers.rcs_otima.adapter import OtimaProvider
from disparo.providers.whatsapp_otima.mapper import build_body, campaign_of
from disparo.redaction import mask_text
from tests.support import clean_settings

SETTINGS = clean_settings(
    public_url="https://disparo.example.com/", callback_secret=SecretStr("s" * 40)
)


def test_a_token_names_its_campaign_and_nothing_else() -> None:
    ours, other = uuid.uuid4(), uuid.uuid4()
    token = token_for(SETTINGS, ours)
    assert campaign_of_token(SETTINGS, token) == ours
    assert token_for(SETTINGS, ours) == token  # derived: every batch and process agree
    rotated = SETTINGS.model_copy(update={"callback_secret": SecretStr("t" * 40)})
    mac = token.split(".")[1]
    for wrong in (
        f"{other.hex}.{mac}",  # our MAC on another campaign
        f"{ours.hex}.{token_for(SETTINGS, other).split('.')[1]}",
        token[:-1],
        token + "A",
        f"{ours.hex}.{mac.replace(mac[0], 'é')}",  # not ASCII
        ours.hex,
        "",
        "x.y",
    ):
        assert campaign_of_token(SETTINGS, wrong) is None, wrong
    assert campaign_of_token(rotated, token) is None


def test_the_urls_and_their_masking() -> None:
    campaign = uuid.uuid4()
    status, mo = callback_urls(SETTINGS, campaign)
    token = token_for(SETTINGS, campaign)
    assert status == f"https://disparo.example.com/callbacks/otima/{token}/status"
    assert mo == f"https://disparo.example.com/callbacks/otima/{token}/mo"
    logged = mask_text(f'{{"url_callback_status":"{status}","url_callback_mo":"{mo}"}}')
    assert token not in logged and token.split(".")[1] not in logged
    assert "/callbacks/otima/***/status" in logged and "/callbacks/otima/***/mo" in logged
    assert callback_urls(clean_settings(), campaign) == ("", "")


def test_production_wants_a_secret_with_a_public_url() -> None:
    unsafe = clean_settings(env="production", public_url="https://disparo.example.com")
    assert any(p.startswith("DISPARO_CALLBACK_SECRET") for p in config_problems(unsafe))
    assert not any(
        p.startswith("DISPARO_CALLBACK_SECRET")
        for p in config_problems(SETTINGS.model_copy(update={"env": "production"}))
    )


ROW = Recipient(1, "5511900000001", "CLIENTE", "11111111111", "77", "1001", "500001",
                '{"template_code": "modelo_v1", "broker_code": "5511999990000"}', None)  # fmt: skip


def test_whatsapp_messages_carry_the_urls_only_when_given() -> None:
    campaign = campaign_of(ROW.message, {"customer_code": "77"})
    plain = build_body(campaign, [ROW])["messages"][0]
    assert "url_callback_status" not in plain and "url_callback_mo" not in plain
    both = build_body(campaign, [ROW], callbacks=("http://h/s", "http://h/m"))["messages"][0]
    assert (both.get("url_callback_status"), both.get("url_callback_mo")) == (
        "http://h/s",
        "http://h/m",
    )


def test_rcs_prefers_the_campaigns_urls_to_the_fixed_ones() -> None:
    provider = OtimaProvider(
        batch_size=10, timeout=1, max_attempts=1, callbacks=("https://fixed/s", "")
    )
    batch = BatchRequest("O1", "1001", 0, [ROW])
    assert provider._callbacks_of(batch) == ("https://fixed/s", "")
    own = dataclasses.replace(batch, callback_urls=("https://own/s", "https://own/m"))
    assert provider._callbacks_of(own) == ("https://own/s", "https://own/m")


def test_an_access_log_line_shows_no_token() -> None:
    """`disparo serve` writes no access log; one turned on (uvicorn's, a proxy's format)
    still goes through the masking filter every stdlib handler gets."""
    token = token_for(SETTINGS, uuid.uuid4())
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", f"/callbacks/otima/{token}/status", "1.1", 200),
        None,
    )  # fmt: skip
    MaskingFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "POST /callbacks/otima/***/status HTTP/1.1" 200'
