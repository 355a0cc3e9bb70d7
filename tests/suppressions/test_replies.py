"""The opt-out reply matcher: the whole reply must be one of the words."""

from __future__ import annotations

import pytest

from disparo.suppressions.replies import DEFAULT_OPT_OUT_WORDS, is_opt_out, opt_out_words

WORDS = opt_out_words(DEFAULT_OPT_OUT_WORDS)


@pytest.mark.parametrize(
    "reply",
    ["SAIR", "sair", " Parar ", "parar!", "STOP.", "Cancelar", "descadastrar", "DESCADASTRÁR",
     "  sáir\n", "¡Parár!", "*STOP*", "stop 🙏"],
)  # fmt: skip
def test_opt_out_words_match_ignoring_case_accents_and_punctuation(reply: str) -> None:
    assert is_opt_out(reply, WORDS)


@pytest.mark.parametrize(
    "reply",
    ["", "   ", "não quero parar", "sair daqui", "STOPP", "paraR agora", "obrigado", "s a i r"],
)
def test_other_replies_do_not_match(reply: str) -> None:
    assert not is_opt_out(reply, WORDS)


def test_the_list_is_configurable() -> None:
    words = opt_out_words(["Não quero", " remover "])
    assert is_opt_out("nao QUERO!", words) and is_opt_out("Remover", words)
    assert not is_opt_out("sair", words)
