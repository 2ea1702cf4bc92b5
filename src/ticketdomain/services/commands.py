"""Frozen commands taken by the application services.

Commands hold raw input as a front end sends it; the services validate it and raise typed errors.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from ticketdomain.core.catalog import ProductConditions
from ticketdomain.core.contacts import ContactRole
from ticketdomain.core.errors import ActorNotAllowedError
from ticketdomain.core.money import Money
from ticketdomain.core.sales import LineRequest
from ticketdomain.core.setup import ChannelKind, DeliveryMode, Function, PaymentMethod
from ticketdomain.ports.payment import CardPayment
from ticketdomain.services.results import (
    GateSession,
    MemberSession,
    OperatorSession,
    RelaySession,
)


def _actor(kind: type[Any], who: str) -> Callable[[Any, Any, Any], None]:
    # Sessions are checked on construction: a member's or a gate's session handed to a relay's
    # command is refused with a typed error, never followed into an AttributeError.
    def check(_: Any, attribute: Any, value: Any) -> None:
        if not isinstance(value, kind):
            raise ActorNotAllowedError(
                f"Only {who} may do this.", expected=kind.__name__, given=type(value).__name__
            )

    return check


_relay = _actor(RelaySession, "a relay logged into a sales point")
_operator = _actor(OperatorSession, "the organization's operator")
_member = _actor(MemberSession, "a member in the individual space")
_gate = _actor(GateSession, "an access-control gate")

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
class SetAdmissionPolicy:
    """Whether tickets of an unsettled holding-account order may be printed and admitted."""

    sales_point_id: str
    admit_before_settlement: bool


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
    """Back office: any structure's contacts (relays search theirs with ``SearchMembers``)."""

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
    session: RelaySession = attrs.field(validator=_relay)


@attrs.frozen
class DocumentUpload:
    filename: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")


@attrs.frozen
class PlaceOrder:
    """A relay's order on its sales point."""

    session: RelaySession = attrs.field(validator=_relay)
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

    operator: OperatorSession = attrs.field(validator=_operator)
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
    session: RelaySession = attrs.field(validator=_relay)
    lines: tuple[LineRequest, ...]


@attrs.frozen
class GrantOption:
    operator: OperatorSession = attrs.field(validator=_operator)
    option_id: str


@attrs.frozen
class DeclineOption:
    operator: OperatorSession = attrs.field(validator=_operator)
    option_id: str


@attrs.frozen
class PlaceReservation:
    session: RelaySession = attrs.field(validator=_relay)
    lines: tuple[LineRequest, ...]


@attrs.frozen
class ReleaseReservation:
    session: RelaySession = attrs.field(validator=_relay)
    reservation_id: str


@attrs.frozen
class ConfirmReservation:
    session: RelaySession = attrs.field(validator=_relay)
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
    session: RelaySession = attrs.field(validator=_relay)


@attrs.frozen
class ListReservations:
    session: RelaySession = attrs.field(validator=_relay)


@attrs.frozen
class ViewOrder:
    session: RelaySession = attrs.field(validator=_relay)
    order_id: str


@attrs.frozen
class PrintTickets:
    """Print@home: the order's tickets as one PDF; printing again revokes the printed barcodes."""

    session: RelaySession = attrs.field(validator=_relay)
    order_id: str


@attrs.frozen
class TransferTickets:
    """Assign the order's tickets to the client's online account and tell the client by mail."""

    session: RelaySession = attrs.field(validator=_relay)
    order_id: str
    client: ContactDetails


# --- holding account and invoicing (operator) -----------------------------------------------


@attrs.frozen
class ViewHoldingAccount:
    operator: OperatorSession = attrs.field(validator=_operator)
    structure_id: str


@attrs.frozen
class SetCreditLimit:
    """Cap the holding account (``limit=None`` lifts the cap)."""

    operator: OperatorSession = attrs.field(validator=_operator)
    structure_id: str
    limit: Money | None


@attrs.frozen
class IssueInvoice:
    """One invoice for all of the structure's unsettled, not yet invoiced orders."""

    operator: OperatorSession = attrs.field(validator=_operator)
    structure_id: str


@attrs.frozen
class ListInvoices:
    operator: OperatorSession = attrs.field(validator=_operator)
    structure_id: str


@attrs.frozen
class RecordPayment:
    operator: OperatorSession = attrs.field(validator=_operator)
    structure_id: str
    amount: Money
    reference: str


@attrs.frozen
class CancelOrder:
    operator: OperatorSession = attrs.field(validator=_operator)
    order_id: str


# --- report and mail ------------------------------------------------------------------------


