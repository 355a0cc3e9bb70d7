"""The transport of the process's one HTTP client: every outbound call goes through it.

It refuses URLs and addresses the policy forbids (before any connection), gives every request
one overall deadline (httpx's timeouts are per phase, so a server dripping a byte now and then
never times out), and reads answers with a byte cap counted after decompression, inflating at
most 64 KiB at a time so a gzip bomb never sits in memory.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpcore
import httpx

from disparo.net.policy import OutboundPolicy, OutboundRefused, current_provider

# Request extensions a caller may set: the answer's byte cap and the overall deadline (s).
MAX_BYTES = "disparo.max_bytes"
DEADLINE = "disparo.deadline"
# A request given no timeout at all still ends.
FALLBACK_DEADLINE = 300.0
INFLATE_STEP = 64 * 1024
T = TypeVar("T")
POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=16)


def unacked_limit(seconds: float | None) -> list[tuple[int, int, int]]:
    """Socket options dropping a connection whose sent bytes stay unacknowledged this long
    (TCP_USER_TIMEOUT). A host cut off mid-request longer than that then never delivers the
    request once the link is back, after its batch was judged: the kernel would otherwise
    keep retransmitting it, even after the process gave up on it. Nothing where the kernel
    lacks the option (anyio would fail every connect on it, after opening the socket)."""
    if not seconds or not hasattr(socket, "TCP_USER_TIMEOUT"):
        return []
    option = (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, max(1, round(seconds * 1000)))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(*option)
    except OSError:
        return []
    return [option]


class ResponseTooLarge(Exception):
    """The answer went past its byte cap; it was not read further."""

    def __init__(self, host: str, limit: int, status_code: int) -> None:
        super().__init__(f"resposta de {host} maior que o limite de {limit} bytes")
        self.host = host
        self.limit = limit
        self.status_code = status_code


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the name itself, checks every address, and connects to a checked address, so
    DNS cannot answer differently between the check and the connection."""

    def __init__(self, policy: OutboundPolicy, inner: httpcore.AsyncNetworkBackend | None = None):
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._policy.is_trusted_host(host, port):
            addresses = [host]
        else:
            addresses = await self._checked_addresses(host, port, timeout)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def _checked_addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"DNS de {host} sem resposta") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"DNS de {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            # Refused if any answer is forbidden: a name mixing public and private addresses
            # is someone's rebinding trick, not a provider.
            self._policy.check_address(host, ipaddress.ip_address(address.split("%")[0]))
        return addresses

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("conexões por socket unix não são permitidas", path)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


BeforeHeaders = Callable[[httpx.Request], Awaitable[None]]


class _Phase:
    """Where a request is, from httpcore's trace events: a deadline hitting before the body
    was sent means the server never had the request (retryable); after, it may have.

    `before_headers` runs at the last await before the first byte is written, once the
    connection is ready (after any wait for the pool and the connect): what must hold when
    the request leaves is checked there. Raising there sends nothing."""

    def __init__(
        self, chained: Any, request: httpx.Request, before_headers: BeforeHeaders | None
    ) -> None:
        self.name = "pool"
        # A request sent again as it is (an auth flow's retry after a 401) still carries the
        # last attempt's _Phase: chain what that one chained, not it (one check per attempt).
        self._chained: Any = chained._chained if isinstance(chained, _Phase) else chained
        self._request = request
        self._before_headers = before_headers

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("connect_tcp.started"):
            self.name = "connect"
        elif event.endswith("send_request_headers.started"):
            if self._before_headers is not None:
                await self._before_headers(self._request)
            self.name = "write"
        elif event.endswith("send_request_body.complete"):
            self.name = "read"
        if self._chained is not None:
            await self._chained(event, info)

    def timeout(self, request: httpx.Request, seconds: float) -> httpx.TimeoutException:
        message = f"prazo total de {seconds:g} s esgotado ({self.name})"
        kinds: dict[str, type[httpx.TimeoutException]] = {
            "pool": httpx.PoolTimeout,
            "connect": httpx.ConnectTimeout,
            "write": httpx.WriteTimeout,
        }
        return kinds.get(self.name, httpx.ReadTimeout)(message, request=request)


async def _within(deadline: float, awaitable: Awaitable[T]) -> T:
    """`awaitable` by the loop time `deadline`, else TimeoutError.

    wait_for, not asyncio.timeout: the read runs in a task of its own, so the timeout never
    has to travel up through the caller's frames. A caller iterating through a C extension
    (ijson's parser reading the recipients) does not pass a cancellation back down, and
    asyncio.timeout would then surface as a bare CancelledError.
    """
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise TimeoutError
    return await asyncio.wait_for(awaitable, remaining)


