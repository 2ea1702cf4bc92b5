"""Every CSV the library writes goes through the one writer: no cell a spreadsheet would run.

Names that look like formulas (a relay, a purchasing contact, a structure, a beneficiary, an
activity, a venue, a product, a tariff) are sent through every export: the sales report, the
stock sheet and the beneficiaries export.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import attrs

from support.agency import Agency, chf, relay_session
from support.corporate import Corporate
from ticketdomain import (
    AuthorizeStructure,
    ContactDetails,
    ContactRole,
    CreateActivity,
    CreateIndividual,
    CreatePerformance,
    CreateProduct,
    CreateStructure,
    CreateTariff,
    DistributeToMember,
    ExportBeneficiaries,
    ExportStock,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    ProductConditions,
    SetCatalogProfile,
    TicketDomain,
    ViewSalesReport,
)
from ticketdomain.core.spreadsheets import FORMULA_STARTS, write_csv
from ticketdomain.testing.domain import FakeWorld

RELAY = ('=HYPERLINK("http://evil.example","click")', "@SUM(A1:A9)")
CONTACT = ContactDetails("+41 22 000", "-2+3", "eve@example.org")
STRUCTURE = "=cmd|' /C calc'!A0"
ACTIVITY = "@Carmen"
VENUE = "+Grande salle"
PRODUCT = "-Stalls"
TARIFF = "=1+1"
BENEFICIARY = ContactDetails("=HYPERLINK(1)", "@Favre", "=lea@example.org")


def assert_safe(text: str, *names: str) -> None:
    """No cell starts a formula, and each of ``names`` is there, neutralized."""
    found = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    assert [cell for cell in found if cell.startswith(FORMULA_STARTS)] == []
    for name in names:
        assert any(name in cell for cell in found), name


@attrs.frozen
class Evil:
    activity_id: str
    performance_id: str
    product_id: str
    tariff_id: str


def evil_catalog(world: FakeWorld, op: str, organization_id: str) -> Evil:
    """An activity, performance, product and tariff named like formulas."""
    d: TicketDomain = world.domain
    activity = d.setup.create_activity(CreateActivity(op, organization_id, ACTIVITY))
    performance = d.setup.create_performance(
        CreatePerformance(op, activity.id, world.clock.now() + timedelta(days=20), VENUE, 50)
    )
    product = d.setup.create_product(CreateProduct(op, activity.id, PRODUCT, Decimal("0.081")))
    tariff = d.setup.create_tariff(CreateTariff(op, product.id, TARIFF, chf("10.00")))
    return Evil(activity.id, performance.id, product.id, tariff.id)


def test_the_sales_report(agency: Agency) -> None:
    d, op = agency.world.domain, agency.operator
    evil = evil_catalog(agency.world, op, agency.organization_id)
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            op,
            agency.organization_id,
            frozenset({agency.activity_id, evil.activity_id}),
            (ProductConditions(agency.product_id), ProductConditions(evil.product_id)),
            channel_id=agency.agency_channel_id,
        )
    )
    relay = d.contacts.create_individual(
        CreateIndividual(op, *RELAY, "mallory@beau-rivage.ch", agency.hotel_id, ContactRole.RELAY)
    )
    session = relay_session(d, relay.id, agency.sales_point_id)
    d.sales.place_order(
        PlaceOrder(
            session,
            (LineRequest(evil.performance_id, evil.tariff_id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
            purchasing_contact=CONTACT,
        )
    )
    text = d.reports.sales_report(ViewSalesReport(session)).to_csv()
    # The performance column starts with the activity's name; the tariff is a cell of its own.
    assert_safe(text, *RELAY, CONTACT.first_name, ACTIVITY, TARIFF)


def test_the_stock_sheet_and_the_beneficiaries_export(corporate: Corporate) -> None:
    c = corporate
    d, op = c.world.domain, c.operator
    evil = evil_catalog(c.world, op, c.organization_id)
    structure = d.contacts.create_structure(CreateStructure(op, STRUCTURE))
    d.setup.authorize_structure(AuthorizeStructure(op, c.sales_point_id, structure.id))
    relay = d.contacts.create_individual(
        CreateIndividual(op, *RELAY, "mallory@example.org", structure.id, ContactRole.RELAY)
    )
    session = relay_session(d, relay.id, c.sales_point_id)
    d.sales.place_order(
        PlaceOrder(
            session,
            (LineRequest(evil.performance_id, evil.tariff_id, 3),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    sheet = d.distribution.export_stock(ExportStock(session, evil.performance_id)).content
    assert_safe(sheet, ACTIVITY, VENUE, PRODUCT)
    d.distribution.distribute_to_member(
        DistributeToMember(session, evil.performance_id, evil.product_id, 1, member=BENEFICIARY)
    )
    export = d.reports.export_beneficiaries(ExportBeneficiaries(op, c.organization_id))
    assert_safe(
        export.to_csv(),
        BENEFICIARY.first_name,
        BENEFICIARY.last_name,
        BENEFICIARY.email,
        STRUCTURE,
        ACTIVITY,
    )


def test_the_writer_neutralizes_text_and_keeps_numbers() -> None:
    text = write_csv(
        ("name", "amount", "count"),
        [("\tTAB", Decimal("-12.50"), -3), ("\rCR", Decimal("1.00"), 0), ("plain", None, 1)],
    )
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["name", "amount", "count"],
        ["'\tTAB", "-12.50", "-3"],
        ["'\rCR", "1.00", "0"],
        ["plain", "", "1"],
    ]
