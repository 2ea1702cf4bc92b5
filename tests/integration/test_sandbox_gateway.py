"""The sandbox card gateway, and the in-memory fake that must behave the same way."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest

from ticketdomain.core.errors import (
    AmountInvalidError,
    CardDeclinedError,
    CurrencyMismatchError,
    NotFoundError,
    ValidationError,
)
from ticketdomain.core.money import Money
from ticketdomain.ports.payment import CardPayment, PaymentGateway
from ticketdomain.testing import InMemoryPaymentGateway
from ticketdomain.testing.fakes import TEST_CARDS
from ticketdomain_sandbox import SandboxPaymentGateway

GATEWAYS: dict[str, Callable[[], SandboxPaymentGateway | InMemoryPaymentGateway]] = {
    "sandbox": SandboxPaymentGateway,
    "in-memory": InMemoryPaymentGateway,
}
VISA = CardPayment("tok_visa")


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


@pytest.fixture(params=sorted(GATEWAYS))
def gateway(request: pytest.FixtureRequest) -> SandboxPaymentGateway | InMemoryPaymentGateway:
    return GATEWAYS[request.param]()


def test_both_gateways_satisfy_the_port() -> None:
    # checked by mypy: both classes must match the PaymentGateway protocol
    gateways: list[PaymentGateway] = [SandboxPaymentGateway(), InMemoryPaymentGateway()]
    assert len(gateways) == 2


@pytest.mark.parametrize("token", ["tok_visa", "4242424242424242", "4242 4242 4242 4242"])
def test_the_accepted_test_card_is_charged(gateway: PaymentGateway, token: str) -> None:
    receipt = gateway.charge(eur("42.50"), CardPayment(token), "order-1")
    assert receipt.amount == eur("42.50")
    assert receipt.reference


@pytest.mark.parametrize(
    ("token", "decline_code"),
    [
        ("tok_declined", "generic_decline"),
        ("4000000000000002", "generic_decline"),
        ("tok_insufficient_funds", "insufficient_funds"),
        ("4000 0000 0000 9995", "insufficient_funds"),
        ("tok_unknown", "invalid_card"),
        ("4111111111111112", "invalid_card"),
        ("", "invalid_card"),
    ],
)
def test_declining_test_cards(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway, token: str, decline_code: str
) -> None:
    with pytest.raises(CardDeclinedError) as declined:
        gateway.charge(eur("10"), CardPayment(token), "order-1")
    assert declined.value.code == "card_declined"
    assert declined.value.details["decline_code"] == decline_code
    assert declined.value.message
    if token:  # the card number never ends up in the error a front end shows or logs
        assert token.replace(" ", "") not in repr(declined.value)
    assert gateway.charges == []


def test_the_fake_and_the_sandbox_know_the_same_cards() -> None:
    for token, decline_code in TEST_CARDS.items():
        outcomes: list[object] = []
        for factory in GATEWAYS.values():
            try:
                factory().charge(eur("1"), CardPayment(token), "k")
                outcomes.append(None)
            except CardDeclinedError as declined:
                outcomes.append(declined.details["decline_code"])
        assert outcomes == [decline_code, decline_code], token


def test_the_same_key_charges_once(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway,
) -> None:
    first = gateway.charge(eur("30"), VISA, "order-1")
    again = gateway.charge(eur("30"), VISA, "order-1")
    other = gateway.charge(eur("30"), VISA, "order-2")
    assert again == first
    assert other.reference != first.reference
    assert [c.reference for c in gateway.charges] == [first.reference, other.reference]


@pytest.mark.parametrize(
    "retry",
    [
        lambda g: g.charge(eur("31"), VISA, "order-1"),
        lambda g: g.charge(eur("30"), CardPayment("4242424242424242"), "order-1"),
        lambda g: g.charge(Money(Decimal("30"), "CHF"), VISA, "order-1"),
    ],
)
def test_a_key_reused_for_another_charge_is_refused(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway,
    retry: Callable[[PaymentGateway], object],
) -> None:
    gateway.charge(eur("30"), VISA, "order-1")
    with pytest.raises(ValidationError) as refused:
        retry(gateway)
    assert refused.value.details == {"idempotency_key": "order-1"}
    assert len(gateway.charges) == 1


def test_a_declined_card_can_be_retried_with_another_under_the_same_key(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway,
) -> None:
    with pytest.raises(CardDeclinedError):
        gateway.charge(eur("30"), CardPayment("tok_insufficient_funds"), "order-1")
    assert gateway.charge(eur("30"), VISA, "order-1").amount == eur("30")
    assert len(gateway.charges) == 1


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_a_charge_is_a_positive_amount(gateway: PaymentGateway, amount: str) -> None:
    with pytest.raises(AmountInvalidError):
        gateway.charge(eur(amount), VISA, "order-1")


def test_refunds_never_exceed_the_charge_together(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway,
) -> None:
    charge = gateway.charge(eur("100"), VISA, "order-1")
    gateway.refund(charge.reference, eur("60"), "refund-a")
    with pytest.raises(AmountInvalidError) as refused:
        gateway.refund(charge.reference, eur("40.01"), "refund-b")
    assert refused.value.details["refundable"] == "40.00"
    last = gateway.refund(charge.reference, eur("40"), "refund-c")
    assert last.amount == eur("40")
    with pytest.raises(AmountInvalidError):
        gateway.refund(charge.reference, eur("0.01"), "refund-d")
    assert [r.amount for r in gateway.refunds] == [eur("60"), eur("40")]


def test_a_refund_is_idempotent_too(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway,
) -> None:
    charge = gateway.charge(eur("100"), VISA, "order-1")
    first = gateway.refund(charge.reference, eur("70"), "refund-a")
    # replayed although 70 more would exceed what is left: it is the same refund, not a new one
    assert gateway.refund(charge.reference, eur("70"), "refund-a") == first
    assert len(gateway.refunds) == 1
    with pytest.raises(ValidationError):
        gateway.refund(charge.reference, eur("10"), "refund-a")
    with pytest.raises(ValidationError):
        gateway.refund(charge.reference, eur("100"), "order-1")  # the charge's key


def test_refunds_of_unknown_charges_and_odd_amounts_are_refused(gateway: PaymentGateway) -> None:
    charge = gateway.charge(eur("100"), VISA, "order-1")
    with pytest.raises(NotFoundError):
        gateway.refund("no-such-charge", eur("1"), "refund-a")
    with pytest.raises(AmountInvalidError):
        gateway.refund(charge.reference, eur("0"), "refund-b")
    with pytest.raises(CurrencyMismatchError):
        gateway.refund(charge.reference, Money(Decimal("1"), "CHF"), "refund-c")


def test_concurrent_retries_charge_once(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway,
) -> None:
    receipts = []
    barrier = threading.Barrier(16)

    def pay(key: str) -> None:
        barrier.wait()
        receipts.append(gateway.charge(eur("10"), VISA, key))

    threads = [threading.Thread(target=pay, args=(f"order-{n % 4}",)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(receipts) == 16
    assert len(gateway.charges) == 4
    assert len({r.reference for r in receipts}) == 4


def test_concurrent_refunds_never_exceed_the_charge(
    gateway: SandboxPaymentGateway | InMemoryPaymentGateway,
) -> None:
    charge = gateway.charge(eur("100"), VISA, "order-1")
    barrier = threading.Barrier(12)
    refused: list[Exception] = []

    def refund(n: int) -> None:
        barrier.wait()
        try:
            gateway.refund(charge.reference, eur("10"), f"refund-{n}")
        except AmountInvalidError as error:
            refused.append(error)

    threads = [threading.Thread(target=refund, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(gateway.refunds) == 10
    assert len(refused) == 2
