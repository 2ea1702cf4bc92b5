"""Frozen commands taken by the application services.

Commands hold raw input as a front end sends it; the services validate it and raise typed errors.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from ticketdomain.core.catalog import ProductConditions
from ticketdomain.core.contacts import ContactRole
from ticketdomain.core.money import Money
from ticketdomain.core.sales import LineRequest
from ticketdomain.core.setup import ChannelKind, DeliveryMode, Function, PaymentMethod
from ticketdomain.ports.payment import CardPayment
from ticketdomain.services.results import OperatorSession, RelaySession

# --- set-up (operator) ----------------------------------------------------------------------


@attrs.frozen
class CreateInstitution:
    name: str


@attrs.frozen
class CreateOrganization:
    institution_id: str
    name: str
    currency: str


@attrs.frozen
class CreateSalesChannel:
    institution_id: str
    name: str
    kind: ChannelKind


@attrs.frozen
class CreateSalesPoint:
    organization_id: str
    channel_id: str
    name: str
    functions: frozenset[Function] = frozenset()
    payment_methods: frozenset[PaymentMethod] = frozenset({PaymentMethod.CARD})
    delivery_modes: frozenset[DeliveryMode] = frozenset({DeliveryMode.PRINT_AT_HOME})
    reservation_delay: timedelta = timedelta(days=2)
    reservation_cutoff: timedelta = timedelta(days=1)
    option_lifetime: timedelta = timedelta(days=7)
    max_document_bytes: int = 5 * 1024 * 1024
    admit_before_settlement: bool = True


@attrs.frozen
class SetSalesPointFunctions:
    sales_point_id: str
    functions: frozenset[Function]


@attrs.frozen
class AuthorizeStructure:
    sales_point_id: str
    structure_id: str


@attrs.frozen
class RevokeStructure:
    sales_point_id: str
    structure_id: str


@attrs.frozen
class CreateActivity:
    organization_id: str
    name: str


@attrs.frozen
class CreatePerformance:
    activity_id: str
    starts_at: datetime
    venue: str
    capacity: int


@attrs.frozen
class CreateProduct:
    activity_id: str
    name: str
    vat_rate: Decimal


@attrs.frozen
class CreateTariff:
    product_id: str
    name: str
    price: Money


@attrs.frozen
class CreateQuota:
    """A quota of places of a performance for a channel or for one sales point."""

    performance_id: str
    capacity: int
    channel_id: str | None = None
    sales_point_id: str | None = None


@attrs.frozen
class SetCatalogProfile:
    """The activity and product profile of a channel or a sales point (replaces any earlier)."""

    organization_id: str
    activity_ids: frozenset[str]
    products: tuple[ProductConditions, ...]
    channel_id: str | None = None
    sales_point_id: str | None = None


# --- contacts -------------------------------------------------------------------------------


@attrs.frozen
class CreateStructure:
    institution_id: str
    name: str
    parent_id: str | None = None


@attrs.frozen
class CreateIndividual:
    """An individual contact; with a structure, as one of its relays or members."""

    institution_id: str
    first_name: str
    last_name: str
    email: str
    structure_id: str | None = None
    role: ContactRole | None = None
    marketing_consent: bool = False


@attrs.frozen
class SearchContacts:
    structure_id: str
    text: str
    limit: int = 50


@attrs.frozen
class ContactDetails:
    """A person named by a relay (a client, a purchasing contact): found by email or created."""

    first_name: str
    last_name: str
    email: str
    marketing_consent: bool = False


# --- selling --------------------------------------------------------------------------------


@attrs.frozen
class LoginRelay:
    relay_id: str
    sales_point_id: str


@attrs.frozen
class ViewCatalog:
    session: RelaySession


@attrs.frozen
class DocumentUpload:
    filename: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")


@attrs.frozen
class PlaceOrder:
    """A relay's order on its sales point."""

    session: RelaySession
    lines: tuple[LineRequest, ...]
    payment_method: PaymentMethod
    delivery_mode: DeliveryMode = DeliveryMode.PRINT_AT_HOME
    card: CardPayment | None = None
    purchasing_contact: ContactDetails | None = None
    document: DocumentUpload | None = None
    #: lets a front end retry a card payment without charging twice
    idempotency_key: str | None = None


@attrs.frozen
class PlaceOrderForStructure:
    """An order an operator places on behalf of a structure (by phone)."""

    operator: OperatorSession
    sales_point_id: str
    structure_id: str
    lines: tuple[LineRequest, ...]
    payment_method: PaymentMethod
    delivery_mode: DeliveryMode = DeliveryMode.PRINT_AT_HOME
    card: CardPayment | None = None
    purchasing_contact: ContactDetails | None = None
    idempotency_key: str | None = None


@attrs.frozen
class RequestOption:
    session: RelaySession
    lines: tuple[LineRequest, ...]


@attrs.frozen
class GrantOption:
    operator: OperatorSession
    option_id: str


@attrs.frozen
class DeclineOption:
    operator: OperatorSession
    option_id: str


@attrs.frozen
class PlaceReservation:
    session: RelaySession
    lines: tuple[LineRequest, ...]


@attrs.frozen
class ReleaseReservation:
    session: RelaySession
    reservation_id: str


@attrs.frozen
class ConfirmReservation:
    session: RelaySession
    reservation_id: str
    payment_method: PaymentMethod
    delivery_mode: DeliveryMode = DeliveryMode.PRINT_AT_HOME
    card: CardPayment | None = None
    purchasing_contact: ContactDetails | None = None
    document: DocumentUpload | None = None
    idempotency_key: str | None = None


@attrs.frozen
class ProcessDueExpiries:
    """Lapse due options and expire due reservations (run it from a scheduler)."""

    limit: int = 1000


@attrs.frozen
class ListOrders:
    session: RelaySession


@attrs.frozen
class ListReservations:
    session: RelaySession


@attrs.frozen
class ViewOrder:
    session: RelaySession
    order_id: str


@attrs.frozen
class PrintTickets:
    """Print@home: the order's tickets as one PDF; printing again revokes the printed barcodes."""

    session: RelaySession
    order_id: str


@attrs.frozen
class TransferTickets:
    """Assign the order's tickets to the client's online account and tell the client by mail."""

    session: RelaySession
    order_id: str
    client: ContactDetails


# --- holding account and invoicing (operator) -----------------------------------------------


@attrs.frozen
class ViewHoldingAccount:
    operator: OperatorSession
    structure_id: str


@attrs.frozen
class SetCreditLimit:
    """Cap the holding account (``limit=None`` lifts the cap)."""

    operator: OperatorSession
    structure_id: str
    limit: Money | None


@attrs.frozen
class IssueInvoice:
    """One invoice for all of the structure's unsettled, not yet invoiced orders."""

    operator: OperatorSession
    structure_id: str


@attrs.frozen
class ListInvoices:
    operator: OperatorSession
    structure_id: str


@attrs.frozen
class RecordPayment:
    operator: OperatorSession
    structure_id: str
    amount: Money
    reference: str


@attrs.frozen
class CancelOrder:
    operator: OperatorSession
    order_id: str


# --- report and mail ------------------------------------------------------------------------


@attrs.frozen
class ViewSalesReport:
    """The agency's own sales in ``[period_from, period_until)`` (either bound optional)."""

    session: RelaySession
    period_from: datetime | None = None
    period_until: datetime | None = None


@attrs.frozen
class DispatchMail:
    """Send what the outbox holds; what fails stays queued for the next run."""

    limit: int = 100
