"""The rows of a WordPress data answer (2.1), parsed while the body arrives.

A million-row answer is ~500 MB of JSON: parsed by ijson (even its C backend) that is most
of a dispatch's CPU. The answer is a bare array of flat objects written by json_encode, so
it is cut between two rows, at the last `}` `,` `{` of what has arrived, and each cut is
parsed whole by orjson (2.5 times faster here). A cut that is not between two rows (that
text inside a string, or objects nested in an array) cannot parse: what is before it ends
inside an open string or bracket. The last few cuts are tried; when none is between rows,
the rest of the answer, from the last good cut, goes to ijson, which is exact whatever the
shape, as does anything orjson refuses. A wrapped `{"data": [...]}` answer (Gen C may send
one) goes to ijson from the start. Integers beyond 64 bits (never in a WordPress answer,
whose values are strings) may come out as floats.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import ijson
import orjson

# Between two objects of the array, with json_encode's (none) or a pretty printer's spaces.
_BETWEEN_ROWS = re.compile(rb"\}\s*,\s*\{")
# Less than this arrived since the last cut: wait for more rather than parse a sliver.
_MIN_CUT = 256 * 1024
# Cuts tried, from the end, before the rest goes to ijson: each failed try parses the whole
# pending part again.
_CUTS_TRIED = 4


class RowsNotJson(ValueError):
    """The answer is not a JSON array of rows (nor the wrapped form)."""


async def parse_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """Each element of the answer's array (objects normally; the caller skips the rest)."""
    head = await _first_bytes(chunks)
    start = head.lstrip()
    if start[:1] != b"[":
        # Wrapped (or not JSON at all: ijson says why).
        async for row in _ijson_rows(head, chunks, "data.item" if start[:1] == b"{" else "item"):
            yield row
        return
    pending = bytearray(start[1:])
    async for chunk in chunks:
        pending += chunk
        if len(pending) < _MIN_CUT:
            continue
        rows, cut = _rows_before_last_cut(pending)
        if rows is None:  # not a cut between rows: ijson takes the rest, exactly
            async for row in _ijson_rows(b"[" + bytes(pending), chunks, "item"):
                yield row
            return
        del pending[:cut]
        for row in rows:
            yield row
    try:
        rows = orjson.loads(b"[" + pending)  # the last rows and the array's `]`
    except orjson.JSONDecodeError:  # broken, or beyond orjson (a 65-bit integer): ijson says
        rows = [row async for row in _ijson_rows(b"[" + bytes(pending), _nothing(), "item")]
    for row in rows:
        yield row


async def _first_bytes(chunks: AsyncIterator[bytes]) -> bytes:
    head = b""
    async for chunk in chunks:
        head += chunk
        if head.strip():
            break
    return head


def _rows_before_last_cut(pending: bytearray) -> tuple[list[Any] | None, int]:
    """The rows before the last `},{` of `pending` that is between two rows, and where the
    next row starts (that `{`). ([], 0) when there is no cut yet; (None, 0) when none of the
    last few is between rows (a row's text full of `},{`: ijson takes over)."""
    cuts = _cuts_from_the_end(pending)
    if not cuts:
        return [], 0
    for close, next_row in cuts[:_CUTS_TRIED]:
        try:
            return orjson.loads(b"[" + pending[: close + 1] + b"]"), next_row
        except orjson.JSONDecodeError:
            continue  # inside a string: an earlier one may be between rows
    return None, 0


def _cuts_from_the_end(pending: bytearray) -> list[tuple[int, int]]:
    """(index of the `}`, index of the `{`) of the last few `},{`, the last first."""
    window = 4096
    while True:
        start = max(0, len(pending) - window)
        found = [(m.start(), m.end() - 1) for m in _BETWEEN_ROWS.finditer(pending, start)]
        if len(found) >= _CUTS_TRIED or start == 0:
            return found[::-1]
        window *= 4


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield


async def _ijson_rows(head: bytes, chunks: AsyncIterator[bytes], prefix: str) -> AsyncIterator[Any]:
    try:
        async for row in ijson.items_async(_Prefixed(head, chunks), prefix, use_float=True):
            yield row
    except ijson.JSONError as exc:
        raise RowsNotJson(str(exc)) from exc


class _Prefixed:
    """An async file-like object for ijson: `head`, then the rest of the chunks."""

    def __init__(self, head: bytes, chunks: AsyncIterator[bytes]) -> None:
        self._buffer = head
        self._chunks = chunks

    async def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) to learn bytes vs str
            return b""
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        return await anext(self._chunks, b"")
