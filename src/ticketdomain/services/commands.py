"""Frozen commands taken by the application services.

Commands hold raw input as a front end sends it; the services validate it and raise typed errors.
Every command but logging in carries an opaque ``token`` (a session token or an API key) and
nothing else about who sends it: the services load the actor from storage on every call. Each
command class declares in ``rule`` the actor kinds and the permission it needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import attrs

from ticketdomain.core.catalog import ProductConditions
from ticketdomain.core.contacts import ContactRole
from ticketdomain.core.identity import ActorKind, Permission, Rule
from ticketdomain.core.money import Money
from ticketdomain.core.sales import LineRequest
from ticketdomain.core.setup import ChannelKind, DeliveryMode, Function, PaymentMethod
from ticketdomain.core.spreadsheets import SheetFormat
from ticketdomain.ports.payment import CardPayment

_SETUP = Rule.operator(Permission.SETUP)
_SALES = Rule.operator(Permission.SALES)
_ACCOUNTING = Rule.operator(Permission.ACCOUNTING)
_PERSONAL_DATA = Rule.operator(Permission.PERSONAL_DATA)
_OPERATORS = Rule.operator(Permission.OPERATORS)
_RELAY = Rule.relay()
_MEMBER = Rule.member()
_GATE = Rule.gate()

# --- set-up (operator) ----------------------------------------------------------------------


@attrs.frozen
class CreateOrganization:
    """An organization of the operator's institution; ``time_zone`` (an IANA name such as
    ``Europe/Zurich``, UTC when not given) is the default of its venues, ``language`` (``fr``,
    ``de``, ``it``, ``en``; ``en`` when not given) that of its mail to contacts who name none."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    name: str
    currency: str
    time_zone: str | None = None
    language: str | None = None


@attrs.frozen
class SetOrganizationBillingDetails:
    """What the organization's invoices print as the seller: its postal address (``country``:
    ISO 3166 two letters), VAT number, IBAN (a Swiss one puts a QR-bill on CHF and EUR
    invoices) and payment terms in days. Replaces the details set before; invoices already
    issued keep their due date, reference and account."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    organization_id: str
    street: str
    house_number: str
    postal_code: str
    town: str
    country: str
    vat_number: str | None = None
    iban: str | None = None
    payment_terms_days: int = 30


@attrs.frozen
class CreateSalesChannel:
    """A sales channel of the operator's institution."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    name: str
    kind: ChannelKind


@attrs.frozen
class CreateSalesPoint:
    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
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
    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    sales_point_id: str
    functions: frozenset[Function]


@attrs.frozen
class SetAdmissionPolicy:
    """Whether tickets of an unsettled holding-account order may be printed and admitted."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    sales_point_id: str
    admit_before_settlement: bool


@attrs.frozen
class AuthorizeStructure:
    """Let every relay of a structure of the operator's institution log into the sales point."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    sales_point_id: str
    structure_id: str


@attrs.frozen
class RevokeStructure:
    """Withdraw the structure's authorization; its relays' sessions there end at once."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    sales_point_id: str
    structure_id: str


@attrs.frozen
class CreateActivity:
    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    organization_id: str
    name: str


@attrs.frozen
class CreatePerformance:
    """A performance at a venue whose IANA ``time_zone`` defaults to the organization's;
    ``starts_at`` is any aware datetime (held, shown and printed in that zone)."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    activity_id: str
    starts_at: datetime
    venue: str
    capacity: int
    time_zone: str | None = None


@attrs.frozen
class CreateProduct:
    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    activity_id: str
    name: str
    vat_rate: Decimal


@attrs.frozen
class CreateTariff:
    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    product_id: str
    name: str
    price: Money


@attrs.frozen
class CreateQuota:
    """A quota of places of a performance for a channel or for one sales point."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    performance_id: str
    capacity: int
    channel_id: str | None = None
    sales_point_id: str | None = None


@attrs.frozen
class SetCatalogProfile:
    """The activity and product profile of a channel or a sales point (replaces any earlier)."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    organization_id: str
    activity_ids: frozenset[str]
    products: tuple[ProductConditions, ...]
    channel_id: str | None = None
    sales_point_id: str | None = None


