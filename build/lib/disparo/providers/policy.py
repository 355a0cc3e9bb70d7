"""Per-provider retry, deduplication and rate-limit policy.

Any adapter may declare its defaults as optional attributes (read with getattr, so adapters
written without them keep working): `max_attempts`, `retry_policy` (a ProviderPolicy) and
`deduplicates` (True when the provider honours BatchRequest.idempotency_key, so a request
whose outcome is unknown can be resent safely). Operators override any field per provider
code with DISPARO_PROVIDER_POLICIES, e.g. '{"CDA": {"requests_per_second": 5}}'.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from disparo.config import Settings
    from disparo.providers.base import Provider


@dataclass(frozen=True, slots=True)
class ProviderPolicy:
    max_attempts: int = 5
    # Retry n waits base_delay × 2^(n-1), at most max_delay, times a random factor in
    # [1 - jitter, 1] (so many batches failing together do not come back together).
    base_delay: float = 60.0
    max_delay: float = 900.0
    jitter: float = 0.5
    # A provider's Retry-After is a floor for the next try, capped here.
    retry_after_cap: float = 3600.0
    # Shared by every worker of every host, per provider account; 0 = no limit.
    requests_per_second: float = 0.0
    recipients_per_second: float = 0.0
    # True only for providers that honour an idempotency key: then an unknown outcome
    # (read timeout, a worker that died mid-request) is retried instead of left UNKNOWN.
    deduplicates: bool = False

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt` (1 = the first retry)."""
        exponential = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        delay = exponential * random.uniform(1.0 - self.jitter, 1.0)
        floor = min(retry_after, self.retry_after_cap) if retry_after else 0.0
        return float(max(delay, floor))


FIELDS = frozenset(field.name for field in dataclasses.fields(ProviderPolicy))


def check_overrides(overrides: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse unknown provider codes or fields at start-up, naming them."""
    from disparo.providers.base import ProviderCode

    for code, values in overrides.items():
        if code not in ProviderCode.__members__:
            raise ValueError(f"provider_policies: unknown provider {code!r}")
        unknown = sorted(set(values) - FIELDS)
        if unknown:
            raise ValueError(
                f"provider_policies[{code}]: unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(FIELDS))}"
            )


def policy_for(settings: Settings, provider: Provider) -> ProviderPolicy:
    """Global defaults < the adapter's declarations < the operator's overrides."""
    declared = getattr(provider, "retry_policy", None)
    base = declared or ProviderPolicy(
        base_delay=settings.retry_base_delay, max_delay=settings.retry_max_delay
    )
    values: dict[str, Any] = {}
    if hasattr(provider, "max_attempts"):
        values["max_attempts"] = int(provider.max_attempts)
    if getattr(provider, "deduplicates", False):
        values["deduplicates"] = True
    values.update(settings.provider_policies.get(str(provider.code), {}))
    return dataclasses.replace(base, **values)


def account_id(provider: Provider, credentials: object) -> str:
    """Who the provider counts requests against: the adapter says (`account_id(credentials)`),
    or a digest of the credentials' fields (never the secret itself)."""
    custom = getattr(provider, "account_id", None)
    if callable(custom):
        return f"{provider.code}:{custom(credentials)}"
    if dataclasses.is_dataclass(credentials) and not isinstance(credentials, type):
        identity = repr(sorted(dataclasses.asdict(credentials).items()))
    elif hasattr(credentials, "__dict__"):
        identity = repr(sorted(vars(credentials).items()))
    else:
        identity = repr(credentials)
    return f"{provider.code}:{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