@attrs.frozen
class ViewSalesReport:
    """The agency's own sales in ``[period_from, period_until)`` (either bound optional)."""

    session: RelaySession = attrs.field(validator=_relay)
    period_from: datetime | None = None
    period_until: datetime | None = None


@attrs.frozen
class DispatchMail:
    """Send what the outbox holds; what fails stays queued for the next run."""

    limit: int = 100


# --- corporate space (relays of a structure, on a sales point with distribution on) ---------


@attrs.frozen
class ViewStock:
    """Per performance and product, the tickets that came in and those left to distribute;
    ``structure_id`` may name a sub-structure below the relay's own (read-only)."""

    session: RelaySession = attrs.field(validator=_relay)
    structure_id: str | None = None


@attrs.frozen
class ViewDashboard:
    """Bought, in stock, distributed (to individuals, by hand, to each sub-structure), printed
    and controlled, per product and in total; ``structure_id`` as for ``ViewStock``."""

    session: RelaySession = attrs.field(validator=_relay)
    structure_id: str | None = None


@attrs.frozen
class SearchMembers:
    """The relay's own structure's relays and members whose name or email contains ``text``
    (to pick the one to distribute to)."""

    session: RelaySession = attrs.field(validator=_relay)
    text: str
    limit: int = 50


@attrs.frozen
class DistributeToMember:
    """Assign tickets from the stock to an individual and invite them by mail to print.

    Name the individual either by ``member_id`` (a contact of the relay's structure, as found
    with ``SearchContacts``) or by ``member`` (found by email, else created as a member).
    """

    session: RelaySession = attrs.field(validator=_relay)
    performance_id: str
    product_id: str
    quantity: int
    member_id: str | None = None
    member: ContactDetails | None = None


@attrs.frozen
class DistributeToSubStructure:
    """Move tickets from the stock to a direct sub-structure's stock."""

    session: RelaySession = attrs.field(validator=_relay)
    performance_id: str
    product_id: str
    quantity: int
    sub_structure_id: str


@attrs.frozen
class PrintAtOnce:
    """Print tickets from the stock to hand over by hand: no mail, no assignment."""

    session: RelaySession = attrs.field(validator=_relay)
    performance_id: str
    product_id: str
    quantity: int


@attrs.frozen
class ExportStock:
    """The stock as a CSV spreadsheet to fill in with names and emails."""

    session: RelaySession = attrs.field(validator=_relay)
    performance_id: str | None = None
    product_id: str | None = None


@attrs.frozen
class ImportDistribution:
    """Distribute the rows of a filled-in stock spreadsheet. A bad row rejects the whole
    import (``ImportRejectedError`` with a report per row) unless ``apply_valid_rows``."""

    session: RelaySession = attrs.field(validator=_relay)
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")
    apply_valid_rows: bool = False


@attrs.frozen
class ListDistributedTickets:
    """Tickets distributed from a structure's stock (to individuals or by hand)."""

    session: RelaySession = attrs.field(validator=_relay)
    structure_id: str | None = None


@attrs.frozen
class ReclaimTickets:
    """Take tickets back from the individuals they were distributed to (or printed at once):
    new barcodes, the holders told by mail, the tickets in stock again."""

    session: RelaySession = attrs.field(validator=_relay)
    ticket_ids: tuple[str, ...]


@attrs.frozen
class ReclaimFromSubStructure:
    """Take tickets still in a direct sub-structure's stock back into the relay's stock."""

    session: RelaySession = attrs.field(validator=_relay)
    sub_structure_id: str
    performance_id: str
    product_id: str
    quantity: int


# --- individual space (members) -------------------------------------------------------------


@attrs.frozen
class LoginMember:
    """Open the individual space of a contact the host has authenticated."""

    individual_id: str


@attrs.frozen
class ListMemberTickets:
    session: MemberSession = attrs.field(validator=_member)


@attrs.frozen
class PrintMemberTickets:
    """Print the member's own tickets with the final beneficiary's name (the member's own name
    when ``beneficiary`` is not given); printing again revokes the barcode already printed."""

    session: MemberSession = attrs.field(validator=_member)
    ticket_ids: tuple[str, ...]
    beneficiary: str | None = None


@attrs.frozen
class SetMarketingConsent:
    session: MemberSession = attrs.field(validator=_member)
    consent: bool


# --- access control and beneficiaries -------------------------------------------------------


@attrs.frozen
class ScanTicket:
    """A gate scans a barcode for a performance: accepted once, or rejected with a reason."""

    gate: GateSession = attrs.field(validator=_gate)
    performance_id: str
    barcode: str


@attrs.frozen
class ExportBeneficiaries:
    """The end beneficiaries of the organization's distributed tickets."""

    operator: OperatorSession = attrs.field(validator=_operator)
    performance_id: str | None = None
    only_consenting: bool = False
