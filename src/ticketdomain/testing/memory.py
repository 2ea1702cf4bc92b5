"""In-memory storage: a first-class adapter for tests, demos and hosts that need no database.

Units of work are serialized by one lock held from ``__enter__`` to ``__exit__``, which makes
every ``get_for_update`` trivially exclusive. Reads hand out deep copies and writes are staged
until ``commit()``, so a unit of work that is not committed changes nothing.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import attrs

from ticketdomain.core.access import ScannedTicket
from ticketdomain.core.accounts import HoldingAccount, LedgerEntry
from ticketdomain.core.catalog import Activity, CatalogProfile, Performance, Product, Tariff
from ticketdomain.core.contacts import Individual, Structure
from ticketdomain.core.distribution import AttendeeCount, CustodyCount, HolderCount
from ticketdomain.core.errors import ConcurrencyError
from ticketdomain.core.identity import (
    ActorKind,
    ApiKey,
    AuthSession,
    Credential,
    Gate,
    LoginLink,
    Operator,
)
from ticketdomain.core.invoices import Invoice, InvoiceSequence
from ticketdomain.core.mail import MailMessage, OutboxState
from ticketdomain.core.quotas import PlacesOut, Quota
from ticketdomain.core.sales import (
    Option,
    OptionState,
    Order,
    OrderState,
    Reservation,
    ReservationState,
    Ticket,
    TicketState,
)
from ticketdomain.core.setup import Institution, Organization, SalesChannel, SalesPoint
from ticketdomain.ports.storage import (
    ActivityRepository,
    ApiKeyRepository,
    GateRepository,
    HoldingAccountRepository,
    IndividualRepository,
    InvoiceRepository,
    InvoiceSequenceRepository,
    LoginLinkRepository,
    OperatorRepository,
    OptionRepository,
    OrderRepository,
    Outbox,
    OutboxItem,
    PerformanceRepository,
    ProductRepository,
    ProfileRepository,
    QuotaRepository,
    Repository,
    ReservationRepository,
    SalesPointRepository,
    SessionContext,
    SessionRepository,
    StructureRepository,
    TariffRepository,
    TicketRepository,
)

T = TypeVar("T")

_Tables = dict[str, dict[str, Any]]


class _Repo(Generic[T]):
    def __init__(self, uow: InMemoryUnitOfWork, table: str, key: Callable[[T], str]) -> None:
        self._uow = uow
        self._table = table
        self._key = key

    def _committed(self) -> dict[str, Any]:
        if not self._uow._lock_held:
            # As a database session would: a unit of work is used inside its ``with`` block.
            raise RuntimeError("Use the unit of work inside a `with` block.")
        return self._uow._storage._tables.setdefault(self._table, {})

    def _staged(self) -> dict[str, Any]:
        return self._uow._staged.setdefault(self._table, {})

    def _items(self) -> Iterator[T]:
        """Every row as seen by this unit of work (not copied: callers copy what they return)."""
        staged = self._staged()
        for key, item in self._committed().items():
            if key not in staged:
                yield item
        yield from staged.values()

    def _select(self, predicate: Callable[[T], bool]) -> list[T]:
        return [copy.deepcopy(item) for item in self._items() if predicate(item)]

    def add(self, item: T) -> None:
        key = self._key(item)
        if key in self._staged() or key in self._committed():
            raise ConcurrencyError(f"{self._table} {key} already exists.", id=key)
        self._staged()[key] = copy.deepcopy(item)

    def get(self, id: str) -> T | None:
        staged = self._staged()
        item = staged[id] if id in staged else self._committed().get(id)
        return copy.deepcopy(item) if item is not None else None

    def get_for_update(self, id: str) -> T | None:
        self._uow._locked(self._table, [id])
        return self.get(id)

    def update(self, item: T) -> None:
        key = self._key(item)
        if key not in self._staged() and key not in self._committed():
            raise ConcurrencyError(f"{self._table} {key} does not exist.", id=key)
        self._staged()[key] = copy.deepcopy(item)

    def get_many(self, ids: Collection[str]) -> list[T]:
        found = (self.get(id) for id in sorted(set(ids)))
        return [item for item in found if item is not None]


def _by_id(item: Any) -> str:
    return str(item.id)


class _Structures(_Repo[Structure]):
    def children(self, structure_id: str) -> list[Structure]:
        found = self._select(lambda s: s.parent_id == structure_id)
        return sorted(found, key=lambda s: (s.name, s.id))

    def family(self, structure_id: str) -> list[Structure]:
        every = {item.id: item for item in self._items()}
        if structure_id not in every:
            return []
        found = {structure_id}
        parent_id = every[structure_id].parent_id
        while parent_id in every and parent_id not in found:
            found.add(parent_id)
            parent_id = every[parent_id].parent_id
        pending = [structure_id]
        below: set[str] = set()
        while pending:
            current = pending.pop()
            for item in every.values():
                if item.parent_id == current and item.id not in below:
                    below.add(item.id)
                    pending.append(item.id)
        return [copy.deepcopy(every[id]) for id in sorted(found | below)]


class _Individuals(_Repo[Individual]):
    def find_by_email(self, institution_id: str, email: str) -> Individual | None:
        wanted = email.lower()
        found = self._select(
            lambda i: i.institution_id == institution_id and i.email.value.lower() == wanted
        )
        return min(found, key=lambda i: i.id) if found else None

    def search(self, structure_id: str, text: str, limit: int) -> list[Individual]:
        needle = text.lower()
        found = self._select(
            lambda i: (
                i.structure_id == structure_id
                and any(
                    needle in value.lower() for value in (i.name.first, i.name.last, i.email.value)
                )
            )
        )
        found.sort(key=lambda i: (i.name.last.lower(), i.name.first.lower(), i.id))
        return found[:limit]


class _Operators(_Repo[Operator]):
    def find_by_email(self, institution_id: str, email: str) -> Operator | None:
        wanted = email.lower()
        found = self._select(
            lambda o: o.institution_id == institution_id and o.email.value.lower() == wanted
        )
        return min(found, key=lambda o: o.id) if found else None

    def for_institution(self, institution_id: str) -> list[Operator]:
        return sorted(self._select(lambda o: o.institution_id == institution_id), key=_by_id)


class _Gates(_Repo[Gate]):
    def for_organization(self, organization_id: str) -> list[Gate]:
        return sorted(self._select(lambda g: g.organization_id == organization_id), key=_by_id)


class _Sessions(_Repo[AuthSession]):
    def find_by_digest(self, token_digest: str) -> AuthSession | None:
        found = self._select(lambda s: s.token_digest == token_digest)
        return found[0] if found else None

    def find_with_context(self, token_digest: str) -> SessionContext | None:
        session = self.find_by_digest(token_digest)
        if session is None:
            return None
        uow = self._uow
        sales_point = (
            uow.sales_points.get(session.sales_point_id) if session.sales_point_id else None
        )
        organization = profile = None
        if sales_point is not None:
            organization = uow.organizations.get(sales_point.organization_id)
            profile = uow.profiles.for_sales_point(sales_point.id) or uow.profiles.for_channel(
                sales_point.organization_id, sales_point.channel_id
            )
        return SessionContext(
            session, uow.individuals.get(session.actor_id), sales_point, organization, profile
        )

    def _revoke(self, predicate: Callable[[AuthSession], bool], at: datetime) -> int:
        found = self._select(lambda s: s.revoked_at is None and predicate(s))
        for item in found:
            item.revoked_at = at
            self.update(item)
        return len(found)

    def revoke_for_actor(
        self, kind: ActorKind, actor_id: str, at: datetime, except_id: str | None = None
    ) -> int:
        return self._revoke(
            lambda s: s.actor_kind is kind and s.actor_id == actor_id and s.id != except_id, at
        )

    def revoke_for_relays(
        self, relay_ids: Collection[str], sales_point_id: str, at: datetime
    ) -> int:
        wanted = set(relay_ids)
        return self._revoke(
            lambda s: (
                s.actor_kind is ActorKind.RELAY
                and s.actor_id in wanted
                and s.sales_point_id == sales_point_id
            ),
            at,
        )


class _LoginLinks(_Repo[LoginLink]):
    def find_by_digest(self, token_digest: str) -> LoginLink | None:
        found = self._select(lambda s: s.token_digest == token_digest)
        return found[0] if found else None


class _ApiKeys(_Repo[ApiKey]):
    def find_by_digest(self, token_digest: str) -> ApiKey | None:
        found = self._select(lambda s: s.token_digest == token_digest)
        return found[0] if found else None

    def for_actor(self, kind: ActorKind, actor_id: str) -> list[ApiKey]:
        found = self._select(lambda k: k.actor_kind is kind and k.actor_id == actor_id)
        return sorted(found, key=lambda k: (k.created_at, k.id))


class _SalesPoints(_Repo[SalesPoint]):
    def ids_on_channel(self, channel_id: str) -> list[str]:
        return sorted(sp.id for sp in self._items() if sp.channel_id == channel_id)


class _Performances(_Repo[Performance]):
    def for_organization(self, organization_id: str) -> list[Performance]:
        found = self._select(lambda p: p.organization_id == organization_id)
        return sorted(found, key=lambda p: (p.start_instant, p.id))

    def get_for_update_with_quotas(
        self, performance_id: str
    ) -> tuple[Performance, list[Quota]] | None:
        performance = self.get_for_update(performance_id)
        if performance is None:
            return None
        return performance, self._uow.quotas.for_performance(performance_id)

    def places_out(self, performance_id: str, now: datetime) -> list[PlacesOut]:
        per_point: Counter[str] = Counter(
            t.sales_point_id
            for t in _Repo[Ticket](self._uow, "tickets", _by_id)._items()
            if t.performance_id == performance_id and t.state is not TicketState.CANCELLED
        )
        for r in _Repo[Reservation](self._uow, "reservations", _by_id)._items():
            if r.is_live(now):
                for line in r.lines:
                    if line.performance_id == performance_id:
                        per_point[r.sales_point_id] += line.quantity
        channels = {
            sp.id: sp.channel_id
            for sp in _Repo[SalesPoint](self._uow, "sales_points", _by_id)._items()
        }
        return [
            PlacesOut(point, channels[point], places)
            for point, places in per_point.items()
            if places and point in channels
        ]


class _Products(_Repo[Product]):
    def for_organization(self, organization_id: str) -> list[Product]:
        return sorted(
            self._select(lambda p: p.organization_id == organization_id), key=lambda p: p.id
        )


class _Tariffs(_Repo[Tariff]):
    def for_product(self, product_id: str) -> list[Tariff]:
        return sorted(self._select(lambda t: t.product_id == product_id), key=lambda t: t.id)

    def get_with_product(self, id: str) -> tuple[Tariff, Product | None] | None:
        tariff = self.get(id)
        return None if tariff is None else (tariff, self._uow.products.get(tariff.product_id))


class _Profiles(_Repo[CatalogProfile]):
    def for_sales_point(self, sales_point_id: str) -> CatalogProfile | None:
        found = self._select(lambda p: p.sales_point_id == sales_point_id)
        return found[0] if found else None

    def for_channel(self, organization_id: str, channel_id: str) -> CatalogProfile | None:
        found = self._select(
            lambda p: p.organization_id == organization_id and p.channel_id == channel_id
        )
        return found[0] if found else None


class _Quotas(_Repo[Quota]):
    def for_performance(self, performance_id: str) -> list[Quota]:
        return sorted(
            self._select(lambda q: q.performance_id == performance_id), key=lambda q: q.id
        )

    def update(self, item: Quota) -> None:
        item.version += 1
        super().update(item)


class _Options(_Repo[Option]):
    def due(self, now: datetime, limit: int) -> list[Option]:
        found = self._select(lambda o: o.state is OptionState.REQUESTED and o.expires_at <= now)
        return sorted(found, key=lambda o: (o.expires_at, o.id))[:limit]

    def for_structure(self, structure_id: str) -> list[Option]:
        found = self._select(lambda o: o.structure_id == structure_id)
        return sorted(found, key=lambda o: (o.requested_at, o.id))


def _in(value: str, allowed: Collection[str] | None) -> bool:
    return allowed is None or value in allowed


class _Reservations(_Repo[Reservation]):
    def held_places(
        self, performance_id: str, sales_point_ids: Collection[str] | None, now: datetime
    ) -> int:
        return sum(
            line.quantity
            for r in self._items()
            if r.is_live(now) and _in(r.sales_point_id, sales_point_ids)
            for line in r.lines
            if line.performance_id == performance_id
        )

    def due(self, now: datetime, limit: int) -> list[Reservation]:
        found = self._select(lambda r: r.state is ReservationState.HELD and r.deadline <= now)
        return sorted(found, key=lambda r: (r.deadline, r.id))[:limit]

    def for_structure(self, structure_id: str) -> list[Reservation]:
        found = self._select(lambda r: r.structure_id == structure_id)
        return sorted(found, key=lambda r: (r.created_at, r.id))


class _Orders(_Repo[Order]):
    def for_structure(
        self,
        organization_id: str,
        structure_id: str,
        placed_from: datetime | None = None,
        placed_until: datetime | None = None,
    ) -> list[Order]:
        found = self._select(
            lambda o: (
                o.organization_id == organization_id
                and o.structure_id == structure_id
                and (placed_from is None or o.placed_at >= placed_from)
                and (placed_until is None or o.placed_at < placed_until)
            )
        )
        return sorted(found, key=lambda o: (o.placed_at, o.id))

    def uninvoiced_on_account(self, organization_id: str, structure_id: str) -> list[Order]:
        return [
            o
            for o in self.for_structure(organization_id, structure_id)
            if o.on_account and o.state is OrderState.CONFIRMED and o.invoice_id is None
        ]

    def refunds_due(self, limit: int) -> list[Order]:
        due = self._select(lambda o: o.refund_due is not None)
        return sorted(due, key=lambda o: (o.cancelled_at or o.placed_at, o.id))[: max(limit, 0)]


def _barcodes(ticket: Ticket) -> set[str]:
    return {b for b in (ticket.barcode, *ticket.revoked_barcodes) if b is not None}


class _Tickets(_Repo[Ticket]):
    def _check_barcodes(self, ticket: Ticket) -> None:
        # A barcode belongs to one ticket, as a database's unique key would guarantee. Only
        # barcodes the ticket did not hold yet are looked for elsewhere, so that writing back a
        # ticket whose barcodes did not change (an assignment, a print) costs no scan.
        staged = self._staged()
        stored = staged.get(ticket.id) or self._committed().get(ticket.id)
        mine = _barcodes(ticket) - (_barcodes(stored) if stored is not None else set())
        if not mine:
            return
        for other in self._items():
            if other.id != ticket.id and mine & _barcodes(other):
                raise ConcurrencyError(
                    f"A barcode of ticket {ticket.id} already belongs to ticket {other.id}.",
                    id=ticket.id,
                )

    def add(self, item: Ticket) -> None:
        self._check_barcodes(item)
        super().add(item)

    def add_many(self, tickets: Sequence[Ticket]) -> None:
        for ticket in tickets:
            self.add(ticket)

    def for_order(self, order_id: str) -> list[Ticket]:
        return sorted(self._select(lambda t: t.order_id == order_id), key=lambda t: t.id)

    def for_order_for_update(self, order_id: str) -> list[Ticket]:
        found = self.for_order(order_id)
        self._uow._locked(self._table, [t.id for t in found])
        return found

    def sold_places(self, performance_id: str, sales_point_ids: Collection[str] | None) -> int:
        return sum(
            1
            for t in self._items()
            if t.performance_id == performance_id
            and t.state is not TicketState.CANCELLED
            and _in(t.sales_point_id, sales_point_ids)
        )

    def by_barcode(self, barcode: str) -> Ticket | None:
        found = self._select(lambda t: t.barcode == barcode or barcode in t.revoked_barcodes)
        return found[0] if found else None

    def for_scan(self, barcode: str) -> ScannedTicket | None:
        ticket = self.by_barcode(barcode)
        if ticket is None:
            return None
        self._uow._locked(self._table, [ticket.id])
        uow = self._uow
        order = uow.orders.get(ticket.order_id)
        sales_point = uow.sales_points.get(ticket.sales_point_id)
        product = uow.products.get(ticket.product_id)
        if order is None or sales_point is None or product is None:
            return None
        return ScannedTicket(
            ticket,
            product.name,
            sales_point.policy.admit_before_settlement,
            order.on_account,
            order.invoice_id,
        )

    def for_holder(self, individual_id: str) -> list[Ticket]:
        return sorted(self._select(lambda t: t.holder_id == individual_id), key=lambda t: t.id)

    def get_many_for_update(self, ids: Collection[str]) -> list[Ticket]:
        wanted = set(ids)
        found = sorted(self._select(lambda t: t.id in wanted), key=lambda t: t.id)
        self._uow._locked(self._table, [t.id for t in found])
        return found

    def in_custody(
        self,
        organization_id: str,
        structure_id: str,
        states: Collection[TicketState],
        performance_id: str | None = None,
        product_id: str | None = None,
        limit: int | None = None,
        for_update: bool = False,
        received_only: bool = False,
    ) -> list[Ticket]:
        found = sorted(
            (
                t
                for t in self._items()
                if t.organization_id == organization_id
                and t.stock_structure_id == structure_id
                and t.state in states
                and performance_id in (None, t.performance_id)
                and product_id in (None, t.product_id)
                and not (received_only and t.structure_id == structure_id)
            ),
            key=lambda t: t.id,
        )
        found = found if limit is None else found[: max(limit, 0)]
        if for_update:
            self._uow._locked(self._table, [t.id for t in found])
        return copy.deepcopy(found)

    def custody_counts(
        self, organization_id: str, stock_structure_ids: Collection[str]
    ) -> list[CustodyCount]:
        wanted = set(stock_structure_ids)
        counts: Counter[tuple[str, str, str, str, TicketState, bool]] = Counter(
            (
                t.structure_id,
                t.stock_structure_id,
                t.performance_id,
                t.product_id,
                t.state,
                t.holder_id is not None,
            )
            for t in self._items()
            if t.organization_id == organization_id and t.stock_structure_id in wanted
        )
        return [CustodyCount(*key, count=n) for key, n in counts.items()]

    def holder_counts(
        self, organization_id: str, performance_id: str | None = None
    ) -> list[HolderCount]:
        counts: Counter[tuple[str, str, str]] = Counter(
            (t.holder_id, t.stock_structure_id, t.performance_id)
            for t in self._items()
            if t.organization_id == organization_id
            and t.holder_id is not None
            and t.state is not TicketState.CANCELLED
            and performance_id in (None, t.performance_id)
        )
        return [HolderCount(*key, count=n) for key, n in counts.items()]

    def attendee_counts(
        self, organization_id: str, performance_id: str | None = None
    ) -> list[AttendeeCount]:
        counts: Counter[tuple[str, str, str, str, str | None, bool]] = Counter(
            (
                t.holder_id,
                t.stock_structure_id,
                t.performance_id,
                t.beneficiary,
                t.beneficiary_email,
                t.beneficiary_consent,
            )
            for t in self._items()
            if t.organization_id == organization_id
            and t.holder_id is not None
            and t.beneficiary is not None
            and t.state in (TicketState.PRINTED, TicketState.CONTROLLED)
            and performance_id in (None, t.performance_id)
        )
        return [AttendeeCount(*key, count=n) for key, n in counts.items()]

    def update(self, item: Ticket) -> None:
        self._check_barcodes(item)
        item.version += 1
        super().update(item)

    def update_many(self, items: Sequence[Ticket]) -> None:
        for item in items:
            self.update(item)


class _Accounts(_Repo[HoldingAccount]):
    """Accounts are stored without their ledger, kept beside them by account id as an
    append-only list (as the SQL adapter keeps it in a table of its own): appending costs the
    same however long the list."""

    _LEDGERS = "ledger_entries"

    def _ledger_parts(self, account_id: str) -> tuple[list[LedgerEntry], list[LedgerEntry]]:
        """The committed entries and those this unit of work appended, each in sequence order."""
        committed = self._uow._storage._tables.get(self._LEDGERS, {}).get(account_id, [])
        appended = self._uow._appended.get(self._LEDGERS, {}).get(account_id, [])
        return committed, appended

    def _check_new_entries(self, item: HoldingAccount) -> None:
        # Entries only ever follow the last one: a sequence at or below it is already taken.
        committed, appended = self._ledger_parts(item.id)
        stored = appended or committed
        sequence = stored[-1].sequence if stored else 0
        for entry in item.new_entries:
            if entry.sequence <= sequence:
                raise ConcurrencyError(
                    f"Entry {entry.sequence} of account {item.id} is already stored.",
                    id=item.id,
                    sequence=entry.sequence,
                )
            sequence = entry.sequence

    def _append_new_entries(self, item: HoldingAccount) -> None:
        if item.new_entries:
            ledgers = self._uow._appended.setdefault(self._LEDGERS, {})
            ledgers.setdefault(item.id, []).extend(item.new_entries)
            item.new_entries.clear()

    def add(self, item: HoldingAccount) -> None:
        if self.for_structure(item.organization_id, item.structure_id) is not None:
            raise ConcurrencyError(
                f"Structure {item.structure_id} already has a holding account.", id=item.id
            )
        self._check_new_entries(item)
        super().add(attrs.evolve(item, new_entries=[]))
        self._append_new_entries(item)

    def ledger(self, account_id: str) -> list[LedgerEntry]:
        committed, appended = self._ledger_parts(account_id)
        return [*committed, *appended]

    def for_structure(self, organization_id: str, structure_id: str) -> HoldingAccount | None:
        found = self._select(
            lambda a: a.organization_id == organization_id and a.structure_id == structure_id
        )
        return found[0] if found else None

    def for_structure_for_update(
        self, organization_id: str, structure_id: str
    ) -> HoldingAccount | None:
        found = self.for_structure(organization_id, structure_id)
        self._uow._locked(self._table, [found.id if found else f"{organization_id}/{structure_id}"])
        return found

    def update(self, item: HoldingAccount) -> None:
        self._check_new_entries(item)
        item.version += 1
        super().update(attrs.evolve(item, new_entries=[]))
        self._append_new_entries(item)


class _Invoices(_Repo[Invoice]):
    def add(self, item: Invoice) -> None:
        if item.number in self.numbers(item.organization_id):
            raise ConcurrencyError(f"Invoice number {item.number} is already issued.", id=item.id)
        super().add(item)

    def for_structure(self, organization_id: str, structure_id: str) -> list[Invoice]:
        found = self._select(
            lambda i: i.organization_id == organization_id and i.structure_id == structure_id
        )
        return sorted(found, key=lambda i: i.number)

    def numbers(self, organization_id: str) -> list[int]:
        return sorted(i.number for i in self._items() if i.organization_id == organization_id)

    def with_reference(self, reference: str) -> list[Invoice]:
        found = self._select(lambda i: i.reference is not None and i.reference == reference)
        return sorted(found, key=lambda i: (i.organization_id, i.number))


class _InvoiceSequences(_Repo[InvoiceSequence]):
    def get_for_update(self, organization_id: str) -> InvoiceSequence:
        self._uow._locked(self._table, [organization_id])
        found = self.get(organization_id)
        if found is None:
            found = InvoiceSequence(organization_id)
            self._staged()[organization_id] = copy.deepcopy(found)
        return found

    def update(self, item: InvoiceSequence) -> None:
        item.version += 1
        self._staged()[item.organization_id] = copy.deepcopy(item)


class _Outbox(_Repo[OutboxItem]):
    def add(self, message: MailMessage, queued_at: datetime) -> None:  # type: ignore[override]
        super().add(OutboxItem(message, queued_at, due_at=queued_at))

    def pending(self, limit: int) -> list[OutboxItem]:
        found = self._select(lambda item: item.state in _UNSENT)
        return sorted(found, key=lambda item: (item.queued_at, item.message.id))[:limit]

    def claim(
        self, dispatcher: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxItem]:
        def due(item: OutboxItem) -> bool:
            if item.state is OutboxState.QUEUED:
                return item.due_at is None or item.due_at <= now
            return (
                item.state is OutboxState.SENDING
                and item.lease_until is not None
                and item.lease_until <= now
            )

        found = sorted(
            self._select(due),
            key=lambda item: (item.due_at or item.queued_at, item.queued_at, item.message.id),
        )[: max(limit, 0)]
        claimed = [
            attrs.evolve(
                item,
                state=OutboxState.SENDING,
                claimed_by=dispatcher,
                lease_until=lease_until,
                attempts=item.attempts + 1,
            )
            for item in found
        ]
        for item in claimed:
            super().update(item)
        return claimed

    def _claimed(self, message_id: str, dispatcher: str) -> OutboxItem | None:
        item = self.get(message_id)
        if item is None or item.state is not OutboxState.SENDING or item.claimed_by != dispatcher:
            return None
        return item

    def mark_sent(
        self,
        message_id: str,
        dispatcher: str,
        at: datetime,
        body: str | None = None,
        html: str | None = None,
    ) -> bool:
        item = self._claimed(message_id, dispatcher)
        if item is None:
            return False
        message = item.message if body is None else attrs.evolve(item.message, body=body)
        message = message if html is None else attrs.evolve(message, html=html)
        super().update(
            attrs.evolve(
                item,
                message=message,
                sent_at=at,
                state=OutboxState.SENT,
                claimed_by=None,
                lease_until=None,
            )
        )
        return True

    def mark_retry(self, message_id: str, dispatcher: str, error: str, due_at: datetime) -> bool:
        item = self._claimed(message_id, dispatcher)
        if item is None:
            return False
        super().update(
            attrs.evolve(
                item,
                last_error=error,
                state=OutboxState.QUEUED,
                due_at=due_at,
                claimed_by=None,
                lease_until=None,
            )
        )
        return True

    def mark_failed(self, message_id: str, dispatcher: str, error: str) -> bool:
        item = self._claimed(message_id, dispatcher)
        if item is None:
            return False
        super().update(
            attrs.evolve(
                item,
                last_error=error,
                state=OutboxState.FAILED,
                claimed_by=None,
                lease_until=None,
            )
        )
        return True

    def failed(self, institution_id: str | None, limit: int) -> list[OutboxItem]:
        found = self._select(
            lambda item: (
                item.state is OutboxState.FAILED and item.message.institution_id == institution_id
            )
        )
        return sorted(found, key=lambda item: (item.queued_at, item.message.id))[: max(limit, 0)]

    def requeue(self, message_id: str, now: datetime) -> bool:
        item = self.get(message_id)
        if item is None or item.state is not OutboxState.FAILED:
            return False
        super().update(attrs.evolve(item, state=OutboxState.QUEUED, due_at=now, attempts=0))
        return True


_UNSENT = frozenset({OutboxState.QUEUED, OutboxState.SENDING})


class InMemoryUnitOfWork:
    # Declared as the ports' types: mypy matches Protocol attributes invariantly, so the
    # concrete repository classes alone would not make this a UnitOfWork.
    institutions: Repository[Institution]
    organizations: Repository[Organization]
    channels: Repository[SalesChannel]
    sales_points: SalesPointRepository
    structures: StructureRepository
    individuals: IndividualRepository
    activities: ActivityRepository
    performances: PerformanceRepository
    products: ProductRepository
    tariffs: TariffRepository
    profiles: ProfileRepository
    quotas: QuotaRepository
    options: OptionRepository
    reservations: ReservationRepository
    orders: OrderRepository
    tickets: TicketRepository
    accounts: HoldingAccountRepository
    invoices: InvoiceRepository
    invoice_sequences: InvoiceSequenceRepository
    outbox: Outbox
    operators: OperatorRepository
    gates: GateRepository
    credentials: Repository[Credential]
    sessions: SessionRepository
    login_links: LoginLinkRepository
    api_keys: ApiKeyRepository

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage
        self._staged: _Tables = {}
        #: append-only tables: rows this unit of work appends to a committed list, by key
        self._appended: _Tables = {}
        self._lock_held = False
        self._number = 0
        self.institutions = _Repo[Institution](self, "institutions", _by_id)
        self.organizations = _Repo[Organization](self, "organizations", _by_id)
        self.channels = _Repo[SalesChannel](self, "channels", _by_id)
        self.sales_points = _SalesPoints(self, "sales_points", _by_id)
        self.structures = _Structures(self, "structures", _by_id)
        self.individuals = _Individuals(self, "individuals", _by_id)
        self.activities = _Repo[Activity](self, "activities", _by_id)
        self.performances = _Performances(self, "performances", _by_id)
        self.products = _Products(self, "products", _by_id)
        self.tariffs = _Tariffs(self, "tariffs", _by_id)
        self.profiles = _Profiles(self, "profiles", _by_id)
        self.quotas = _Quotas(self, "quotas", _by_id)
        self.options = _Options(self, "options", _by_id)
        self.reservations = _Reservations(self, "reservations", _by_id)
        self.orders = _Orders(self, "orders", _by_id)
        self.tickets = _Tickets(self, "tickets", _by_id)
        self.accounts = _Accounts(self, "accounts", _by_id)
        self.invoices = _Invoices(self, "invoices", _by_id)
        self.invoice_sequences = _InvoiceSequences(
            self, "invoice_sequences", lambda s: s.organization_id
        )
        self.outbox = _Outbox(self, "outbox", lambda item: item.message.id)
        self.operators = _Operators(self, "operators", _by_id)
        self.gates = _Gates(self, "gates", _by_id)
        self.credentials = _Repo[Credential](self, "credentials", _by_id)
        self.sessions = _Sessions(self, "sessions", _by_id)
        self.login_links = _LoginLinks(self, "login_links", _by_id)
        self.api_keys = _ApiKeys(self, "api_keys", _by_id)

    def __enter__(self) -> Self:
        self._storage._lock.acquire()
        self._lock_held = True
        self._number = next(self._storage._units)
        self._staged = {}
        self._appended = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        if self._lock_held:
            self._lock_held = False
            self._storage._lock.release()

    def _locked(self, table: str, keys: Iterable[str]) -> None:
        """Record the rows a ``*_for_update`` call locks, in order, when recording is on."""
        calls = self._storage._lock_calls
        if calls is not None:
            calls.extend(LockCall(self._number, table, key) for key in keys)

    def commit(self) -> None:
        for table, rows in self._staged.items():
            self._storage._tables.setdefault(table, {}).update(rows)
        for table, appended in self._appended.items():
            lists = self._storage._tables.setdefault(table, {})
            for key, items in appended.items():
                lists.setdefault(key, []).extend(items)
        self._staged = {}
        self._appended = {}

    def rollback(self) -> None:
        self._staged = {}
        self._appended = {}


@attrs.frozen
class LockCall:
    """One row locked: by which unit of work (numbered from 1 as they begin), in which table."""

    unit: int
    table: str
    key: str


class InMemoryStorage:
    """Storage kept in process memory; safe to share between threads."""

    def __init__(self) -> None:
        self._tables: _Tables = {}
        self._lock = threading.RLock()
        self._units = itertools.count(1)
        self._lock_calls: list[LockCall] | None = None

    def record_locks(self) -> list[LockCall]:
        """Record from now on every row a unit of work locks (``get_for_update`` and the like),
        in the order locked, in the list returned (shared with later calls)."""
        with self._lock:
            if self._lock_calls is None:
                self._lock_calls = []
            return self._lock_calls

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A deep copy of everything committed, to compare before and after a refused call."""
        with self._lock:
            return copy.deepcopy({name: rows for name, rows in self._tables.items() if rows})
