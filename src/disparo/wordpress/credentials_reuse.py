"""A campaign's provider credentials, reused across its batches for a short while.

Every batch used to fetch them from WordPress (2.2) before its request: a 1,000,000-recipient
Salesforce campaign is 5,000 batches, so 5,000 credential requests to WordPress, one per
second per worker slot for the whole send. Here they are kept in this process's memory
only (never in Redis, the database or a log: rule 7), per campaign, for
DISPARO_CREDENTIALS_REUSE seconds after WordPress gave them, and dropped at once when a
request with them fails (a rotated key answers 401: the next batch asks WordPress again).
Per campaign, so a new campaign always starts from what WordPress holds now.
"""

from __future__ import annotations

import asyncio
import uuid
from time import monotonic
from typing import Any

from disparo.providers.base import Provider
from disparo.wordpress.client import WordPressClient

# Beyond this many campaigns' entries, the expired ones are dropped (a worker sees a few
# hundred campaigns a day; the bound only keeps a long-lived process from growing).
MAX_KEPT = 1000

_Key = tuple[uuid.UUID, str, str]


class CredentialsReuse:
    def __init__(self, wordpress: WordPressClient, seconds: float) -> None:
        self._wordpress = wordpress
        self._seconds = seconds
        self._kept: dict[_Key, tuple[float, Any]] = {}
        self._fetching: dict[_Key, asyncio.Lock] = {}

    async def for_campaign(self, campaign_id: uuid.UUID, provider: Provider, env_id: str) -> Any:
        """The provider's parsed credentials for the campaign's environment (CredentialsError
        and WordPressError as WordPressClient.credentials_for raises them, nothing kept)."""
        if self._seconds <= 0:
            return await self._wordpress.credentials_for(provider, env_id)
        key = (campaign_id, provider.credentials_path, env_id)
        kept = self._fresh(key)
        if kept is not None:
            return kept
        # One fetch per campaign at a time: its concurrent batches wait for that one.
        async with self._fetching.setdefault(key, asyncio.Lock()):
            kept = self._fresh(key)
            if kept is not None:
                return kept
            credentials = await self._wordpress.credentials_for(provider, env_id)
            self._keep(key, credentials)
            return credentials

    def forget(self, campaign_id: uuid.UUID) -> None:
        """A request of the campaign failed: its next batch asks WordPress again."""
        for key in [key for key in self._kept if key[0] == campaign_id]:
            del self._kept[key]
            self._fetching.pop(key, None)

    def _fresh(self, key: _Key) -> Any:
        kept = self._kept.get(key)
        return kept[1] if kept is not None and kept[0] > monotonic() else None

    def _keep(self, key: _Key, credentials: Any) -> None:
        now = monotonic()
        if len(self._kept) >= MAX_KEPT:
            for old in [k for k, (until, _) in self._kept.items() if until <= now]:
                del self._kept[old]
                self._fetching.pop(old, None)
        self._kept[key] = (now + self._seconds, credentials)
