"""The corporate dashboard and stock view are aggregate queries: the storage counts the tickets
and hands back a few rows, so their cost grows far less than the number of tickets between a
works council holding a hundred and one holding thousands, while reading the distributed tickets
one by one (``list_distributed_tickets``) grows with them.

For each size the works council buys the tickets in orders of at most ``ORDER_MAX`` (the most
its sales point's catalog profile allows in one order), alternating two performances and two
products, then spreads them: a fifth to its sports club (which distributes half of those on and
prints a quarter at once), 30 % to ten members (the first prints all of his), a tenth printed at
once (a tenth of those scanned at the gate), the rest left in stock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from support.corporate import Corporate, set_up_corporate
from ticketdomain import (
    ActorKind,
    ContactDetails,
    DistributeToMember,
    DistributeToSubStructure,
    ExportStock,
    ImportDistribution,
    ImportOutcome,
    LineRequest,
    ListDistributedTickets,
    ListMemberTickets,
    PaymentMethod,
    PlaceOrder,
    PrintAtOnce,
    PrintMemberTickets,
    ProductConditions,
    ScanTicket,
    SetCatalogProfile,
    ViewDashboard,
    ViewOrder,
    ViewStock,
)
from ticketdomain.ports.storage import Storage
from ticketdomain.testing.domain import build_fake_world

#: the most one order may hold on the bench's sales point (set by its catalog profile)
ORDER_MAX = 500
MEMBERS = 10


def populate(storage: Storage, tickets: int) -> Corporate:
    """A works council with ``tickets`` tickets spread over every custody state."""
    world = build_fake_world(storage)
    corp = set_up_corporate(world, capacity=tickets)
    d = world.domain
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            corp.operator,
            corp.organization_id,
            frozenset({corp.activity_id}),
            (
                ProductConditions(corp.product_id, max_per_order=ORDER_MAX),
                ProductConditions(corp.balcony_id, max_per_order=ORDER_MAX),
            ),
            sales_point_id=corp.sales_point_id,
        )
    )
    kinds = (
        (corp.performance_id, corp.product_id, corp.tariff_id),
        (corp.later_performance_id, corp.balcony_id, corp.balcony_tariff_id),
    )
    per_kind = {key: 0 for key in kinds}
    count = max(len(kinds), -(-tickets // ORDER_MAX))  # as few orders as the cap allows
    orders: list[str] = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        quantity = tickets // count + (1 if index < tickets % count else 0)
        order = d.sales.place_order(
            PlaceOrder(
                corp.nina, (LineRequest(kind[0], kind[2], quantity),), PaymentMethod.HOLDING_ACCOUNT
            )
        )
        orders.append(order.id)
        per_kind[kind] += quantity

    first_member = None
    for (performance_id, product_id, _), bought in per_kind.items():
        to_club = bought // 5
        if to_club:
            d.distribution.distribute_to_sub_structure(
                DistributeToSubStructure(
                    corp.nina, performance_id, product_id, to_club, corp.club_id
                )
            )
            for quantity, action in ((to_club // 2, "give"), (to_club // 4, "print")):
                if not quantity:
                    continue
                if action == "give":
                    d.distribution.distribute_to_member(
                        DistributeToMember(
                            corp.sam,
                            performance_id,
                            product_id,
                            quantity,
                            member=ContactDetails("Club", "Member", "club.member@nestor.ch"),
                        )
                    )
                else:
                    d.distribution.print_at_once(
                        PrintAtOnce(corp.sam, performance_id, product_id, quantity)
                    )
        each = bought * 3 // 10 // MEMBERS
        for index in range(MEMBERS if each else 0):
            given = d.distribution.distribute_to_member(
                DistributeToMember(
                    corp.nina,
                    performance_id,
                    product_id,
                    each,
                    member=ContactDetails("Member", f"No {index}", f"member{index}@nestor.ch"),
                )
            )
            first_member = first_member or given.holder_id
        at_once = bought // 10
        if at_once:
            printed = d.distribution.print_at_once(
                PrintAtOnce(corp.nina, performance_id, product_id, at_once)
            )
            scanned = set(printed.ticket_ids[: max(at_once // 10, 1)])
            barcodes = {
                ticket.id: ticket.barcode
                for order_id in orders
                for ticket in d.sales.view_order(ViewOrder(corp.nina, order_id)).tickets
                if ticket.id in scanned and ticket.barcode
            }
            for barcode in barcodes.values():
                d.access.scan_ticket(ScanTicket(corp.gate, performance_id, barcode))
    if first_member is not None:
        # The host's trusted call, as a host with its own identity provider would open it.
        member = d.host.open_session(ActorKind.MEMBER, first_member).token
        own = d.members.list_member_tickets(ListMemberTickets(member))
        d.members.print_member_tickets(
            PrintMemberTickets(member, tuple(ticket.ticket_id for ticket in own))
        )
    return corp


def timings(
    corp: Corporate, per_call: Callable[[Callable[[], object], int], float]
) -> dict[str, float]:
    d = corp.world.domain
    board = d.distribution.view_dashboard(ViewDashboard(corp.nina)).total
    assert board.came_in == board.in_stock + board.distributed
    return {
        "view_dashboard": per_call(
            lambda: d.distribution.view_dashboard(ViewDashboard(corp.nina)), 30
        ),
        "view_dashboard (sub-structure)": per_call(
            lambda: d.distribution.view_dashboard(ViewDashboard(corp.nina, corp.club_id)), 30
        ),
        "view_stock": per_call(lambda: d.distribution.view_stock(ViewStock(corp.nina)), 30),
        "list_distributed_tickets": per_call(
            lambda: d.distribution.list_distributed_tickets(ListDistributedTickets(corp.nina)), 5
        ),
    }


#: rows filled in the spreadsheet whose import is timed
IMPORT_ROWS = 50


def import_per_row(corp: Corporate) -> float:
    """Seconds per row to import a stock spreadsheet with ``IMPORT_ROWS`` rows filled in for
    ten people (the other rows left blank), once: an import changes the stock."""
    d = corp.world.domain
    lines = d.distribution.export_stock(ExportStock(corp.nina)).content.splitlines()
    filled = [lines[0]]
    for index, line in enumerate(lines[1:]):
        if index < IMPORT_ROWS:
            line = line[: -len(",,")] + f"Colleague,No {index % 10},colleague{index % 10}@nestor.ch"
        filled.append(line)
    sheet = "\r\n".join(filled).encode()
    start = time.perf_counter()
    report = d.distribution.import_distribution(ImportDistribution(corp.nina, sheet))
    elapsed = time.perf_counter() - start
    assert report.count(ImportOutcome.DISTRIBUTED) == IMPORT_ROWS
    return elapsed / IMPORT_ROWS


def bench_dashboard(
    name: str,
    storages: Callable[[], AbstractContextManager[Storage]],
    sizes: list[int],
    floor: Callable[[Storage], float],
    per_call: Callable[[Callable[[], object], int], float],
) -> None:
    """Time the dashboard for each size on a fresh storage; print ratios to the floor and the
    growth from the smallest size."""
    rows: dict[int, dict[str, float]] = {}
    floors: dict[int, float] = {}
    for size in sizes:
        with storages() as storage:
            corp = populate(storage, size)
            floors[size] = floor(storage)
            rows[size] = timings(corp, per_call)
            rows[size][f"import_distribution, per row ({IMPORT_ROWS})"] = import_per_row(corp)
            board = corp.world.domain.distribution.view_dashboard(ViewDashboard(corp.nina)).total
            print(
                f"\n{name}, corporate dashboard, {size} tickets: floor "
                f"{floors[size] * 1e6:.0f} µs; {board.summary}, distributed {board.distributed}, "
                f"printed {board.printed}, controlled {board.controlled}"
            )
            for label, seconds in rows[size].items():
                print(
                    f"  {label:<32} {seconds * 1e3:9.2f} ms  {seconds / floors[size]:9.1f} x floor"
                )

    def in_floors(size: int, label: str) -> float:
        return rows[size][label] / floors[size]

    small, *larger = sizes
    for size in larger:
        growth = ", ".join(
            f"{label} x{in_floors(size, label) / in_floors(small, label):.1f}"
            for label in rows[size]
        )
        print(f"  {small} -> {size} tickets ({size / small:.0f}x as many), in floors: {growth}")
