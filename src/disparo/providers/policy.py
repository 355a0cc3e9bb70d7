"""Per-provider retry, deduplication and rate-limit policy.

Any adapter may declare its defaults as optional attributes (read with getattr, so adapters
written without them keep working): `max_attempts`, `retry_policy` (a ProviderPolicy) and
`deduplicates` (True when the provider honours BatchRequest.idempotency_key, so a request
whose outcome is unknown can be resent safely). Operators override any field per provider
code with DISPARO_PROVIDER_POLICIES, e.g. '{"CDA": {"requests_per_second": 5}}'; a second
step's retries under "CODE:step", e.g. '{"GOSAC:start": {"max_attempts": 5}}'. A step's
request takes a slot of its provider account's limit, the one its sends share: so the rate
fields are the provider's ("GOSAC"), and a step key refuses them (STEP_FIELDS). So is the
send window ('{"CDA": {"send_window": {"hours": {"mon-fri": "08:00-20:00"}}}}', see
disparo/sendwindow.py): a provider's second steps obey its window.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from disparo.sendwindow import SendWindow, parse_window

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
    # The hours in which this provider's batches and second steps may start (None: any).
    send_window: SendWindow | None = None
    # Circuit breaker of the account (breaker.py): it opens when more than
    # breaker_failure_ratio of its last breaker_window judged requests failed before the
    # provider could act (connect errors, 5xx; never a 4xx refusal), once at least
    # breaker_min_requests were judged; then one probe request at a time, every
    # breaker_cooldown seconds, until one succeeds. breaker_window 0: no breaker.
    breaker_window: int = 20
    breaker_failure_ratio: float = 0.5
    breaker_min_requests: int = 10
    breaker_cooldown: float = 30.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempt` (1 = the first retry)."""
        exponential = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        delay = exponential * random.uniform(1.0 - self.jitter, 1.0)
        floor = min(retry_after, self.retry_after_cap) if retry_after else 0.0
        return float(max(delay, floor))


FIELDS = frozenset(field.name for field in dataclasses.fields(ProviderPolicy))
# A step is limited by its provider's own rate (the account's limit is one, for sends and
# steps alike): a rate under a step key would be silently ignored, so it is refused.
RATE_FIELDS = frozenset({"requests_per_second", "recipients_per_second"})
# Likewise the breaker: one per account, judged on sends and steps alike.
BREAKER_FIELDS = frozenset(
    {"breaker_window", "breaker_failure_ratio", "breaker_min_requests", "breaker_cooldown"}
)
PROVIDER_ONLY_FIELDS = RATE_FIELDS | BREAKER_FIELDS | {"send_window"}
STEP_FIELDS = FIELDS - PROVIDER_ONLY_FIELDS


def step_key(code: str, step: str) -> str:
    """The DISPARO_PROVIDER_POLICIES key of a provider's second step: "GOSAC:start"."""
    return f"{code}:{step}"


def check_overrides(
    overrides: Mapping[str, Mapping[str, Any]],
    known_codes: Collection[str],
    step_keys: Collection[str],
) -> None:
    """Refuse at start-up, naming them: unknown provider codes, unknown steps ("CODE:step"
    keys not in `step_keys`), unknown fields, and a rate under a step key."""
    for key, values in overrides.items():
        code, colon, _ = key.partition(":")
        if code not in known_codes:
            raise ValueError(f"provider_policies: unknown provider {key!r}")
        if colon:
            _check_step(key, code, set(values), step_keys)
        if "send_window" in values and not colon:
            parse_window(values["send_window"], field=f"provider_policies[{key}].send_window")
        allowed = STEP_FIELDS if colon else FIELDS
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(
                f"provider_policies[{key}]: unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(allowed))}"
            )


def _check_step(key: str, code: str, fields: set[str], step_keys: Collection[str]) -> None:
    if key not in step_keys:
        steps = sorted(known for known in step_keys if known.startswith(f"{code}:"))
        raise ValueError(
            f"provider_policies: unknown step {key!r}; known for {code}: "
            + (", ".join(steps) or "none (it has no second step)")
        )
    rates = sorted(fields & RATE_FIELDS)
    if rates:
        raise ValueError(
            f"provider_policies[{key}]: a step has no rate of its own ({', '.join(rates)}): "
            f"its requests take slots of {code}'s limit; set the rate under {code!r}"
        )
    breaker = sorted(fields & BREAKER_FIELDS)
    if breaker:
        raise ValueError(
            f"provider_policies[{key}]: a step has no circuit breaker of its own "
            f"({', '.join(breaker)}): its account has one; set it under {code!r}"
        )
    if "send_window" in fields:
        raise ValueError(
            f"provider_policies[{key}]: a step has no send window of its own: it obeys "
            f"{code}'s; set send_window under {code!r}"
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
    code = str(provider.code)
    values.update(settings.provider_policies.get(code, {}))
    if values.get("send_window") is not None:
        values["send_window"] = parse_window(
            values["send_window"],
            field=f"provider_policies[{code}].send_window",
            default_zone=settings.send_window_timezone,
            holidays=settings.holidays,
        )
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