# --- contacts -------------------------------------------------------------------------------


@attrs.frozen
class CreateStructure:
    """A structure (company, agency, works council…) of the operator's institution."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    name: str
    parent_id: str | None = None


@attrs.frozen
class SetStructureBillingDetails:
    """The postal address the structure's invoices name, and optionally the address they are
    mailed to (else they go to its relays)."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    structure_id: str
    street: str
    house_number: str
    postal_code: str
    town: str
    country: str
    email: str | None = None


@attrs.frozen
class CreateIndividual:
    """An individual contact; with a structure, as one of its relays or members. ``language``:
    that of their mail (``None``: their organization's)."""

    rule: ClassVar[Rule] = _PERSONAL_DATA
    token: str = attrs.field(repr=False)
    first_name: str
    last_name: str
    email: str
    structure_id: str | None = None
    role: ContactRole | None = None
    marketing_consent: bool = False
    language: str | None = None


@attrs.frozen
class RemoveRelay:
    """An individual stops being a relay of its structure (it stays one of its members); its
    relay sessions end at once."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    individual_id: str


@attrs.frozen
class SearchContacts:
    """Back office: any structure's contacts (relays search theirs with ``SearchMembers``)."""

    rule: ClassVar[Rule] = _PERSONAL_DATA
    token: str = attrs.field(repr=False)
    structure_id: str
    text: str
    limit: int = 50


@attrs.frozen
class ContactDetails:
    """A person named by a relay (a client, a purchasing contact): found by email or created
    (``language``: that of their mail, kept only when they are created; ``None``: the
    organization's)."""

    first_name: str
    last_name: str
    email: str
    marketing_consent: bool = False
    language: str | None = None


@attrs.frozen
class SetMyLanguage:
    """A relay or a member chooses the language of the mail they receive (``None``: their
    organization's)."""

    rule: ClassVar[Rule] = Rule(frozenset({ActorKind.RELAY, ActorKind.MEMBER}))
    token: str = attrs.field(repr=False)
    language: str | None


@attrs.frozen
class SetContactLanguage:
    """Back office: the language of a contact's mail (``None``: their organization's)."""

    rule: ClassVar[Rule] = _PERSONAL_DATA
    token: str = attrs.field(repr=False)
    individual_id: str
    language: str | None


@attrs.frozen
class SetOrganizationLanguage:
    """The language of the organization's mail to contacts who name none."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    organization_id: str
    language: str


# --- selling --------------------------------------------------------------------------------


@attrs.frozen
class LoginRelay:
    """A relay logs into a sales point with email and password; returns a session token."""

    rule: ClassVar[Rule] = Rule.anonymous()
    sales_point_id: str
    email: str
    password: str = attrs.field(repr=False)


@attrs.frozen
class ViewCatalog:
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)


@attrs.frozen
class DocumentUpload:
    filename: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")


@attrs.frozen
class PlaceOrder:
    """A relay's order on its sales point."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
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

    rule: ClassVar[Rule] = _SALES
    token: str = attrs.field(repr=False)
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
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    lines: tuple[LineRequest, ...]


@attrs.frozen
class GrantOption:
    rule: ClassVar[Rule] = _SALES
    token: str = attrs.field(repr=False)
    option_id: str


@attrs.frozen
class DeclineOption:
    rule: ClassVar[Rule] = _SALES
    token: str = attrs.field(repr=False)
    option_id: str


@attrs.frozen
class PlaceReservation:
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    lines: tuple[LineRequest, ...]


@attrs.frozen
class ReleaseReservation:
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    reservation_id: str


@attrs.frozen
class ConfirmReservation:
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    reservation_id: str
    payment_method: PaymentMethod
    delivery_mode: DeliveryMode = DeliveryMode.PRINT_AT_HOME
    card: CardPayment | None = None
    purchasing_contact: ContactDetails | None = None
    document: DocumentUpload | None = None
    idempotency_key: str | None = None


