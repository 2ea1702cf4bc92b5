"""Frozen results returned by the application services: plain data, never live aggregates."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import attrs

from ticketdomain.core.access import ScanRejection
from ticketdomain.core.accounts import EntryKind, HoldingAccount, LedgerEntry
from ticketdomain.core.banking import PostalAddress
from ticketdomain.core.catalog import (
    Activity,
    CatalogProfile,
    Performance,
    Product,
    ProductConditions,
    Tariff,
)
from ticketdomain.core.contacts import ContactRole, Individual, Structure
from ticketdomain.core.identity import (
    Actor,
    ActorKind,
    ApiKey,
    Gate,
    MemberActor,
    Operator,
    OperatorActor,
    Permission,
    RelayActor,
)
from ticketdomain.core.invoices import Invoice, InvoiceKind
from ticketdomain.core.money import Money
from ticketdomain.core.quotas import Quota
from ticketdomain.core.sales import (
    LineRequest,
    Option,
    OptionState,
    Order,
    OrderState,
    Refund,
    RefundState,
    Reservation,
    ReservationState,
    Ticket,
    TicketState,
)
from ticketdomain.core.setup import (
    ChannelKind,
    DeliveryMode,
    Function,
    Institution,
    Organization,
    PaymentMethod,
    SalesChannel,
    SalesPoint,
)
from ticketdomain.core.spreadsheets import Cell, SheetFormat, Table, write_csv
from ticketdomain.core.timezones import DEFAULT_TIME_ZONE, format_local, format_short, in_zone


def _local(moment: datetime, time_zone: str) -> datetime:
    """The instant as wall-clock time in ``time_zone``: what every view shows."""
    return in_zone(moment, time_zone)


def _local_or_none(moment: datetime | None, time_zone: str) -> datetime | None:
    return None if moment is None else in_zone(moment, time_zone)


# --- identity -------------------------------------------------------------------------------


@attrs.frozen
class SessionView:
    """A session just opened: pass ``token`` with every later command, and keep it secret
    (the library stores only its digest and cannot show it again)."""

    token: str = attrs.field(repr=False)
    actor_kind: ActorKind
    actor_id: str
    #: in ``time_zone``
    expires_at: datetime
    sales_point_id: str | None = None
    #: the organization's zone for a relay's or a gate's session; UTC for the institution-wide
    #: sessions of operators and members
    time_zone: str = DEFAULT_TIME_ZONE


@attrs.frozen
class ActorView:
    """Who a token stands for, as loaded from storage."""

    kind: ActorKind
    id: str
    institution_id: str | None
    organization_id: str | None
    structure_id: str | None
    sales_point_id: str | None

    @classmethod
    def of(cls, actor: Actor) -> ActorView:
        if isinstance(actor, OperatorActor):
            return cls(actor.kind, actor.operator_id, actor.institution_id, None, None, None)
        if isinstance(actor, RelayActor):
            return cls(
                actor.kind,
                actor.relay_id,
                actor.institution_id,
                actor.organization_id,
                actor.structure_id,
                actor.sales_point_id,
            )
        if isinstance(actor, MemberActor):
            return cls(actor.kind, actor.individual_id, actor.institution_id, None, None, None)
        return cls(actor.kind, actor.gate_id, None, actor.organization_id, None, None)


@attrs.frozen
class LoginLinkRequested:
    """The same answer whether a link was mailed or not: the caller learns nothing."""

    email: str


@attrs.frozen
class SessionClosed:
    revoked_sessions: int


@attrs.frozen
class OperatorView:
    id: str
    institution_id: str
    first_name: str
    last_name: str
    email: str
    permissions: frozenset[Permission]
    organization_ids: frozenset[str] | None
    active: bool

    @classmethod
    def of(cls, item: Operator) -> OperatorView:
        return cls(
            item.id,
            item.institution_id,
            item.name.first,
            item.name.last,
            item.email.value,
            item.permissions,
            item.organization_ids,
            item.active,
        )


@attrs.frozen
class Bootstrapped:
    """An institution and its first operator, made by the host's trusted bootstrap call."""

    institution: InstitutionView
    operator: OperatorView


@attrs.frozen
class ApiKeyIssued:
    """A new API key: ``token`` is shown this once and never again."""

    key_id: str
    token: str = attrs.field(repr=False)
    actor_kind: ActorKind
    actor_id: str
    label: str


