"""Storage: repositories of aggregates inside a unit of work.

A unit of work is one transaction: it rolls back unless ``commit()`` is called. ``get_for_update``
loads an aggregate and keeps it locked against other units of work until the end of the
transaction; callers lock several aggregates of one kind in sorted id order to avoid deadlocks.
Aggregates are plain domain objects: a changed one is written back with ``update``.

Every adapter also guarantees (the contract suite in ``ticketdomain.testing.contracts`` checks
it): ``add`` of an existing id and ``update`` of an unknown one raise ``ConcurrencyError``; so do
a barcode given to a second ticket, an invoice number issued twice in one organization and a
second holding account for one structure and organization; after a ``ConcurrencyError`` the unit
of work can only be left (a database may have aborted the transaction). Lists whose order is not
stated come in no particular order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

import attrs

from ticketdomain.core.access import ScannedTicket
from ticketdomain.core.accounts import HoldingAccount, LedgerEntry
from ticketdomain.core.catalog import Activity, CatalogProfile, Performance, Product, Tariff
from ticketdomain.core.contacts import Individual, Structure
from ticketdomain.core.distribution import AttendeeCount, CustodyCount, HolderCount
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
from ticketdomain.core.sales import Option, Order, Reservation, Ticket, TicketState
from ticketdomain.core.setup import Institution, Organization, SalesChannel, SalesPoint

T = TypeVar("T")


class Repository(Protocol[T]):
    def add(self, item: T) -> None:
        """Store a new aggregate (its id must be new)."""
        ...

    def get(self, id: str) -> T | None: ...

    def get_for_update(self, id: str) -> T | None:
        """Load and lock until the unit of work ends."""
        ...

    def update(self, item: T) -> None:
        """Write back a changed aggregate loaded in this unit of work."""
        ...


class StructureRepository(Repository[Structure], Protocol):
    def children(self, structure_id: str) -> list[Structure]:
        """The direct sub-structures."""
        ...

    def family(self, structure_id: str) -> list[Structure]:
        """In one read: the structure, its parent, grandparent… and every structure below it
        at any depth (none for an unknown id), ordered by id."""
        ...


class IndividualRepository(Repository[Individual], Protocol):
    def find_by_email(self, institution_id: str, email: str) -> Individual | None:
        """The individual of the institution with this email (case-insensitive)."""
        ...

    def search(self, structure_id: str, text: str, limit: int) -> list[Individual]:
        """Relays and members of the structure whose first name, last name or email contains
        ``text`` (case-insensitive), ordered by last name, first name, id."""
        ...


class SalesPointRepository(Repository[SalesPoint], Protocol):
    def ids_on_channel(self, channel_id: str) -> list[str]: ...


class ActivityRepository(Repository[Activity], Protocol):
    def get_many(self, ids: Collection[str]) -> list[Activity]:
        """The stored activities among ``ids``, ordered by id (what a view names)."""
        ...


class PerformanceRepository(Repository[Performance], Protocol):
    def for_organization(self, organization_id: str) -> list[Performance]:
        """Ordered by start, then id."""
        ...

    def get_many(self, ids: Collection[str]) -> list[Performance]:
        """The stored performances among ``ids``, ordered by id."""
        ...

    def get_for_update_with_quotas(
        self, performance_id: str
    ) -> tuple[Performance, list[Quota]] | None:
        """The performance, locked, with its quotas (ordered by id) read in the same statement
        but not locked: a caller locks the ones it relies on with ``quotas.get_for_update``."""
        ...

    def places_out(self, performance_id: str, now: datetime) -> list[PlacesOut]:
        """One aggregate: per sales point with places out on the performance (one entry each,
        in no particular order), its channel and its tickets not cancelled plus the places
        its reservations hold (state held, deadline after ``now``). The sold part may come
        from counters kept at write time (the SQLAlchemy adapter's ``td_places_sold``) as long
        as it always equals the count: the storage contract suite recounts it."""
        ...


class ProductRepository(Repository[Product], Protocol):
    def for_organization(self, organization_id: str) -> list[Product]: ...

    def get_many(self, ids: Collection[str]) -> list[Product]:
        """The stored products among ``ids``, ordered by id."""
        ...


class TariffRepository(Repository[Tariff], Protocol):
    def for_product(self, product_id: str) -> list[Tariff]:
        """Ordered by id."""
        ...

    def get_with_product(self, id: str) -> tuple[Tariff, Product | None] | None:
        """The tariff and its product, in one read (``None`` for an unknown tariff)."""
        ...


class ProfileRepository(Repository[CatalogProfile], Protocol):
    def for_sales_point(self, sales_point_id: str) -> CatalogProfile | None: ...

    def for_channel(self, organization_id: str, channel_id: str) -> CatalogProfile | None: ...


class QuotaRepository(Repository[Quota], Protocol):
    def for_performance(self, performance_id: str) -> list[Quota]:
        """Ordered by id."""
        ...


class OptionRepository(Repository[Option], Protocol):
    def due(self, now: datetime, limit: int) -> list[Option]:
        """Requested options whose expiry has passed, oldest first."""
        ...

    def for_structure(self, structure_id: str) -> list[Option]: ...


class ReservationRepository(Repository[Reservation], Protocol):
    def held_places(
        self, performance_id: str, sales_point_ids: Collection[str] | None, now: datetime
    ) -> int:
        """Places held by live reservations (state held, deadline after ``now``) of the
        performance, on the given sales points (``None``: everywhere)."""
        ...

    def due(self, now: datetime, limit: int) -> list[Reservation]:
        """Held reservations whose deadline has passed, oldest first."""
        ...

    def for_structure(self, structure_id: str) -> list[Reservation]: ...


class OrderRepository(Repository[Order], Protocol):
    def for_structure(
        self,
        organization_id: str,
        structure_id: str,
        placed_from: datetime | None = None,
        placed_until: datetime | None = None,
    ) -> list[Order]:
        """Orders of the structure with the organization, ordered by placing time then id;
        the period includes its start and excludes its end."""
        ...

    def uninvoiced_on_account(self, organization_id: str, structure_id: str) -> list[Order]:
        """Confirmed holding-account orders not yet on an invoice, oldest first."""
        ...

    def refunds_due(self, limit: int) -> list[Order]:
        """Cancelled orders of every organization whose card refund is still due, the earliest
        cancelled first (then by id), at most ``limit`` of them."""
        ...


class TicketRepository(Repository[Ticket], Protocol):
    def add_many(self, tickets: Sequence[Ticket]) -> None: ...

    def update_many(self, tickets: Sequence[Ticket]) -> None:
        """Write every ticket back as ``update`` does (each version incremented), in as few
        statements as the storage allows; ``ConcurrencyError`` when one of them was changed by
        another unit of work or does not exist."""
        ...

    def for_order(self, order_id: str) -> list[Ticket]:
        """Ordered by id."""
        ...

    def for_order_for_update(self, order_id: str) -> list[Ticket]: ...

    def sold_places(self, performance_id: str, sales_point_ids: Collection[str] | None) -> int:
        """Tickets of the performance that are not cancelled, sold on the given sales points
        (``None``: everywhere)."""
        ...

    def by_barcode(self, barcode: str) -> Ticket | None:
        """The ticket that holds or once held this barcode."""
        ...

    def for_scan(self, barcode: str) -> ScannedTicket | None:
        """The ticket that holds or once held this barcode, locked, with its product's name,
        its sales point's admission policy and its order's payment method and invoice: what a
        gate needs, in one read. ``None`` for an unknown barcode (or a ticket whose order, sales
        point or product is not stored)."""
        ...

    def for_holder(self, individual_id: str) -> list[Ticket]:
        """Ordered by id."""
        ...

    def get_many_for_update(self, ids: Collection[str]) -> list[Ticket]:
        """The tickets among ``ids`` that exist, ordered by id, locked."""
        ...

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
        """Tickets of the organization whose ``stock_structure_id`` is ``structure_id`` and
        whose state is one of ``states`` (optionally of one performance and/or product; with
        ``received_only``, only those another structure bought), ordered by id, at most
        ``limit`` of them, locked when ``for_update``."""
        ...

    def custody_counts(
        self, organization_id: str, stock_structure_ids: Collection[str]
    ) -> list[CustodyCount]:
        """One aggregate over the organization's tickets held by the given structures: how
        many share each buyer, stock structure, performance, product, state and whether they
        are assigned to an individual (rows of count 0 are left out)."""
        ...

    def holder_counts(
        self, organization_id: str, performance_id: str | None = None
    ) -> list[HolderCount]:
        """One aggregate over the organization's tickets assigned to an individual and not
        cancelled: how many each holder has per stock structure and performance."""
        ...

    def attendee_counts(
        self, organization_id: str, performance_id: str | None = None
    ) -> list[AttendeeCount]:
        """One aggregate over the organization's tickets assigned to an individual and
        printed (controlled ones too) with a beneficiary: how many each holder printed per
        stock structure, performance and beneficiary (name, email, consent)."""
        ...


class HoldingAccountRepository(Repository[HoldingAccount], Protocol):
    """Accounts are stored with their running total (``balance``, ``entry_count``) and loaded
    without their ledger, so loading one costs the same however long its history; a loaded
    account has no ``new_entries``. The ledger is append-only: ``add`` and ``update`` insert the
    account's ``new_entries`` (then empty that list) and never rewrite or delete an entry; an
    entry whose sequence is already stored raises ``ConcurrencyError``."""

    def ledger(self, account_id: str) -> list[LedgerEntry]:
        """Every stored entry of the account, ordered by sequence (none for an unknown id)."""
        ...

    def for_structure(self, organization_id: str, structure_id: str) -> HoldingAccount | None: ...

    def for_structure_for_update(
        self, organization_id: str, structure_id: str
    ) -> HoldingAccount | None: ...


class InvoiceRepository(Protocol):
    def add(self, invoice: Invoice) -> None: ...

    def get(self, id: str) -> Invoice | None: ...

    def for_structure(self, organization_id: str, structure_id: str) -> list[Invoice]:
        """Ordered by number."""
        ...

    def numbers(self, organization_id: str) -> list[int]:
        """Every number issued by the organization, ascending."""
        ...

    def with_reference(self, reference: str) -> list[Invoice]:
        """The invoices of any organization carrying this structured reference (compact, as
        stored), ordered by organization and number."""
        ...


class InvoiceSequenceRepository(Protocol):
    def get_for_update(self, organization_id: str) -> InvoiceSequence:
        """The organization's sequence, locked (created at 0 the first time)."""
        ...

    def update(self, sequence: InvoiceSequence) -> None: ...


@attrs.frozen
class OutboxItem:
    message: MailMessage
    queued_at: datetime
    #: attempts so far, counted when a dispatcher claims the message
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    state: OutboxState = OutboxState.QUEUED
    #: when a queued message may next be claimed
    due_at: datetime | None = None
    #: the dispatcher holding a ``sending`` message, and until when
    claimed_by: str | None = None
    lease_until: datetime | None = None


class Outbox(Protocol):
    """Queued mail. A dispatcher claims due messages in one short unit of work, sends them with
    none open, then marks each in its own: marks count only while the claim is still its own,
    so concurrent dispatchers send each message once (a crash between sending and marking lets
    the lease run out and the message be sent again, with the same id)."""

    def add(self, message: MailMessage, queued_at: datetime) -> None:
        """Queue the message, due at once."""
        ...

    def pending(self, limit: int) -> list[OutboxItem]:
        """Messages not sent yet (queued or sending), oldest first; a read, no claim."""
        ...

    def claim(
        self, dispatcher: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxItem]:
        """Claim up to ``limit`` due messages for ``dispatcher`` and return them as claimed:
        queued ones with ``due_at <= now`` and sending ones whose lease ran out (``lease_until
        <= now``), earliest due first (then oldest, then by id). Each becomes ``sending``,
        claimed until ``lease_until``, its attempts counted one more. Messages another unit of
        work is claiming are skipped, not waited for."""
        ...

    def mark_sent(
        self,
        message_id: str,
        dispatcher: str,
        at: datetime,
        body: str | None = None,
        html: str | None = None,
    ) -> bool:
        """Record the delivery if ``dispatcher`` still holds the message's claim (else change
        nothing and return ``False``); ``body`` and ``html``, when given, replace the ones kept
        (a sent mail's login link is blanked: it was for its recipient only)."""
        ...

    def mark_retry(self, message_id: str, dispatcher: str, error: str, due_at: datetime) -> bool:
        """Queue the message again, due at ``due_at``, after a failed attempt, if
        ``dispatcher`` still holds its claim (else change nothing and return ``False``)."""
        ...

    def mark_failed(self, message_id: str, dispatcher: str, error: str) -> bool:
        """Give the message up as failed, if ``dispatcher`` still holds its claim (else change
        nothing and return ``False``)."""
        ...

    def failed(self, institution_id: str | None, limit: int) -> list[OutboxItem]:
        """Failed messages of the institution (``None``: of no institution), oldest first."""
        ...

    def requeue(self, message_id: str, now: datetime) -> bool:
        """Queue a failed message again, due at ``now``, its attempts back to 0 (its last error
        kept); ``False``, changing nothing, for a message that is not failed."""
        ...

    def get(self, message_id: str) -> OutboxItem | None: ...


class OperatorRepository(Repository[Operator], Protocol):
    def find_by_email(self, institution_id: str, email: str) -> Operator | None:
        """The operator of the institution with this email (case-insensitive)."""
        ...

    def for_institution(self, institution_id: str) -> list[Operator]:
        """Ordered by id."""
        ...


class GateRepository(Repository[Gate], Protocol):
    def for_organization(self, organization_id: str) -> list[Gate]:
        """Ordered by id."""
        ...


@attrs.frozen
class SessionContext:
    """A session with the rows its actor is authorized from, read together: the individual of
    the session's ``actor_id`` (``None`` when there is none: an operator's or a gate's session
    has none), the session's sales point with its organization, and the catalog profile that
    applies on that sales point (its own, else its channel's; ``None``: the whole catalog)."""

    session: AuthSession
    individual: Individual | None
    sales_point: SalesPoint | None
    organization: Organization | None
    profile: CatalogProfile | None


class SessionRepository(Repository[AuthSession], Protocol):
    def find_by_digest(self, token_digest: str) -> AuthSession | None:
        """The session whose token has this SHA-256 digest."""
        ...

    def find_with_context(self, token_digest: str) -> SessionContext | None:
        """The session whose token has this SHA-256 digest with what authorizing its actor
        needs, in one or two reads whatever the sales point's sets (see ``SessionContext``)."""
        ...

    def revoke_for_actor(
        self, kind: ActorKind, actor_id: str, at: datetime, except_id: str | None = None
    ) -> int:
        """Revoke every live session of the actor (but ``except_id``); how many were."""
        ...

    def revoke_for_relays(
        self, relay_ids: Collection[str], sales_point_id: str, at: datetime
    ) -> int:
        """Revoke the live sessions these relays opened on the sales point; how many were."""
        ...


class LoginLinkRepository(Repository[LoginLink], Protocol):
    def find_by_digest(self, token_digest: str) -> LoginLink | None: ...


class ApiKeyRepository(Repository[ApiKey], Protocol):
    def find_by_digest(self, token_digest: str) -> ApiKey | None: ...

    def for_actor(self, kind: ActorKind, actor_id: str) -> list[ApiKey]:
        """Ordered by creation, then id."""
        ...


class UnitOfWork(Protocol):
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

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Storage(Protocol):
    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work; use it as a context manager."""
        ...
