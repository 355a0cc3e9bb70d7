"""The guarded transport against real loopback servers: SSRF refusals with no connection
made, redirects checked per hop, byte caps after decompression, one overall deadline."""

from __future__ import annotations

import asyncio
import functools
import gzip
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from disparo.net import OutboundPolicy, OutboundRefused, ResponseTooLarge, calling
from disparo.net.transport import GuardedTransport
from disparo.providers.base import OutcomeUnknownError, RejectedError
from disparo.providers.http import post_json

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    def __init__(self) -> None:
        self.connections = 0
        self.port = 0


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[RawServer]:
    """A TCP server on loopback that counts connections and answers with `handler`."""
    state = RawServer()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()


def answer(body: bytes, status: str = "200 OK", headers: str = "") -> Handler:
    async def handler(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
        writer.write(head.encode() + body)
        await writer.drain()

    return handler


def client(
    policy: OutboundPolicy, *, max_bytes: int = 1_048_576, follow_redirects: bool = False
) -> httpx.AsyncClient:
    transport = GuardedTransport(policy, max_response_bytes=max_bytes)
    return httpx.AsyncClient(transport=transport, follow_redirects=follow_redirects)


DEV_STRICT = OutboundPolicy.trusting(allow_private=False, enforce_hosts=False)
DEV_OPEN = OutboundPolicy.trusting(allow_private=True, enforce_hosts=False)


LOOPBACK_FORMS = [
    "localhost",
    "127.0.0.1",
    "[::ffff:127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::1]",
    "[::7f00:1]",
    "[::ffff:0:7f00:1]",
]


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
async def test_loopback_is_refused_after_resolution_without_connecting(host: str) -> None:
    async with raw_server(answer(b"internal")) as server, client(DEV_STRICT) as http:
        with pytest.raises(OutboundRefused) as refused:
            await http.get(f"http://{host}:{server.port}/admin")
    assert "recusado" in refused.value.message and host.strip("[]") in refused.value.message
    assert server.connections == 0


async def test_the_same_server_is_reached_when_private_addresses_are_allowed() -> None:
    async with raw_server(answer(b"ok")) as server, client(DEV_OPEN) as http:
        response = await http.get(f"http://localhost:{server.port}/")
    assert response.text == "ok" and server.connections == 1


async def test_each_outbound_connection_drops_bytes_left_unacknowledged() -> None:
    transport = GuardedTransport(DEV_OPEN, max_response_bytes=1024, unacked_timeout=2.5)
    async with raw_server(answer(b"ok")) as server, httpx.AsyncClient(transport=transport) as http:
        url = f"http://127.0.0.1:{server.port}/"
        async with http.stream("GET", url) as response:
            sock = response.extensions["network_stream"].get_extra_info("socket")
            limit_ms = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
    assert limit_ms == 2500


async def test_metadata_addresses_are_refused_even_when_private_is_allowed() -> None:
    async with client(DEV_OPEN) as http:
        with pytest.raises(OutboundRefused, match="metadados"):
            await http.get("http://169.254.169.254/latest/meta-data/")


async def test_production_allows_only_the_providers_hosts_over_https() -> None:
    policy = OutboundPolicy.trusting(
        allow_private=False, enforce_hosts=True, provider_hosts={"GOSAC": ["*.gosac.example"]}
    )
    async with client(policy) as http:
        with calling("CDA"), pytest.raises(OutboundRefused, match=r"evil\.example\.com"):
            await http.post("https://evil.example.com/api/importar/campanha")
        with calling("GOSAC"), pytest.raises(OutboundRefused, match="sem https"):
            await http.post("http://api.gosac.example/campaigns")
        with pytest.raises(OutboundRefused, match="sem fornecedor"):
            await http.post("https://cromosapp.com.br/api")
    policy.check_url(httpx.URL("https://api.gosac.example/x"), "GOSAC")  # no raise
    policy.check_url(httpx.URL("https://x.my.salesforce.com/services"), "SALESFORCE")
    with pytest.raises(OutboundRefused):
        policy.check_url(httpx.URL("https://my.salesforce.com.evil.io/"), "SALESFORCE")


async def test_the_configured_wordpress_is_trusted_on_a_private_address() -> None:
    async with raw_server(answer(b"[]")) as server:
        wordpress = f"http://127.0.0.1:{server.port}"
        policy = OutboundPolicy.trusting(
            allow_private=False, enforce_hosts=True, trusted=[wordpress]
        )
        async with client(policy) as http:
            assert (await http.get(wordpress + "/wp-json/x")).text == "[]"


async def test_each_redirect_hop_is_checked() -> None:
    location = "Location: http://169.254.169.254/latest/meta-data/\r\n"
    redirect = answer(b"", "302 Found", location)
    async with raw_server(redirect) as server, client(DEV_OPEN, follow_redirects=True) as http:
        with pytest.raises(OutboundRefused, match=r"169\.254\.169\.254"):
            await http.get(f"http://127.0.0.1:{server.port}/")
    assert server.connections == 1


async def test_a_refused_provider_url_is_a_permanent_rejection_naming_the_host() -> None:
    async with raw_server(answer(b"{}")) as server, client(DEV_STRICT) as http:
        url = f"http://localhost:{server.port}/api"
        with pytest.raises(RejectedError, match="localhost"):
            await post_json(http, url, b"{}", timeout=5)
    assert server.connections == 0


async def test_an_answer_past_the_cap_is_not_read_further() -> None:
    async with (
        raw_server(answer(b"x" * 5_000)) as server,
        client(DEV_OPEN, max_bytes=4_096) as http,
    ):
        with pytest.raises(ResponseTooLarge) as too_large:
            await http.get(f"http://127.0.0.1:{server.port}/")
        assert too_large.value.limit == 4_096 and too_large.value.status_code == 200
        # A provider's 2xx past the cap: it took the batch, what it said is unknown.
        with pytest.raises(OutcomeUnknownError, match="DISPARO_OUTBOUND_MAX_RESPONSE_BYTES"):
            await post_json(http, f"http://127.0.0.1:{server.port}/", b"{}", timeout=5)


@functools.cache
def gzip_bomb() -> bytes:
    """Under 250 KB of gzip that inflates to 200 MB of zeros."""
    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    assert len(bomb) < 250_000
    return bomb


async def test_a_gzip_bomb_is_stopped_at_the_cap_without_inflating_it() -> None:
    bomb = gzip_bomb()
    handler = answer(bomb, headers="Content-Encoding: gzip\r\n")
    async with raw_server(handler) as server, client(DEV_OPEN, max_bytes=1_048_576) as http:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge):
                await http.get(f"http://127.0.0.1:{server.port}/")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8_000_000, peak


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_answers_under_the_cap_read_as_usual(encoding: str) -> None:
    import zlib

    text = b'{"ok": true, "n": "' + b"a" * 10_000 + b'"}'
    body = gzip.compress(text) if encoding == "gzip" else zlib.compress(text)
    handler = answer(body, headers=f"Content-Encoding: {encoding}\r\n")
    async with raw_server(handler) as server, client(DEV_OPEN) as http:
        response = await http.get(f"http://127.0.0.1:{server.port}/")
    assert response.content == text and response.json()["ok"] is True


