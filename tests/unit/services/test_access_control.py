"""Access control: a gate scans a barcode for a performance; each ticket is admitted once, and
every other barcode is rejected with its reason, changing nothing."""

from __future__ import annotations

from datetime import timedelta

from support.corporate import Corporate, set_up_corporate
from support.state import observed, refused
from ticketdomain import (
    CancelOrder,
    CreateActivity,
    CreateOrganization,
    CreatePerformance,
    DistributeToMember,
    DistributeToSubStructure,
    IssueInvoice,
    ListMemberTickets,
    PrintAtOnce,
    PrintMemberTickets,
    ReclaimTickets,
    RecordPayment,
    RegisterGate,
    RevokeGate,
    ScanRejection,
    ScanResult,
    ScanTicket,
    SetAdmissionPolicy,
    TicketState,
    ViewDashboard,
    ViewOrder,
)
from ticketdomain.core.errors import (
    NotFoundError,
    SessionInvalidError,
    StateTransitionError,
    ValidationError,
)
from ticketdomain.testing.domain import FakeWorld


def printed_for_marc(c: Corporate, quantity: int = 1) -> tuple[str, dict[str, str]]:
    """Marc receives ``quantity`` tickets of a new order and prints them: the order's id and
    the barcodes by ticket id."""
    d = c.world.domain
    order = c.buy(quantity)
    given = d.distribution.distribute_to_member(
        DistributeToMember(c.nina, c.performance_id, c.product_id, quantity, member_id=c.marc_id)
    )
    d.members.print_member_tickets(PrintMemberTickets(c.marc, given.ticket_ids))
    return order.id, live_barcodes(c, order.id)


def register_gate(c: Corporate, name: str, organization_id: str | None = None) -> str:
    """A gate the operator registers; its API key."""
    registered = c.world.domain.identity.register_gate(
        RegisterGate(c.operator, organization_id or c.organization_id, name)
    )
    return registered.key.token


def live_barcodes(c: Corporate, order_id: str) -> dict[str, str]:
    view = c.world.domain.sales.view_order(ViewOrder(c.nina, order_id))
    return {t.id: t.barcode for t in view.tickets if t.barcode is not None}


def scan(c: Corporate, barcode: str, performance_id: str | None = None) -> ScanResult:
    return c.world.domain.access.scan_ticket(
        ScanTicket(c.gate, performance_id or c.performance_id, barcode)
    )


def rejected(
    c: Corporate, barcode: str, reason: ScanRejection, performance_id: str | None = None
) -> ScanResult:
    """The gate rejects ``barcode`` for ``reason``, and nothing changed anywhere."""
    before = observed(c.world)
    result = scan(c, barcode, performance_id)
    assert (result.accepted, result.rejection) == (False, reason)
    assert observed(c.world) == before
    return result


