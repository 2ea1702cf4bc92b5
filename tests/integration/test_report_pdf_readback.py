"""Sales report and dashboard PDFs read back with pypdf: the figures of the data views, the
header and "Page N of M" on every page."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdf

from support.agency import set_up_agency
from support.corporate import set_up_corporate
from ticketdomain import (
    CreateStructure,
    DistributeToSubStructure,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    ViewDashboard,
    ViewSalesReport,
)
from ticketdomain.services.commands import RenderDashboard, RenderSalesReport
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_fpdf import FpdfDocumentRenderer


def pages_of(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def test_the_sales_report_pdf_has_every_row_and_total_and_a_header_on_every_page() -> None:
    world = build_fake_world(document_renderer=FpdfDocumentRenderer())
    agency = set_up_agency(world)
    d = world.domain
    for index in range(45):
        world.clock.advance(timedelta(minutes=7))
        d.sales.place_order(
            PlaceOrder(
                agency.alice if index % 3 else agency.bob,
                (LineRequest(agency.later_performance_id, agency.agency_tariff_id, 1 + index % 2),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )
    report = d.reports.sales_report(ViewSalesReport(agency.alice))
    rendered = d.handle(RenderSalesReport(agency.alice))
    assert rendered.media_type == "application/pdf"
    pages = pages_of(rendered.content)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert page.startswith("Sales report")
        assert f"Page {number} of {len(pages)}" in page
    # The table's header row is printed again on the pages it runs onto.
    assert sum("Placed at Order Relay" in page for page in pages) >= 2
    text = " ".join(pages)
    for row in report.rows:
        assert row.order_id in text
    for total in (*report.by_tariff, *report.by_relay):
        assert f"{total.key} {total.quantity} {total.amount.amount:.2f}" in text
    assert f"Total {report.total.quantity} {report.total.amount.amount:.2f}" in text


def test_the_dashboard_pdf_has_the_counts_of_the_view() -> None:
    world = build_fake_world(document_renderer=FpdfDocumentRenderer())
    corporate = set_up_corporate(world)
    d = world.domain
    youth = d.contacts.create_structure(
        CreateStructure(corporate.operator, "Youth", parent_id=corporate.club_id)
    )
    corporate.buy(6)
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(
            corporate.nina, corporate.performance_id, corporate.product_id, 4, corporate.club_id
        )
    )
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(
            corporate.sam, corporate.performance_id, corporate.product_id, 1, youth.id
        )
    )
    board = d.distribution.view_dashboard(ViewDashboard(corporate.nina))
    pages = pages_of(d.handle(RenderDashboard(corporate.nina)).content)
    for number, page in enumerate(pages, start=1):
        assert page.startswith("Dashboard")
        assert f"Page {number} of {len(pages)}" in page
    text = " ".join(pages)
    t = board.total
    counts = (
        t.bought,
        t.received,
        t.in_stock,
        t.distributed,
        t.to_individuals,
        t.handed_over,
        sum(item.count for item in t.to_sub_structures),
        t.printed,
        t.controlled,
        t.cancelled,
    )
    assert "Total " + " ".join(str(n) for n in counts) in text
    for product in board.products:
        assert product.product in text
    for item in t.to_sub_structures:
        assert f"{item.structure} {item.count}" in text
