"""The individual space: a member of the works council logs in, sees the tickets assigned to
them, and prints them with the name of the person who will attend."""

from __future__ import annotations

from typing import Any, cast

from support.corporate import Corporate, set_up_corporate
from support.state import refused
from ticketdomain import (
    ActorKind,
    CancelOrder,
    ContactDetails,
    DispatchMail,
    DistributeToMember,
    IssueInvoice,
    ListMemberTickets,
    LoginMember,
    PrintAtOnce,
    PrintMemberTickets,
    ReclaimTickets,
    RecordPayment,
    ScanRejection,
    ScanTicket,
    SearchContacts,
    SetMarketingConsent,
    TicketsDistributed,
    TicketState,
    ViewOrder,
)
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    ForeignResourceError,
    LoginFailedError,
    NameInvalidError,
    NotFoundError,
    OrderNotSettledError,
    QuantityInvalidError,
    SessionInvalidError,
    StateTransitionError,
)
from ticketdomain.testing.domain import FakeWorld
from ticketdomain.testing.fakes import RecordingRenderer

LEA = ContactDetails("Lea", "Favre", "lea@example.org")
PASSWORD = "correct horse battery"


def give(c: Corporate, quantity: int, member: ContactDetails | None = None) -> TicketsDistributed:
    """The works council's relay distributes ``quantity`` tickets to Marc or to ``member``."""
    return c.world.domain.distribution.distribute_to_member(
        DistributeToMember(
            c.nina,
            c.performance_id,
            c.product_id,
            quantity,
            member_id=None if member else c.marc_id,
            member=member,
        )
    )


def own_tickets(c: Corporate, session: str) -> dict[str, tuple[TicketState, str | None]]:
    """State and printed beneficiary of each ticket the member sees."""
    listed = c.world.domain.members.list_member_tickets(ListMemberTickets(session))
    return {t.ticket_id: (t.state, t.beneficiary) for t in listed}


def barcodes(c: Corporate, order_id: str) -> dict[str, str | None]:
    view = c.world.domain.sales.view_order(ViewOrder(c.nina, order_id))
    return {t.id: t.barcode for t in view.tickets}