def test_a_printed_ticket_is_admitted_once_at_a_named_gate(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    _, barcodes = printed_for_marc(c)
    ((ticket_id, barcode),) = barcodes.items()
    entered_at = w.clock.now()
    accepted = scan(c, barcode)
    assert accepted == ScanResult(
        accepted=True,
        rejection=None,
        barcode=barcode,
        performance_id=c.performance_id,
        gate="North gate",
        scanned_at=entered_at,
        ticket_id=ticket_id,
        product="Stalls",
        beneficiary="Marc Dupont",
        controlled_at=entered_at,
        controlled_gate="North gate",
    )
    (listed,) = d.members.list_member_tickets(ListMemberTickets(c.marc))
    assert listed.state is TicketState.CONTROLLED

    w.clock.advance(timedelta(minutes=5))
    south = register_gate(c, "South gate")
    before = observed(w)
    again = d.access.scan_ticket(ScanTicket(south, c.performance_id, f"  {barcode} "))
    assert observed(w) == before
    assert (again.accepted, again.rejection) == (False, ScanRejection.ALREADY_CONTROLLED)
    assert (again.controlled_at, again.controlled_gate) == (entered_at, "North gate")
    assert (again.gate, again.scanned_at) == ("South gate", entered_at + timedelta(minutes=5))
    assert again.ticket_id == ticket_id


def test_admitted_tickets_show_as_controlled_on_every_dashboard_above_them(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    order = c.buy(4)
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(c.nina, c.performance_id, c.product_id, 2, c.club_id)
    )
    handed_out = d.distribution.print_at_once(PrintAtOnce(c.sam, c.performance_id, c.product_id, 2))
    barcodes = live_barcodes(c, order.id)
    for ticket_id in handed_out.ticket_ids:
        assert scan(c, barcodes[ticket_id]).accepted
    club = d.distribution.view_dashboard(ViewDashboard(c.sam)).total
    council = d.distribution.view_dashboard(ViewDashboard(c.nina)).total
    assert (club.handed_over, club.printed, club.controlled) == (2, 0, 2)
    assert (council.in_stock, council.printed, council.controlled) == (2, 0, 2)
    assert council.to_sub_structures[0].count == 2


def test_an_unknown_barcode_is_rejected(corporate: Corporate) -> None:
    c = corporate
    printed_for_marc(c)
    for barcode in ["NOPE", "", "   ", "BC999999"]:
        result = rejected(c, barcode, ScanRejection.UNKNOWN)
        assert (result.ticket_id, result.product, result.beneficiary) == (None, None, None)


def test_another_organizations_barcode_is_unknown_at_its_gates(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    (barcode,) = printed_for_marc(c)[1].values()
    theatre = d.setup.create_organization(CreateOrganization(c.operator, "Theatre de Vidy", "CHF"))
    play = d.setup.create_activity(CreateActivity(c.operator, theatre.id, "Hamlet"))
    evening = d.setup.create_performance(
        CreatePerformance(
            c.operator, play.id, c.world.clock.now() + timedelta(days=30), "Vidy", 100
        )
    )
    main_door = register_gate(c, "Main door", theatre.id)
    before = observed(c.world)
    result = d.access.scan_ticket(ScanTicket(main_door, evening.id, barcode))
    assert (result.accepted, result.rejection, result.ticket_id) == (
        False,
        ScanRejection.UNKNOWN,
        None,
    )
    assert observed(c.world) == before
    # nor may a gate scan for another organization's performance
    with refused(c.world, NotFoundError, "not_found"):
        d.access.scan_ticket(ScanTicket(c.gate, evening.id, barcode))
    assert scan(c, barcode).accepted


def test_a_barcode_replaced_by_a_reclaim_or_a_reprint_is_revoked(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    order_id, first = printed_for_marc(c, 2)
    reclaimed, reprinted = sorted(first)
    d.distribution.reclaim_tickets(ReclaimTickets(c.nina, (reclaimed,)))
    d.members.print_member_tickets(PrintMemberTickets(c.marc, (reprinted,)))
    assert rejected(c, first[reclaimed], ScanRejection.REVOKED).ticket_id == reclaimed
    assert rejected(c, first[reprinted], ScanRejection.REVOKED).ticket_id == reprinted
    now = live_barcodes(c, order_id)
    assert now[reclaimed] != first[reclaimed] and now[reprinted] != first[reprinted]
    # the reclaimed ticket is back in stock, not printed; the reprint enters
    rejected(c, now[reclaimed], ScanRejection.NOT_PRINTED)
    assert scan(c, now[reprinted]).accepted
    # and a revoked barcode never validates again, even once its ticket entered
    rejected(c, first[reprinted], ScanRejection.REVOKED)


def test_a_cancelled_order_s_tickets_are_rejected(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    order_id, barcodes = printed_for_marc(c, 2)
    d.accounts.cancel_order(CancelOrder(c.operator, order_id))
    for ticket_id, barcode in barcodes.items():
        assert rejected(c, barcode, ScanRejection.CANCELLED).ticket_id == ticket_id
    assert live_barcodes(c, order_id) == {}


def test_a_ticket_is_admitted_only_to_its_own_performance(corporate: Corporate) -> None:
    c = corporate
    (barcode,) = printed_for_marc(c)[1].values()
    rejected(c, barcode, ScanRejection.WRONG_PERFORMANCE, c.later_performance_id)
    assert scan(c, barcode).accepted
    # once controlled, still the wrong performance elsewhere
    rejected(c, barcode, ScanRejection.WRONG_PERFORMANCE, c.later_performance_id)


def test_a_ticket_never_printed_is_rejected(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    order = c.buy(2)
    given = d.distribution.distribute_to_member(
        DistributeToMember(c.nina, c.performance_id, c.product_id, 1, member_id=c.marc_id)
    )
    for ticket_id, barcode in live_barcodes(c, order.id).items():
        # one in stock, one distributed but not yet printed by its member
        assert rejected(c, barcode, ScanRejection.NOT_PRINTED).ticket_id == ticket_id
    assert given.ticket_ids[0] in live_barcodes(c, order.id)


def test_the_gate_names_an_existing_performance_and_itself(corporate: Corporate) -> None:
    c = corporate
    d, w = c.world.domain, c.world
    (barcode,) = printed_for_marc(c)[1].values()
    with refused(w, NotFoundError, "not_found"):
        d.access.scan_ticket(ScanTicket(c.gate, "performance-404", barcode))
    # a gate is known by its API key: a made-up or retired one opens nothing
    retired = d.identity.register_gate(RegisterGate(c.operator, c.organization_id, "Old gate"))
    d.identity.revoke_gate(RevokeGate(c.operator, retired.gate.id))
    for key in [retired.key.token, "tdk_made-up", "North gate", ""]:
        with refused(w, SessionInvalidError, "session_invalid"):
            d.access.scan_ticket(ScanTicket(key, c.performance_id, barcode))
    # and it has a name, given when the operator registers it
    for name in ["", "  ", "Gate\x07"]:
        with refused(w, ValidationError):
            d.identity.register_gate(RegisterGate(c.operator, c.organization_id, name))
    assert scan(c, barcode).gate == "North gate"


def test_an_order_with_a_controlled_ticket_is_no_longer_cancelled(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    order_id, barcodes = printed_for_marc(c, 2)
    assert scan(c, min(barcodes.values())).accepted
    with refused(c.world, StateTransitionError, "state_transition_refused"):
        d.accounts.cancel_order(CancelOrder(c.operator, order_id))
    assert scan(c, max(barcodes.values())).accepted


def test_tickets_of_an_unsettled_order_wait_for_payment_where_the_policy_says_so(
    world: FakeWorld,
) -> None:
    c = set_up_corporate(world, admit_before_settlement=False)
    d = world.domain
    order = c.buy(1)
    ((_, barcode),) = live_barcodes(c, order.id).items()
    # unpaid, it cannot be printed, so it cannot have reached the gate legitimately
    rejected(c, barcode, ScanRejection.NOT_PRINTED)
    invoice = d.accounts.issue_invoice(IssueInvoice(c.operator, c.organization_id, c.council_id))
    d.accounts.record_payment(
        RecordPayment(c.operator, c.organization_id, c.council_id, invoice.total, "bank")
    )
    d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 1))
    assert scan(c, barcode).accepted


def test_a_printed_ticket_of_an_unsettled_order_is_not_payable_at_a_strict_gate(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    order = c.buy(1)
    d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 1))
    ((_, barcode),) = live_barcodes(c, order.id).items()
    # The operator decides to admit only settled orders from now on.
    policy = d.setup.set_admission_policy(SetAdmissionPolicy(c.operator, c.sales_point_id, False))
    assert policy.admit_before_settlement is False
    rejected(c, barcode, ScanRejection.NOT_PAYABLE)
    invoice = d.accounts.issue_invoice(IssueInvoice(c.operator, c.organization_id, c.council_id))
    rejected(c, barcode, ScanRejection.NOT_PAYABLE)
    d.accounts.record_payment(
        RecordPayment(c.operator, c.organization_id, c.council_id, invoice.total, "bank")
    )
    assert scan(c, barcode).accepted