@attrs.frozen
class ApiKeyView:
    key_id: str
    actor_kind: ActorKind
    actor_id: str
    label: str
    #: in ``time_zone``
    created_at: datetime
    revoked_at: datetime | None
    #: the gate's organization's zone for a gate's key; UTC for an operator's
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def of(cls, item: ApiKey, *, time_zone: str) -> ApiKeyView:
        return cls(
            item.id,
            item.actor_kind,
            item.actor_id,
            item.label,
            _local(item.created_at, time_zone),
            _local_or_none(item.revoked_at, time_zone),
            time_zone,
        )


@attrs.frozen
class GateView:
    id: str
    organization_id: str
    name: str
    performance_ids: frozenset[str] | None
    active: bool

    @classmethod
    def of(cls, item: Gate) -> GateView:
        return cls(item.id, item.organization_id, item.name, item.performance_ids, item.active)


@attrs.frozen
class GateRegistered:
    gate: GateView
    key: ApiKeyIssued


# --- set-up ---------------------------------------------------------------------------------


@attrs.frozen
class InstitutionView:
    id: str
    name: str

    @classmethod
    def of(cls, item: Institution) -> InstitutionView:
        return cls(item.id, item.name)


@attrs.frozen
class AddressView:
    street: str
    house_number: str
    postal_code: str
    town: str
    #: ISO 3166 two letters
    country: str

    @classmethod
    def of(cls, item: PostalAddress | None) -> AddressView | None:
        if item is None:
            return None
        return cls(item.street, item.house_number, item.postal_code, item.town, item.country)


@attrs.frozen
class SellerBillingView:
    """What the organization's invoices print as the seller."""

    address: AddressView
    vat_number: str | None
    iban: str | None
    payment_terms_days: int


@attrs.frozen
class BuyerBillingView:
    address: AddressView
    #: where its invoices are mailed (``None``: to its relays)
    email: str | None


@attrs.frozen
class OrganizationView:
    id: str
    institution_id: str
    name: str
    currency: str
    #: the IANA time zone of its venues by default
    time_zone: str = "UTC"
    billing: SellerBillingView | None = None
    #: the language of its mail to contacts who name none
    language: str = "en"

    @classmethod
    def of(cls, item: Organization) -> OrganizationView:
        billing = None
        if item.billing is not None:
            address = AddressView.of(item.billing.address)
            assert address is not None
            billing = SellerBillingView(
                address,
                item.billing.vat_number,
                item.billing.iban.value if item.billing.iban is not None else None,
                item.billing.payment_terms_days,
            )
        return cls(
            item.id,
            item.institution_id,
            item.name,
            item.currency,
            item.time_zone,
            billing,
            language=item.language,
        )


@attrs.frozen
class SalesChannelView:
    id: str
    institution_id: str
    name: str
    kind: ChannelKind

    @classmethod
    def of(cls, item: SalesChannel) -> SalesChannelView:
        return cls(item.id, item.institution_id, item.name, item.kind)


@attrs.frozen
class SalesPointView:
    id: str
    organization_id: str
    channel_id: str
    name: str
    functions: frozenset[Function]
    payment_methods: frozenset[PaymentMethod]
    delivery_modes: frozenset[DeliveryMode]
    authorized_structure_ids: frozenset[str]
    reservation_delay: timedelta
    reservation_cutoff: timedelta
    option_lifetime: timedelta
    max_document_bytes: int
    admit_before_settlement: bool

    @classmethod
    def of(cls, item: SalesPoint) -> SalesPointView:
        p = item.policy
        return cls(
            item.id,
            item.organization_id,
            item.channel_id,
            item.name,
            frozenset(item.functions),
            frozenset(item.payment_methods),
            frozenset(item.delivery_modes),
            frozenset(item.authorized_structure_ids),
            p.reservation_delay,
            p.reservation_cutoff,
            p.option_lifetime,
            p.max_document_bytes,
            p.admit_before_settlement,
        )


@attrs.frozen
class QuotaView:
    id: str
    performance_id: str
    capacity: int
    channel_id: str | None
    sales_point_id: str | None

    @classmethod
    def of(cls, item: Quota) -> QuotaView:
        return cls(
            item.id, item.performance_id, item.capacity, item.channel_id, item.sales_point_id
        )