@attrs.frozen
class ProcessDueExpiries:
    """Lapse due options, expire due reservations and retry the card refunds still due (run
    it from a scheduler)."""

    rule: ClassVar[Rule] = _SALES
    token: str = attrs.field(repr=False)
    limit: int = 1000


@attrs.frozen
class ListOrders:
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)


@attrs.frozen
class ListReservations:
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)


@attrs.frozen
class ViewOrder:
    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    order_id: str


@attrs.frozen
class PrintTickets:
    """Print@home: the order's tickets as one PDF; printing again revokes the printed barcodes."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    order_id: str


@attrs.frozen
class TransferTickets:
    """Assign the order's tickets to the client's online account and tell the client by mail."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    order_id: str
    client: ContactDetails


# --- holding account and invoicing (operator) -----------------------------------------------


@attrs.frozen
class ViewHoldingAccount:
    rule: ClassVar[Rule] = _ACCOUNTING
    token: str = attrs.field(repr=False)
    organization_id: str
    structure_id: str


@attrs.frozen
class SetCreditLimit:
    """Cap the holding account (``limit=None`` lifts the cap)."""

    rule: ClassVar[Rule] = _ACCOUNTING
    token: str = attrs.field(repr=False)
    organization_id: str
    structure_id: str
    limit: Money | None


@attrs.frozen
class IssueInvoice:
    """One invoice for all of the structure's unsettled, not yet invoiced orders."""

    rule: ClassVar[Rule] = _ACCOUNTING
    token: str = attrs.field(repr=False)
    organization_id: str
    structure_id: str


@attrs.frozen
class ListInvoices:
    rule: ClassVar[Rule] = _ACCOUNTING
    token: str = attrs.field(repr=False)
    organization_id: str
    structure_id: str


@attrs.frozen
class RenderInvoice:
    """An issued invoice or credit note as a document (a PDF with the host's renderer), its
    labels in ``language`` (``en``, ``fr``, ``de``; the organization's by default)."""

    rule: ClassVar[Rule] = _ACCOUNTING
    token: str = attrs.field(repr=False)
    invoice_id: str
    language: str | None = None


@attrs.frozen
class RecordPayment:
    """A payment received from the structure; ``reference`` is the bank's (free text, kept in
    the ledger). With ``invoice_reference`` (the structured reference printed on an invoice's
    QR-bill) it settles that invoice first."""

    rule: ClassVar[Rule] = _ACCOUNTING
    token: str = attrs.field(repr=False)
    organization_id: str
    structure_id: str
    amount: Money
    reference: str
    invoice_reference: str | None = None


@attrs.frozen
class CancelOrder:
    rule: ClassVar[Rule] = _SALES
    token: str = attrs.field(repr=False)
    order_id: str


# --- report and mail ------------------------------------------------------------------------


@attrs.frozen
class ViewSalesReport:
    """The agency's own sales in ``[period_from, period_until)`` (either bound optional)."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    period_from: datetime | None = None
    period_until: datetime | None = None


@attrs.frozen
class RenderSalesReport:
    """The sales report of ``ViewSalesReport`` as a document (a PDF with the host's
    renderer): the same figures, as tables."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    period_from: datetime | None = None
    period_until: datetime | None = None


@attrs.frozen
class DispatchMail:
    """Send up to ``limit`` due mails of the outbox; a temporary failure is retried later
    (with backoff), a permanent one or the last attempt leaves the mail failed."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    limit: int = 100


@attrs.frozen
class ListFailedMail:
    """The institution's mails the outbox gave up on, oldest first (recipients are personal
    data)."""

    rule: ClassVar[Rule] = _PERSONAL_DATA
    token: str = attrs.field(repr=False)
    limit: int = 100


@attrs.frozen
class RequeueMail:
    """Queue a failed mail of the institution again: due now, with its attempts anew."""

    rule: ClassVar[Rule] = _SETUP
    token: str = attrs.field(repr=False)
    mail_id: str


# --- corporate space (relays of a structure, on a sales point with distribution on) ---------


@attrs.frozen
class ViewStock:
    """Per performance and product, the tickets that came in and those left to distribute;
    ``structure_id`` may name a sub-structure below the relay's own (read-only)."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    structure_id: str | None = None


