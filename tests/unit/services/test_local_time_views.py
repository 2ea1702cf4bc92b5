"""Every result view shows its instants in local time and carries the zone beside them.

The organization is in Europe/Zurich and the clock stands at 08:00 UTC on Monday 4 May 2026,
which people in Lausanne read as 10:00 CEST. Deadlines and scans read in the zone of the
performance's venue; orders, invoices and the holding account in the organization's; what is
the whole institution's (operators' sessions, the outbox) has no zone of its own and says UTC.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from support.agency import Agency, set_up_agency
from support.corporate import Corporate, set_up_corporate
from ticketdomain import (
    ActorKind,
    CancelOrder,
    CreatePerformance,
    DeclineOption,
    DistributeToMember,
    IssueInvoice,
    LineRequest,
    ListInvoices,
    ListOrders,
    ListReservations,
    LoginRelay,
    OptionView,
    OrderView,
    PaymentMethod,
    PlaceOrder,
    PlaceReservation,
    PrintMemberTickets,
    RegisterGate,
    ReleaseReservation,
    RequestOption,
    RevokeApiKey,
    ScanRejection,
    ScanTicket,
    ViewHoldingAccount,
    ViewOrder,
    ViewSalesReport,
)
from ticketdomain.serialization import structure, unstructure
from ticketdomain.testing.domain import FakeWorld

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def zurich_local(moment: datetime, hour: int = 10) -> None:
    """``moment`` is wall-clock time in Zurich (summer time), at ``hour``."""
    assert moment.tzinfo is ZURICH
    assert moment.utcoffset() == timedelta(hours=2)
    assert moment.hour == hour


@pytest.fixture
def agency(world: FakeWorld) -> Agency:
    world.clock.set(NOW)
    return set_up_agency(world, time_zone="Europe/Zurich")


@pytest.fixture
def corporate(world: FakeWorld) -> Corporate:
    world.clock.set(NOW)
    return set_up_corporate(world, time_zone="Europe/Zurich")


def lines(agency: Agency, quantity: int = 2) -> tuple[LineRequest, ...]:
    return (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),)


def on_account(agency: Agency) -> OrderView:
    return agency.world.domain.sales.place_order(
        PlaceOrder(agency.alice, lines(agency), PaymentMethod.HOLDING_ACCOUNT)
    )


# --- options and reservations: the venue's zone --------------------------------------------


def test_an_option_shows_its_deadline_in_the_venues_zone(agency: Agency) -> None:
    d = agency.world.domain
    option = d.sales.request_option(RequestOption(agency.alice, lines(agency)))
    assert option.time_zone == "Europe/Zurich"
    zurich_local(option.requested_at)
    assert option.expires_at.tzinfo is ZURICH
    assert option.expires_at_text.endswith(" CEST")
    declined = d.sales.decline_option(DeclineOption(agency.operator, option.id))
    assert (declined.time_zone, declined.expires_at) == ("Europe/Zurich", option.expires_at)
    assert declined.expires_at.tzinfo is ZURICH


def test_a_deadline_reads_in_the_zone_of_the_performance_that_sets_it(agency: Agency) -> None:
    """A Zurich organization's show in London: the deadline is London's (BST)."""
    d = agency.world.domain
    london = ZoneInfo("Europe/London")
    show = d.setup.create_performance(
        CreatePerformance(
            agency.operator,
            agency.activity_id,
            datetime(2026, 5, 20, 19, 30, tzinfo=london),
            "Coliseum",
            50,
            time_zone="Europe/London",
        )
    )
    wanted = (
        LineRequest(show.id, agency.agency_tariff_id, 1),
        LineRequest(agency.performance_id, agency.agency_tariff_id, 1),
    )
    option = d.sales.request_option(RequestOption(agency.alice, wanted))
    assert option.time_zone == "Europe/London"
    assert option.expires_at.tzinfo is london
    assert option.expires_at_text.endswith(" BST")


def test_a_reservation_shows_its_deadline_in_the_venues_zone(agency: Agency) -> None:
    d = agency.world.domain
    held = d.sales.place_reservation(PlaceReservation(agency.alice, lines(agency)))
    assert held.time_zone == "Europe/Zurich"
    zurich_local(held.created_at)
    assert held.deadline.tzinfo is ZURICH
    assert held.deadline_text.endswith(" CEST")
    (listed,) = d.sales.list_reservations(ListReservations(agency.alice))
    assert listed == held
    released = d.sales.release_reservation(ReleaseReservation(agency.alice, held.id))
    assert (released.time_zone, released.deadline) == ("Europe/Zurich", held.deadline)
    assert released.deadline.tzinfo is ZURICH


# --- orders, invoices, the holding account: the organization's zone ------------------------


def test_an_order_shows_when_it_was_placed_in_the_organizations_zone(agency: Agency) -> None:
    d = agency.world.domain
    order = on_account(agency)
    assert order.time_zone == "Europe/Zurich"
    zurich_local(order.placed_at)
    assert order.placed_at_text == "Mon 4 May 2026, 10:00 CEST"
    assert d.sales.view_order(ViewOrder(agency.alice, order.id)) == order
    assert d.sales.list_orders(ListOrders(agency.alice)) == (order,)


def test_invoices_and_credit_notes_are_dated_in_the_organizations_zone(agency: Agency) -> None:
    d = agency.world.domain
    order = on_account(agency)
    invoice = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert invoice.time_zone == "Europe/Zurich"
    zurich_local(invoice.issued_at)
    (listed,) = d.accounts.list_invoices(
        ListInvoices(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert listed == invoice
    agency.world.clock.advance(timedelta(hours=3))
    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, order.id))
    assert cancelled.credit_note is not None
    assert cancelled.credit_note.time_zone == "Europe/Zurich"
    zurich_local(cancelled.credit_note.issued_at, hour=13)


def test_the_holding_account_shows_its_ledger_and_orders_in_the_organizations_zone(
    agency: Agency,
) -> None:
    d = agency.world.domain
    on_account(agency)
    account = d.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert account.time_zone == "Europe/Zurich"
    assert account.entries and account.orders
    for entry in account.entries:
        zurich_local(entry.at)
    for summary in account.orders:
        zurich_local(summary.placed_at)


def test_the_sales_report_gives_its_period_in_the_organizations_zone(agency: Agency) -> None:
    report = agency.world.domain.reports.sales_report(
        ViewSalesReport(agency.alice, period_from=NOW - timedelta(days=1), period_until=NOW)
    )
    assert report.time_zone == "Europe/Zurich"
    assert report.period_from is not None and report.period_until is not None
    zurich_local(report.period_from)
    zurich_local(report.period_until)


# --- sessions and keys ------------------------------------------------------------------------


def test_a_relays_session_expires_in_the_organizations_zone(agency: Agency) -> None:
    d = agency.world.domain
    d.host.set_password(ActorKind.RELAY, agency.alice_id, "correct horse battery")
    session = d.identity.login_relay(
        LoginRelay(agency.sales_point_id, "alice@beau-rivage.ch", "correct horse battery")
    )
    assert session.time_zone == "Europe/Zurich"
    assert session.expires_at.tzinfo is ZURICH
    hosted = d.host.open_session(
        ActorKind.RELAY, agency.alice_id, sales_point_id=agency.sales_point_id
    )
    assert hosted.time_zone == "Europe/Zurich"
    assert hosted.expires_at.tzinfo is ZURICH


def test_an_operators_session_is_the_institutions_and_says_utc(agency: Agency) -> None:
    session = agency.world.domain.host.open_session(ActorKind.OPERATOR, agency.operator_id)
    assert session.time_zone == "UTC"
    assert session.expires_at.utcoffset() == timedelta(0)


def test_a_gates_key_is_dated_in_its_organizations_zone(agency: Agency) -> None:
    d = agency.world.domain
    registered = d.identity.register_gate(
        RegisterGate(agency.operator, agency.organization_id, "North gate")
    )
    revoked = d.identity.revoke_api_key(RevokeApiKey(agency.operator, registered.key.key_id))
    assert revoked.time_zone == "Europe/Zurich"
    zurich_local(revoked.created_at)
    assert revoked.revoked_at is not None
    zurich_local(revoked.revoked_at)


# --- the gate: the venue's zone ---------------------------------------------------------------


def test_a_scan_shows_its_times_in_the_venues_zone(corporate: Corporate) -> None:
    c = corporate
    d = c.world.domain
    c.buy(1)
    given = d.distribution.distribute_to_member(
        DistributeToMember(c.nina, c.performance_id, c.product_id, 1, member_id=c.marc_id)
    )
    d.members.print_member_tickets(PrintMemberTickets(c.marc, given.ticket_ids))
    (ticket,) = (
        t
        for order in d.sales.list_orders(ListOrders(c.nina))
        for t in order.tickets
        if t.id in given.ticket_ids
    )
    assert ticket.barcode is not None
    first = d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, ticket.barcode))
    assert first.accepted
    assert first.time_zone == "Europe/Zurich"
    zurich_local(first.scanned_at)
    c.world.clock.advance(timedelta(minutes=5))
    again = d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, ticket.barcode))
    assert again.rejection is ScanRejection.ALREADY_CONTROLLED
    assert again.controlled_at == first.scanned_at
    assert again.controlled_at is not None
    zurich_local(again.controlled_at)


# --- serialized: ISO 8601 with the offset, read back equal -----------------------------------


def test_a_local_view_serializes_with_its_offset(agency: Agency) -> None:
    option = agency.world.domain.sales.request_option(RequestOption(agency.alice, lines(agency)))
    payload = unstructure(option)
    assert payload["requested_at"] == "2026-05-04T10:00:00+02:00"
    assert payload["time_zone"] == "Europe/Zurich"
    back = structure(json.loads(json.dumps(payload)), OptionView)
    assert back == option