@attrs.frozen
class ActivityView:
    id: str
    organization_id: str
    name: str

    @classmethod
    def of(cls, item: Activity) -> ActivityView:
        return cls(item.id, item.organization_id, item.name)


@attrs.frozen
class PerformanceView:
    id: str
    activity_id: str
    #: in the venue's zone (``time_zone``)
    starts_at: datetime
    venue: str
    capacity: int
    #: the venue's IANA time zone
    time_zone: str = "UTC"

    @classmethod
    def of(cls, item: Performance) -> PerformanceView:
        return cls(
            item.id, item.activity_id, item.starts_at, item.venue, item.capacity, item.time_zone
        )

    @property
    def starts_at_text(self) -> str:
        """``Sun 10 May 2026, 20:30 CEST``: the local start, as people read it."""
        return format_local(self.starts_at)


@attrs.frozen
class ProductView:
    id: str
    activity_id: str
    name: str
    vat_rate: str

    @classmethod
    def of(cls, item: Product) -> ProductView:
        return cls(item.id, item.activity_id, item.name, str(item.vat_rate.rate))


@attrs.frozen
class TariffView:
    id: str
    product_id: str
    name: str
    price: Money

    @classmethod
    def of(cls, item: Tariff) -> TariffView:
        return cls(item.id, item.product_id, item.name, item.price)


@attrs.frozen
class CatalogProfileView:
    id: str
    channel_id: str | None
    sales_point_id: str | None
    activity_ids: frozenset[str]
    products: tuple[ProductConditions, ...]

    @classmethod
    def of(cls, item: CatalogProfile) -> CatalogProfileView:
        return cls(item.id, item.channel_id, item.sales_point_id, item.activity_ids, item.products)


# --- contacts -------------------------------------------------------------------------------


@attrs.frozen
class StructureView:
    id: str
    institution_id: str
    name: str
    parent_id: str | None
    billing: BuyerBillingView | None = None

    @classmethod
    def of(cls, item: Structure) -> StructureView:
        billing = None
        if item.billing is not None:
            address = AddressView.of(item.billing.address)
            assert address is not None
            email = item.billing.email.value if item.billing.email is not None else None
            billing = BuyerBillingView(address, email)
        return cls(item.id, item.institution_id, item.name, item.parent_id, billing)


@attrs.frozen
class IndividualView:
    id: str
    institution_id: str
    first_name: str
    last_name: str
    email: str
    structure_id: str | None
    role: ContactRole | None
    marketing_consent: bool = False
    #: the language of their mail (``None``: their organization's)
    language: str | None = None

    @classmethod
    def of(cls, item: Individual) -> IndividualView:
        return cls(
            item.id,
            item.institution_id,
            item.name.first,
            item.name.last,
            item.email.value,
            item.structure_id,
            item.role,
            item.marketing_consent,
            item.language,
        )


# --- catalog as a sales point sees it -------------------------------------------------------


@attrs.frozen
class CatalogEntry:
    activity_id: str
    activity: str
    performance_id: str
    #: in the venue's zone (``time_zone``)
    starts_at: datetime
    venue: str
    product_id: str
    product: str
    tariff_id: str
    tariff: str
    price: Money
    vat_rate: str
    #: places still available through every quota level of this sales point
    available: int
    min_per_order: int
    max_per_order: int | None
    on_sale: bool
    time_zone: str = "UTC"

    @property
    def starts_at_text(self) -> str:
        """``Sun 10 May 2026, 20:30 CEST``: the local start, as people read it."""
        return format_local(self.starts_at)


@attrs.frozen
class CatalogView:
    sales_point_id: str
    entries: tuple[CatalogEntry, ...]


# --- options, reservations, orders ----------------------------------------------------------


@attrs.frozen
class OptionView:
    id: str
    sales_point_id: str
    structure_id: str
    relay_id: str
    lines: tuple[LineRequest, ...]
    #: in ``time_zone``
    requested_at: datetime
    #: in ``time_zone``
    expires_at: datetime
    state: OptionState
    reservation_id: str | None
    #: the zone of the venue whose performance sets the deadline (the first to start)
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def of(cls, item: Option, *, time_zone: str) -> OptionView:
        return cls(
            item.id,
            item.sales_point_id,
            item.structure_id,
            item.relay_id,
            item.lines,
            _local(item.requested_at, time_zone),
            _local(item.expires_at, time_zone),
            item.state,
            item.reservation_id,
            time_zone,
        )

    @property
    def expires_at_text(self) -> str:
        """``Wed 1 Apr 2026, 20:00 CEST``: the deadline as people read it."""
        return format_local(self.expires_at)


