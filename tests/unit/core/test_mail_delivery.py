"""The outbox's retry rules (core.mail): backoff, giving up, re-queueing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.errors import SetupInvalidError, StateTransitionError
from ticketdomain.core.mail import (
    DeliveryPolicy,
    OutboxState,
    after_failure,
    out_of_attempts,
    require_requeueable,
)

NOW = datetime(2026, 5, 10, 18, 0, tzinfo=UTC)

policies = st.builds(
    DeliveryPolicy,
    max_attempts=st.integers(1, 30),
    first_retry=st.integers(1, 3600).map(lambda s: timedelta(seconds=s)),
    factor=st.integers(1, 5),
    cap=st.integers(3600, 86_400).map(lambda s: timedelta(seconds=s)),
)


def test_the_default_delays_double_from_a_minute_up_to_an_hour() -> None:
    policy = DeliveryPolicy()
    assert [policy.retry_delay(n) for n in range(1, 9)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)
    ]


@given(policies, st.integers(1, 10_000))
def test_delays_grow_by_the_factor_and_stop_at_the_cap(policy: DeliveryPolicy, n: int) -> None:
    delay, after = policy.retry_delay(n), policy.retry_delay(n + 1)
    assert policy.first_retry <= delay <= policy.cap
    assert delay <= after == min(delay * policy.factor, policy.cap)


@given(policies, st.integers(1, 40), st.booleans())
def test_a_failure_retries_later_until_permanent_or_out_of_attempts(
    policy: DeliveryPolicy, attempts: int, permanent: bool
) -> None:
    decision = after_failure(policy, attempts, permanent, NOW)
    if permanent or attempts >= policy.max_attempts:
        assert (decision.state, decision.retry_at) == (OutboxState.FAILED, None)
    else:
        assert decision.state is OutboxState.QUEUED
        assert decision.retry_at == NOW + policy.retry_delay(attempts)
        assert decision.retry_at is not None and decision.retry_at > NOW


@given(policies)
def test_a_message_always_failing_temporarily_ends_failed_after_max_attempts(
    policy: DeliveryPolicy,
) -> None:
    states = [after_failure(policy, n, False, NOW).state for n in range(1, policy.max_attempts + 1)]
    assert states == [OutboxState.QUEUED] * (policy.max_attempts - 1) + [OutboxState.FAILED]
    # A claim beyond the last attempt only happens when sends died unmarked: it is given up.
    assert not out_of_attempts(policy, policy.max_attempts)
    assert out_of_attempts(policy, policy.max_attempts + 1)


def test_only_failed_mail_is_queued_again() -> None:
    require_requeueable("mail-1", OutboxState.FAILED)
    for state in (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.SENT):
        with pytest.raises(StateTransitionError) as caught:
            require_requeueable("mail-1", state)
        assert caught.value.details == {"id": "mail-1", "state": state.value}


@pytest.mark.parametrize(
    "changes",
    [
        {"max_attempts": 0},
        {"factor": 0},
        {"batch": 0},
        {"first_retry": timedelta(0)},
        {"lease": timedelta(seconds=-1)},
        {"first_retry": timedelta(hours=2), "cap": timedelta(hours=1)},
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(SetupInvalidError):
        DeliveryPolicy(**changes)  # type: ignore[arg-type]
