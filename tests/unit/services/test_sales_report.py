"""The agency's sales report from its own history."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from support.agency import Agency, chf
from support.state import refused
from ticketdomain import (
    CancelOrder,
    CardPayment,
    ContactDetails,
    Function,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    SetSalesPointFunctions,
    ViewSalesReport,
)
from ticketdomain.core.errors import FunctionDisabledError, PeriodInvalidError


def test_the_report_lists_the_agencys_own_sales_with_totals(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    start = w.clock.now()
    d.sales.place_order(
        PlaceOrder(
            agency.alice,
            (
                LineRequest(agency.performance_id, agency.agency_tariff_id, 2),
                LineRequest(agency.performance_id, agency.full_id, 1),
            ),
            PaymentMethod.HOLDING_ACCOUNT,
            purchasing_contact=ContactDetails("Claire", "Dubois", "claire@example.org"),
        )
    )
    w.clock.advance(timedelta(days=1))
    d.sales.place_order(
        PlaceOrder(
            agency.bob,
            (LineRequest(agency.later_performance_id, agency.agency_tariff_id, 4),),
            PaymentMethod.CARD,
            card=CardPayment("tok_visa"),
        )
    )
    cancelled = d.sales.place_order(
        PlaceOrder(
            agency.bob,
            (LineRequest(agency.later_performance_id, agency.agency_tariff_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    d.accounts.cancel_order(CancelOrder(agency.operator, cancelled.id))
    # another agency's sale never shows
    d.sales.place_order(
        PlaceOrder(
            agency.carol,
            (LineRequest(agency.performance_id, agency.full_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    report = d.reports.sales_report(ViewSalesReport(agency.alice))
    assert len(report.rows) == 4
    assert {row.relay for row in report.rows} == {"Alice Martin", "Bob Rochat"}
    assert report.rows[0].purchasing_contact == "Claire Dubois"
    assert report.total.quantity == 7
    assert report.total.amount == chf("470.00")  # 130 + 80 + 260; the cancelled one is left out
    assert {t.key: t.quantity for t in report.by_relay} == {"Alice Martin": 3, "Bob Rochat": 4}
    assert {t.key: t.amount for t in report.by_tariff} == {
        "Agency": chf("390.00"),
        "Full": chf("80.00"),
    }
    assert len(report.by_performance) == 2

    first_day = d.reports.sales_report(
        ViewSalesReport(agency.alice, start, start + timedelta(days=1))
    )
    assert first_day.total.quantity == 3

    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert len(rows) == 4
    assert rows[0]["amount"] == "130.00" and rows[0]["currency"] == "CHF"
    assert rows[-1]["state"] == "cancelled"


def test_the_report_needs_its_function_and_a_valid_period(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    now = w.clock.now()
    with refused(w, PeriodInvalidError):
        d.reports.sales_report(ViewSalesReport(agency.alice, now, now))
    with refused(w, PeriodInvalidError):
        d.reports.sales_report(ViewSalesReport(agency.alice, now.replace(tzinfo=None)))
    d.setup.set_sales_point_functions(
        SetSalesPointFunctions(
            agency.operator, agency.sales_point_id, frozenset({Function.OPTIONS})
        )
    )
    with refused(w, FunctionDisabledError):
        d.reports.sales_report(ViewSalesReport(agency.alice))