@attrs.frozen
class ReservationView:
    id: str
    sales_point_id: str
    structure_id: str
    relay_id: str
    lines: tuple[LineRequest, ...]
    #: in ``time_zone``
    created_at: datetime
    #: in ``time_zone``
    deadline: datetime
    state: ReservationState
    order_id: str | None
    option_id: str | None
    #: the zone of the venue whose performance sets the deadline (the first to start)
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def of(cls, item: Reservation, *, time_zone: str) -> ReservationView:
        return cls(
            item.id,
            item.sales_point_id,
            item.structure_id,
            item.relay_id,
            item.lines,
            _local(item.created_at, time_zone),
            _local(item.deadline, time_zone),
            item.state,
            item.order_id,
            item.option_id,
            time_zone,
        )

    @property
    def deadline_text(self) -> str:
        """``Wed 1 Apr 2026, 20:00 CEST``: the deadline as people read it."""
        return format_local(self.deadline)


@attrs.frozen
class OrderLineView:
    id: str
    performance_id: str
    product_id: str
    tariff_id: str
    quantity: int
    unit_price: Money
    vat_rate: str
    total: Money


@attrs.frozen
class TicketView:
    id: str
    order_id: str
    performance_id: str
    product_id: str
    tariff_id: str
    structure_id: str
    stock_structure_id: str
    state: TicketState
    holder_id: str | None
    barcode: str | None

    @classmethod
    def of(cls, item: Ticket) -> TicketView:
        return cls(
            item.id,
            item.order_id,
            item.performance_id,
            item.product_id,
            item.tariff_id,
            item.structure_id,
            item.stock_structure_id,
            item.state,
            item.holder_id,
            item.barcode,
        )


@attrs.frozen
class RefundView:
    """The card refund a cancelled order owes (``due``) or made (``refunded``)."""

    state: RefundState
    amount: Money
    #: the payment provider's reference, once it accepted the refund
    reference: str | None
    #: in the order's ``time_zone``
    refunded_at: datetime | None

    @classmethod
    def of(cls, refund: Refund, *, time_zone: str) -> RefundView:
        return cls(
            refund.state,
            refund.amount,
            refund.reference,
            _local_or_none(refund.refunded_at, time_zone),
        )


@attrs.frozen
class OrderView:
    id: str
    organization_id: str
    sales_point_id: str
    structure_id: str
    placed_by: str
    placed_by_operator: bool
    purchasing_contact_id: str | None
    lines: tuple[OrderLineView, ...]
    total: Money
    payment_method: PaymentMethod
    delivery_mode: DeliveryMode
    #: in ``time_zone``
    placed_at: datetime
    state: OrderState
    payment_reference: str | None
    document_id: str | None
    invoice_id: str | None
    tickets: tuple[TicketView, ...]
    #: the card refund of a cancelled card order: due until the provider accepted it
    refund: RefundView | None = None
    #: the organization's zone
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def of(cls, order: Order, tickets: list[Ticket], *, time_zone: str) -> OrderView:
        lines = tuple(
            OrderLineView(
                line.id,
                line.performance_id,
                line.product_id,
                line.tariff_id,
                line.quantity,
                line.unit_price,
                str(line.vat_rate.rate),
                line.total,
            )
            for line in order.lines
        )
        return cls(
            order.id,
            order.organization_id,
            order.sales_point_id,
            order.structure_id,
            order.placed_by,
            order.placed_by_operator,
            order.purchasing_contact_id,
            lines,
            order.total,
            order.payment_method,
            order.delivery_mode,
            _local(order.placed_at, time_zone),
            order.state,
            order.payment_reference,
            order.document_id,
            order.invoice_id,
            tuple(TicketView.of(t) for t in tickets),
            RefundView.of(order.refund, time_zone=time_zone) if order.refund else None,
            time_zone,
        )

    @property
    def placed_at_text(self) -> str:
        """``Wed 1 Apr 2026, 20:00 CEST``: when it was placed, as people read it."""
        return format_local(self.placed_at)


