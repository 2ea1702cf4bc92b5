"""Options, reservations, orders and tickets: deadlines, lifecycles and quantities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ticketdomain.core.catalog import MAX_QUANTITY
from ticketdomain.core.errors import QuantityInvalidError, StateTransitionError
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.sales import (
    MAX_LINES,
    TICKET_TRANSITIONS,
    LineRequest,
    Option,
    OptionState,
    Order,
    OrderLine,
    OrderState,
    Reservation,
    ReservationState,
    Ticket,
    TicketState,
    check_lines,
    places_per_performance,
    reservation_deadline,
)
from ticketdomain.core.setup import DeliveryMode, PaymentMethod
from ticketdomain.testing import strategies as tds

NOW = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)
LINES = (LineRequest("perf-1", "tariff-1", 2),)
DELAYS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))


def refused(
    action: Callable[[], object], code: str = "state_transition_refused"
) -> dict[str, object]:
    with pytest.raises(StateTransitionError) as error:
        action()
    assert error.value.code == code
    return error.value.details


# --- reservation deadline ---------------------------------------------------------------------


@given(tds.aware_datetimes(), DELAYS, tds.aware_datetimes(), DELAYS)
def test_the_deadline_is_the_earlier_limit_never_before_creation(
    created: datetime, delay: timedelta, starts: datetime, cutoff: timedelta
) -> None:
    deadline = reservation_deadline(created, delay, starts, cutoff)
    assert deadline >= created
    assert deadline <= created + delay
    # before the cutoff unless the cutoff has already passed at creation
    assert deadline <= starts - cutoff or deadline == created
    # and it is one of the three candidate moments, not something in between
    assert deadline in (created, created + delay, starts - cutoff)


@pytest.mark.parametrize(
    ("starts_in", "expected_in"),
    [
        (timedelta(days=30), timedelta(days=2)),  # far performance: the delay decides
        (timedelta(days=2), timedelta(days=1)),  # close performance: the cutoff decides
        (timedelta(hours=12), timedelta(0)),  # cutoff already passed: never before creation
        (-timedelta(days=1), timedelta(0)),
    ],
)
def test_deadline_examples(starts_in: timedelta, expected_in: timedelta) -> None:
    deadline = reservation_deadline(NOW, timedelta(days=2), NOW + starts_in, timedelta(days=1))
    assert deadline == NOW + expected_in


# --- options ----------------------------------------------------------------------------------


def option(expires_in: timedelta = timedelta(days=7)) -> Option:
    return Option("opt-1", "org-1", "sp-1", "agency-1", "relay-1", LINES, NOW, NOW + expires_in)


def test_a_requested_option_is_granted_into_a_reservation() -> None:
    opt = option()
    opt.grant("res-1", NOW + timedelta(days=1))
    assert (opt.state, opt.reservation_id) == (OptionState.GRANTED, "res-1")
    assert refused(lambda: opt.grant("res-2", NOW))["state"] == "granted"
    assert refused(lambda: opt.decline(NOW))["action"] == "decline"
    assert opt.reservation_id == "res-1"


def test_a_declined_option_cannot_be_granted() -> None:
    opt = option()
    opt.decline(NOW)
    assert opt.state is OptionState.DECLINED
    assert refused(lambda: opt.grant("res-1", NOW)) == {
        "id": "opt-1",
        "state": "declined",
        "action": "grant",
    }


def test_an_option_lapses_at_its_expiry_and_not_before() -> None:
    opt = option(timedelta(hours=1))
    expiry = NOW + timedelta(hours=1)
    assert not opt.is_due(expiry - timedelta(microseconds=1))
    refused(lambda: opt.lapse(expiry - timedelta(microseconds=1)))
    assert refused(lambda: opt.grant("res-1", expiry))["state"] == "lapsed"
    assert opt.state.value == "requested"  # not narrowed: lapse() changes it below
    opt.lapse(expiry)
    assert opt.state is OptionState.LAPSED
    refused(lambda: opt.lapse(expiry))


# --- reservations -----------------------------------------------------------------------------


def reservation(deadline_in: timedelta = timedelta(days=2)) -> Reservation:
    return Reservation(
        "res-1", "org-1", "sp-1", "agency-1", "relay-1", LINES, NOW, NOW + deadline_in
    )


def test_a_held_reservation_is_confirmed_into_an_order_once() -> None:
    res = reservation()
    assert res.is_live(NOW)
    res.confirm("order-1", NOW + timedelta(days=1))
    assert (res.state, res.order_id) == (ReservationState.CONFIRMED, "order-1")
    assert not res.is_live(NOW)
    refused(lambda: res.confirm("order-2", NOW))
    refused(lambda: res.release(NOW))
    assert res.order_id == "order-1"


def test_a_released_reservation_frees_its_places_for_good() -> None:
    res = reservation()
    res.release(NOW)
    assert not res.is_live(NOW)
    assert refused(lambda: res.confirm("order-1", NOW))["state"] == "released"


def test_a_reservation_past_its_deadline_expires_and_cannot_be_confirmed() -> None:
    res = reservation(timedelta(hours=2))
    deadline = NOW + timedelta(hours=2)
    assert res.is_live(deadline - timedelta(microseconds=1))
    assert not res.is_live(deadline)
    assert refused(lambda: res.confirm("order-1", deadline))["state"] == "expired"
    refused(lambda: res.expire(deadline - timedelta(seconds=1)))
    res.expire(deadline)
    assert res.state is ReservationState.EXPIRED
    refused(lambda: res.release(deadline))


# --- orders -----------------------------------------------------------------------------------


def order(payment: PaymentMethod = PaymentMethod.HOLDING_ACCOUNT) -> Order:
    line = OrderLine(
        "line-1",
        "perf-1",
        "product-1",
        "tariff-1",
        3,
        Money(Decimal("25.50"), "EUR"),
        VatRate(Decimal("0.055")),
    )
    return Order(
        "order-1",
        "org-1",
        "sp-1",
        "agency-1",
        "relay-1",
        False,
        None,
        (line,),
        payment,
        DeliveryMode.PRINT_AT_HOME,
        NOW,
        "EUR",
    )


def test_an_order_total_is_price_times_quantity() -> None:
    assert order().total == Money(Decimal("76.50"), "EUR")


def test_an_order_goes_on_one_invoice_only() -> None:
    placed = order()
    placed.attach_invoice("invoice-1")
    details = refused(lambda: placed.attach_invoice("invoice-2"))
    assert details["invoice_id"] == "invoice-1"
    assert placed.invoice_id == "invoice-1"


def test_card_and_cancelled_orders_are_not_invoiced() -> None:
    refused(lambda: order(PaymentMethod.CARD).attach_invoice("invoice-1"))
    cancelled = order()
    cancelled.cancel(NOW)
    assert refused(lambda: cancelled.attach_invoice("invoice-1"))["state"] == "cancelled"
    assert cancelled.invoice_id is None


def test_an_order_is_cancelled_once() -> None:
    placed = order()
    placed.cancel(NOW + timedelta(hours=1))
    assert (placed.state, placed.cancelled_at) == (OrderState.CANCELLED, NOW + timedelta(hours=1))
    refused(lambda: placed.cancel(NOW + timedelta(hours=2)))
    assert placed.cancelled_at == NOW + timedelta(hours=1)


# --- tickets ----------------------------------------------------------------------------------


def ticket(state: TicketState = TicketState.BOUGHT, barcode: str | None = "BC1") -> Ticket:
    return Ticket(
        "ticket-1",
        "org-1",
        "order-1",
        "line-1",
        "sp-1",
        "perf-1",
        "product-1",
        "tariff-1",
        "agency-1",
        "agency-1",
        barcode,
        state,
    )


ACTIONS: dict[str, Callable[[Ticket], None]] = {
    "distribute": lambda t: t.assign("member-1"),
    "print": lambda t: t.print(),
    "cancel": lambda t: t.cancel(),
}
# The ticket life of DOMAIN.md, written out by hand: what each public action may do from each state.
ALLOWED = {
    (TicketState.BOUGHT, "distribute"),
    (TicketState.BOUGHT, "print"),  # printing at once
    (TicketState.BOUGHT, "cancel"),
    (TicketState.DISTRIBUTED, "print"),
    (TicketState.DISTRIBUTED, "cancel"),
    (TicketState.PRINTED, "print"),  # a reprint
    (TicketState.PRINTED, "cancel"),
}


@pytest.mark.parametrize("state", list(TicketState))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_ticket_actions_follow_the_ticket_life(state: TicketState, action: str) -> None:
    t = ticket(state)
    if (state, action) in ALLOWED:
        ACTIONS[action](t)
        assert (
            t.state
            is {
                "distribute": TicketState.DISTRIBUTED,
                "print": TicketState.PRINTED,
                "cancel": TicketState.CANCELLED,
            }[action]
        )
    else:
        before = attrs.asdict(t)
        details = refused(lambda: ACTIONS[action](t))
        assert details == {"id": "ticket-1", "state": state.value, "action": action}
        assert attrs.asdict(t) == before


def test_controlled_and_cancelled_are_final() -> None:
    assert TICKET_TRANSITIONS[TicketState.CONTROLLED] == frozenset()
    assert TICKET_TRANSITIONS[TicketState.CANCELLED] == frozenset()
    # reclaiming (back to bought) is possible from every state a ticket leaves the stock in
    assert all(
        TicketState.BOUGHT in TICKET_TRANSITIONS[s]
        for s in (TicketState.DISTRIBUTED, TicketState.PRINTED)
    )
    # a ticket still in stock has left no barcode at the gate
    assert TicketState.CONTROLLED not in TICKET_TRANSITIONS[TicketState.BOUGHT]


def test_distribution_records_the_holder() -> None:
    t = ticket()
    t.assign("member-7")
    assert (t.state, t.holder_id) == (TicketState.DISTRIBUTED, "member-7")


def test_reissuing_a_barcode_revokes_the_old_one() -> None:
    t = ticket(TicketState.PRINTED, barcode="BC1")
    t.reissue_barcode("BC2")
    t.reissue_barcode("BC3")
    assert t.barcode == "BC3"
    assert t.revoked_barcodes == ("BC1", "BC2")


def test_a_first_barcode_revokes_nothing() -> None:
    t = ticket(barcode=None)
    t.reissue_barcode("BC1")
    assert (t.barcode, t.revoked_barcodes) == ("BC1", ())


def test_cancelling_revokes_the_live_barcode() -> None:
    t = ticket(TicketState.PRINTED, barcode="BC1")
    t.cancel()
    assert t.barcode is None
    assert t.revoked_barcodes == ("BC1",)


class TicketMachine(RuleBasedStateMachine):
    """Any sequence of actions keeps one live barcode at most, and revoked ones revoked."""

    def __init__(self) -> None:
        super().__init__()
        self.ticket = ticket(barcode="BC-0")
        self.issued = 0
        self.revoked: tuple[str, ...] = ()

    @rule(action=st.sampled_from(list(ACTIONS)))
    def act(self, action: str) -> None:
        before = attrs.asdict(self.ticket)
        state = self.ticket.state
        try:
            ACTIONS[action](self.ticket)
        except StateTransitionError:
            assert (state, action) not in ALLOWED
            assert attrs.asdict(self.ticket) == before, "a refused action changed the ticket"
        else:
            assert (state, action) in ALLOWED
            assert self.ticket.state in TICKET_TRANSITIONS[state]

    @rule()
    def reprint_with_a_new_barcode(self) -> None:
        self.issued += 1
        if self.ticket.state is not TicketState.CANCELLED:
            self.ticket.reissue_barcode(f"BC-{self.issued}")

    @invariant()
    def revoked_barcodes_stay_revoked_and_never_live(self) -> None:
        revoked = self.ticket.revoked_barcodes
        assert revoked[: len(self.revoked)] == self.revoked
        assert self.ticket.barcode not in revoked
        assert len(set(revoked)) == len(revoked)
        self.revoked = revoked

    @invariant()
    def a_cancelled_ticket_has_no_live_barcode(self) -> None:
        if self.ticket.state is TicketState.CANCELLED:
            assert self.ticket.barcode is None


TestTicketLife = TicketMachine.TestCase


# --- quantities -------------------------------------------------------------------------------


@given(tds.invalid_quantities())
def test_invalid_quantities_are_refused(quantity: object) -> None:
    with pytest.raises(QuantityInvalidError) as error:
        LineRequest("perf-1", "tariff-1", quantity)  # type: ignore[arg-type]
    assert error.value.code == "quantity_invalid"
    assert "quantity" in error.value.details


@pytest.mark.parametrize("quantity", [0, -1, 10**9])
def test_order_lines_refuse_invalid_quantities(quantity: int) -> None:
    with pytest.raises(QuantityInvalidError):
        OrderLine(
            "l",
            "perf-1",
            "product-1",
            "tariff-1",
            quantity,
            Money(Decimal("1"), "EUR"),
            VatRate(Decimal(0)),
        )


@given(tds.quantities())
def test_valid_quantities_are_kept(quantity: int) -> None:
    assert LineRequest("perf-1", "tariff-1", quantity).quantity == quantity


@pytest.mark.parametrize("count", [0, MAX_LINES + 1])
def test_between_one_and_max_lines_lines(count: int) -> None:
    with pytest.raises(QuantityInvalidError):
        check_lines([LineRequest("perf-1", "tariff-1", 1)] * count)


def test_the_places_of_all_lines_together_are_bounded() -> None:
    half = MAX_QUANTITY // 2 + 1
    with pytest.raises(QuantityInvalidError):
        check_lines([LineRequest("perf-1", "t-1", half), LineRequest("perf-2", "t-1", half)])
    with pytest.raises(QuantityInvalidError):
        Option("o", "org", "sp", "s", "r", (), NOW, NOW)


@given(tds.line_request_lists(["perf-1", "perf-2", "perf-3"], ["tariff-1", "tariff-2"]))
def test_places_are_counted_per_performance(lines: tuple[LineRequest, ...]) -> None:
    totals = places_per_performance(lines)
    assert sum(totals.values()) == sum(line.quantity for line in lines)
    for performance_id, places in totals.items():
        assert places == sum(
            line.quantity for line in lines if line.performance_id == performance_id
        )


def test_a_cancelled_ticket_never_gets_a_live_barcode_again() -> None:
    import pytest as _pytest

    from ticketdomain.core.errors import StateTransitionError
    from ticketdomain.core.sales import Ticket

    ticket = Ticket("t", "o", "ord", "l", "sp", "p", "pr", "ta", "s", "s", barcode="A")
    ticket.reissue_barcode("B")
    with _pytest.raises(StateTransitionError):
        ticket.reissue_barcode("A")  # revoked once, revoked forever
    ticket.cancel()
    with _pytest.raises(StateTransitionError):
        ticket.reissue_barcode("C")
    assert ticket.barcode is None and ticket.revoked_barcodes == ("A", "B")
