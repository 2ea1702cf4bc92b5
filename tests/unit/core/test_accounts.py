"""Holding accounts: an append-only ledger kept as a running total, a hard credit limit, oldest
invoice paid first."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ticketdomain.core.accounts import Allocation, EntryKind, HoldingAccount, LedgerEntry
from ticketdomain.core.errors import (
    AmountInvalidError,
    CreditLimitExceededError,
    CurrencyMismatchError,
)
from ticketdomain.core.money import Money
from ticketdomain.testing import strategies as tds

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def account(limit: str | None = None) -> HoldingAccount:
    return HoldingAccount(
        "acc-1", "org-1", "agency-1", "EUR", credit_limit=eur(limit) if limit else None
    )


class HoldingAccountMachine(RuleBasedStateMachine):
    """Random charges, invoices, payments and cancellations against a simple model."""

    def __init__(self) -> None:
        super().__init__()
        self.account = account()
        #: every entry appended so far, as the invariants last saw them
        self.ledger: list[LedgerEntry] = []
        #: entries a repository has written (and taken out of ``new_entries``)
        self.written: list[LedgerEntry] = []
        self.expected_outstanding = Decimal(0)
        #: order id -> (amount, invoice id or None); cancelled orders are removed
        self.live_orders: dict[str, tuple[Money, str | None]] = {}
        self.invoice_count = 0

    @initialize(limit=st.one_of(st.none(), tds.money("EUR", Decimal("0"), Decimal("1000"))))
    def open_account(self, limit: Money | None) -> None:
        self.account.set_limit(limit)

    @rule(amount=tds.money("EUR", Decimal("0.01"), Decimal("400")))
    def charge_an_order(self, amount: Money) -> None:
        order_id = f"order-{len(self.ledger) + 1}"
        before = (
            list(self.account.new_entries),
            self.account.entry_count,
            self.account.outstanding,
            list(self.account.open_invoices),
            self.account.credit,
        )
        limit = self.account.credit_limit
        if limit is not None and self.account.outstanding + amount > limit:
            with pytest.raises(CreditLimitExceededError):
                self.account.charge(order_id, amount, AT)
            after = (
                list(self.account.new_entries),
                self.account.entry_count,
                self.account.outstanding,
                self.account.open_invoices,
                self.account.credit,
            )
            assert after == before, "a refused charge changed the account"
            return
        self.account.charge(order_id, amount, AT)
        self.live_orders[order_id] = (amount, None)
        self.expected_outstanding += amount.amount

    @precondition(lambda self: any(inv is None for _, inv in self.live_orders.values()))
    @rule()
    def issue_an_invoice(self) -> None:
        self.invoice_count += 1
        invoice_id = f"invoice-{self.invoice_count}"
        uninvoiced = [oid for oid, (_, inv) in self.live_orders.items() if inv is None]
        total = Money.sum((self.live_orders[oid][0] for oid in uninvoiced), "EUR")
        credit = self.account.credit
        allocations = self.account.register_invoice(invoice_id, self.invoice_count, total)
        for oid in uninvoiced:
            self.live_orders[oid] = (self.live_orders[oid][0], invoice_id)
        # credit on the account pays the new invoice at once, as far as it goes
        expected = (
            [Allocation(invoice_id, self.invoice_count, credit.min(total))]
            if credit.is_positive
            else []
        )
        assert allocations == expected

    @rule(amount=tds.money("EUR", Decimal("0.01"), Decimal("600")))
    def receive_a_payment(self, amount: Money) -> None:
        open_before = list(self.account.open_invoices)
        credit_before = self.account.credit
        allocations = self.account.receive_payment(amount, f"wire-{len(self.ledger)}", AT)
        self.expected_outstanding -= amount.amount
        # oldest first: the allocations follow the open invoices in number order…
        assert [a.invoice_id for a in allocations] == [
            item.invoice_id for item in open_before[: len(allocations)]
        ]
        # …and every invoice but the last one touched is settled in full
        for allocation, item in zip(allocations[:-1], open_before, strict=False):
            assert allocation.amount == item.remaining
            assert self.account.remaining_on(item.invoice_id).is_zero
        paid = Money.sum((a.amount for a in allocations), "EUR")
        assert paid + self.account.credit == credit_before + amount

    @precondition(lambda self: bool(self.live_orders))
    @rule(data=st.data())
    def cancel_an_order(self, data: st.DataObject) -> None:
        order_id = data.draw(st.sampled_from(sorted(self.live_orders)))
        amount, invoice_id = self.live_orders.pop(order_id)
        due_before = self.account.remaining_on(invoice_id) if invoice_id else None
        self.account.credit_cancelled_order(order_id, amount, AT, invoice_id)
        self.expected_outstanding -= amount.amount
        if invoice_id is not None and due_before is not None and due_before.is_positive:
            # the cancellation relieves its own invoice first
            relieved = due_before - amount if amount < due_before else Money.zero("EUR")
            assert self.account.remaining_on(invoice_id) == relieved

    @rule()
    def write_back(self) -> None:
        """What a repository does on ``add``/``update``: insert the new entries, empty the list."""
        self.written += self.account.new_entries
        self.account.new_entries.clear()

    @invariant()
    def ledger_is_append_only_and_numbered_without_gaps(self) -> None:
        entries = self.written + self.account.new_entries
        assert entries[: len(self.ledger)] == self.ledger
        assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
        assert self.account.entry_count == len(entries)
        self.ledger = list(entries)

    @invariant()
    def outstanding_is_the_sum_of_what_happened(self) -> None:
        assert self.account.outstanding.amount == self.expected_outstanding
        assert self.account.balance == self.account.outstanding
        assert self.account.outstanding == Money.sum((e.amount for e in self.ledger), "EUR")

    @invariant()
    def outstanding_never_exceeds_the_limit(self) -> None:
        limit = self.account.credit_limit
        assert limit is None or self.account.outstanding <= limit

    @invariant()
    def open_items_and_credit_explain_the_outstanding_amount(self) -> None:
        uninvoiced = Money.sum(
            (amount for amount, inv in self.live_orders.values() if inv is None), "EUR"
        )
        due = Money.sum((item.remaining for item in self.account.open_invoices), "EUR")
        assert self.account.outstanding == uninvoiced + due - self.account.credit

    @invariant()
    def credit_is_used_before_anything_stays_due(self) -> None:
        assert not self.account.credit.amount < 0
        assert all(item.remaining.is_positive for item in self.account.open_invoices)
        assert not (self.account.credit.is_positive and self.account.open_invoices)
        numbers = [item.number for item in self.account.open_invoices]
        assert numbers == sorted(numbers)


TestHoldingAccount = HoldingAccountMachine.TestCase


# --- named examples ---------------------------------------------------------------------------


def test_a_charge_over_the_limit_is_refused_and_says_how_much_is_left() -> None:
    acc = account("100")
    acc.charge("order-1", eur("70"), AT)
    with pytest.raises(CreditLimitExceededError) as refused:
        acc.charge("order-2", eur("30.01"), AT)
    assert refused.value.code == "credit_limit_exceeded"
    assert refused.value.details == {
        "amount": "30.01",
        "available": "30.00",
        "limit": "100.00",
        "currency": "EUR",
    }
    assert len(acc.new_entries) == 1
    assert (acc.entry_count, acc.outstanding) == (1, eur("70"))
    acc.charge("order-2", eur("30"), AT)  # exactly up to the limit is fine
    assert acc.available_credit == eur("0")


def test_an_account_without_limit_takes_any_charge() -> None:
    acc = account()
    acc.charge("order-1", eur("999999"), AT)
    assert acc.available_credit is None
    assert acc.outstanding == eur("999999")


def test_a_payment_settles_the_oldest_invoice_first() -> None:
    acc = account()
    for n, amount in ((1, "100"), (2, "50"), (3, "30")):
        acc.charge(f"order-{n}", eur(amount), AT)
    # registered out of order on purpose: the number decides which is oldest
    acc.register_invoice("invoice-2", 2, eur("50"))
    acc.register_invoice("invoice-1", 1, eur("100"))
    acc.register_invoice("invoice-3", 3, eur("30"))
    allocations = acc.receive_payment(eur("120"), "wire-1", AT)
    assert allocations == [
        Allocation("invoice-1", 1, eur("100")),
        Allocation("invoice-2", 2, eur("20")),
    ]
    assert acc.remaining_on("invoice-1") == eur("0")
    assert acc.remaining_on("invoice-2") == eur("30")
    assert acc.remaining_on("invoice-3") == eur("30")
    assert acc.outstanding == eur("60")


def test_an_overpayment_becomes_credit_that_pays_the_next_invoice() -> None:
    acc = account()
    acc.charge("order-1", eur("40"), AT)
    acc.register_invoice("invoice-1", 1, eur("40"))
    assert acc.receive_payment(eur("100"), "wire-1", AT) == [Allocation("invoice-1", 1, eur("40"))]
    assert acc.credit == eur("60")
    assert acc.outstanding == eur("-60")
    acc.charge("order-2", eur("25"), AT)
    assert acc.register_invoice("invoice-2", 2, eur("25")) == [
        Allocation("invoice-2", 2, eur("25"))
    ]
    assert acc.credit == eur("35")
    assert acc.open_invoices == []


def test_cancelling_an_invoiced_order_relieves_its_invoice() -> None:
    acc = account()
    acc.charge("order-1", eur("80"), AT)
    acc.charge("order-2", eur("20"), AT)
    acc.register_invoice("invoice-1", 1, eur("100"))
    acc.credit_cancelled_order("order-2", eur("20"), AT, "invoice-1")
    assert acc.remaining_on("invoice-1") == eur("80")
    assert acc.credit == eur("0")
    assert acc.new_entries[-1].kind is EntryKind.ORDER_CANCELLED
    assert acc.new_entries[-1].amount == eur("-20")
    assert acc.new_entries[-1].sequence == acc.entry_count == 3


def test_cancelling_an_order_of_a_paid_invoice_leaves_credit() -> None:
    acc = account()
    acc.charge("order-1", eur("80"), AT)
    acc.register_invoice("invoice-1", 1, eur("80"))
    acc.receive_payment(eur("80"), "wire-1", AT)
    acc.credit_cancelled_order("order-1", eur("80"), AT, "invoice-1")
    assert acc.credit == eur("80")
    assert acc.outstanding == eur("-80")


def test_a_cancelled_order_frees_room_under_the_limit() -> None:
    acc = account("100")
    acc.charge("order-1", eur("100"), AT)
    acc.credit_cancelled_order("order-1", eur("100"), AT, None)
    acc.charge("order-2", eur("100"), AT)
    assert acc.outstanding == eur("100")


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_a_payment_is_a_positive_amount(amount: str) -> None:
    acc = account()
    with pytest.raises(AmountInvalidError):
        acc.receive_payment(eur(amount), "wire-1", AT)
    assert acc.new_entries == []
    assert (acc.entry_count, acc.outstanding) == (0, eur("0"))


def test_payments_and_limits_in_another_currency_are_refused() -> None:
    acc = account()
    with pytest.raises(CurrencyMismatchError):
        acc.receive_payment(Money(Decimal("5"), "CHF"), "wire-1", AT)
    with pytest.raises(CurrencyMismatchError):
        acc.set_limit(Money(Decimal("5"), "CHF"))
    with pytest.raises(CurrencyMismatchError):
        acc.charge("order-1", Money(Decimal("5"), "CHF"), AT)
    with pytest.raises(CurrencyMismatchError):
        acc.credit_cancelled_order("order-1", Money(Decimal("5"), "CHF"), AT, None)
    assert acc.new_entries == []
    assert (acc.entry_count, acc.outstanding, acc.credit) == (0, eur("0"), eur("0"))
    assert acc.credit_limit is None


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(AmountInvalidError):
        account().set_limit(eur("-1"))


def test_an_account_loaded_with_its_running_total_goes_on_from_it() -> None:
    # As a repository loads it: the balance and the last sequence, no entries.
    acc = HoldingAccount("acc-1", "org-1", "agency-1", "EUR", balance=eur("120"), entry_count=7)
    assert acc.outstanding == eur("120")
    acc.charge("order-8", eur("30"), AT)
    acc.receive_payment(eur("100"), "wire-1", AT)
    assert acc.new_entries == [
        LedgerEntry(8, AT, EntryKind.ORDER_CHARGED, eur("30"), order_id="order-8"),
        LedgerEntry(9, AT, EntryKind.PAYMENT_RECEIVED, eur("-100"), reference="wire-1"),
    ]
    assert (acc.entry_count, acc.outstanding) == (9, eur("50"))


def test_the_limit_counts_the_history_not_only_the_new_entries() -> None:
    acc = HoldingAccount(
        "acc-1",
        "org-1",
        "agency-1",
        "EUR",
        credit_limit=eur("100"),
        balance=eur("90"),
        entry_count=4,
    )
    with pytest.raises(CreditLimitExceededError):
        acc.charge("order-5", eur("10.01"), AT)
    assert (acc.new_entries, acc.entry_count, acc.outstanding) == ([], 4, eur("90"))
    assert acc.available_credit == eur("10")


def test_a_new_account_owes_nothing() -> None:
    acc = account()
    assert (acc.balance, acc.entry_count, acc.new_entries) == (eur("0"), 0, [])