@attrs.frozen
class ExpiriesProcessed:
    options_lapsed: tuple[str, ...]
    reservations_expired: tuple[str, ...]
    #: cancelled orders whose due card refund the provider accepted in this run
    refunds_settled: tuple[str, ...] = ()
    #: those whose refund failed again (still due: the next run retries them)
    refunds_pending: tuple[str, ...] = ()


@attrs.frozen
class RenderedTickets:
    """A document holding tickets (a PDF for print@home)."""

    order_id: str
    ticket_ids: tuple[str, ...]
    media_type: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")


@attrs.frozen
class TicketsTransferred:
    order_id: str
    ticket_ids: tuple[str, ...]
    client_id: str
    mail_id: str


# --- holding account, invoices --------------------------------------------------------------


@attrs.frozen
class LedgerEntryView:
    sequence: int
    #: in the organization's zone (``HoldingAccountView.time_zone``)
    at: datetime
    kind: EntryKind
    amount: Money
    order_id: str | None
    reference: str | None


@attrs.frozen
class OrderSummary:
    id: str
    #: in the organization's zone (``HoldingAccountView.time_zone``)
    placed_at: datetime
    placed_by: str
    placed_by_operator: bool
    total: Money
    payment_method: PaymentMethod
    state: OrderState
    invoice_id: str | None
    settled: bool


@attrs.frozen
class HoldingAccountView:
    structure_id: str
    organization_id: str
    currency: str
    credit_limit: Money | None
    outstanding: Money
    available_credit: Money | None
    #: payments and credits not yet applied to an invoice
    credit: Money
    entries: tuple[LedgerEntryView, ...]
    orders: tuple[OrderSummary, ...]
    #: the organization's IANA time zone, in which the entries and orders are given
    time_zone: str = DEFAULT_TIME_ZONE

    @classmethod
    def of(
        cls,
        account: HoldingAccount,
        orders: tuple[OrderSummary, ...],
        *,
        ledger: Sequence[LedgerEntry],
        time_zone: str,
    ) -> HoldingAccountView:
        """The view of ``account`` with its ``ledger`` as stored (the aggregate does not carry
        it: read it with ``uow.accounts.ledger(account.id)``), its times in ``time_zone`` (the
        orders' too)."""
        return cls(
            account.structure_id,
            account.organization_id,
            account.currency,
            account.credit_limit,
            account.outstanding,
            account.available_credit,
            account.credit,
            tuple(
                LedgerEntryView(
                    e.sequence, _local(e.at, time_zone), e.kind, e.amount, e.order_id, e.reference
                )
                for e in ledger
            ),
            tuple(attrs.evolve(o, placed_at=_local(o.placed_at, time_zone)) for o in orders),
            time_zone,
        )


@attrs.frozen
class InvoiceLineView:
    order_id: str
    description: str
    quantity: int
    unit_price: Money
    vat_rate: str
    total: Money


@attrs.frozen
class VatRowView:
    vat_rate: str
    net: Money
    vat: Money
    gross: Money


@attrs.frozen
class InvoiceView:
    id: str
    number: int
    kind: InvoiceKind
    structure_id: str
    #: in ``time_zone``
    issued_at: datetime
    lines: tuple[InvoiceLineView, ...]
    vat_breakdown: tuple[VatRowView, ...]
    total: Money
    order_ids: tuple[str, ...]
    corrects_invoice_id: str | None
    #: what is still due (zero for a paid invoice and for credit notes)
    remaining: Money
    paid: bool
    #: the organization's zone
    time_zone: str = DEFAULT_TIME_ZONE
    #: the day payment is due (an invoice's; ``None`` for a credit note)
    due_on: date | None = None
    #: the structured reference to pay it with (``RecordPayment.invoice_reference``)
    reference: str | None = None
    #: the mails queued with it, its PDF attached (when it was just issued)
    mail_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, invoice: Invoice, remaining: Money, *, time_zone: str) -> InvoiceView:
        return cls(
            invoice.id,
            invoice.number,
            invoice.kind,
            invoice.structure_id,
            _local(invoice.issued_at, time_zone),
            tuple(
                InvoiceLineView(
                    line.order_id,
                    line.description,
                    line.quantity,
                    line.unit_price,
                    str(line.vat_rate.rate),
                    line.total,
                )
                for line in invoice.lines
            ),
            tuple(
                VatRowView(str(row.vat_rate.rate), row.net, row.vat, row.gross)
                for row in invoice.vat_breakdown
            ),
            invoice.total,
            invoice.order_ids,
            invoice.corrects_invoice_id,
            remaining,
            invoice.kind is InvoiceKind.INVOICE and remaining.is_zero,
            time_zone,
            invoice.due_on,
            invoice.reference,
        )


