"""Operators cancelling and invoicing at once on one database, each with its own engine as
separate processes would: a card is refunded once, and invoice numbers stay gapless.

Runs on a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from support.agency import Agency, chf, set_up_agency
from support.race import SELLERS, StorageFactory, new_storage, new_world, seller
from ticketdomain import (
    CancelOrder,
    CardPayment,
    IssueInvoice,
    LineRequest,
    ListInvoices,
    OrderState,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    TicketDomain,
    ViewOrder,
)
from ticketdomain.core.errors import (
    ConcurrencyError,
    NothingToInvoiceError,
    StateTransitionError,
)
from ticketdomain.core.invoices import InvoiceKind

__all__ = ["new_storage"]  # the fixture, imported for pytest


Job = Callable[[TicketDomain], object]


def all_at_once(sellers: list[TicketDomain], work: list[Job]) -> None:
    """Run ``work[i]`` (a callable taking a domain) on ``sellers[i % n]``, all threads released
    together; a ``ConcurrencyError`` is retried, any other failure fails the test."""
    start = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(domain: TicketDomain, job: Job) -> None:
        start.wait()
        try:
            while True:
                try:
                    job(domain)
                    return
                except ConcurrencyError:
                    continue
        except BaseException as error:  # surfaced below, with its traceback
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=(sellers[i % len(sellers)], job))
        for i, job in enumerate(work)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures


def test_a_card_order_cancelled_by_many_at_once_is_refunded_once(
    new_storage: StorageFactory,
) -> None:
    world = new_world(new_storage)
    agency = set_up_agency(world)
    order = world.domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
            PaymentMethod.CARD,
            card=CardPayment("tok_visa"),
        )
    )
    sellers = [seller(world, new_storage()) for _ in range(SELLERS)]

    def cancel(domain: TicketDomain) -> None:
        # Read confirmed, found cancelled once locked: refused, changing nothing.
        with contextlib.suppress(StateTransitionError):
            domain.accounts.cancel_order(CancelOrder(agency.operator, order.id))

    all_at_once(sellers, [cancel] * SELLERS)
    assert [r.amount for r in world.payments.refunds] == [chf("130.00")]
    view = world.domain.sales.view_order(ViewOrder(agency.alice, order.id))
    assert view.state is OrderState.CANCELLED


def place_for(agency: Agency, domain: TicketDomain, structure_id: str) -> str:
    return domain.sales.place_order_for_structure(
        PlaceOrderForStructure(
            agency.operator,
            agency.phone_sales_point_id,
            structure_id,
            (LineRequest(agency.later_performance_id, agency.full_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    ).id


def test_invoicing_and_cancelling_invoiced_orders_at_once_keeps_numbers_gapless(
    new_storage: StorageFactory,
) -> None:
    world = new_world(new_storage)
    agency = set_up_agency(world)
    d = world.domain
    structures = (agency.hotel_id, agency.other_agency_id)
    invoiced = [place_for(agency, d, s) for s in structures for _ in range(3)]
    for structure_id in structures:
        d.accounts.issue_invoice(
            IssueInvoice(agency.operator, agency.organization_id, structure_id)
        )
    for structure_id in structures:
        for _ in range(2):
            place_for(agency, d, structure_id)
    sellers = [seller(world, new_storage()) for _ in range(SELLERS)]

    def cancel(order_id: str) -> Job:
        return lambda domain: domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))

    def invoice(structure_id: str) -> Job:
        def run(domain: TicketDomain) -> None:
            with contextlib.suppress(NothingToInvoiceError):
                domain.accounts.issue_invoice(
                    IssueInvoice(agency.operator, agency.organization_id, structure_id)
                )

        return run

    all_at_once(sellers, [*map(cancel, invoiced), *map(invoice, structures * 2)])
    found = [
        invoice
        for structure_id in structures
        for invoice in d.accounts.list_invoices(
            ListInvoices(agency.operator, agency.organization_id, structure_id)
        )
    ]
    # 2 first invoices, 6 credit notes, and one invoice per structure for the later orders
    assert sorted(i.number for i in found) == list(range(1, 11))
    assert sum(i.kind is InvoiceKind.CREDIT_NOTE for i in found) == 6


def test_orders_and_cancellations_over_two_performances_at_once_never_deadlock(
    new_storage: StorageFactory,
) -> None:
    """A sale writes its tickets (and, on the SQL storage, the places-sold counters they update)
    under its performances' locks; a cancellation takes the same performances first, so the two
    never hold one counter each while waiting for the other's (a deadlock on PostgreSQL)."""
    world = new_world(new_storage)
    agency = set_up_agency(world)
    # The later performance first: a sale still locks by id, but writes its tickets line by line.
    lines = (
        LineRequest(agency.later_performance_id, agency.full_id, 1),
        LineRequest(agency.performance_id, agency.agency_tariff_id, 1),
    )

    def buy(domain: TicketDomain) -> str:
        return domain.sales.place_order(
            PlaceOrder(agency.alice, lines, PaymentMethod.CARD, card=CardPayment("tok_visa"))
        ).id

    placed = [buy(world.domain) for _ in range(SELLERS)]
    sellers = [seller(world, new_storage()) for _ in range(SELLERS)]
    start = threading.Barrier(2 * SELLERS)
    conflicts: list[ConcurrencyError] = []
    failures: list[BaseException] = []

    def run(job: Job, domain: TicketDomain) -> None:
        start.wait()
        try:
            job(domain)
        except ConcurrencyError as conflict:
            conflicts.append(conflict)
        except BaseException as error:  # surfaced below, with its traceback
            failures.append(error)

    def cancel(order_id: str) -> Job:
        return lambda domain: domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))

    jobs: list[Job] = [*map(cancel, placed), *[buy] * SELLERS]
    threads = [
        threading.Thread(target=run, args=(job, sellers[i % SELLERS])) for i, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert not conflicts, [conflict.message for conflict in conflicts]
    assert len(world.payments.refunds) == SELLERS