def test_a_member_logs_in_and_sees_only_their_own_tickets(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    c.buy(6)
    marcs = give(c, 2)
    leas = give(c, 1, LEA)
    d.host.set_password(ActorKind.MEMBER, leas.holder_id, PASSWORD)
    opened = d.identity.login_member(LoginMember(c.institution_id, "LEA@example.org", PASSWORD))
    assert (opened.actor_kind, opened.actor_id) == (ActorKind.MEMBER, leas.holder_id)
    who = d.host.who(opened.token)
    assert (who.id, who.institution_id) == (leas.holder_id, c.institution_id)
    lea = opened.token

    listed = d.members.list_member_tickets(ListMemberTickets(c.marc))
    assert sorted(t.ticket_id for t in listed) == sorted(marcs.ticket_ids)
    for ticket in listed:
        assert (ticket.activity, ticket.product, ticket.tariff) == (
            "La Traviata",
            "Stalls",
            "Works council",
        )
        assert (ticket.performance_id, ticket.venue) == (c.performance_id, "Opera de Lausanne")
        assert (ticket.state, ticket.beneficiary) == (TicketState.DISTRIBUTED, None)
    assert list(own_tickets(c, lea)) == list(leas.ticket_ids)
    # a relay logged in as an individual holds no ticket of the works council's stock
    d.host.set_password(ActorKind.MEMBER, c.nina_id, PASSWORD)
    nina = d.identity.login_member(LoginMember(c.institution_id, "nina@nestor.ch", PASSWORD))
    assert own_tickets(c, nina.token) == {}


def test_logging_in_someone_unknown_is_refused(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    d.host.set_password(ActorKind.MEMBER, c.marc_id, PASSWORD)
    for institution_id, email in [
        (c.institution_id, "nobody@nestor.ch"),
        # marc's email and password, in another institution
        ("institution-404", "marc@nestor.ch"),
    ]:
        with refused(c.world, LoginFailedError, "login_failed"):
            d.identity.login_member(LoginMember(institution_id, email, PASSWORD))
    # a token forged, or made up for an individual that does not exist, sees nothing
    for forged in ["individual-404", "tds_individual-404", "tdk_individual-404", ""]:
        with refused(c.world, SessionInvalidError, "session_invalid"):
            d.members.list_member_tickets(ListMemberTickets(forged))
    with refused(c.world, NotFoundError, "not_found"):
        d.host.open_session(ActorKind.MEMBER, "individual-404")
    # nor does another kind of actor's token open the individual space
    for other in [c.nina, c.gate, c.operator]:
        with refused(c.world, ActorNotAllowedError, "actor_not_allowed"):
            d.members.list_member_tickets(ListMemberTickets(other))


def test_printing_puts_the_final_beneficiarys_name_on_the_ticket(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    order = c.buy(2)
    first, second = sorted(give(c, 2).ticket_ids)
    bought_with = barcodes(c, order.id)

    for_julie = d.members.print_member_tickets(
        PrintMemberTickets(c.marc, (first,), beneficiary="  Julie   Dupont ")
    )
    assert for_julie.ticket_ids == (first,)
    assert for_julie.media_type == "application/pdf"
    (printed,) = RecordingRenderer.read(for_julie.content)
    assert (printed["ticket_id"], printed["beneficiary"]) == (first, "Julie Dupont")
    # the first print keeps the barcode the ticket was bought with
    assert printed["barcode"] == bought_with[first]

    for_himself = d.members.print_member_tickets(PrintMemberTickets(c.marc, (second,)))
    (printed,) = RecordingRenderer.read(for_himself.content)
    assert printed["beneficiary"] == "Marc Dupont"
    assert [(t.ticket_id, t.beneficiary) for t in w.renderer.rendered] == [
        (first, "Julie Dupont"),
        (second, "Marc Dupont"),
    ]
    assert {t.organization for t in w.renderer.rendered} == {"Opera de Lausanne"}
    assert own_tickets(c, c.marc) == {
        first: (TicketState.PRINTED, "Julie Dupont"),
        second: (TicketState.PRINTED, "Marc Dupont"),
    }
    scan = d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, printed["barcode"]))
    assert (scan.accepted, scan.beneficiary) == (True, "Marc Dupont")


def test_a_reprint_revokes_the_printed_barcode_and_issues_a_new_one(
    corporate: Corporate,
) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    order = c.buy(1)
    (ticket_id,) = give(c, 1).ticket_ids
    d.members.print_member_tickets(PrintMemberTickets(c.marc, (ticket_id,)))
    printed_first = barcodes(c, order.id)[ticket_id]
    assert printed_first is not None
    again = d.members.print_member_tickets(
        PrintMemberTickets(c.marc, (ticket_id,), beneficiary="Julie Dupont")
    )
    (reprinted,) = RecordingRenderer.read(again.content)
    assert reprinted["barcode"] != printed_first
    assert reprinted["barcode"] == barcodes(c, order.id)[ticket_id] == w.barcodes.issued[-1]
    assert own_tickets(c, c.marc) == {ticket_id: (TicketState.PRINTED, "Julie Dupont")}

    old = d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, printed_first))
    assert (old.accepted, old.rejection) == (False, ScanRejection.REVOKED)
    new = d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, reprinted["barcode"]))
    assert (new.accepted, new.beneficiary) == (True, "Julie Dupont")


def test_a_member_prints_only_their_own_tickets(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    order = c.buy(5)
    marcs = give(c, 1).ticket_ids
    leas = give(c, 1, LEA).ticket_ids
    in_stock = sorted(set(barcodes(c, order.id)) - set(marcs) - set(leas))
    olga_order = c.buy(1, c.olga)
    olga_ticket = d.sales.view_order(ViewOrder(c.olga, olga_order.id)).tickets[0].id

    # someone else's ticket, one still in stock, another company's: all or nothing
    for ids in [leas, (*marcs, *leas), (in_stock[0],), (olga_ticket,)]:
        with refused(w, ForeignResourceError, "foreign_resource"):
            d.members.print_member_tickets(PrintMemberTickets(c.marc, ids))
    with refused(w, NotFoundError, "not_found"):
        d.members.print_member_tickets(PrintMemberTickets(c.marc, (*marcs, "ticket-404")))
    for not_a_list in [(), marcs[0]]:
        with refused(w, QuantityInvalidError, "quantity_invalid"):
            d.members.print_member_tickets(PrintMemberTickets(c.marc, cast(Any, not_a_list)))
    for beneficiary in ["", "   ", "x" * 500, "Julie\x00Dupont"]:
        with refused(w, NameInvalidError, "name_invalid"):
            d.members.print_member_tickets(PrintMemberTickets(c.marc, marcs, beneficiary))
    assert w.renderer.calls == []
    assert own_tickets(c, c.marc) == {marcs[0]: (TicketState.DISTRIBUTED, None)}


def test_a_controlled_or_cancelled_ticket_is_not_printed_again(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    order = c.buy(2)
    entered, kept = sorted(give(c, 2).ticket_ids)
    d.members.print_member_tickets(PrintMemberTickets(c.marc, (entered, kept)))
    barcode = barcodes(c, order.id)[entered]
    assert barcode is not None
    assert d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, barcode)).accepted
    assert own_tickets(c, c.marc)[entered] == (TicketState.CONTROLLED, "Marc Dupont")
    with refused(w, StateTransitionError, "state_transition_refused"):
        d.members.print_member_tickets(PrintMemberTickets(c.marc, (kept, entered)))

    other = c.buy(1)
    (cancelled,) = give(c, 1).ticket_ids
    d.accounts.cancel_order(CancelOrder(c.operator, other.id))
    # a cancelled ticket stays listed, shown as cancelled
    assert own_tickets(c, c.marc)[cancelled] == (TicketState.CANCELLED, None)
    with refused(w, StateTransitionError, "state_transition_refused"):
        d.members.print_member_tickets(PrintMemberTickets(c.marc, (cancelled,)))


