"""Holding accounts: a structure's running account with an organization.

The ledger is append-only and authoritative: the outstanding amount is the sum of its entries.
The aggregate does not carry the ledger, only its running total (``balance``) and the sequence
number of its last entry, kept in step with every entry it appends; the entries appended since it
was loaded wait in ``new_entries`` for the repository to insert (the repository's ``ledger()``
reads them all back). So an order on account costs the same however long the account's history.
The account also tracks how much of each issued invoice is still due, so that invoices
themselves never change.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ticketdomain.core.errors import AmountInvalidError, CreditLimitExceededError
from ticketdomain.core.money import Money


class EntryKind(enum.Enum):
    ORDER_CHARGED = "order_charged"
    ORDER_CANCELLED = "order_cancelled"
    PAYMENT_RECEIVED = "payment_received"


@attrs.frozen
class LedgerEntry:
    """One line of the ledger; ``amount`` is positive for what the structure owes."""

    sequence: int
    at: datetime
    kind: EntryKind
    amount: Money
    order_id: str | None = None
    reference: str | None = None


@attrs.frozen
class OpenInvoice:
    invoice_id: str
    number: int
    remaining: Money


@attrs.frozen
class Allocation:
    invoice_id: str
    number: int
    amount: Money


@attrs.define
class HoldingAccount:
    """A structure's running account.

    Invariant: ``balance`` is the sum of the amounts of every ledger entry ever appended (those
    stored and those in ``new_entries``), and the entries are numbered 1 to ``entry_count``
    without gaps.
    """

    id: str
    organization_id: str
    structure_id: str
    currency: str
    credit_limit: Money | None = None
    #: the sum of every ledger entry so far: what the structure owes (negative: credit)
    balance: Money | None = None
    #: the sequence number of the last ledger entry (0: none yet)
    entry_count: int = 0
    #: entries appended since the account was loaded, for the repository to insert (a loaded
    #: account has none; a repository empties the list once it has written them)
    new_entries: list[LedgerEntry] = attrs.Factory(list)
    open_invoices: list[OpenInvoice] = attrs.Factory(list)
    #: payments and credits not yet applied to an invoice
    unallocated_credit: Money | None = None
    version: int = 0

    def __attrs_post_init__(self) -> None:
        if self.balance is None:
            self.balance = Money.zero(self.currency)
        if self.unallocated_credit is None:
            self.unallocated_credit = Money.zero(self.currency)

    @property
    def credit(self) -> Money:
        assert self.unallocated_credit is not None
        return self.unallocated_credit

    @property
    def outstanding(self) -> Money:
        """The sum of the ledger's entries, kept as a running total."""
        assert self.balance is not None
        return self.balance

    @property
    def available_credit(self) -> Money | None:
        if self.credit_limit is None:
            return None
        return self.credit_limit - self.outstanding

    def set_limit(self, limit: Money | None) -> None:
        if limit is not None:
            self.outstanding._same(limit)
            if limit.amount < 0:
                raise AmountInvalidError("A credit limit must not be negative.", limit=str(limit))
        self.credit_limit = limit

    def _append(self, at: datetime, kind: EntryKind, amount: Money, **refs: str | None) -> None:
        entry = LedgerEntry(self.entry_count + 1, at, kind, amount, **refs)
        balance = self.outstanding + amount
        self.new_entries.append(entry)
        self.entry_count = entry.sequence
        self.balance = balance

    def charge(self, order_id: str, amount: Money, at: datetime) -> None:
        """Charge an order; refused when it would take the outstanding amount over the limit."""
        if amount.amount < 0:
            raise AmountInvalidError("A charge is not negative.", amount=str(amount))
        after = self.outstanding + amount
        if self.credit_limit is not None and after > self.credit_limit:
            available = self.credit_limit - self.outstanding
            raise CreditLimitExceededError(
                f"This order ({amount}) exceeds the available credit ({available}).",
                amount=str(amount.amount),
                available=str(available.amount),
                limit=str(self.credit_limit.amount),
                currency=self.currency,
            )
        self._append(at, EntryKind.ORDER_CHARGED, amount, order_id=order_id)

    def credit_cancelled_order(
        self, order_id: str, amount: Money, at: datetime, invoice_id: str | None
    ) -> None:
        """Credit a cancelled order; if it was invoiced, what remains due on that invoice drops."""
        self._append(at, EntryKind.ORDER_CANCELLED, -amount, order_id=order_id)
        if invoice_id is None:
            return
        for index, item in enumerate(self.open_invoices):
            if item.invoice_id == invoice_id:
                relief = amount.min(item.remaining)
                self._set_remaining(index, item.remaining - relief)
                self.unallocated_credit = self.credit + (amount - relief)
                break
        else:
            self.unallocated_credit = self.credit + amount
        self._apply_credit()

    def receive_payment(
        self, amount: Money, reference: str, at: datetime, invoice_id: str | None = None
    ) -> list[Allocation]:
        """Record a payment; it settles ``invoice_id`` first if given (a payment made with that
        invoice's reference), then the oldest open invoices; the rest is credit."""
        if not amount.is_positive:
            raise AmountInvalidError("A payment is a positive amount.", amount=str(amount))
        self.outstanding._same(amount)
        self._append(at, EntryKind.PAYMENT_RECEIVED, -amount, reference=reference)
        self.unallocated_credit = self.credit + amount
        allocations: list[Allocation] = []
        for index, item in enumerate(self.open_invoices):
            if item.invoice_id == invoice_id:
                paid = item.remaining.min(self.credit)
                self.unallocated_credit = self.credit - paid
                self._set_remaining(index, item.remaining - paid)
                allocations.append(Allocation(item.invoice_id, item.number, paid))
                break
        return allocations + self._apply_credit()

    def register_invoice(self, invoice_id: str, number: int, total: Money) -> list[Allocation]:
        """Open a newly issued invoice; credit already on the account pays it first."""
        self.open_invoices.append(OpenInvoice(invoice_id, number, total))
        self.open_invoices.sort(key=lambda item: item.number)
        return self._apply_credit()

    def remaining_on(self, invoice_id: str) -> Money:
        for item in self.open_invoices:
            if item.invoice_id == invoice_id:
                return item.remaining
        return Money.zero(self.currency)

    def _set_remaining(self, index: int, remaining: Money) -> None:
        item = self.open_invoices[index]
        if remaining.is_zero:
            del self.open_invoices[index]
        else:
            self.open_invoices[index] = OpenInvoice(item.invoice_id, item.number, remaining)

    def _apply_credit(self) -> list[Allocation]:
        allocations: list[Allocation] = []
        while self.open_invoices and self.credit.is_positive:
            item = self.open_invoices[0]
            paid = item.remaining.min(self.credit)
            self.unallocated_credit = self.credit - paid
            self._set_remaining(0, item.remaining - paid)
            allocations.append(Allocation(item.invoice_id, item.number, paid))
        return allocations


def order_settled(on_account: bool, invoice_id: str | None, account: HoldingAccount | None) -> bool:
    """Whether an order is paid: a card order at once; an order on account once its invoice is
    covered on ``account`` (the buying structure's holding account with the organization)."""
    if not on_account:
        return True
    if invoice_id is None:
        return False
    return account is not None and account.remaining_on(invoice_id).is_zero
