"""Where disparo may send a request: the SSRF rules of every outbound call.

Provider URLs come from WordPress (credentials), so a compromised or careless panel could point
them anywhere: at the metadata service, at Redis on loopback, at an internal admin page whose
answer would be stored and forwarded as `resposta_api`. Two rules, checked in one place (the
shared HTTP client's transport):

- a URL check before any connection: scheme, and in production the provider's host allow-list;
- an address check at connect time, after DNS resolution: private, loopback, link-local and
  other non-global addresses are refused unless private targets are allowed (development).
  Cloud metadata addresses are refused always.

The configured WordPress origin is the operator's own choice and is exempt from both.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpx

# The vendor hosts of the wire contracts; an operator adds more with DISPARO_PROVIDER_HOSTS.
# GOSAC and NOAH are hosted per customer: no default, the operator lists them.
DEFAULT_PROVIDER_HOSTS: Mapping[str, tuple[str, ...]] = {
    "CDA": ("cromosapp.com.br",),
    "RCS": ("cromosapp.com.br",),
    "RCS_OTIMA": ("services.otima.digital",),
    "WHATSAPP_OTIMA": ("services.otima.digital",),
    "SALESFORCE": (
        "login.salesforce.com",
        "test.salesforce.com",
        "*.my.salesforce.com",
        "*.marketingcloudapis.com",
    ),
    "GOSAC": (),
    "NOAH": (),
}

# Link-local covers 169.254.169.254 already; these are the other well-known metadata
# services (AWS over IPv6, Alibaba in the shared address space).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges whose last 32 bits are an IPv4 address: NAT64's well-known prefix (RFC 6052),
# IPv4-compatible (RFC 4291, deprecated; :: and ::1 are in it too) and IPv4-translated
# (SIIT, RFC 2765). Mapped (::ffff:0:0/96), 6to4 and Teredo are read by ipaddress itself.
_IPV4_IN_LOW_BITS = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96")
)
# Local-use NAT64 (RFC 8215): where the IPv4 address sits is the network's choice, so the
# whole prefix is private.
_LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")

_calling: ContextVar[str | None] = ContextVar("disparo_outbound_provider", default=None)


class OutboundRefused(Exception):
    """A request disparo will not make; nothing was sent. `host` is what was refused."""

    def __init__(self, message: str, host: str) -> None:
        super().__init__(message)
        self.message = message
        self.host = host


@contextlib.contextmanager
def calling(provider: str) -> Iterator[None]:
    """Requests made inside this block are made for `provider` (its host allow-list)."""
    token = _calling.set(provider)
    try:
        yield
    finally:
        _calling.reset(token)


def current_provider() -> str | None:
    return _calling.get()


def host_matches(host: str, pattern: str) -> bool:
    """`pattern` is a host name, or `*.example.com` for any name under example.com."""
    host, pattern = host.lower().rstrip("."), pattern.lower().strip().rstrip(".")
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def merged_hosts(extra: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """The defaults plus what the operator added, by upper-cased provider code."""
    hosts = {code: tuple(values) for code, values in DEFAULT_PROVIDER_HOSTS.items()}
    for code, values in extra.items():
        key = code.strip().upper()
        hosts[key] = (*hosts.get(key, ()), *(v.strip() for v in values if v.strip()))
    return hosts


def _origin_key(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host.lower(), port


@dataclass(frozen=True)
class OutboundPolicy:
    """The rules, built once from the settings (see from_settings in runtime wiring)."""

    allow_private: bool
    enforce_hosts: bool  # production: the allow-list applies, and https only
    provider_hosts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    trusted_origins: frozenset[tuple[str, str, int | None]] = frozenset()

    @staticmethod
    def trusting(
        allow_private: bool,
        enforce_hosts: bool,
        trusted: Iterable[str] = (),
        provider_hosts: Mapping[str, Iterable[str]] | None = None,
    ) -> OutboundPolicy:
        return OutboundPolicy(
            allow_private=allow_private,
            enforce_hosts=enforce_hosts,
            provider_hosts=merged_hosts(provider_hosts or {}),
            trusted_origins=frozenset(_origin_key(httpx.URL(u)) for u in trusted if u),
        )

    def is_trusted(self, url: httpx.URL) -> bool:
        return _origin_key(url) in self.trusted_origins

    def is_trusted_host(self, host: str, port: int) -> bool:
        return any(h == host.lower() and p == port for _, h, p in self.trusted_origins)

    def check_url(self, url: httpx.URL, provider: str | None = None) -> None:
        """Raise OutboundRefused for a URL this process must not call. Runs before any
        connection is opened."""
        if self.is_trusted(url):
            return
        host = url.host
        if url.scheme not in ("http", "https") or not host:
            raise OutboundRefused(f"URL recusada (esquema {url.scheme!r}, host {host!r})", host)
        if self.enforce_hosts:
            if url.scheme != "https":
                raise OutboundRefused(f"URL recusada: {host} sem https (produção)", host)
            self._check_allowed(host, provider)
        literal = _literal_address(host)
        if literal is not None:
            self.check_address(host, literal)

    def _check_allowed(self, host: str, provider: str | None) -> None:
        if provider is None:
            raise OutboundRefused(f"host {host} recusado: chamada sem fornecedor associado", host)
        allowed = self.provider_hosts.get(provider.upper(), ())
        if not any(host_matches(host, pattern) for pattern in allowed):
            raise OutboundRefused(
                f"host {host} fora da lista de hosts permitidos de {provider} "
                "(DISPARO_PROVIDER_HOSTS)",
                host,
            )

    def check_address(self, host: str, address: IPAddress) -> None:
        """Raise OutboundRefused when `host` resolved to an address we must not reach: the
        address itself, or any IPv4 address it carries (NAT64, 6to4, mapped...), since
        that is where a gateway or the kernel delivers it."""
        judged = [address, *_carried_ipv4(address)]
        shown = " = ".join(str(a) for a in judged)
        if any(a in METADATA_ADDRESSES for a in judged):
            raise OutboundRefused(f"host {host} recusado: endereço de metadados ({shown})", host)
        if not self.allow_private and not all(_is_public(a) for a in judged):
            raise OutboundRefused(
                f"host {host} recusado: endereço privado ou local ({shown}); "
                "DISPARO_OUTBOUND_ALLOW_PRIVATE=true o permite",
                host,
            )


def _carried_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (none for an IPv4 address)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address.is_loopback or address.is_unspecified:
        return []  # ::1 and :: are in ::/96, but stand for no IPv4 address
    if any(address in network for network in _IPV4_IN_LOW_BITS):
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _is_public(address: IPAddress) -> bool:
    # Python 3.11 counts the local-use NAT64 prefix as global; it is a private network's.
    return address.is_global and address not in _LOCAL_NAT64


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
