"""Redis connection options for bullmq."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# A blocking BZPOPMIN waits up to 10 s; a socket timeout below that makes redis-py drop the
# wait and delayed jobs never fire (DESIGN.md, bullmq traps). Keep it well above.
SOCKET_TIMEOUT = 40


def bullmq_redis_url(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("socket_timeout", str(SOCKET_TIMEOUT))
    query.setdefault("socket_connect_timeout", "10")
    return urlunsplit(parts._replace(query=urlencode(query)))
