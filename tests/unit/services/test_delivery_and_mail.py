"""Print@home, transfer to the client's online account, and the mail outbox."""

from __future__ import annotations

from support.agency import Agency, relay_session
from support.state import refused
from ticketdomain import (
    CancelOrder,
    ContactDetails,
    CreateSalesPoint,
    DeliveryMode,
    DeliveryPolicy,
    DispatchMail,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PrintTickets,
    TicketState,
    TransferTickets,
    ViewOrder,
)
from ticketdomain.core.errors import (
    DeliveryModeNotAllowedError,
    ForeignResourceError,
    OrderNotSettledError,
    StateTransitionError,
)


def place(agency: Agency, quantity: int = 2) -> str:
    return agency.world.domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),),
            PaymentMethod.HOLDING_ACCOUNT,
            purchasing_contact=ContactDetails("Claire", "Dubois", "claire@example.org"),
        )
    ).id


def send_welcomes(agency: Agency) -> None:
    """Send the welcome mail the set-up queued for each relay, to start from an empty outbox."""
    sent = agency.world.domain.mail.dispatch_mail(DispatchMail(agency.operator))
    assert len(sent.sent) == 3 and sent.failed == ()
    assert {str(m.to) for m in agency.world.mailer.outbox} == {
        "alice@beau-rivage.ch",
        "bob@beau-rivage.ch",
        "carol@touragent.ch",
    }


def test_printing_renders_every_ticket_with_the_beneficiary(agency: Agency) -> None:
    w = agency.world
    order_id = place(agency)
    printed = w.domain.sales.print_tickets(PrintTickets(agency.alice, order_id))
    assert printed.media_type == "application/pdf"
    assert printed.content.startswith(b"%PDF-")
    rendered = w.renderer.rendered
    assert [t.beneficiary for t in rendered] == ["Claire Dubois"] * 2
    assert {t.activity for t in rendered} == {"La Traviata"}
    view = w.domain.sales.view_order(ViewOrder(agency.alice, order_id))
    assert {t.state for t in view.tickets} == {TicketState.PRINTED}
    assert {t.barcode for t in view.tickets} == {t.barcode for t in rendered}


def test_a_reprint_revokes_the_printed_barcodes(agency: Agency) -> None:
    w = agency.world
    order_id = place(agency)
    w.domain.sales.print_tickets(PrintTickets(agency.alice, order_id))
    first = {
        t.barcode for t in w.domain.sales.view_order(ViewOrder(agency.alice, order_id)).tickets
    }
    w.domain.sales.print_tickets(PrintTickets(agency.bob, order_id))
    second = {
        t.barcode for t in w.domain.sales.view_order(ViewOrder(agency.alice, order_id)).tickets
    }
    assert len(second) == 2 and not first & second


def test_printing_is_refused_for_foreign_or_cancelled_orders(agency: Agency) -> None:
    w = agency.world
    order_id = place(agency)
    with refused(w, ForeignResourceError):
        w.domain.sales.print_tickets(PrintTickets(agency.carol, order_id))
    w.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    with refused(w, StateTransitionError):
        w.domain.sales.print_tickets(PrintTickets(agency.alice, order_id))


def test_an_unsettled_order_is_not_printed_where_the_policy_says_so(agency: Agency) -> None:
    from ticketdomain import AuthorizeStructure, Function, IssueInvoice, RecordPayment

    d, w = agency.world.domain, agency.world
    strict = d.setup.create_sales_point(
        CreateSalesPoint(
            agency.operator,
            agency.organization_id,
            agency.agency_channel_id,
            "Strict agencies",
            functions=frozenset({Function.OPTIONS}),
            payment_methods=frozenset({PaymentMethod.HOLDING_ACCOUNT}),
            admit_before_settlement=False,
        )
    )
    d.setup.authorize_structure(AuthorizeStructure(agency.operator, strict.id, agency.hotel_id))
    session = relay_session(d, agency.alice_id, strict.id)
    order = d.sales.place_order(
        PlaceOrder(
            session,
            (LineRequest(agency.later_performance_id, agency.full_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    with refused(w, OrderNotSettledError, "order_not_settled"):
        d.sales.print_tickets(PrintTickets(session, order.id))
    invoice = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    with refused(w, OrderNotSettledError):
        d.sales.print_tickets(PrintTickets(session, order.id))
    d.accounts.record_payment(
        RecordPayment(
            agency.operator, agency.organization_id, agency.hotel_id, invoice.total, "bank"
        )
    )
    assert d.sales.print_tickets(PrintTickets(session, order.id)).ticket_ids


def test_transfer_assigns_tickets_and_mails_the_client_only_once_committed(agency: Agency) -> None:
    w = agency.world
    send_welcomes(agency)
    welcomed = list(w.mailer.outbox)
    order_id = place(agency, 3)
    transferred = w.domain.sales.transfer_tickets(
        TransferTickets(
            agency.alice, order_id, ContactDetails("Jean", "Muller", "jean@example.org")
        )
    )
    assert len(transferred.ticket_ids) == 3
    view = w.domain.sales.view_order(ViewOrder(agency.alice, order_id))
    assert {t.holder_id for t in view.tickets} == {transferred.client_id}
    assert {t.state for t in view.tickets} == {TicketState.DISTRIBUTED}
    # queued, not sent: the mail leaves when the outbox is dispatched
    assert w.mailer.outbox == welcomed
    w.mailer.fail_next(1)
    first = w.domain.mail.dispatch_mail(DispatchMail(agency.operator))
    assert first.failed == (transferred.mail_id,) and first.sent == ()
    # A temporary failure: due again after the first retry delay, not before.
    assert w.domain.mail.dispatch_mail(DispatchMail(agency.operator)).sent == ()
    w.clock.advance(DeliveryPolicy().first_retry)
    second = w.domain.mail.dispatch_mail(DispatchMail(agency.operator))
    assert second.sent == (transferred.mail_id,)
    (mail,) = w.mailer.sent_to("jean@example.org")
    assert "3 ticket(s)" in mail.subject
    assert w.domain.mail.dispatch_mail(DispatchMail(agency.operator)).sent == ()
    with refused(w, StateTransitionError):
        w.domain.sales.transfer_tickets(
            TransferTickets(agency.alice, order_id, ContactDetails("J", "M", "j@example.org"))
        )


def test_a_refused_transfer_queues_no_mail(agency: Agency) -> None:
    from ticketdomain.core.errors import EmailInvalidError

    w = agency.world
    send_welcomes(agency)
    order_id = place(agency)
    with refused(w, EmailInvalidError):
        w.domain.sales.transfer_tickets(
            TransferTickets(agency.alice, order_id, ContactDetails("J", "M", "nope"))
        )
    assert w.domain.mail.dispatch_mail(DispatchMail(agency.operator)).sent == ()


def test_transfer_needs_the_delivery_mode_on_the_sales_point(agency: Agency) -> None:
    from ticketdomain import PlaceOrderForStructure

    w = agency.world
    order = w.domain.sales.place_order_for_structure(
        PlaceOrderForStructure(
            agency.operator,
            agency.phone_sales_point_id,
            agency.hotel_id,
            (LineRequest(agency.performance_id, agency.full_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
            delivery_mode=DeliveryMode.PRINT_AT_HOME,
        )
    )
    with refused(w, DeliveryModeNotAllowedError):
        w.domain.sales.transfer_tickets(
            TransferTickets(agency.alice, order.id, ContactDetails("J", "M", "j@example.org"))
        )