def test_a_ticket_taken_back_leaves_the_members_space(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    c.buy(2)
    taken, kept = sorted(give(c, 2).ticket_ids)
    d.members.print_member_tickets(PrintMemberTickets(c.marc, (taken, kept)))
    d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (taken,)))
    assert own_tickets(c, c.marc) == {kept: (TicketState.PRINTED, "Marc Dupont")}
    with refused(w, ForeignResourceError, "foreign_resource"):
        d.members.print_member_tickets(PrintMemberTickets(c.marc, (taken,)))


def test_an_unsettled_order_is_printed_once_paid_where_the_policy_says_so(
    world: FakeWorld,
) -> None:
    c = set_up_corporate(world, admit_before_settlement=False)
    d = world.domain
    c.buy(2)
    (ticket_id,) = give(c, 1).ticket_ids
    with refused(world, OrderNotSettledError, "order_not_settled"):
        d.members.print_member_tickets(PrintMemberTickets(c.marc, (ticket_id,)))
    with refused(world, OrderNotSettledError, "order_not_settled"):
        d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 1))
    invoice = d.accounts.issue_invoice(IssueInvoice(c.operator, c.organization_id, c.council_id))
    with refused(world, OrderNotSettledError, "order_not_settled"):
        d.members.print_member_tickets(PrintMemberTickets(c.marc, (ticket_id,)))
    d.accounts.record_payment(
        RecordPayment(c.operator, c.organization_id, c.council_id, invoice.total, "bank")
    )
    assert d.members.print_member_tickets(PrintMemberTickets(c.marc, (ticket_id,))).ticket_ids
    assert d.distribution.print_at_once(
        PrintAtOnce(c.nina, c.performance_id, c.product_id, 1)
    ).ticket_ids


def test_a_member_records_their_consent_to_hear_from_the_organization(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    assert d.members.set_marketing_consent(SetMarketingConsent(c.marc, True)).marketing_consent
    (marc,) = d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "marc@"))
    assert marc.marketing_consent is True
    view = d.members.set_marketing_consent(SetMarketingConsent(c.marc, False))
    assert (view.id, view.marketing_consent) == (c.marc_id, False)
    (marc,) = d.contacts.search_contacts(SearchContacts(c.operator, c.council_id, "marc@"))
    assert marc.marketing_consent is False
    with refused(c.world, SessionInvalidError, "session_invalid"):
        d.members.set_marketing_consent(SetMarketingConsent("tds_individual-404", True))


def test_members_are_told_when_the_order_of_their_tickets_is_cancelled(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    order = c.buy(4)
    give(c, 2)
    give(c, 1, LEA)
    d.mail.dispatch_mail(DispatchMail(c.operator))
    invitations = len(c.world.mailer.outbox)

    cancelled = d.accounts.cancel_order(CancelOrder(c.operator, order.id))

    assert len(cancelled.mail_ids) == 2
    assert d.mail.dispatch_mail(DispatchMail(c.operator)).sent == cancelled.mail_ids
    notices = c.world.mailer.outbox[invitations:]
    assert sorted(m.to.value for m in notices) == ["lea@example.org", "marc@nestor.ch"]
    (to_marc,) = [m for m in notices if m.to.value == "marc@nestor.ch"]
    assert "2 ticket(s) cancelled" in to_marc.subject
    assert set(own_tickets(c, c.marc).values()) == {(TicketState.CANCELLED, None)}