@attrs.frozen
class AllocationView:
    invoice_id: str
    number: int
    amount: Money


@attrs.frozen
class RenderedDocument:
    """A document to file or send: an invoice, a credit note, a report (a PDF with the
    ``ticketdomain_fpdf`` renderer)."""

    filename: str
    media_type: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")


@attrs.frozen
class PaymentRecorded:
    structure_id: str
    amount: Money
    reference: str
    allocations: tuple[AllocationView, ...]
    outstanding: Money
    credit: Money


@attrs.frozen
class OrderCancelled:
    order_id: str
    tickets_cancelled: tuple[str, ...]
    credit_note: InvoiceView | None
    #: the card refund, made once the cancellation committed
    refund_reference: str | None
    #: the notices queued for the individuals who held some of the tickets
    mail_ids: tuple[str, ...] = ()
    #: the card refund failed after the cancellation committed (which stands): it stays due on
    #: the order, and cancelling the order again or ``ProcessDueExpiries`` retries it under the
    #: same idempotency key, so it is never made twice
    refund_pending: bool = False
    #: why it failed (the error's code, or its type for an error of the payment provider's)
    refund_error: str | None = None


# --- sales report ---------------------------------------------------------------------------


@attrs.frozen
class SalesReportRow:
    #: in the organization's zone (``SalesReport.time_zone``)
    placed_at: datetime
    order_id: str
    relay: str
    purchasing_contact: str
    performance: str
    tariff: str
    quantity: int
    amount: Money
    payment_method: PaymentMethod
    state: OrderState


@attrs.frozen
class SalesReportTotal:
    key: str
    quantity: int
    amount: Money


REPORT_COLUMNS = (
    "placed_at",
    "order_id",
    "relay",
    "purchasing_contact",
    "performance",
    "tariff",
    "quantity",
    "amount",
    "currency",
    "payment_method",
    "state",
)


@attrs.frozen
class SalesReport:
    """The sales an agency concluded in a period; totals leave cancelled orders out."""

    structure_id: str
    #: the bounds in ``time_zone``
    period_from: datetime | None
    period_until: datetime | None
    currency: str
    rows: tuple[SalesReportRow, ...]
    by_performance: tuple[SalesReportTotal, ...]
    by_tariff: tuple[SalesReportTotal, ...]
    by_relay: tuple[SalesReportTotal, ...]
    total: SalesReportTotal
    #: the organization's IANA time zone, in which ``placed_at`` is given
    time_zone: str = "UTC"

    def _cells(self) -> tuple[tuple[Cell, ...], ...]:
        return tuple(
            (
                row.placed_at.isoformat(),
                row.order_id,
                row.relay,
                row.purchasing_contact,
                row.performance,
                row.tariff,
                row.quantity,
                row.amount.amount,
                row.amount.currency,
                row.payment_method.value,
                row.state.value,
            )
            for row in self.rows
        )

    def to_table(self) -> Table:
        """The rows as a table for any spreadsheet writer (``SpreadsheetCodec.write``), the
        columns of :meth:`to_csv`; amounts and quantities stay numbers."""
        return Table("Sales", REPORT_COLUMNS, self._cells())

    def to_csv(self) -> str:
        """The rows as CSV (comma separated, header line first; times local with their
        offset; text cells made formula-safe by the one CSV writer)."""
        return write_csv(
            REPORT_COLUMNS,
            self._cells(),
            line_end="\n",
        )


# --- mail -----------------------------------------------------------------------------------


