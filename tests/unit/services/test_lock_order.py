"""Every service locks rows in the documented order (docs/architecture.md, "Transactions,
locking and concurrency"), proved by recording the locks the in-memory storage hands out."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from support.agency import Agency, set_up_agency
from support.corporate import Corporate, set_up_corporate
from ticketdomain import (
    CancelOrder,
    CardPayment,
    ConfirmReservation,
    ContactDetails,
    DeclineOption,
    DistributeToMember,
    DistributeToSubStructure,
    ExportStock,
    GrantOption,
    ImportDistribution,
    IssueInvoice,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    PlaceReservation,
    PrintAtOnce,
    PrintMemberTickets,
    PrintTickets,
    ReclaimFromSubStructure,
    ReclaimTickets,
    RecordPayment,
    ReleaseReservation,
    RequestOption,
    ScanTicket,
    SetCreditLimit,
    TransferTickets,
    ViewOrder,
)
from ticketdomain.services._locks import LockOrderError, Locks, LockStep
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain.testing.memory import InMemoryStorage, LockCall

#: the lock order's step of each table holding domain rows
STEP = {
    "options": LockStep.REQUEST,
    "reservations": LockStep.REQUEST,
    "performances": LockStep.PLACES,
    "quotas": LockStep.PLACES,
    "accounts": LockStep.ACCOUNT,
    "invoice_sequences": LockStep.INVOICE_SEQUENCE,
    "orders": LockStep.ORDERS,
    "tickets": LockStep.TICKETS,
}

Units = list[list[LockCall]]


def by_unit(calls: list[LockCall]) -> Units:
    units: dict[int, list[LockCall]] = {}
    for call in calls:
        units.setdefault(call.unit, []).append(call)
    return list(units.values())


def check_order(storage: InMemoryStorage, units: Units) -> None:
    """Steps never go back; performances by id, each with its own quotas right after it; the
    rows of every other table by id."""
    quotas = storage.snapshot().get("quotas", {})
    for unit in units:
        tables = {call.table for call in unit}
        if len(tables) == 1 and tables.isdisjoint(STEP):
            continue  # an identity or set-up row locked alone: no order to keep
        assert tables <= set(STEP), f"a table outside the lock order was locked: {unit}"
        steps = [STEP[call.table] for call in unit]
        assert steps == sorted(steps), f"locks out of order: {unit}"
        performance = None
        last: dict[str, str] = {}
        for call in unit:
            if call.table == "quotas":
                assert quotas[call.key].performance_id == performance, unit
            if call.table == "performances":
                performance = call.key
            if call.table != "quotas":
                assert call.key >= last.get(call.table, ""), f"{call.table} not by id: {unit}"
                last[call.table] = call.key


@pytest.fixture
def world() -> FakeWorld:
    return build_fake_world(InMemoryStorage())


def storage_of(world: FakeWorld) -> InMemoryStorage:
    assert isinstance(world.storage, InMemoryStorage)
    return world.storage


def recorded(world: FakeWorld, action: Callable[[], object]) -> Units:
    """The locks ``action`` took, per unit of work, checked against the lock order."""
    storage = storage_of(world)
    calls = storage.record_locks()
    start = len(calls)
    action()
    units = by_unit(calls[start:])
    check_order(storage, units)
    return units


def steps(units: Units) -> list[set[LockStep]]:
    return [{STEP[call.table] for call in unit if call.table in STEP} for unit in units]


# --- the agency: sales, reservations, options, accounts ----------------------------------------


def both_performances(a: Agency, quantity: int = 1) -> tuple[LineRequest, ...]:
    # The later performance first: the locks still go by id.
    return (
        LineRequest(a.later_performance_id, a.full_id, quantity),
        LineRequest(a.performance_id, a.agency_tariff_id, quantity),
    )


def place(a: Agency, method: PaymentMethod = PaymentMethod.HOLDING_ACCOUNT) -> str:
    card = CardPayment("tok_visa") if method is PaymentMethod.CARD else None
    return a.world.domain.sales.place_order(
        PlaceOrder(a.alice, both_performances(a), method, card=card)
    ).id


AgencyCase = Callable[[Agency], tuple[Callable[[], object], set[LockStep]]]


def place_order_on_account(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    return lambda: place(a), {LockStep.PLACES, LockStep.ACCOUNT}


def place_order_by_card(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    return lambda: place(a, PaymentMethod.CARD), {LockStep.PLACES}


def place_order_for_structure(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    command = PlaceOrderForStructure(
        a.operator,
        a.phone_sales_point_id,
        a.hotel_id,
        (LineRequest(a.performance_id, a.full_id, 2),),
        PaymentMethod.HOLDING_ACCOUNT,
    )
    return (
        lambda: a.world.domain.sales.place_order_for_structure(command),
        {LockStep.PLACES, LockStep.ACCOUNT},
    )


def place_reservation(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    command = PlaceReservation(a.alice, both_performances(a, 2))
    return lambda: a.world.domain.sales.place_reservation(command), {LockStep.PLACES}


def confirm_reservation(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    d = a.world.domain
    reservation = d.sales.place_reservation(PlaceReservation(a.alice, both_performances(a)))
    command = ConfirmReservation(a.alice, reservation.id, PaymentMethod.HOLDING_ACCOUNT)
    return lambda: d.sales.confirm_reservation(command), {LockStep.REQUEST, LockStep.ACCOUNT}


def release_reservation(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    d = a.world.domain
    reservation = d.sales.place_reservation(PlaceReservation(a.alice, both_performances(a)))
    command = ReleaseReservation(a.alice, reservation.id)
    return lambda: d.sales.release_reservation(command), {LockStep.REQUEST}


def grant_option(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    d = a.world.domain
    option = d.sales.request_option(RequestOption(a.alice, both_performances(a, 3)))
    command = GrantOption(a.operator, option.id)
    return lambda: d.sales.grant_option(command), {LockStep.REQUEST, LockStep.PLACES}


def decline_option(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    d = a.world.domain
    option = d.sales.request_option(RequestOption(a.alice, both_performances(a)))
    command = DeclineOption(a.operator, option.id)
    return lambda: d.sales.decline_option(command), {LockStep.REQUEST}


def issue_invoice(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    for _ in range(3):
        place(a)
    command = IssueInvoice(a.operator, a.organization_id, a.hotel_id)
    return (
        lambda: a.world.domain.accounts.issue_invoice(command),
        {LockStep.ACCOUNT, LockStep.INVOICE_SEQUENCE, LockStep.ORDERS},
    )


def cancel_invoiced_order(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    d = a.world.domain
    place(a)
    order_id = place(a)
    d.accounts.issue_invoice(IssueInvoice(a.operator, a.organization_id, a.hotel_id))
    return (
        lambda: d.accounts.cancel_order(CancelOrder(a.operator, order_id)),
        {
            LockStep.PLACES,
            LockStep.ACCOUNT,
            LockStep.INVOICE_SEQUENCE,
            LockStep.ORDERS,
            LockStep.TICKETS,
        },
    )


def cancel_order_on_account(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    order_id = place(a)
    return (
        lambda: a.world.domain.accounts.cancel_order(CancelOrder(a.operator, order_id)),
        {LockStep.PLACES, LockStep.ACCOUNT, LockStep.ORDERS, LockStep.TICKETS},
    )


def cancel_card_order(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    order_id = place(a, PaymentMethod.CARD)
    return (
        lambda: a.world.domain.accounts.cancel_order(CancelOrder(a.operator, order_id)),
        {LockStep.PLACES, LockStep.ORDERS, LockStep.TICKETS},
    )


def record_payment(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    from support.agency import chf

    place(a)
    command = RecordPayment(a.operator, a.organization_id, a.hotel_id, chf("10"), "bank")
    return lambda: a.world.domain.accounts.record_payment(command), {LockStep.ACCOUNT}


def set_credit_limit(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    from support.agency import chf

    command = SetCreditLimit(a.operator, a.organization_id, a.hotel_id, chf("100000"))
    return lambda: a.world.domain.accounts.set_credit_limit(command), {LockStep.ACCOUNT}


def print_tickets(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    order_id = place(a)
    command = PrintTickets(a.alice, order_id)
    return lambda: a.world.domain.sales.print_tickets(command), {LockStep.TICKETS}


def transfer_tickets(a: Agency) -> tuple[Callable[[], object], set[LockStep]]:
    order_id = place(a)
    command = TransferTickets(a.alice, order_id, ContactDetails("Zoe", "Zahn", "zoe@example.org"))
    return lambda: a.world.domain.sales.transfer_tickets(command), {LockStep.TICKETS}


AGENCY_CASES: list[AgencyCase] = [
    place_order_on_account,
    place_order_by_card,
    place_order_for_structure,
    place_reservation,
    confirm_reservation,
    release_reservation,
    grant_option,
    decline_option,
    issue_invoice,
    cancel_invoiced_order,
    cancel_order_on_account,
    cancel_card_order,
    record_payment,
    set_credit_limit,
    print_tickets,
    transfer_tickets,
]


@pytest.mark.parametrize("case", AGENCY_CASES, ids=lambda case: case.__name__)
def test_agency_services_lock_in_the_documented_order(world: FakeWorld, case: AgencyCase) -> None:
    agency = set_up_agency(world)
    action, expected = case(agency)
    units = recorded(world, action)
    # the one unit of work of the command locked what it had to, in order (checked above)
    assert expected in steps(units)


# --- the corporate space: distribution, members, gates -----------------------------------------


CorporateCase = Callable[[Corporate], Callable[[], object]]


def distribute_to_member(c: Corporate) -> Callable[[], object]:
    c.buy(3)
    command = DistributeToMember(c.nina, c.performance_id, c.product_id, 2, member_id=c.marc_id)
    return lambda: c.world.domain.distribution.distribute_to_member(command)


def distribute_to_sub_structure(c: Corporate) -> Callable[[], object]:
    c.buy(3)
    command = DistributeToSubStructure(c.nina, c.performance_id, c.product_id, 2, c.club_id)
    return lambda: c.world.domain.distribution.distribute_to_sub_structure(command)


def print_at_once(c: Corporate) -> Callable[[], object]:
    c.buy(3)
    command = PrintAtOnce(c.nina, c.performance_id, c.product_id, 2)
    return lambda: c.world.domain.distribution.print_at_once(command)


def import_distribution(c: Corporate) -> Callable[[], object]:
    c.buy(3)
    exported = c.world.domain.distribution.export_stock(ExportStock(c.nina)).content
    rows = list(csv.DictReader(io.StringIO(exported)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in reversed(rows):
        row.update(first_name="Ann", last_name="Muller", email="ann@example.org")
        writer.writerow(row)
    command = ImportDistribution(c.nina, out.getvalue().encode("utf-8"))
    return lambda: c.world.domain.distribution.import_distribution(command)


def reclaim_tickets(c: Corporate) -> Callable[[], object]:
    d = c.world.domain
    c.buy(3)
    given = d.distribution.distribute_to_member(
        DistributeToMember(c.nina, c.performance_id, c.product_id, 3, member_id=c.marc_id)
    )
    command = ReclaimTickets(c.nina, tuple(reversed(given.ticket_ids)))
    return lambda: d.distribution.reclaim_tickets(command)


def reclaim_from_sub_structure(c: Corporate) -> Callable[[], object]:
    d = c.world.domain
    c.buy(3)
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(c.nina, c.performance_id, c.product_id, 3, c.club_id)
    )
    command = ReclaimFromSubStructure(c.nina, c.club_id, c.performance_id, c.product_id, 2)
    return lambda: d.distribution.reclaim_from_sub_structure(command)


def print_member_tickets(c: Corporate) -> Callable[[], object]:
    d = c.world.domain
    c.buy(3)
    given = d.distribution.distribute_to_member(
        DistributeToMember(c.nina, c.performance_id, c.product_id, 3, member_id=c.marc_id)
    )
    command = PrintMemberTickets(c.marc, tuple(reversed(given.ticket_ids)))
    return lambda: d.members.print_member_tickets(command)


def scan_ticket(c: Corporate) -> Callable[[], object]:
    d = c.world.domain
    order = c.buy(1)
    d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 1))
    (ticket,) = d.sales.view_order(ViewOrder(c.nina, order.id)).tickets
    assert ticket.barcode is not None
    command = ScanTicket(c.gate, c.performance_id, ticket.barcode)
    return lambda: d.access.scan_ticket(command)


def cancel_distributed_order(c: Corporate) -> Callable[[], object]:
    d = c.world.domain
    order = c.buy(3)
    d.distribution.distribute_to_member(
        DistributeToMember(c.nina, c.performance_id, c.product_id, 2, member_id=c.marc_id)
    )
    return lambda: d.accounts.cancel_order(CancelOrder(c.operator, order.id))


CORPORATE_CASES: list[CorporateCase] = [
    distribute_to_member,
    distribute_to_sub_structure,
    print_at_once,
    import_distribution,
    reclaim_tickets,
    reclaim_from_sub_structure,
    print_member_tickets,
    scan_ticket,
    cancel_distributed_order,
]


@pytest.mark.parametrize("case", CORPORATE_CASES, ids=lambda case: case.__name__)
def test_corporate_services_lock_in_the_documented_order(
    world: FakeWorld, case: CorporateCase
) -> None:
    corporate = set_up_corporate(world)
    action = case(corporate)
    units = recorded(world, action)
    assert any(LockStep.TICKETS in found for found in steps(units))


def test_the_whole_life_of_an_agency_keeps_the_order(world: FakeWorld) -> None:
    """From the set-up on, every unit of work that locked several rows kept the order."""
    storage = storage_of(world)
    calls = storage.record_locks()
    agency = set_up_agency(world)
    for case in AGENCY_CASES:
        action, _ = case(agency)
        action()
    check_order(storage, by_unit(calls))
    assert {STEP[call.table] for call in calls if call.table in STEP} == set(LockStep)


# --- the helper itself -------------------------------------------------------------------------


def test_the_helper_refuses_to_go_back_in_the_order(world: FakeWorld) -> None:
    agency = set_up_agency(world)
    with world.storage.unit_of_work() as uow:
        locks = Locks(uow)
        locks.account(agency.organization_id, agency.hotel_id)
        locks.invoice_sequence(agency.organization_id)
        locks.invoice_sequence(agency.organization_id)  # the same step again is fine
        locks.tickets([])
        with pytest.raises(LockOrderError, match="account locked after tickets"):
            locks.account(agency.organization_id, agency.hotel_id)
        with pytest.raises(LockOrderError):
            locks.orders([])


#: a service locking a row of the ordered tables outside the helper
_BYPASS = re.compile(
    r"uow\.(options|reservations|performances|accounts|invoice_sequences|orders|tickets)"
    r"\.\w*for_update|for_update=True"
)


def test_services_lock_domain_rows_only_through_the_helper() -> None:
    services = Path(__file__).parents[3] / "src" / "ticketdomain" / "services"
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(services.glob("*.py"))
        if path.name != "_locks.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _BYPASS.search(line)
    ]
    assert offenders == []