def overall_deadline(request: httpx.Request) -> float:
    """The request's own deadline, else the largest of its per-phase timeouts."""
    given = request.extensions.get(DEADLINE)
    if given is not None:
        return float(given)
    phases = request.extensions.get("timeout") or {}
    values = [float(v) for v in phases.values() if v is not None]
    return max(values) if values else FALLBACK_DEADLINE


class GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        max_response_bytes: int,
        unacked_timeout: float | None = None,
        before_headers: BeforeHeaders | None = None,
        limits: httpx.Limits = POOL_LIMITS,
    ) -> None:
        super().__init__(limits=limits)
        # Environment proxies are not used: the address check must see the real target.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
            socket_options=unacked_limit(unacked_timeout),
        )
        self._policy = policy
        self._max_bytes = max_response_bytes
        self._before_headers = before_headers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._policy.check_url(request.url, current_provider())
        seconds = overall_deadline(request)
        limit = int(request.extensions.get(MAX_BYTES) or self._max_bytes)
        phase = _Phase(request.extensions.get("trace"), request, self._before_headers)
        request.extensions["trace"] = phase
        deadline = asyncio.get_running_loop().time() + seconds
        try:
            response = await _within(deadline, super().handle_async_request(request))
        except TimeoutError as exc:
            raise phase.timeout(request, seconds) from exc
        try:
            headers, inflate = _decoding(response.headers)
        except httpx.DecodingError:
            await response.aclose()  # the connection goes back (or away), not left open
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        body = _BoundedBody(
            response.stream, inflate, limit, deadline, seconds, request, response.status_code
        )
        return httpx.Response(
            response.status_code, headers=headers, stream=body, extensions=response.extensions
        )


def _decoding(headers: httpx.Headers) -> tuple[httpx.Headers, _Inflater | None]:
    """One gzip or one deflate is inflated here, bounded; any other encoding is refused.

    The header always goes, so httpx never decodes anything itself: its decoders have no cap,
    and it would run them for every encoding listed (`x-foo, gzip` is a bomb inflated whole).
    """
    listed = [e.strip().lower() for e in headers.get("content-encoding", "").split(",")]
    encodings = [e for e in listed if e and e != "identity"]
    if encodings not in ([], ["gzip"], ["deflate"]):
        # The value is the server's: bounded before it reaches a stored error.
        raise httpx.DecodingError(f"codificação não suportada: {', '.join(encodings)[:100]}")
    cleaned = httpx.Headers(headers)
    cleaned.pop("content-encoding", None)
    if not encodings:
        return cleaned, None
    cleaned.pop("content-length", None)  # counted before inflating: not the body's length
    return cleaned, _Inflater(encodings[0])


class _Inflater:
    def __init__(self, encoding: str) -> None:
        self._gzip = encoding == "gzip"
        self._first = True
        wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(wbits)

    def steps(self, data: bytes) -> Iterable[bytes]:
        """The inflated bytes of `data`, at most INFLATE_STEP at a time."""
        try:
            while data:
                out = self._inflate.decompress(data, INFLATE_STEP)
                self._first = False
                data = self._inflate.unconsumed_tail
                if out:
                    yield out
        except zlib.error as exc:
            if self._first and not self._gzip:  # a raw deflate stream without zlib header
                self._inflate, self._first = zlib.decompressobj(-zlib.MAX_WBITS), False
                yield from self.steps(data)
                return
            raise httpx.DecodingError(f"resposta comprimida inválida: {exc}") from exc


class _BoundedBody(httpx.AsyncByteStream):
    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        inflate: _Inflater | None,
        limit: int,
        deadline: float,
        seconds: float,
        request: httpx.Request,
        status: int,
    ) -> None:
        self._inner, self._inflate, self._limit = inner, inflate, limit
        self._deadline, self._seconds, self._request = deadline, seconds, request
        self._status = status

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        chunks = aiter(self._inner)
        while True:
            try:
                raw = await _within(self._deadline, anext(chunks, None))
            except TimeoutError as exc:
                message = f"prazo total de {self._seconds:g} s esgotado lendo a resposta"
                raise httpx.ReadTimeout(message, request=self._request) from exc
            if raw is None:
                return
            for piece in self._inflate.steps(raw) if self._inflate else (raw,):
                size += len(piece)
                if size > self._limit:
                    raise ResponseTooLarge(self._request.url.host, self._limit, self._status)
                yield piece

    async def aclose(self) -> None:
        await self._inner.aclose()
