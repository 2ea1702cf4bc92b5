"""Options, reservations, orders and tickets."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

from ticketdomain.core.catalog import check_quantity
from ticketdomain.core.contacts import Email
from ticketdomain.core.errors import QuantityInvalidError, StateTransitionError
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.setup import DeliveryMode, PaymentMethod
from ticketdomain.core.timezones import instant

#: lines per order, option or reservation
MAX_LINES = 50


@attrs.frozen
class LineRequest:
    """What a relay or operator asks for: places of a performance at a tariff."""

    performance_id: str
    tariff_id: str
    quantity: int = attrs.field(converter=check_quantity)


def check_lines(lines: Iterable[LineRequest]) -> tuple[LineRequest, ...]:
    lines = tuple(lines)
    if not lines or len(lines) > MAX_LINES:
        raise QuantityInvalidError(
            f"Between 1 and {MAX_LINES} lines, got {len(lines)}.", lines=len(lines)
        )
    check_quantity(sum(line.quantity for line in lines))
    return lines


def check_ticket_ids(ids: Iterable[str]) -> tuple[str, ...]:
    """Ticket ids named by a caller: 1 to ``MAX_QUANTITY`` distinct ones (repeats dropped)."""
    if isinstance(ids, str) or not all(isinstance(id, str) for id in ids):
        raise QuantityInvalidError("Tickets are named by a list of ids.")
    unique = tuple(dict.fromkeys(ids))
    if not unique:
        raise QuantityInvalidError("Name at least one ticket.", tickets=0)
    check_quantity(len(unique))
    return unique


def places_per_performance(lines: Iterable[LineRequest]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.performance_id] = totals.get(line.performance_id, 0) + line.quantity
    return totals


def _refuse(thing: str, id: str, state: enum.Enum, action: str) -> StateTransitionError:
    return StateTransitionError(
        f"Cannot {action} {thing} {id}: it is {state.value}.",
        id=id,
        state=state.value,
        action=action,
    )


# --- options --------------------------------------------------------------------------------


class OptionState(enum.Enum):
    REQUESTED = "requested"
    GRANTED = "granted"
    DECLINED = "declined"
    LAPSED = "lapsed"


@attrs.define
class Option:
    """A request for places that takes no quota until the operator grants it."""

    id: str
    organization_id: str
    sales_point_id: str
    structure_id: str
    relay_id: str
    lines: tuple[LineRequest, ...] = attrs.field(converter=check_lines)
    requested_at: datetime
    expires_at: datetime
    state: OptionState = OptionState.REQUESTED
    reservation_id: str | None = None

    def require_open(self, action: str, now: datetime) -> None:
        if self.state is not OptionState.REQUESTED:
            raise _refuse("option", self.id, self.state, action)
        if now >= self.expires_at:
            raise StateTransitionError(
                f"Option {self.id} lapsed at {self.expires_at.isoformat()}.",
                id=self.id,
                state="lapsed",
                action=action,
            )

    def grant(self, reservation_id: str, now: datetime) -> None:
        self.require_open("grant", now)
        self.state = OptionState.GRANTED
        self.reservation_id = reservation_id

    def decline(self, now: datetime) -> None:
        self.require_open("decline", now)
        self.state = OptionState.DECLINED

    def is_due(self, now: datetime) -> bool:
        return self.state is OptionState.REQUESTED and now >= self.expires_at

    def lapse(self, now: datetime) -> None:
        if not self.is_due(now):
            raise _refuse("option", self.id, self.state, "lapse")
        self.state = OptionState.LAPSED


# --- reservations ---------------------------------------------------------------------------


class ReservationState(enum.Enum):
    HELD = "held"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


def reservation_deadline(
    created_at: datetime, delay: timedelta, first_performance_at: datetime, cutoff: timedelta
) -> datetime:
    """The earlier of creation + delay and performance start - cutoff, never before creation.

    Computed on instants (in UTC): a cutoff of one day before a performance on the night the
    clocks change is 24 hours, not the same wall-clock time the day before."""
    created, start = instant(created_at), instant(first_performance_at)
    return max(created, min(created + delay, start - cutoff))


@attrs.define
class Reservation:
    """Places taken from the quota without payment until a deadline."""

    id: str
    organization_id: str
    sales_point_id: str
    structure_id: str
    relay_id: str
    lines: tuple[LineRequest, ...] = attrs.field(converter=check_lines)
    created_at: datetime
    deadline: datetime
    state: ReservationState = ReservationState.HELD
    order_id: str | None = None
    option_id: str | None = None

    def is_live(self, now: datetime) -> bool:
        return self.state is ReservationState.HELD and now < self.deadline

    def require_live(self, action: str, now: datetime) -> None:
        if self.state is not ReservationState.HELD:
            raise _refuse("reservation", self.id, self.state, action)
        if now >= self.deadline:
            raise StateTransitionError(
                f"Reservation {self.id} expired at {self.deadline.isoformat()}.",
                id=self.id,
                state="expired",
                action=action,
            )

    def confirm(self, order_id: str, now: datetime) -> None:
        self.require_live("confirm", now)
        self.state = ReservationState.CONFIRMED
        self.order_id = order_id

    def release(self, now: datetime) -> None:
        self.require_live("release", now)
        self.state = ReservationState.RELEASED

    def is_due(self, now: datetime) -> bool:
        return self.state is ReservationState.HELD and now >= self.deadline

    def expire(self, now: datetime) -> None:
        if not self.is_due(now):
            raise _refuse("reservation", self.id, self.state, "expire")
        self.state = ReservationState.EXPIRED


# --- orders ---------------------------------------------------------------------------------


class OrderState(enum.Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


@attrs.frozen
class OrderLine:
    id: str
    performance_id: str
    product_id: str
    tariff_id: str
    quantity: int = attrs.field(converter=check_quantity)
    unit_price: Money
    vat_rate: VatRate

    @property
    def total(self) -> Money:
        return self.unit_price.times(self.quantity)


class RefundState(enum.Enum):
    DUE = "due"
    REFUNDED = "refunded"


def refund_key(order_id: str) -> str:
    """The idempotency key of the card refund owed for cancelling the order."""
    return f"cancel-{order_id}"


@attrs.frozen
class Refund:
    """The card refund a cancelled order owes: due from the cancellation (stored with it), then
    refunded once the payment provider accepted it."""

    amount: Money
    #: the same on every attempt, so the provider never refunds it twice
    idempotency_key: str
    #: the provider's reference, once it accepted the refund
    reference: str | None = None
    refunded_at: datetime | None = None

    @property
    def state(self) -> RefundState:
        return RefundState.DUE if self.reference is None else RefundState.REFUNDED


@attrs.define
class Order:
    id: str
    organization_id: str
    sales_point_id: str
    structure_id: str
    #: the relay who placed it, or the operator's name for an order placed by phone
    placed_by: str
    placed_by_operator: bool
    purchasing_contact_id: str | None
    lines: tuple[OrderLine, ...]
    payment_method: PaymentMethod
    delivery_mode: DeliveryMode
    placed_at: datetime
    currency: str
    state: OrderState = OrderState.CONFIRMED
    payment_reference: str | None = None
    document_id: str | None = None
    invoice_id: str | None = None
    cancelled_at: datetime | None = None
    reservation_id: str | None = None
    #: the card refund owed since the order was cancelled, if it was paid by card
    refund: Refund | None = None

    @property
    def total(self) -> Money:
        return Money.sum((line.total for line in self.lines), self.currency)

    @property
    def card_charge(self) -> str | None:
        """The provider's reference of the card charge that paid the order, if any."""
        return None if self.on_account else self.payment_reference

    @property
    def refund_due(self) -> Refund | None:
        """The card refund owed and not yet accepted by the provider."""
        return self.refund if self.refund and self.refund.state is RefundState.DUE else None

    @property
    def on_account(self) -> bool:
        return self.payment_method is PaymentMethod.HOLDING_ACCOUNT

    @property
    def is_cancelled(self) -> bool:
        return self.state is OrderState.CANCELLED

    def attach_invoice(self, invoice_id: str) -> None:
        if self.invoice_id is not None:
            raise StateTransitionError(
                f"Order {self.id} is already on an invoice.", id=self.id, invoice_id=self.invoice_id
            )
        if not self.on_account or self.is_cancelled:
            raise _refuse("order", self.id, self.state, "invoice")
        self.invoice_id = invoice_id

    def cancel(self, now: datetime) -> None:
        """Cancel the confirmed order; one paid by card then owes its total back to the card
        (``refund_due``). Raises ``StateTransitionError`` for an order already cancelled."""
        if self.state is not OrderState.CONFIRMED:
            raise _refuse("order", self.id, self.state, "cancel")
        self.state = OrderState.CANCELLED
        self.cancelled_at = now
        if self.card_charge is not None and self.total.is_positive:
            # Recorded with the cancellation, so a refund that never went out is not forgotten.
            self.refund = Refund(self.total, refund_key(self.id))

    def record_refund(self, reference: str, now: datetime) -> bool:
        """Record that the provider accepted the refund due under ``reference``; ``False`` when
        it was already recorded under that reference (the provider answers a repeated key with
        the same receipt). Raises ``StateTransitionError`` when no refund is owed, or one was
        recorded under another reference."""
        if self.refund is None:
            raise StateTransitionError(
                f"Order {self.id} owes no refund.", id=self.id, action="record a refund for"
            )
        if self.refund.reference is not None:
            if self.refund.reference == reference:
                return False
            raise StateTransitionError(
                f"The refund of order {self.id} was already made as {self.refund.reference}.",
                id=self.id,
                action="record a refund for",
                reference=self.refund.reference,
            )
        self.refund = attrs.evolve(self.refund, reference=reference, refunded_at=now)
        return True


