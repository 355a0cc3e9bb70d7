"""The data answer's rows, cut between rows and parsed by orjson, are exactly what ijson
parses, whatever the chunking: rows whose text holds `},{`, nested arrays of objects,
pretty-printed JSON, non-object elements, the wrapped form; and broken JSON is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disparo.wordpress import row_stream
from disparo.wordpress.row_stream import RowsNotJson, parse_rows


async def _chunked(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def _parsed(body: bytes, size: int = 65536) -> list[Any]:
    return [row async for row in parse_rows(_chunked(body, size))]


def _row(i: int, text: str = "Olá, temos uma proposta.") -> dict[str, Any]:
    return {
        "id": str(i),
        "telefone": f"55119{i:08d}",
        "nome": f"CLIENTE {i}",
        "mensagem": text,
        "variables": {"nome": f"CLIENTE {i}", "extra": {"a": "1"}},
    }


@pytest.fixture(autouse=True)
def small_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Cuts every few hundred bytes, so a short test answer takes many of them.
    monkeypatch.setattr(row_stream, "_MIN_CUT", 300)


@pytest.mark.parametrize("size", [1, 7, 64, 1000, 65536])
async def test_rows_come_out_as_sent_whatever_the_chunking(size: int) -> None:
    rows = [_row(i) for i in range(200)]
    assert await _parsed(orjson.dumps(rows), size) == rows


@pytest.mark.parametrize(
    "text",
    [
        'dois objetos "},{" no texto',
        "},{},{},{",
        '\\"},{\\"',  # escaped quotes around the cut
        '{"a": 1}, {"b": 2}',
    ],
)
async def test_a_cut_inside_a_row_text_is_never_taken(text: str) -> None:
    rows = [_row(i, text) for i in range(100)]
    assert await _parsed(orjson.dumps(rows), 97) == rows


async def test_nested_arrays_of_objects_and_pretty_printing() -> None:
    rows: list[Any] = [
        {**_row(i), "lista": [{"x": i}, {"y": [{"z": 1}, {"z": 2}]}]} for i in range(80)
    ]
    rows += ["texto", 5, 2.5, None, [1, {"a": 2}], True]  # not objects: the caller skips them
    body = json.dumps(rows, indent=2, ensure_ascii=False).encode()
    assert await _parsed(body, 128) == rows


async def test_empty_and_wrapped_answers() -> None:
    assert await _parsed(b"  []  ") == []
    rows = [_row(i) for i in range(50)]
    assert await _parsed(orjson.dumps({"data": rows}), 100) == rows


@pytest.mark.parametrize(
    "body",
    [
        b"<html>erro</html>",
        orjson.dumps([_row(i) for i in range(50)])[:-40],  # cut short
        orjson.dumps([_row(i) for i in range(50)]) + b" lixo",
        b'[{"a": 1},, {"b": 2}]',
    ],
)
async def test_broken_json_is_refused(body: bytes) -> None:
    with pytest.raises(RowsNotJson):
        await _parsed(body, 50)


_texts = st.text(alphabet=st.sampled_from(list('{},[]": \\ab\n')), max_size=30)
_values = st.recursive(
    # Within 62 bits: beyond, orjson and ijson (yajl) each refuse some integers (never in a
    # WordPress answer, whose values are strings).
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | _texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.dictionaries(_texts, _values, max_size=4) | _values, max_size=30),
    size=st.integers(min_value=1, max_value=200),
    indent=st.sampled_from([None, 1]),
)
async def test_any_array_parses_as_json_does(
    rows: list[Any], size: int, indent: int | None
) -> None:
    body = json.dumps(rows, indent=indent).encode()
    assert await _parsed(body, size) == json.loads(body)