@attrs.frozen
class ViewDashboard:
    """Bought, in stock, distributed (to individuals, by hand, to each sub-structure), printed
    and controlled, per product and in total; ``structure_id`` as for ``ViewStock``."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    structure_id: str | None = None


@attrs.frozen
class RenderDashboard:
    """The dashboard of ``ViewDashboard`` as a document (a PDF with the host's renderer)."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    structure_id: str | None = None


@attrs.frozen
class SearchMembers:
    """The relay's own structure's relays and members whose name or email contains ``text``
    (to pick the one to distribute to)."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    text: str
    limit: int = 50


@attrs.frozen
class DistributeToMember:
    """Assign tickets from the stock to an individual and invite them by mail to print.

    Name the individual either by ``member_id`` (a contact of the relay's structure, as found
    with ``SearchContacts``) or by ``member`` (found by email, else created as a member).
    """

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    performance_id: str
    product_id: str
    quantity: int
    member_id: str | None = None
    member: ContactDetails | None = None


@attrs.frozen
class DistributeToSubStructure:
    """Move tickets from the stock to a direct sub-structure's stock."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    performance_id: str
    product_id: str
    quantity: int
    sub_structure_id: str


@attrs.frozen
class PrintAtOnce:
    """Print tickets from the stock to hand over by hand: no mail, no assignment."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    performance_id: str
    product_id: str
    quantity: int


@attrs.frozen
class ExportStock:
    """The stock as a spreadsheet to fill in with names and emails: CSV, or ``.xlsx`` where
    the host plugged in a spreadsheet codec."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    performance_id: str | None = None
    product_id: str | None = None
    format: SheetFormat = SheetFormat.CSV


@attrs.frozen
class ImportDistribution:
    """Distribute the rows of a filled-in stock spreadsheet (CSV, or ``.xlsx``: told by the
    content). A bad row rejects the whole import (``ImportRejectedError`` with a report per
    row) unless ``apply_valid_rows``."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")
    apply_valid_rows: bool = False


@attrs.frozen
class ListDistributedTickets:
    """Tickets distributed from a structure's stock (to individuals or by hand)."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    structure_id: str | None = None


@attrs.frozen
class ReclaimTickets:
    """Take tickets back from the individuals they were distributed to (or printed at once):
    new barcodes, the holders told by mail, the tickets in stock again."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    ticket_ids: tuple[str, ...]


@attrs.frozen
class ReclaimFromSubStructure:
    """Take tickets still in a direct sub-structure's stock back into the relay's stock."""

    rule: ClassVar[Rule] = _RELAY
    token: str = attrs.field(repr=False)
    sub_structure_id: str
    performance_id: str
    product_id: str
    quantity: int


# --- individual space (members) -------------------------------------------------------------


@attrs.frozen
class LoginMember:
    """A member logs into the individual space with email and password."""

    rule: ClassVar[Rule] = Rule.anonymous()
    institution_id: str
    email: str
    password: str = attrs.field(repr=False)


@attrs.frozen
class ListMemberTickets:
    rule: ClassVar[Rule] = _MEMBER
    token: str = attrs.field(repr=False)


@attrs.frozen
class PrintMemberTickets:
    """Print the member's own tickets with the final beneficiary's name (the member's own name
    when ``beneficiary`` is not given); printing again revokes the barcode already printed.

    For a ticket printed for someone else, ``beneficiary_email`` is that person's email (who
    will attend) and ``beneficiary_consent`` whether *they* agree to hear from the
    organization: asked apart from the member's own consent (``SetMarketingConsent``)."""

    rule: ClassVar[Rule] = _MEMBER
    token: str = attrs.field(repr=False)
    ticket_ids: tuple[str, ...]
    beneficiary: str | None = None
    beneficiary_email: str | None = attrs.field(default=None, repr=False)
    beneficiary_consent: bool = False


