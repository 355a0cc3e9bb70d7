"""The texts of the SMS fallback: a message's own fallback, and what an SMS re-send says."""

from __future__ import annotations

import json

import pytest

from disparo.providers.text import fallback_text, sms_text

TEMPLATE = {"template_code": "t", "variables": {"nome": "A"}}

CASES = [
    # mensagem -> (fallback_text, sms_text)
    ("Olá, proposta.", ("", "Olá, proposta.")),
    (json.dumps({"original_message": "Texto", "tracking_data": {}}), ("", "Texto")),
    (json.dumps({**TEMPLATE, "fallback": "Curto"}), ("Curto", "Curto")),
    (json.dumps({**TEMPLATE, "fallback": {"type": "SMS", "message": " Obj "}}), ("Obj", "Obj")),
    (json.dumps({**TEMPLATE, "original_message": "Orig", "fallback": ""}), ("", "Orig")),
    # a template with no text at all: nothing an SMS could say
    (json.dumps(TEMPLATE), ("", "")),
    (json.dumps({**TEMPLATE, "fallback": 12}), ("", "")),
    ("{não é json", ("", "{não é json")),
    ("", ("", "")),
]


@pytest.mark.parametrize(("mensagem", "expected"), CASES)
def test_fallback_and_sms_text(mensagem: str, expected: tuple[str, str]) -> None:
    assert (fallback_text(mensagem), sms_text(mensagem)) == expected
