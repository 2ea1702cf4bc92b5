"""Holding account, invoicing, payments, cancellations and credit notes."""

from __future__ import annotations

from datetime import timedelta

from support.agency import Agency, chf
from support.state import refused
from ticketdomain import (
    ActorKind,
    CancelOrder,
    CardPayment,
    CreateOrganization,
    IssueInvoice,
    LineRequest,
    ListInvoices,
    Money,
    OrderState,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    RecordPayment,
    SetCreditLimit,
    TicketState,
    ViewCatalog,
    ViewHoldingAccount,
    ViewOrder,
)
from ticketdomain.core.accounts import EntryKind
from ticketdomain.core.errors import (
    AmountInvalidError,
    CurrencyMismatchError,
    NotFoundError,
    NothingToInvoiceError,
    StateTransitionError,
    ValidationError,
)
from ticketdomain.core.invoices import InvoiceKind


def order(agency: Agency, quantity: int, tariff: str | None = None, **kwargs: object) -> str:
    command = PlaceOrder(
        kwargs.pop("token", agency.alice),  # type: ignore[arg-type]
        (LineRequest(agency.performance_id, tariff or agency.agency_tariff_id, quantity),),
        kwargs.pop("payment_method", PaymentMethod.HOLDING_ACCOUNT),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )
    return agency.world.domain.sales.place_order(command).id


def account(agency: Agency) -> object:
    return agency.world.domain.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )


def test_the_operator_sees_every_order_of_the_structure_and_its_relays(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    first = order(agency, 2)
    w.clock.advance(timedelta(minutes=5))
    second = order(agency, 1, token=agency.bob)
    card = order(agency, 1, payment_method=PaymentMethod.CARD, card=CardPayment("tok_visa"))
    phone = d.sales.place_order_for_structure(
        PlaceOrderForStructure(
            agency.operator,
            agency.phone_sales_point_id,
            agency.hotel_id,
            (LineRequest(agency.performance_id, agency.full_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    ).id
    view = d.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )
    # oldest first; orders placed at the same moment by id
    assert [o.id for o in view.orders] == [first, second, card, phone]
    assert view.outstanding == chf("275.00")  # 130 + 65 + 80, the card order is paid
    assert view.credit_limit is None and view.available_credit is None
    assert [e.kind for e in view.entries] == [EntryKind.ORDER_CHARGED] * 3
    assert {o.id: o.settled for o in view.orders}[card] is True
    assert {o.id: o.settled for o in view.orders}[first] is False


def test_a_structure_without_an_account_has_an_empty_ledger(agency: Agency) -> None:
    d = agency.world.domain
    view = d.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.other_agency_id)
    )
    assert view.entries == () and view.orders == ()
    assert view.outstanding == chf("0.00") and view.credit == chf("0.00")


def test_the_ledger_shown_is_every_entry_in_order_and_adds_up_to_the_outstanding_amount(
    agency: Agency,
) -> None:
    d = agency.world.domain
    first, second = order(agency, 2), order(agency, 1)
    d.accounts.issue_invoice(IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id))
    d.accounts.record_payment(
        RecordPayment(
            agency.operator, agency.organization_id, agency.hotel_id, chf("100.00"), "BANK-1"
        )
    )
    d.accounts.cancel_order(CancelOrder(agency.operator, second))
    view = d.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert [(e.sequence, e.kind, e.amount) for e in view.entries] == [
        (1, EntryKind.ORDER_CHARGED, chf("130.00")),
        (2, EntryKind.ORDER_CHARGED, chf("65.00")),
        (3, EntryKind.PAYMENT_RECEIVED, chf("-100.00")),
        (4, EntryKind.ORDER_CANCELLED, chf("-65.00")),
    ]
    assert [e.order_id for e in view.entries] == [first, second, None, second]
    assert view.entries[2].reference == "BANK-1"
    assert view.outstanding == Money.sum((e.amount for e in view.entries), "CHF")
    assert view.outstanding == chf("30.00")