@attrs.frozen
class MailDispatched:
    """What one run of the dispatcher did, by mail id."""

    #: delivered and recorded as sent
    sent: tuple[str, ...]
    #: attempts that failed in this run: retried later, unless also in ``given_up``
    failed: tuple[str, ...]
    #: now ``failed`` for good (refused permanently, or out of attempts): see ``RequeueMail``
    given_up: tuple[str, ...] = ()
    #: delivered, but another dispatcher had taken the claim over after its lease ran out: the
    #: mail may arrive twice (with the same Message-ID)
    overtaken: tuple[str, ...] = ()


@attrs.frozen
class FailedMail:
    mail_id: str
    to: str
    subject: str
    #: in ``FailedMailList.time_zone``
    queued_at: datetime
    attempts: int
    last_error: str | None


@attrs.frozen
class FailedMailList:
    mails: tuple[FailedMail, ...]
    #: the outbox is the institution's, which has no zone of its own: UTC
    time_zone: str = DEFAULT_TIME_ZONE


@attrs.frozen
class MailRequeued:
    mail_id: str
    #: in ``time_zone``
    due_at: datetime
    #: the outbox is the institution's, which has no zone of its own: UTC
    time_zone: str = DEFAULT_TIME_ZONE


# --- corporate space: stock, dashboard, distribution ----------------------------------------


@attrs.frozen
class StockLine:
    """Tickets of one product for one performance that came into a structure, and how many
    of them are still in its stock (distributable)."""

    performance_id: str
    activity: str
    #: in the venue's zone (``time_zone``)
    starts_at: datetime
    venue: str
    product_id: str
    product: str
    #: bought by the structure plus received from its parent
    came_in: int
    in_stock: int
    time_zone: str = "UTC"

    @property
    def summary(self) -> str:
        return f"{self.in_stock} left to distribute of {self.came_in}"


@attrs.frozen
class StockView:
    structure_id: str
    structure: str
    lines: tuple[StockLine, ...]


@attrs.frozen
class SubStructureCount:
    structure_id: str
    structure: str
    count: int


@attrs.frozen
class TallyView:
    """``bought + received == in_stock + distributed``; distributed tickets are with
    individuals, handed over after printing at once, or with sub-structures."""

    bought: int
    received: int
    in_stock: int
    distributed: int
    to_individuals: int
    handed_over: int
    to_sub_structures: tuple[SubStructureCount, ...]
    printed: int
    controlled: int
    cancelled: int

    @property
    def came_in(self) -> int:
        return self.bought + self.received

    @property
    def summary(self) -> str:
        return f"{self.in_stock} left to distribute of {self.came_in}"


@attrs.frozen
class ProductTally:
    product_id: str
    product: str
    activity: str
    tally: TallyView


@attrs.frozen
class Dashboard:
    """A structure's distribution dashboard: per product and in total."""

    structure_id: str
    structure: str
    products: tuple[ProductTally, ...]
    total: TallyView


@attrs.frozen
class TicketsDistributed:
    ticket_ids: tuple[str, ...]
    holder_id: str
    holder_name: str
    holder_email: str
    mail_id: str


@attrs.frozen
class TicketsHandedOver:
    ticket_ids: tuple[str, ...]
    sub_structure_id: str


@attrs.frozen
class TicketDocument:
    """Tickets rendered into one document (a PDF with the adapters shipped)."""

    ticket_ids: tuple[str, ...]
    media_type: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")


@attrs.frozen
class StockSheet:
    """The stock as a spreadsheet, one row per ticket, name and email left to fill in."""

    structure_id: str
    filename: str
    media_type: str
    #: the CSV text (``""`` for another format: see ``data``)
    content: str
    tickets: int
    format: SheetFormat = SheetFormat.CSV
    #: the file as bytes, in its format (a CSV in UTF-8)
    data: bytes = attrs.field(default=b"", repr=lambda d: f"<{len(d)} bytes>")


class ImportOutcome(enum.Enum):
    DISTRIBUTED = "distributed"
    UNTOUCHED = "untouched"
    REJECTED = "rejected"


@attrs.frozen
class ImportRowReport:
    row: int
    ticket_id: str
    outcome: ImportOutcome
    holder_id: str | None = None
    #: why a row was rejected: ``incomplete``, ``name_invalid``, ``email_invalid``,
    #: ``duplicate_ticket``, ``ticket_unknown``, ``ticket_not_in_stock`` or ``foreign_contact``
    code: str | None = None
    message: str | None = None


