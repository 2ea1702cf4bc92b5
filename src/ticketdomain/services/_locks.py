"""The one way services lock domain rows: in the documented order, so that two units of work
never wait for each other in a cycle (a deadlock on PostgreSQL).

The order (``docs/architecture.md``, "Transactions, locking and concurrency"):

1. the option or reservation the command acts on;
2. performances, each followed by its quotas, by performance id;
3. the holding account;
4. the invoice sequence;
5. orders, by id;
6. tickets, by id.

A unit of work may skip steps but never go back to an earlier one: ``Locks`` raises
``LockOrderError`` (a bug in a service, not a refusal) when asked to. Several rows of one step
are locked by one call, which takes them in id order.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from datetime import datetime

import attrs

from ticketdomain.core.access import ScannedTicket
from ticketdomain.core.accounts import HoldingAccount
from ticketdomain.core.catalog import Performance
from ticketdomain.core.invoices import InvoiceSequence
from ticketdomain.core.quotas import Quota, require_places
from ticketdomain.core.sales import (
    LineRequest,
    Option,
    Order,
    Reservation,
    Ticket,
    TicketState,
    places_per_performance,
)
from ticketdomain.core.setup import SalesPoint
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services._context import need, quota_levels


@attrs.frozen
class Places:
    """Performances locked by ``Locks.places``, with their quotas that apply on the sales
    point: what taking their places is decided on."""

    _uow: UnitOfWork
    sales_point: SalesPoint
    performances: dict[str, Performance]
    quotas: dict[str, list[Quota]]

    def require(self, lines: Iterable[LineRequest], now: datetime) -> None:
        """Refuse going over any level (``QuotaExhaustedError``); ``NotFoundError`` for an
        unknown performance. The places out are counted now, after the locks."""
        wanted = places_per_performance(lines)
        for performance_id in sorted(wanted):
            performance = need(self.performances.get(performance_id), "performance", performance_id)
            require_places(
                quota_levels(
                    self._uow, self.sales_point, performance, now, self.quotas[performance_id]
                ),
                wanted[performance_id],
                performance_id,
            )


class LockStep(enum.IntEnum):
    """The steps of the lock order, earliest first."""

    REQUEST = 1
    PLACES = 2
    ACCOUNT = 3
    INVOICE_SEQUENCE = 4
    ORDERS = 5
    TICKETS = 6


class LockOrderError(RuntimeError):
    """A service asked for a lock out of the documented order: a programming error."""


class Locks:
    """Takes the row locks of one unit of work, refusing to go back in the lock order."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._step = 0

    def _take(self, step: LockStep) -> None:
        if step < self._step:
            raise LockOrderError(
                f"{step.name.lower()} locked after {LockStep(self._step).name.lower()}: "
                "see the lock order in docs/architecture.md."
            )
        self._step = step

    # --- 1. the request acted on ------------------------------------------------------------

    def option(self, option_id: str) -> Option | None:
        self._take(LockStep.REQUEST)
        return self._uow.options.get_for_update(option_id)

    def reservation(self, reservation_id: str) -> Reservation | None:
        self._take(LockStep.REQUEST)
        return self._uow.reservations.get_for_update(reservation_id)

    # --- 2. places --------------------------------------------------------------------------

    def places(self, sales_point: SalesPoint, lines: Iterable[LineRequest]) -> Places:
        """Lock the performances concerned, each followed by its quotas that apply on the
        sales point (by performance id); an unknown performance is left out (the caller's
        line checks report it). Then ``Places.require`` decides."""
        self._take(LockStep.PLACES)
        performances: dict[str, Performance] = {}
        quotas: dict[str, list[Quota]] = {}
        for performance_id in sorted(places_per_performance(lines)):
            found = self._uow.performances.get_for_update_with_quotas(performance_id)
            if found is None:
                continue
            performance, every = found
            performances[performance_id] = performance
            # Read with the performance, locked again (fresh) before they are relied on.
            quotas[performance_id] = [
                need(self._uow.quotas.get_for_update(quota.id), "quota", quota.id)
                for quota in every
                if quota.applies(sales_point.id, sales_point.channel_id)
            ]
        return Places(self._uow, sales_point, performances, quotas)

    def performances(self, performance_ids: Collection[str]) -> None:
        """Lock these performances (by id) without counting places: a cancellation frees
        places, and taking its performances first keeps it in the order a sale takes them (the
        SQL storage counts places sold per performance in rows the tickets' writes update)."""
        self._take(LockStep.PLACES)
        for performance_id in sorted(set(performance_ids)):
            self._uow.performances.get_for_update(performance_id)

    # --- 3. and 4. money --------------------------------------------------------------------

    def account(self, organization_id: str, structure_id: str) -> HoldingAccount | None:
        """The structure's holding account, or ``None`` when it has none yet."""
        self._take(LockStep.ACCOUNT)
        return self._uow.accounts.for_structure_for_update(organization_id, structure_id)

    def invoice_sequence(self, organization_id: str) -> InvoiceSequence:
        self._take(LockStep.INVOICE_SEQUENCE)
        return self._uow.invoice_sequences.get_for_update(organization_id)

    # --- 5. and 6. orders and tickets -------------------------------------------------------

    def orders(self, order_ids: Collection[str]) -> list[Order]:
        """The orders (in id order); ``NotFoundError`` for one that is gone."""
        self._take(LockStep.ORDERS)
        return [
            need(self._uow.orders.get_for_update(id), "order", id) for id in sorted(set(order_ids))
        ]

    def order(self, order_id: str) -> Order:
        """The order; ``NotFoundError`` when it is gone."""
        (order,) = self.orders([order_id])
        return order

    def tickets_of_order(self, order_id: str) -> list[Ticket]:
        self._take(LockStep.TICKETS)
        return self._uow.tickets.for_order_for_update(order_id)

    def tickets(self, ticket_ids: Collection[str]) -> list[Ticket]:
        """The tickets that exist among ``ticket_ids``, in id order."""
        self._take(LockStep.TICKETS)
        return self._uow.tickets.get_many_for_update(ticket_ids)

    def ticket(self, ticket_id: str) -> Ticket | None:
        self._take(LockStep.TICKETS)
        return self._uow.tickets.get_for_update(ticket_id)

    def scanned_ticket(self, barcode: str) -> ScannedTicket | None:
        """The ticket holding (or once holding) ``barcode``, with what a gate needs to admit
        it."""
        self._take(LockStep.TICKETS)
        return self._uow.tickets.for_scan(barcode)

    def tickets_in_custody(
        self,
        organization_id: str,
        structure_id: str,
        states: Collection[TicketState],
        performance_id: str | None = None,
        product_id: str | None = None,
        limit: int | None = None,
        received_only: bool = False,
    ) -> list[Ticket]:
        """Up to ``limit`` tickets of the structure's stock, in id order."""
        self._take(LockStep.TICKETS)
        return self._uow.tickets.in_custody(
            organization_id,
            structure_id,
            states,
            performance_id=performance_id,
            product_id=product_id,
            limit=limit,
            for_update=True,
            received_only=received_only,
        )