# --- tickets --------------------------------------------------------------------------------


class TicketState(enum.Enum):
    BOUGHT = "bought"
    DISTRIBUTED = "distributed"
    PRINTED = "printed"
    CONTROLLED = "controlled"
    CANCELLED = "cancelled"


#: the ticket life of DOMAIN.md; reclaiming goes back to ``bought``. Only a printed ticket is
#: controlled: its barcode reaches a gate on paper (or a screen) once it has been printed.
TICKET_TRANSITIONS: Mapping[TicketState, frozenset[TicketState]] = {
    TicketState.BOUGHT: frozenset(
        {TicketState.DISTRIBUTED, TicketState.PRINTED, TicketState.CANCELLED}
    ),
    TicketState.DISTRIBUTED: frozenset(
        {TicketState.PRINTED, TicketState.BOUGHT, TicketState.CANCELLED}
    ),
    TicketState.PRINTED: frozenset(
        {TicketState.PRINTED, TicketState.BOUGHT, TicketState.CONTROLLED, TicketState.CANCELLED}
    ),
    TicketState.CONTROLLED: frozenset(),
    TicketState.CANCELLED: frozenset(),
}


@attrs.define
class Ticket:
    id: str
    organization_id: str
    order_id: str
    order_line_id: str
    sales_point_id: str
    performance_id: str
    product_id: str
    tariff_id: str
    #: the structure that bought it
    structure_id: str
    #: the structure whose stock holds it now (the buyer, or a sub-structure it was handed to)
    stock_structure_id: str
    barcode: str | None
    state: TicketState = TicketState.BOUGHT
    #: the individual it is assigned to (a member, or an agency's client after a transfer)
    holder_id: str | None = None
    revoked_barcodes: tuple[str, ...] = ()
    #: the final beneficiary's name printed on the ticket
    beneficiary: str | None = None
    controlled_at: datetime | None = None
    #: the gate that controlled it
    controlled_gate: str | None = None
    version: int = 0
    #: the final beneficiary's email, where the member gave it (who will attend)
    beneficiary_email: str | None = None
    #: whether that beneficiary agreed to hear from the organization (asked apart from the
    #: member's own consent)
    beneficiary_consent: bool = False

    @property
    def in_stock(self) -> bool:
        """In the stock of ``stock_structure_id``, ready to be distributed."""
        return self.state is TicketState.BOUGHT

    def _move(self, target: TicketState, action: str) -> None:
        if target not in TICKET_TRANSITIONS[self.state]:
            raise _refuse("ticket", self.id, self.state, action)
        self.state = target

    def reissue_barcode(self, new_barcode: str) -> None:
        """Revoke the live barcode (it never validates again) and take a new one."""
        if self.state in (TicketState.CANCELLED, TicketState.CONTROLLED):
            raise _refuse("ticket", self.id, self.state, "reissue a barcode for")
        if new_barcode == self.barcode or new_barcode in self.revoked_barcodes:
            raise StateTransitionError(
                "A barcode is never issued twice.", id=self.id, action="reissue a barcode for"
            )
        if self.barcode is not None:
            self.revoked_barcodes = (*self.revoked_barcodes, self.barcode)
        self.barcode = new_barcode

    def assign(self, holder_id: str) -> None:
        self._move(TicketState.DISTRIBUTED, "distribute")
        self.holder_id = holder_id

    def hand_to(self, structure_id: str) -> None:
        """Move the ticket from its stock to a sub-structure's stock."""
        if not self.in_stock:
            raise _refuse("ticket", self.id, self.state, "hand over")
        self.stock_structure_id = structure_id

    def take_back(self, structure_id: str) -> None:
        """Move the ticket from a sub-structure's stock back to ``structure_id``'s stock."""
        if not self.in_stock:
            raise _refuse("ticket", self.id, self.state, "take back")
        self.stock_structure_id = structure_id

    def print(
        self,
        beneficiary: str | None = None,
        email: Email | None = None,
        consent: bool = False,
    ) -> None:
        """Printed for ``beneficiary`` (a name), with their email and consent where given
        (a consent without an email is not kept: nobody could be written to)."""
        self._move(TicketState.PRINTED, "print")
        self.beneficiary = beneficiary
        self.beneficiary_email = email.value if email is not None else None
        self.beneficiary_consent = consent and email is not None

    def reclaim(self, new_barcode: str) -> None:
        """Take a distributed or printed ticket back into the stock it was distributed from;
        the barcode that may have left the system is revoked and a new one issued."""
        if self.state not in (TicketState.DISTRIBUTED, TicketState.PRINTED):
            raise _refuse("ticket", self.id, self.state, "reclaim")
        self.reissue_barcode(new_barcode)
        self._move(TicketState.BOUGHT, "reclaim")
        self.holder_id = None
        self.beneficiary = None
        self.beneficiary_email = None
        self.beneficiary_consent = False

    def control(self, at: datetime, gate: str) -> None:
        """Admit the ticket at a gate: final, a ticket is controlled at most once."""
        self._move(TicketState.CONTROLLED, "control")
        self.controlled_at = at
        self.controlled_gate = gate

    def cancel(self) -> None:
        self._move(TicketState.CANCELLED, "cancel")
        if self.barcode is not None:
            self.revoked_barcodes = (*self.revoked_barcodes, self.barcode)
            self.barcode = None