@attrs.frozen
class ImportReport:
    rows: tuple[ImportRowReport, ...]
    mail_ids: tuple[str, ...]

    def count(self, outcome: ImportOutcome) -> int:
        return sum(1 for row in self.rows if row.outcome is outcome)


@attrs.frozen
class DistributedTicketView:
    ticket_id: str
    performance_id: str
    product_id: str
    state: TicketState
    stock_structure_id: str
    holder_id: str | None
    holder_name: str | None
    holder_email: str | None
    beneficiary: str | None


@attrs.frozen
class TicketsReclaimed:
    ticket_ids: tuple[str, ...]
    mail_ids: tuple[str, ...]


# --- individual space ------------------------------------------------------------------------


@attrs.frozen
class MemberTicketView:
    ticket_id: str
    activity: str
    performance_id: str
    #: in the venue's zone (``time_zone``)
    starts_at: datetime
    venue: str
    product: str
    tariff: str
    state: TicketState
    beneficiary: str | None
    time_zone: str = "UTC"
    #: the email the member gave for the beneficiary, and that person's consent
    beneficiary_email: str | None = None
    beneficiary_consent: bool = False

    @property
    def starts_at_text(self) -> str:
        """``Sun 10 May 2026, 20:30 CEST``: the local start, as people read it."""
        return format_local(self.starts_at)


# --- access control and beneficiaries -------------------------------------------------------


@attrs.frozen
class ScanResult:
    """A gate's answer: accepted once, or rejected with a reason (and, for a ticket already
    controlled, when and where it was)."""

    accepted: bool
    rejection: ScanRejection | None
    barcode: str
    performance_id: str
    gate: str
    #: in ``time_zone``
    scanned_at: datetime
    ticket_id: str | None = None
    product: str | None = None
    beneficiary: str | None = None
    #: in ``time_zone``
    controlled_at: datetime | None = None
    controlled_gate: str | None = None
    #: the venue's zone (the performance's)
    time_zone: str = DEFAULT_TIME_ZONE


class BeneficiaryRole(enum.Enum):
    """Which is which in the beneficiaries export: a member who received tickets, or a
    person a member printed tickets for (who will attend)."""

    MEMBER = "member"
    ATTENDEE = "attendee"


@attrs.frozen
class BeneficiaryRow:
    """A member who received tickets, or (``role`` attendee) a person a member printed some
    for: the printed ``name`` (no first and last name apart), the email where the member gave
    it, that person's own consent, and the member's email in ``received_by``."""

    first_name: str
    last_name: str
    #: ``None``: an attendee whose email the member did not give
    email: str | None
    structure_id: str
    structure: str
    performance_id: str
    activity: str
    #: in the venue's zone (``time_zone``)
    starts_at: datetime
    tickets: int
    marketing_consent: bool
    time_zone: str = "UTC"
    role: BeneficiaryRole = BeneficiaryRole.MEMBER
    #: the person's full name (for an attendee: the name printed on the tickets)
    name: str = ""
    #: the member who received the tickets (the member themself on a member's row)
    member_id: str = ""
    #: for an attendee: the email of the member who received the tickets
    received_by: str | None = None


#: the columns of the beneficiaries export
BENEFICIARY_COLUMNS = (
    "role",
    "name",
    "first_name",
    "last_name",
    "email",
    "received_by",
    "structure",
    "activity",
    "performance",
    "tickets",
    "marketing_consent",
)


@attrs.frozen
class BeneficiariesExport:
    rows: tuple[BeneficiaryRow, ...]

    def to_table(self) -> Table:
        """The rows as a table for any spreadsheet writer (``SpreadsheetCodec.write``): the
        performance in its local time with the zone, consent as ``yes``/``no``."""
        return Table(
            "Beneficiaries",
            BENEFICIARY_COLUMNS,
            tuple(
                (
                    row.role.value,
                    row.name,
                    row.first_name,
                    row.last_name,
                    row.email,
                    row.received_by,
                    row.structure,
                    row.activity,
                    format_short(row.starts_at),
                    row.tickets,
                    "yes" if row.marketing_consent else "no",
                )
                for row in self.rows
            ),
        )

    def to_csv(self) -> str:
        """The rows as CSV (comma separated, header line first; the performance in its local
        time with the zone; text cells made formula-safe by the one CSV writer)."""
        table = self.to_table()
        return write_csv(table.columns, table.rows)
