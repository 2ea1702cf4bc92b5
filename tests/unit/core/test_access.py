"""What a gate answers: every reason to reject a barcode, and which reason wins."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.access import ScannedTicket, ScanRejection, admission, admit
from ticketdomain.core.accounts import HoldingAccount, OpenInvoice
from ticketdomain.core.money import Money
from ticketdomain.core.sales import Ticket, TicketState

PERFORMANCE = "perf-1"
OTHER = "perf-2"
LIVE = "BC000002"
OLD = "BC000001"  # replaced by LIVE (a reprint or a reclaim)


def ticket(state: TicketState = TicketState.PRINTED) -> Ticket:
    made = Ticket(
        id="ticket-1",
        organization_id="org-1",
        order_id="order-1",
        order_line_id="line-1",
        sales_point_id="sp-1",
        performance_id=PERFORMANCE,
        product_id="stalls",
        tariff_id="tariff-1",
        structure_id="wc",
        stock_structure_id="wc",
        barcode=LIVE,
        state=state,
        revoked_barcodes=(OLD,),
    )
    if state is TicketState.CONTROLLED:
        made.controlled_at = datetime(2026, 2, 1, 19, 30, tzinfo=UTC)
        made.controlled_gate = "North gate"
    if state is TicketState.CANCELLED:
        made.revoked_barcodes = (OLD, LIVE)
        made.barcode = None
    return made


def test_a_printed_ticket_with_its_live_barcode_enters_its_performance() -> None:
    assert admission(ticket(), LIVE, PERFORMANCE, payable=True) is None


#: one scan per reason, where only that reason applies
REJECTIONS = [
    (None, LIVE, PERFORMANCE, True, ScanRejection.UNKNOWN),
    (ticket(TicketState.CANCELLED), LIVE, PERFORMANCE, True, ScanRejection.CANCELLED),
    (ticket(), OLD, PERFORMANCE, True, ScanRejection.REVOKED),
    (ticket(), LIVE, OTHER, True, ScanRejection.WRONG_PERFORMANCE),
    (ticket(TicketState.CONTROLLED), LIVE, PERFORMANCE, True, ScanRejection.ALREADY_CONTROLLED),
    (ticket(TicketState.BOUGHT), LIVE, PERFORMANCE, True, ScanRejection.NOT_PRINTED),
    (ticket(TicketState.DISTRIBUTED), LIVE, PERFORMANCE, True, ScanRejection.NOT_PRINTED),
    (ticket(), LIVE, PERFORMANCE, False, ScanRejection.NOT_PAYABLE),
]


@pytest.mark.parametrize(
    ("scanned", "barcode", "performance", "payable", "reason"),
    REJECTIONS,
    ids=[f"{row[-1].value}-{n}" for n, row in enumerate(REJECTIONS)],
)
def test_every_reason_to_reject(
    scanned: Ticket | None, barcode: str, performance: str, payable: bool, reason: ScanRejection
) -> None:
    assert admission(scanned, barcode, performance, payable) is reason


def test_every_reason_is_tested() -> None:
    assert {row[-1] for row in REJECTIONS} == set(ScanRejection)


# --- precedence: the first reason that applies is given ---------------------------------------


def test_unknown_wins_whatever_else_is_asked() -> None:
    assert admission(None, "", OTHER, payable=False) is ScanRejection.UNKNOWN


def test_a_cancelled_ticket_says_cancelled_for_its_old_barcodes_too() -> None:
    cancelled = ticket(TicketState.CANCELLED)
    for barcode in (OLD, LIVE):
        assert admission(cancelled, barcode, OTHER, payable=False) is ScanRejection.CANCELLED


def test_a_revoked_barcode_is_revoked_before_anything_about_its_ticket() -> None:
    for state in (TicketState.CONTROLLED, TicketState.BOUGHT, TicketState.PRINTED):
        assert admission(ticket(state), OLD, OTHER, payable=False) is ScanRejection.REVOKED


def test_a_wrong_performance_is_said_before_the_ticket_s_state_or_payment() -> None:
    for state in (TicketState.CONTROLLED, TicketState.DISTRIBUTED, TicketState.PRINTED):
        assert admission(ticket(state), LIVE, OTHER, payable=False) is (
            ScanRejection.WRONG_PERFORMANCE
        )


def test_already_controlled_is_said_before_payment() -> None:
    assert admission(ticket(TicketState.CONTROLLED), LIVE, PERFORMANCE, payable=False) is (
        ScanRejection.ALREADY_CONTROLLED
    )


def test_not_printed_is_said_before_payment() -> None:
    assert admission(ticket(TicketState.BOUGHT), LIVE, PERFORMANCE, payable=False) is (
        ScanRejection.NOT_PRINTED
    )


#: the documented precedence
_ORDER = (
    ScanRejection.UNKNOWN,
    ScanRejection.CANCELLED,
    ScanRejection.REVOKED,
    ScanRejection.WRONG_PERFORMANCE,
    ScanRejection.ALREADY_CONTROLLED,
    ScanRejection.NOT_PRINTED,
    ScanRejection.NOT_PAYABLE,
)


@given(
    exists=st.booleans(),
    state=st.sampled_from(TicketState),
    barcode=st.sampled_from([LIVE, OLD, "BC999999", ""]),
    performance=st.sampled_from([PERFORMANCE, OTHER]),
    payable=st.booleans(),
)
def test_for_every_scan_the_first_reason_that_applies_is_given(
    exists: bool, state: TicketState, barcode: str, performance: str, payable: bool
) -> None:
    scanned = ticket(state) if exists else None
    applies = {
        ScanRejection.UNKNOWN: scanned is None,
        ScanRejection.CANCELLED: scanned is not None and scanned.state is TicketState.CANCELLED,
        ScanRejection.REVOKED: scanned is not None and scanned.barcode != barcode,
        ScanRejection.WRONG_PERFORMANCE: performance != PERFORMANCE,
        ScanRejection.ALREADY_CONTROLLED: state is TicketState.CONTROLLED,
        ScanRejection.NOT_PRINTED: state is not TicketState.PRINTED,
        ScanRejection.NOT_PAYABLE: not payable,
    }
    assert set(applies) == set(_ORDER) == set(ScanRejection)
    expected = next((reason for reason in _ORDER if applies[reason]), None)
    assert admission(scanned, barcode, performance, payable) is expected


@given(
    state=st.sampled_from(TicketState),
    barcode=st.sampled_from([LIVE, OLD, "BC999999"]),
    performance=st.sampled_from([PERFORMANCE, OTHER]),
    payable=st.booleans(),
)
def test_only_a_printed_payable_ticket_with_its_live_barcode_at_its_performance_enters(
    state: TicketState, barcode: str, performance: str, payable: bool
) -> None:
    admitted = admission(ticket(state), barcode, performance, payable) is None
    assert admitted == (
        state is TicketState.PRINTED and barcode == LIVE and performance == PERFORMANCE and payable
    )


@given(st.sampled_from(TicketState), st.sampled_from([PERFORMANCE, OTHER]), st.booleans())
def test_a_revoked_barcode_never_enters(
    state: TicketState, performance: str, payable: bool
) -> None:
    assert admission(ticket(state), OLD, performance, payable) is not None


def test_a_ticket_once_controlled_never_enters_again() -> None:
    scanned = ticket()
    assert admission(scanned, LIVE, PERFORMANCE, payable=True) is None
    scanned.control(datetime(2026, 2, 1, 19, 30, tzinfo=UTC), "North gate")
    assert admission(scanned, LIVE, PERFORMANCE, payable=True) is ScanRejection.ALREADY_CONTROLLED


# --- the whole decision, from what the gate loads: the organization and the payment ---------

INVOICE = "inv-1"


def account(remaining: str | None) -> HoldingAccount | None:
    """The buyer's holding account, with ``remaining`` still owed on the invoice (``None``: no
    account)."""
    if remaining is None:
        return None
    owed = Money(Decimal(remaining), "CHF")
    open_invoices = [] if owed.is_zero else [OpenInvoice(INVOICE, 1, owed)]
    return HoldingAccount("acc-1", "org-1", "wc", "CHF", open_invoices=open_invoices)


def scanned_ticket(
    state: TicketState = TicketState.PRINTED,
    admit_before_settlement: bool = True,
    on_account: bool = True,
    invoice_id: str | None = INVOICE,
) -> ScannedTicket:
    return ScannedTicket(ticket(state), "Stalls", admit_before_settlement, on_account, invoice_id)


def test_another_organization_s_ticket_is_unknown_at_the_gate() -> None:
    assert admit(scanned_ticket(), "org-1", LIVE, PERFORMANCE) is None
    assert admit(scanned_ticket(), "org-2", LIVE, PERFORMANCE) is ScanRejection.UNKNOWN
    assert admit(None, "org-1", LIVE, PERFORMANCE) is ScanRejection.UNKNOWN


def test_a_strict_sales_point_admits_an_order_on_account_once_its_invoice_is_covered() -> None:
    strict = scanned_ticket(admit_before_settlement=False)
    assert strict.settlement_matters
    assert admit(strict, "org-1", LIVE, PERFORMANCE, account("0")) is None
    for unpaid in (account("0.05"), None):
        assert admit(strict, "org-1", LIVE, PERFORMANCE, unpaid) is ScanRejection.NOT_PAYABLE
    uninvoiced = scanned_ticket(admit_before_settlement=False, invoice_id=None)
    assert not uninvoiced.settlement_matters
    assert admit(uninvoiced, "org-1", LIVE, PERFORMANCE) is ScanRejection.NOT_PAYABLE
    by_card = scanned_ticket(admit_before_settlement=False, on_account=False, invoice_id=None)
    assert admit(by_card, "org-1", LIVE, PERFORMANCE) is None


facts = st.builds(
    scanned_ticket,
    state=st.sampled_from(TicketState),
    admit_before_settlement=st.booleans(),
    on_account=st.booleans(),
    invoice_id=st.sampled_from([INVOICE, None]),
)
accounts = st.sampled_from([None, "0", "0.05", "120.00"]).map(account)


@given(
    scanned=st.none() | facts,
    organization=st.sampled_from(["org-1", "org-2"]),
    barcode=st.sampled_from([LIVE, OLD, "BC999999", ""]),
    performance=st.sampled_from([PERFORMANCE, OTHER]),
    held=accounts,
)
def test_admit_is_admission_of_the_organization_s_ticket_with_its_payment(
    scanned: ScannedTicket | None,
    organization: str,
    barcode: str,
    performance: str,
    held: HoldingAccount | None,
) -> None:
    known = scanned if scanned and scanned.ticket.organization_id == organization else None
    payable = True
    if known is not None and not known.admit_before_settlement and known.on_account:
        # As services._tickets.is_settled: the order's invoice covered on the account.
        invoice = known.invoice_id
        payable = invoice is not None and held is not None and held.remaining_on(invoice).is_zero
    expected = admission(known.ticket if known else None, barcode, performance, payable)
    assert admit(scanned, organization, barcode, performance, held) is expected


@given(scanned=facts, held=accounts)
def test_the_account_is_needed_only_when_settlement_matters(
    scanned: ScannedTicket, held: HoldingAccount | None
) -> None:
    """The gate reads the holding account only when ``settlement_matters``: otherwise the
    answer is the same whatever the account says."""
    if not scanned.settlement_matters:
        assert scanned.payable(held) is scanned.payable(None)
        assert admit(scanned, "org-1", LIVE, PERFORMANCE, held) is (
            admit(scanned, "org-1", LIVE, PERFORMANCE)
        )
