"""Invoices: total = sum of the orders, an exact VAT breakdown, credit notes, no number gaps."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.errors import NothingToInvoiceError
from ticketdomain.core.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceSequence,
    issue_credit_note,
    issue_invoice,
)
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.sales import Order, OrderLine
from ticketdomain.core.setup import DeliveryMode, PaymentMethod
from ticketdomain.testing import strategies as tds

AT = datetime(2025, 4, 1, tzinfo=UTC)
ORDER_LISTS = st.lists(
    tds.orders("EUR", max_lines=3), min_size=1, max_size=4, unique_by=lambda o: o.id
)


def order(order_id: str, *lines: tuple[int, str, str]) -> Order:
    """An on-account order; each line is (quantity, unit price, VAT rate)."""
    return Order(
        id=order_id,
        organization_id="org-1",
        sales_point_id="sp-1",
        structure_id="structure-1",
        placed_by="relay-1",
        placed_by_operator=False,
        purchasing_contact_id=None,
        lines=tuple(
            OrderLine(
                f"{order_id}-line-{n}",
                "perf-1",
                "product-1",
                "tariff-1",
                quantity,
                Money(Decimal(price), "EUR"),
                VatRate(Decimal(rate)),
            )
            for n, (quantity, price, rate) in enumerate(lines, 1)
        ),
        payment_method=PaymentMethod.HOLDING_ACCOUNT,
        delivery_mode=DeliveryMode.PRINT_AT_HOME,
        placed_at=AT,
        currency="EUR",
    )


def invoice_for(orders: list[Order], number: int = 1) -> Invoice:
    return issue_invoice(
        id=f"invoice-{number}",
        number=number,
        structure_id="structure-1",
        organization_id="org-1",
        currency="EUR",
        orders=orders,
        issued_at=AT,
        descriptions={},
    )


@given(ORDER_LISTS)
def test_the_total_is_the_sum_of_the_orders(orders: list[Order]) -> None:
    invoice = invoice_for(orders)
    # computed from raw decimals, not from Money, so a Money bug cannot hide here
    expected = sum(
        (line.unit_price.amount * line.quantity for order in orders for line in order.lines),
        Decimal(0),
    )
    assert invoice.total == Money(expected, "EUR")
    assert invoice.order_ids == tuple(order.id for order in orders)
    assert len(invoice.lines) == sum(len(order.lines) for order in orders)
    assert invoice.kind is InvoiceKind.INVOICE


@given(ORDER_LISTS)
def test_the_vat_breakdown_adds_up_exactly_to_the_total(orders: list[Order]) -> None:
    invoice = invoice_for(orders)
    rows = invoice.vat_breakdown
    assert Money.sum((row.gross for row in rows), "EUR") == invoice.total
    for row in rows:
        assert row.net + row.vat == row.gross
        assert abs(row.vat.amount - row.net.amount * row.vat_rate.rate) < Decimal("0.01")
    # one row per rate used, in ascending rate order
    rates = [row.vat_rate.rate for row in rows]
    assert rates == sorted({line.vat_rate.rate for line in invoice.lines})


@given(ORDER_LISTS)
def test_each_rate_is_split_once_for_all_its_lines(orders: list[Order]) -> None:
    invoice = invoice_for(orders)
    for row in invoice.vat_breakdown:
        gross = Money.sum(
            (line.total for line in invoice.lines if line.vat_rate == row.vat_rate), "EUR"
        )
        assert row.gross == gross
        assert (row.net, row.vat) == row.vat_rate.split(gross)


def test_a_two_rate_breakdown() -> None:
    invoice = invoice_for([order("order-1", (2, "60", "0.2"), (1, "10.55", "0.055"))])
    assert invoice.total == Money(Decimal("130.55"), "EUR")
    assert [(str(r.vat_rate), str(r.net), str(r.vat)) for r in invoice.vat_breakdown] == [
        ("5.5 %", "10.00 EUR", "0.55 EUR"),
        ("20 %", "100.00 EUR", "20.00 EUR"),
    ]


@given(ORDER_LISTS, st.data())
def test_a_credit_note_negates_one_order_of_the_invoice(
    orders: list[Order], data: st.DataObject
) -> None:
    invoice = invoice_for(orders)
    cancelled = data.draw(st.sampled_from(orders))
    note = issue_credit_note(
        id="credit-1", number=2, invoice=invoice, order=cancelled, issued_at=AT, descriptions={}
    )
    alone = invoice_for([cancelled])
    assert note.kind is InvoiceKind.CREDIT_NOTE
    assert note.corrects_invoice_id == invoice.id
    assert note.order_ids == (cancelled.id,)
    assert note.total == -cancelled.total
    assert [line.total for line in note.lines] == [-line.total for line in alone.lines]
    assert [(r.vat_rate, r.net, r.vat, r.gross) for r in note.vat_breakdown] == [
        (r.vat_rate, -r.net, -r.vat, -r.gross) for r in alone.vat_breakdown
    ]
    assert (note.organization_id, note.structure_id, note.currency) == (
        invoice.organization_id,
        invoice.structure_id,
        invoice.currency,
    )


def test_nothing_to_invoice_is_refused() -> None:
    with pytest.raises(NothingToInvoiceError) as refused:
        invoice_for([])
    assert refused.value.code == "nothing_to_invoice"
    assert refused.value.details == {"structure_id": "structure-1"}


def test_descriptions_name_the_lines() -> None:
    invoice = issue_invoice(
        id="invoice-1",
        number=1,
        structure_id="structure-1",
        organization_id="org-1",
        currency="EUR",
        orders=[order("order-1", (1, "30", "0.2"))],
        issued_at=AT,
        descriptions={"order-1-line-1": "La Traviata, 12 May, orchestra, full price"},
    )
    assert invoice.lines[0].description == "La Traviata, 12 May, orchestra, full price"


def test_an_issued_invoice_never_changes() -> None:
    invoice = invoice_for([order("order-1", (1, "30", "0.2"))])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        invoice.total = Money(Decimal("0"), "EUR")  # type: ignore[misc]


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=10**6))
def test_the_invoice_sequence_has_no_gaps(count: int, start: int) -> None:
    sequence = InvoiceSequence("org-1", last_number=start)
    assert [sequence.next() for _ in range(count)] == list(range(start + 1, start + count + 1))
    assert sequence.last_number == start + count