def test_an_invoice_covers_every_unsettled_uninvoiced_order_once(agency: Agency) -> None:
    d = agency.world.domain
    a, b = order(agency, 2), order(agency, 1, agency.full_id, token=agency.bob)
    order(agency, 1, payment_method=PaymentMethod.CARD, card=CardPayment("tok_visa"))
    invoice = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert invoice.number == 1
    assert set(invoice.order_ids) == {a, b}
    assert invoice.total == chf("210.00")
    assert invoice.remaining == invoice.total and not invoice.paid
    # VAT breakdown at 8.1 % included in the price
    (row,) = invoice.vat_breakdown
    assert row.gross == chf("210.00") and row.net + row.vat == row.gross
    assert row.vat == chf("15.74")  # 210 * 0.081 / 1.081 = 15.7354
    with refused(agency.world, NothingToInvoiceError, "nothing_to_invoice"):
        d.accounts.issue_invoice(
            IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
        )
    c = order(agency, 1)
    second = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert second.number == 2 and second.order_ids == (c,)


def test_payments_settle_the_oldest_invoice_first_and_overpayment_is_credit(agency: Agency) -> None:
    d = agency.world.domain
    order(agency, 2)  # 130
    first = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    order(agency, 1)  # 65
    second = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    paid = d.accounts.record_payment(
        RecordPayment(
            agency.operator, agency.organization_id, agency.hotel_id, chf("150.00"), "bank-001"
        )
    )
    assert [(a.number, a.amount) for a in paid.allocations] == [
        (1, chf("130.00")),
        (2, chf("20.00")),
    ]
    paid = d.accounts.record_payment(
        RecordPayment(
            agency.operator, agency.organization_id, agency.hotel_id, chf("100.00"), "bank-002"
        )
    )
    assert [(a.number, a.amount) for a in paid.allocations] == [(2, chf("45.00"))]
    assert paid.credit == chf("55.00")
    assert paid.outstanding == chf("-55.00")
    invoices = d.accounts.list_invoices(
        ListInvoices(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert [(i.id, i.paid) for i in invoices] == [(first.id, True), (second.id, True)]
    # the credit pays the next invoice as soon as it is issued
    order(agency, 1)
    third = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert third.remaining == chf("10.00")


def test_payments_are_validated(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    with refused(w, AmountInvalidError):
        d.accounts.record_payment(
            RecordPayment(agency.operator, agency.organization_id, agency.hotel_id, chf("0"), "x")
        )
    with refused(w, CurrencyMismatchError):
        d.accounts.record_payment(
            RecordPayment(
                agency.operator, agency.organization_id, agency.hotel_id, Money("10", "EUR"), "x"
            )
        )
    with refused(w, ValidationError):
        d.accounts.record_payment(
            RecordPayment(agency.operator, agency.organization_id, agency.hotel_id, chf("10"), " ")
        )
    with refused(w, NotFoundError):
        d.accounts.record_payment(
            RecordPayment(agency.operator, agency.organization_id, "structure-404", chf("10"), "x")
        )
    with refused(w, NotFoundError):
        d.accounts.record_payment(
            RecordPayment(agency.operator, "organization-404", agency.hotel_id, chf("10"), "x")
        )
    with refused(w, AmountInvalidError):
        d.accounts.set_credit_limit(
            SetCreditLimit(agency.operator, agency.organization_id, agency.hotel_id, chf("-1"))
        )


def test_lifting_the_limit_allows_orders_again(agency: Agency) -> None:
    d = agency.world.domain
    d.accounts.set_credit_limit(
        SetCreditLimit(agency.operator, agency.organization_id, agency.hotel_id, chf("100"))
    )
    view = d.accounts.set_credit_limit(
        SetCreditLimit(agency.operator, agency.organization_id, agency.hotel_id, None)
    )
    assert view.credit_limit is None
    order(agency, 5)


def test_cancelling_frees_places_revokes_barcodes_and_credits_the_account(agency: Agency) -> None:
    d = agency.world.domain
    order_id = order(agency, 3)
    before = d.sales.view_order(ViewOrder(agency.alice, order_id))
    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert cancelled.credit_note is None
    after = d.sales.view_order(ViewOrder(agency.alice, order_id))
    assert after.state is OrderState.CANCELLED
    assert {t.state for t in after.tickets} == {TicketState.CANCELLED}
    assert all(t.barcode is None for t in after.tickets)
    assert all(t.barcode for t in before.tickets)
    catalog = d.sales.view_catalog(ViewCatalog(agency.alice))
    assert {e.available for e in catalog.entries if e.performance_id == agency.performance_id} == {
        20
    }
    view = d.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert view.outstanding == chf("0.00")
    with refused(agency.world, StateTransitionError):
        d.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    with refused(agency.world, NothingToInvoiceError):
        d.accounts.issue_invoice(
            IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
        )


def test_cancelling_an_invoiced_order_issues_a_credit_note(agency: Agency) -> None:
    d = agency.world.domain
    kept, dropped = order(agency, 2), order(agency, 1)
    invoice = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, dropped))
    note = cancelled.credit_note
    assert note is not None
    assert note.kind is InvoiceKind.CREDIT_NOTE
    assert note.number == 2 and note.corrects_invoice_id == invoice.id
    assert note.total == chf("-65.00")
    invoices = d.accounts.list_invoices(
        ListInvoices(agency.operator, agency.organization_id, agency.hotel_id)
    )
    original = next(i for i in invoices if i.id == invoice.id)
    assert original.total == chf("195.00")  # an issued invoice never changes
    assert original.remaining == chf("130.00")
    paid = d.accounts.record_payment(
        RecordPayment(
            agency.operator, agency.organization_id, agency.hotel_id, chf("130.00"), "bank"
        )
    )
    assert paid.outstanding == chf("0.00")
    assert kept in original.order_ids


def test_cancelling_a_card_order_refunds_the_card(agency: Agency) -> None:
    w = agency.world
    order_id = order(agency, 2, payment_method=PaymentMethod.CARD, card=CardPayment("tok_visa"))
    cancelled = w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert cancelled.refund_reference is not None
    assert [r.amount for r in w.payments.refunds] == [chf("130.00")]


def test_another_institutions_operator_finds_no_account_order_or_organization(
    agency: Agency,
) -> None:
    d, w = agency.world.domain, agency.world
    order_id = order(agency, 2)
    boot = d.host.bootstrap(
        institution_name="Geneva Events",
        first_name="Ines",
        last_name="Intrus",
        email="ines@geneva-events.ch",
    )
    intruder = d.host.open_session(ActorKind.OPERATOR, boot.operator.id).token
    theirs = d.setup.create_organization(CreateOrganization(intruder, "Victoria Hall", "CHF"))
    with refused(w, NotFoundError) as caught:
        d.accounts.view_holding_account(
            ViewHoldingAccount(intruder, agency.organization_id, agency.hotel_id)
        )
    assert caught.value.details == {"kind": "organization", "id": agency.organization_id}
    # through their own organization, our structure is unknown
    with refused(w, NotFoundError) as caught:
        d.accounts.record_payment(
            RecordPayment(intruder, theirs.id, agency.hotel_id, chf("10"), "bank")
        )
    assert caught.value.details == {"kind": "structure", "id": agency.hotel_id}
    with refused(w, NotFoundError):
        d.accounts.issue_invoice(IssueInvoice(intruder, theirs.id, agency.hotel_id))
    with refused(w, NotFoundError) as caught:
        d.accounts.cancel_order(CancelOrder(intruder, order_id))
    assert caught.value.details == {"kind": "order", "id": order_id}
