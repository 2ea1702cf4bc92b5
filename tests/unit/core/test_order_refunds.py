"""The card refund a cancelled order owes: due from the cancellation, made once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.errors import StateTransitionError
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.sales import Order, OrderLine, Refund, RefundState, refund_key
from ticketdomain.core.setup import DeliveryMode, PaymentMethod

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def order(
    payment: PaymentMethod = PaymentMethod.CARD,
    charge: str | None = "ch_1",
    prices: tuple[tuple[int, int], ...] = ((3, 2550),),
) -> Order:
    """An order of lines (quantity, unit price in cents)."""
    lines = tuple(
        OrderLine(
            f"line-{n}",
            "perf-1",
            "product-1",
            "tariff-1",
            quantity,
            Money(Decimal(cents) / 100, "CHF"),
            VatRate(Decimal("0.081")),
        )
        for n, (quantity, cents) in enumerate(prices)
    )
    return Order(
        "order-1",
        "org-1",
        "sp-1",
        "agency-1",
        "relay-1",
        False,
        None,
        lines,
        payment,
        DeliveryMode.PRINT_AT_HOME,
        NOW,
        "CHF",
        payment_reference=charge,
    )


LINES = st.lists(
    st.tuples(st.integers(1, 20), st.integers(0, 100_000)), min_size=1, max_size=5
).map(tuple)


@given(
    payment=st.sampled_from(PaymentMethod),
    charge=st.one_of(st.none(), st.just("ch_1")),
    prices=LINES,
)
def test_cancelling_owes_the_total_back_to_the_card_that_paid_it(
    payment: PaymentMethod, charge: str | None, prices: tuple[tuple[int, int], ...]
) -> None:
    placed = order(payment, charge, prices)
    assert placed.refund_due is None
    placed.cancel(NOW)
    refund = placed.refund
    paid_by_card = payment is PaymentMethod.CARD and charge is not None
    if paid_by_card and placed.total.is_positive:
        assert refund == Refund(placed.total, "cancel-order-1")
        assert refund.state is RefundState.DUE
        assert placed.refund_due == refund
    else:
        # on account the account is credited; a free order took nothing from a card
        assert refund is None and placed.refund_due is None


@given(
    attempts=st.lists(st.sampled_from(["re_1", "re_2"]), min_size=1, max_size=6),
    delays=st.lists(st.integers(0, 10_000), min_size=6, max_size=6),
)
def test_a_refund_is_recorded_once_under_the_first_reference(
    attempts: list[str], delays: list[int]
) -> None:
    cancelled = order()
    cancelled.cancel(NOW)
    first, first_at = attempts[0], NOW + timedelta(seconds=delays[0])
    assert cancelled.record_refund(first, first_at)
    for reference, delay in zip(attempts[1:], delays[1:], strict=False):
        if reference == first:
            # the provider's answer to a repeated key: nothing new
            assert not cancelled.record_refund(reference, NOW + timedelta(seconds=delay))
        else:
            with pytest.raises(StateTransitionError) as refused:
                cancelled.record_refund(reference, NOW + timedelta(seconds=delay))
            assert refused.value.details["reference"] == first
        assert cancelled.refund == Refund(cancelled.total, refund_key("order-1"), first, first_at)
        assert cancelled.refund.state is RefundState.REFUNDED
        assert cancelled.refund_due is None


@pytest.mark.parametrize(
    "placed",
    [order(), order(PaymentMethod.HOLDING_ACCOUNT, None), order(charge=None)],
    ids=["card-not-cancelled", "on-account", "no-charge"],
)
def test_no_refund_is_recorded_where_none_is_owed(placed: Order) -> None:
    if placed.on_account or placed.payment_reference is None:
        placed.cancel(NOW)
    with pytest.raises(StateTransitionError):
        placed.record_refund("re_1", NOW)
    assert placed.refund is None


def test_a_cancelled_order_owing_a_refund_is_not_cancelled_again() -> None:
    cancelled = order()
    cancelled.cancel(NOW)
    with pytest.raises(StateTransitionError):
        cancelled.cancel(NOW + timedelta(hours=1))
    assert cancelled.refund == Refund(cancelled.total, "cancel-order-1")
