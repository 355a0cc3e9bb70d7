"""Per-provider policy: defaults, adapter declarations, operator overrides, backoff."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from disparo.config import Settings
from disparo.providers.cda.adapter import CdaCredentials, CdaProvider
from disparo.providers.policy import ProviderPolicy, account_id, policy_for


def _cda(max_attempts: int = 5) -> CdaProvider:
    return CdaProvider(batch_size=10, timeout=1, max_attempts=max_attempts)


def test_defaults_come_from_the_global_settings_and_the_adapter() -> None:
    settings = Settings(retry_base_delay=7, retry_max_delay=70)
    policy = policy_for(settings, _cda(max_attempts=3))
    assert (policy.base_delay, policy.max_delay, policy.max_attempts) == (7, 70, 3)
    assert policy.deduplicates is False and policy.requests_per_second == 0


class DeduplicatingCda(CdaProvider):
    """An adapter declaring what providers/policy.py reads with getattr."""

    retry_policy = ProviderPolicy(base_delay=1, requests_per_second=4)
    deduplicates = True


def test_an_adapter_may_declare_its_policy_and_deduplication() -> None:
    provider = DeduplicatingCda(batch_size=10, timeout=1, max_attempts=5)
    policy = policy_for(Settings(), provider)
    assert (policy.base_delay, policy.requests_per_second, policy.deduplicates) == (1, 4, True)


def test_operators_override_per_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DISPARO_PROVIDER_POLICIES", '{"CDA": {"requests_per_second": 5, "max_attempts": 9}}'
    )
    policy = policy_for(Settings(), _cda(max_attempts=3))
    assert (policy.requests_per_second, policy.max_attempts) == (5, 9)


@pytest.mark.parametrize(
    ("value", "message"),
    [('{"XYZ": {}}', "unknown provider 'XYZ'"), ('{"CDA": {"rate": 1}}', "unknown field")],
)
def test_unknown_overrides_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("DISPARO_PROVIDER_POLICIES", value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_backoff_doubles_with_jitter_is_capped_and_honours_retry_after() -> None:
    policy = ProviderPolicy(base_delay=10, max_delay=35, jitter=0.5, retry_after_cap=100)
    for _ in range(50):
        assert 5 <= policy.backoff(1, None) <= 10
        assert 10 <= policy.backoff(2, None) <= 20
        assert 17.5 <= policy.backoff(5, None) <= 35
        assert policy.backoff(1, 60) == 60  # Retry-After is a floor
        assert policy.backoff(1, 1000) == 100  # ... capped


def test_the_account_is_a_digest_of_the_credentials_never_the_key() -> None:
    a = account_id(_cda(), CdaCredentials("https://cda/api", "secret-one"))
    b = account_id(_cda(), CdaCredentials("https://cda/api", "secret-two"))
    assert a.startswith("CDA:") and a != b and "secret" not in a
    assert a == account_id(_cda(), CdaCredentials("https://cda/api", "secret-one"))
