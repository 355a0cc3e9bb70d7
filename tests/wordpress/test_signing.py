"""Webhook signatures: what disparo sends is what the plugin (and `verify`) accepts."""

from __future__ import annotations

import time

import httpx
import orjson

from disparo.http_server import start_server
from disparo.sim.wordpress import WordPressSimulator
from disparo.wordpress.client import WordPressClient
from disparo.wordpress.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
    signature_headers,
    verify,
)

# The same vector is checked by the plugin's tests (WebhookTest::testSignatureVector).
VECTOR = "sha256=e9232c9945da8456c2dea6b39da7786c07b00bca7a64d5dd1283674713a7b72a"
BODY = b'{"agendamento_id":"C20250115093000","status":"enviado"}'
# A body as disparo sends it now (with `sequencia`); WebhookTest::testSignatureVector too.
NUMBERED = b'{"agendamento_id":"C20250115093000","status":"enviado","sequencia":2}'
NUMBERED_VECTOR = "sha256=c55831e4325ab05138ac18be7a1b377f884ff7fb7e03aec248dc30ff22233e47"


def test_no_secret_no_headers() -> None:
    assert signature_headers("", BODY) == {}


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    # Fixed vector, so the PHP side (hash_hmac('sha256', "1700000000.{body}", 's')) can match.
    assert signature("s", 1_700_000_000, b"{}") == VECTOR
    assert signature("segredo", 1_700_000_000, NUMBERED) == NUMBERED_VECTOR
    headers = signature_headers("segredo", BODY, now=1_700_000_000)
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    assert headers[SIGNATURE_HEADER] == signature("segredo", 1_700_000_000, BODY)


def test_verify_accepts_fresh_and_refuses_tampered_stale_or_foreign() -> None:
    now = time.time()
    headers = signature_headers("segredo", BODY, now=now)
    assert verify("segredo", headers, BODY, now=now + 10, tolerance=300)
    assert not verify("segredo", headers, BODY.replace(b"enviado", b"erro"), now, 300)
    assert not verify("segredo", headers, BODY, now=now + 301, tolerance=300)
    assert not verify("outro", headers, BODY, now=now, tolerance=300)
    assert not verify("segredo", {}, BODY, now=now, tolerance=300)
    # Not a TypeError (non-ASCII str) nor a ValueError ("²" is a digit int() refuses).
    assert not verify("segredo", {**headers, SIGNATURE_HEADER: "sha256=é"}, BODY, now, 300)
    assert not verify("segredo", {**headers, TIMESTAMP_HEADER: "²"}, BODY, now, 300)


async def test_the_client_signs_each_attempt_over_the_exact_bytes_it_sends() -> None:
    simulator = WordPressSimulator(master_key="mk")
    simulator.seed_campaign("C20250115093000", 1)
    server = await start_server(simulator.app)
    try:
        async with httpx.AsyncClient() as http:
            client = WordPressClient(http, server.url, "mk", webhook_secret="segredo")
            payload = {"agendamento_id": "C20250115093000", "status": "enviado"}
            outcome = await client.post_status(payload)
    finally:
        await server.stop()
    assert outcome.delivered
    [received] = simulator.webhooks
    assert received.raw == orjson.dumps(payload)
    assert verify("segredo", received.headers, received.raw, now=time.time(), tolerance=60)
