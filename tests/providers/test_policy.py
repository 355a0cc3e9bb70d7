"""Per-provider policy: defaults, adapter declarations, operator overrides, backoff."""

from __future__ import annotations

import pytest

from disparo.providers.cda.adapter import CdaCredentials, CdaProvider
from disparo.providers.policy import ProviderPolicy, account_id, policy_for
from disparo.providers.registry import STEP_POLICY_KEYS, build_registry
from tests.support import clean_settings


def _cda(max_attempts: int = 5) -> CdaProvider:
    return CdaProvider(batch_size=10, timeout=1, max_attempts=max_attempts)


def test_defaults_come_from_the_global_settings_and_the_adapter() -> None:
    settings = clean_settings(retry_base_delay=7, retry_max_delay=70)
    policy = policy_for(settings, _cda(max_attempts=3))
    assert (policy.base_delay, policy.max_delay, policy.max_attempts) == (7, 70, 3)
    assert policy.deduplicates is False and policy.requests_per_second == 0


class DeduplicatingCda(CdaProvider):
    """An adapter declaring what providers/policy.py reads with getattr."""

    retry_policy = ProviderPolicy(base_delay=1, requests_per_second=4)
    deduplicates = True


def test_an_adapter_may_declare_its_policy_and_deduplication() -> None:
    provider = DeduplicatingCda(batch_size=10, timeout=1, max_attempts=5)
    policy = policy_for(clean_settings(), provider)
    assert (policy.base_delay, policy.requests_per_second, policy.deduplicates) == (1, 4, True)


def test_operators_override_per_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DISPARO_PROVIDER_POLICIES", '{"CDA": {"requests_per_second": 5, "max_attempts": 9}}'
    )
    policy = policy_for(clean_settings(), _cda(max_attempts=3))
    assert (policy.requests_per_second, policy.max_attempts) == (5, 9)


def test_the_circuit_breaker_is_set_per_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (ProviderPolicy().breaker_window, ProviderPolicy().breaker_cooldown) == (20, 30.0)
    monkeypatch.setenv(
        "DISPARO_PROVIDER_POLICIES", '{"CDA": {"breaker_window": 0, "breaker_cooldown": 5}}'
    )
    build_registry(clean_settings())  # accepted under a provider's own key
    policy = policy_for(clean_settings(), _cda())
    assert (policy.breaker_window, policy.breaker_cooldown) == (0, 5)


@pytest.mark.parametrize(
    ("value", "message"),
    [('{"XYZ": {}}', "unknown provider 'XYZ'"), ('{"CDA": {"rate": 1}}', "unknown field")],
)
def test_unknown_overrides_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("DISPARO_PROVIDER_POLICIES", value)
    with pytest.raises(ValueError, match=message):
        build_registry(clean_settings())


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


def test_a_second_step_has_its_own_policy_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    from disparo.campaigns.followups import step_spec
    from disparo.campaigns.models import BatchStep
    from disparo.campaigns.steps import step_policy

    monkeypatch.setenv(
        "DISPARO_PROVIDER_POLICIES",
        '{"GOSAC": {"max_attempts": 9}, "GOSAC:start": {"max_attempts": 4, "base_delay": 2}}',
    )
    settings = clean_settings(gosac_start_max_attempts=3, salesforce_mkc_max_attempts=2)
    start = step_policy(settings, "GOSAC", step_spec(settings, BatchStep.START))
    mkc = step_policy(settings, "SALESFORCE", step_spec(settings, BatchStep.MKC))
    # The step's entry wins over its setting; the send's entry is not the step's.
    assert (start.max_attempts, start.base_delay, start.deduplicates) == (4, 2, True)
    # No entry: the step's own setting, and a run that must not repeat blind.
    assert (mkc.max_attempts, mkc.deduplicates) == (2, False)
    monkeypatch.setenv("DISPARO_PROVIDER_POLICIES", '{"XYZ:start": {}}')
    with pytest.raises(ValueError, match="unknown provider 'XYZ:start'"):
        build_registry(clean_settings())


def test_the_step_keys_are_read_from_the_plugins() -> None:
    assert frozenset({"GOSAC:start", "SALESFORCE:mkc"}) == STEP_POLICY_KEYS


def test_a_step_key_takes_the_steps_retry_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "DISPARO_PROVIDER_POLICIES",
        '{"GOSAC": {"requests_per_second": 4}, "SALESFORCE:mkc": {"max_attempts": 1},'
        ' "GOSAC:start": {"max_attempts": 4, "base_delay": 2, "max_delay": 9, "jitter": 0,'
        ' "retry_after_cap": 60, "deduplicates": true}}',
    )
    build_registry(clean_settings())  # accepted


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"GOSAC:strat": {}}', "unknown step 'GOSAC:strat'; known for GOSAC: GOSAC:start$"),
        ('{"SALESFORCE:start": {}}', "known for SALESFORCE: SALESFORCE:mkc$"),
        ('{"CDA:start": {}}', r"unknown step 'CDA:start'; known for CDA: none \(it has no"),
        ('{"GOSAC:": {}}', "unknown step 'GOSAC:'"),
        (
            '{"GOSAC:start": {"max_attempts": 2, "requests_per_second": 4}}',
            r"provider_policies\[GOSAC:start\]: a step has no rate of its own "
            r"\(requests_per_second\): its requests take slots of GOSAC's limit; set the rate "
            "under 'GOSAC'",
        ),
        ('{"SALESFORCE:mkc": {"recipients_per_second": 1}}', "a step has no rate of its own"),
        (
            '{"GOSAC:start": {"breaker_cooldown": 5}}',
            r"provider_policies\[GOSAC:start\]: a step has no circuit breaker of its own "
            r"\(breaker_cooldown\): its account has one; set it under 'GOSAC'",
        ),
        (
            '{"GOSAC:start": {"rate": 1}}',
            r"unknown field\(s\) rate; known: base_delay, deduplicates, jitter, max_attempts, "
            "max_delay, retry_after_cap$",  # no rate field: a step key refuses them
        ),
    ],
)
def test_unknown_steps_and_step_rates_are_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("DISPARO_PROVIDER_POLICIES", value)
    with pytest.raises(ValueError, match=message) as refused:
        build_registry(clean_settings())
    assert "\n" not in str(refused.value)
