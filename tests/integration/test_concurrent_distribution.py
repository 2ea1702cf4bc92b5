"""Relays distributing from one stock and gates scanning one barcode, at once, each with its own
engine as separate processes would: no ticket is handed out twice and a ticket is admitted once.

Runs on a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it)."""

from __future__ import annotations

import threading

from support.corporate import Corporate, set_up_corporate
from support.race import SELLERS, StorageFactory, new_storage, new_world, race, seller
from ticketdomain import (
    DistributeToMember,
    ListDistributedTickets,
    ListMemberTickets,
    PrintMemberTickets,
    RegisterGate,
    ScanResult,
    ScanTicket,
    TicketDomain,
    ViewDashboard,
)
from ticketdomain.core.errors import ConcurrencyError, StockInsufficientError
from ticketdomain.testing.domain import FakeWorld

__all__ = ["new_storage"]  # the fixture, imported for pytest


def set_up(new_storage: StorageFactory) -> tuple[FakeWorld, Corporate]:
    world = new_world(new_storage)
    return world, set_up_corporate(world)


def test_concurrent_relays_never_hand_out_a_ticket_twice(new_storage: StorageFactory) -> None:
    world, corporate = set_up(new_storage)
    corporate.buy(20)
    relays = [seller(world, new_storage()) for _ in range(SELLERS)]

    def give_one(domain: TicketDomain) -> bool:
        try:
            domain.distribution.distribute_to_member(
                DistributeToMember(
                    corporate.nina,
                    corporate.performance_id,
                    corporate.product_id,
                    1,
                    member_id=corporate.marc_id,
                )
            )
        except StockInsufficientError:
            return False
        return True

    assert race(relays, give_one) == 20
    distributed = world.domain.distribution.list_distributed_tickets(
        ListDistributedTickets(corporate.nina)
    )
    assert len({t.ticket_id for t in distributed}) == 20
    assert {t.holder_id for t in distributed} == {corporate.marc_id}
    total = world.domain.distribution.view_dashboard(ViewDashboard(corporate.nina)).total
    assert (total.bought, total.in_stock, total.to_individuals) == (20, 0, 20)
    assert len(world.mailer.outbox) == 0  # queued, not sent: 20 invitations wait in the outbox


def test_gates_scanning_one_barcode_at_once_admit_it_once(new_storage: StorageFactory) -> None:
    world, corporate = set_up(new_storage)
    corporate.buy(1)
    d = world.domain
    d.distribution.distribute_to_member(
        DistributeToMember(
            corporate.nina,
            corporate.performance_id,
            corporate.product_id,
            1,
            member_id=corporate.marc_id,
        )
    )
    (mine,) = d.members.list_member_tickets(ListMemberTickets(corporate.marc))
    d.members.print_member_tickets(PrintMemberTickets(corporate.marc, (mine.ticket_id,)))
    printed = world.renderer.rendered[-1]
    # each gate registered by the operator, with an API key of its own
    keys = [
        d.identity.register_gate(
            RegisterGate(corporate.operator, corporate.organization_id, f"Gate {n}")
        ).key.token
        for n in range(SELLERS)
    ]
    gates = [seller(world, new_storage()) for _ in range(SELLERS)]
    results: list[ScanResult] = []
    failures: list[BaseException] = []
    start = threading.Barrier(len(gates))
    lock = threading.Lock()

    def scan(domain: TicketDomain, n: int) -> None:
        start.wait()
        try:
            while True:
                try:
                    result = domain.access.scan_ticket(
                        ScanTicket(keys[n], corporate.performance_id, printed.barcode)
                    )
                    break
                except ConcurrencyError:
                    continue
            with lock:
                results.append(result)
        except BaseException as error:  # surfaced below, with its traceback
            failures.append(error)

    threads = [threading.Thread(target=scan, args=(g, n)) for n, g in enumerate(gates)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    accepted = [r for r in results if r.accepted]
    assert len(results) == SELLERS
    assert len(accepted) == 1
    rejected = [r for r in results if not r.accepted]
    assert {r.rejection.value for r in rejected if r.rejection} == {"already_controlled"}
    assert {r.controlled_gate for r in rejected} == {accepted[0].gate}