STACKED_ENCODINGS = [
    "Content-Encoding: x-foo, gzip\r\n",
    "Content-Encoding: identity, x-custom, gzip\r\n",
    "Content-Encoding: gzip, gzip\r\n",
    "Content-Encoding: x-foo\r\nContent-Encoding: gzip\r\n",
    "Content-Encoding: br\r\n",
]


@pytest.mark.parametrize("headers", STACKED_ENCODINGS)
async def test_an_encoding_other_than_one_gzip_or_deflate_is_refused_unread(headers: str) -> None:
    # httpx would inflate these itself, with no cap: 200 KB becoming 200 MB in memory.
    async with (
        raw_server(answer(gzip_bomb(), headers=headers)) as server,
        client(DEV_OPEN, max_bytes=1_048_576) as http,
    ):
        with pytest.raises(httpx.DecodingError, match="codificação não suportada"):
            await http.get(f"http://127.0.0.1:{server.port}/")


async def test_identity_alone_is_read_as_plain_bytes() -> None:
    handler = answer(b'{"ok": true}', headers="Content-Encoding: identity\r\n")
    async with raw_server(handler) as server, client(DEV_OPEN) as http:
        response = await http.get(f"http://127.0.0.1:{server.port}/")
    assert response.json() == {"ok": True} and "content-encoding" not in response.headers


async def drip(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    for _count in range(100):
        writer.write(b"1\r\n[\r\n")
        await writer.drain()
        await asyncio.sleep(0.1)


async def test_a_server_dripping_bytes_hits_the_overall_deadline() -> None:
    async with raw_server(drip) as server, client(DEV_OPEN) as http:
        started = time.monotonic()
        # Every phase timeout is 0.8 s, never reached between bytes; the whole call is.
        with pytest.raises(httpx.ReadTimeout, match="prazo total"):
            await http.get(f"http://127.0.0.1:{server.port}/", timeout=0.8)
        elapsed = time.monotonic() - started
    assert 0.7 < elapsed < 2.0, elapsed


async def test_a_provider_that_drips_leaves_the_outcome_unknown() -> None:
    async with raw_server(drip) as server, client(DEV_OPEN) as http:
        with pytest.raises(OutcomeUnknownError):
            await post_json(http, f"http://127.0.0.1:{server.port}/", b"{}", timeout=0.5)