@attrs.frozen
class SetMarketingConsent:
    rule: ClassVar[Rule] = _MEMBER
    token: str = attrs.field(repr=False)
    consent: bool


# --- access control and beneficiaries -------------------------------------------------------


@attrs.frozen
class ScanTicket:
    """A gate scans a barcode for a performance: accepted once, or rejected with a reason."""

    rule: ClassVar[Rule] = _GATE
    token: str = attrs.field(repr=False)
    performance_id: str
    barcode: str


@attrs.frozen
class ExportBeneficiaries:
    """The end beneficiaries of the organization's distributed tickets."""

    rule: ClassVar[Rule] = _PERSONAL_DATA
    token: str = attrs.field(repr=False)
    organization_id: str
    performance_id: str | None = None
    only_consenting: bool = False


# --- identity: logging in, sessions, operators, API keys and gates --------------------------


@attrs.frozen
class LoginOperator:
    """An operator logs into the back office with email and password."""

    rule: ClassVar[Rule] = Rule.anonymous()
    institution_id: str
    email: str
    password: str = attrs.field(repr=False)


@attrs.frozen
class RequestLoginLink:
    """Mail a single-use login link to the relay or member with this email (a relay's when
    ``sales_point_id`` is given). The answer is the same whether the email is known or not."""

    rule: ClassVar[Rule] = Rule.anonymous()
    institution_id: str
    email: str
    sales_point_id: str | None = None


@attrs.frozen
class LoginWithLink:
    """Open a session with the token of a login link (once: the link is then used up). A relay's
    link from a welcome mail names no sales point: give ``sales_point_id``."""

    rule: ClassVar[Rule] = Rule.anonymous()
    link_token: str = attrs.field(repr=False)
    sales_point_id: str | None = None


@attrs.frozen
class Logout:
    """End the session of ``token`` (an API key is revoked with ``RevokeApiKey``)."""

    rule: ClassVar[Rule] = Rule(frozenset({ActorKind.OPERATOR, ActorKind.RELAY, ActorKind.MEMBER}))
    token: str = attrs.field(repr=False)


@attrs.frozen
class ChangePassword:
    """Set the caller's password; every other session of the caller ends. The current password
    is needed unless the session was opened with a login link (the "forgotten password" path)."""

    rule: ClassVar[Rule] = Rule(frozenset({ActorKind.OPERATOR, ActorKind.RELAY, ActorKind.MEMBER}))
    token: str = attrs.field(repr=False)
    new_password: str = attrs.field(repr=False)
    current_password: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class CreateOperator:
    """Another operator of the caller's institution, with at most the caller's permissions
    and organizations (``organization_ids=None``: every organization)."""

    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)
    first_name: str
    last_name: str
    email: str
    permissions: frozenset[Permission]
    organization_ids: frozenset[str] | None = None
    password: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class SetOperatorPermissions:
    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)
    operator_id: str
    permissions: frozenset[Permission]
    organization_ids: frozenset[str] | None = None


@attrs.frozen
class RemoveOperator:
    """Deactivate an operator: its sessions and API keys end at once."""

    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)
    operator_id: str


@attrs.frozen
class ListOperators:
    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)


@attrs.frozen
class CreateApiKey:
    """An API key for an operator (a back-office script), shown once in the result."""

    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)
    operator_id: str
    label: str


@attrs.frozen
class RevokeApiKey:
    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)
    key_id: str


@attrs.frozen
class RegisterGate:
    """An access-control device of an organization, optionally limited to some performances;
    the result carries its API key, shown once."""

    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)
    organization_id: str
    name: str
    performance_ids: frozenset[str] | None = None


@attrs.frozen
class RevokeGate:
    """Retire a gate: its API keys stop working at once."""

    rule: ClassVar[Rule] = _OPERATORS
    token: str = attrs.field(repr=False)
    gate_id: str
