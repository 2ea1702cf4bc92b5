"""Invoices and credit notes: numbered without gaps per organization, immutable once issued."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import attrs

from ticketdomain.core.banking import Party
from ticketdomain.core.errors import NothingToInvoiceError
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.sales import Order


class InvoiceKind(enum.Enum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@attrs.frozen
class InvoiceLine:
    order_id: str
    order_line_id: str
    description: str
    quantity: int
    unit_price: Money
    vat_rate: VatRate
    total: Money


@attrs.frozen
class VatBreakdownRow:
    vat_rate: VatRate
    net: Money
    vat: Money
    gross: Money


@attrs.frozen
class Invoice:
    """An issued invoice or credit note. Frozen: it never changes once issued."""

    id: str
    organization_id: str
    structure_id: str
    number: int
    kind: InvoiceKind
    issued_at: datetime
    currency: str
    lines: tuple[InvoiceLine, ...]
    vat_breakdown: tuple[VatBreakdownRow, ...]
    total: Money
    order_ids: tuple[str, ...]
    #: for a credit note, the invoice it corrects
    corrects_invoice_id: str | None = None
    #: the day payment is due (the organization's payment terms after the issue date)
    due_on: date | None = None
    #: the structured reference it is paid with (QR reference or ``RF`` Creditor Reference)
    reference: str | None = None
    #: the account it is paid into, as it was when issued (the QR-bill's)
    iban: str | None = None
    #: the seller and the buyer as they were when it was issued (``None``: issued before they
    #: were kept)
    seller: Party | None = None
    buyer: Party | None = None


@attrs.define
class InvoiceSequence:
    """The next invoice number of an organization; locked while an invoice is issued."""

    organization_id: str
    last_number: int = 0
    version: int = 0

    def next(self) -> int:
        self.last_number += 1
        return self.last_number


def vat_breakdown(lines: Sequence[InvoiceLine], currency: str) -> tuple[VatBreakdownRow, ...]:
    """Net, VAT and gross per rate; each rate's gross is split once so the rows add up exactly."""
    gross_by_rate: dict[VatRate, Money] = {}
    for line in lines:
        gross_by_rate[line.vat_rate] = (
            gross_by_rate.get(line.vat_rate, Money.zero(currency)) + line.total
        )
    rows = []
    for rate in sorted(gross_by_rate, key=lambda r: r.rate):
        gross = gross_by_rate[rate]
        net, vat = rate.split(gross)
        rows.append(VatBreakdownRow(rate, net, vat, gross))
    return tuple(rows)


def _lines(
    orders: Sequence[Order], descriptions: Mapping[str, str], sign: int
) -> tuple[InvoiceLine, ...]:
    return tuple(
        InvoiceLine(
            order_id=order.id,
            order_line_id=line.id,
            description=descriptions.get(line.id, line.id),
            quantity=line.quantity,
            unit_price=line.unit_price if sign > 0 else -line.unit_price,
            vat_rate=line.vat_rate,
            total=line.total if sign > 0 else -line.total,
        )
        for order in orders
        for line in order.lines
    )


def issue_invoice(
    *,
    id: str,
    number: int,
    structure_id: str,
    organization_id: str,
    currency: str,
    orders: Sequence[Order],
    issued_at: datetime,
    descriptions: Mapping[str, str],
    due_on: date | None = None,
    reference: str | None = None,
    iban: str | None = None,
    seller: Party | None = None,
    buyer: Party | None = None,
) -> Invoice:
    """One invoice for the given orders; its total is the sum of their totals. ``due_on``,
    ``reference`` and ``iban`` come from ``core.billing.payment_terms``."""
    if not orders:
        raise NothingToInvoiceError(
            "This structure has no unsettled order left to invoice.", structure_id=structure_id
        )
    lines = _lines(orders, descriptions, +1)
    total = Money.sum((order.total for order in orders), currency)
    return Invoice(
        id=id,
        organization_id=organization_id,
        structure_id=structure_id,
        number=number,
        kind=InvoiceKind.INVOICE,
        issued_at=issued_at,
        currency=currency,
        lines=lines,
        vat_breakdown=vat_breakdown(lines, currency),
        total=total,
        order_ids=tuple(order.id for order in orders),
        due_on=due_on,
        reference=reference,
        iban=iban,
        seller=seller,
        buyer=buyer,
    )


def issue_credit_note(
    *,
    id: str,
    number: int,
    invoice: Invoice,
    order: Order,
    issued_at: datetime,
    descriptions: Mapping[str, str],
    seller: Party | None = None,
    buyer: Party | None = None,
) -> Invoice:
    """A credit note that negates one cancelled order of an issued invoice; ``seller`` and
    ``buyer`` as they are when it is issued."""
    lines = _lines([order], descriptions, -1)
    return Invoice(
        id=id,
        organization_id=invoice.organization_id,
        structure_id=invoice.structure_id,
        number=number,
        kind=InvoiceKind.CREDIT_NOTE,
        issued_at=issued_at,
        currency=invoice.currency,
        lines=lines,
        vat_breakdown=vat_breakdown(lines, invoice.currency),
        total=-order.total,
        order_ids=(order.id,),
        corrects_invoice_id=invoice.id,
        seller=seller,
        buyer=buyer,
    )
