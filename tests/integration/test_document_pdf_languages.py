"""Invoice, credit-note, sales-report and dashboard PDFs in the reader's language, read back
with pypdf: dates in that language's words (computed here with babel, not by the renderer's
tables), report titles, headers and "page N of M" in its words on every page, and the same
figures as the data views."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pytest
from babel.dates import format_date

from support.agency import Agency, set_up_agency
from support.corporate import set_up_corporate
from ticketdomain import (
    CancelOrder,
    CreateStructure,
    DistributeToSubStructure,
    IssueInvoice,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    SetMyLanguage,
    SetOrganizationLanguage,
    ViewDashboard,
    ViewSalesReport,
)
from ticketdomain.services.commands import (
    RenderDashboard,
    RenderInvoice,
    RenderSalesReport,
    SetOrganizationBillingDetails,
)
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_fpdf import FpdfDocumentRenderer

#: babel's locale whose "long" date is the one the documents print ("5 March 2026")
LOCALES = {"en": "en_GB", "fr": "fr", "de": "de", "it": "it"}

#: what each language calls the invoice's dates, and the words before the due date in the
#: payment sentence
INVOICE_WORDS = {
    "en": ("Issue date", "Due date", "by"),
    "fr": ("Date d'émission", "Échéance", "d'ici au"),
    "de": ("Rechnungsdatum", "Fällig am", "bis"),
    "it": ("Data di emissione", "Scadenza", "entro il"),
}

#: a report's words per language: titles, a page footer, the sales table's first headers and
#: the total row's label
REPORT_WORDS = {
    "en": {
        "sales": "Sales report",
        "dashboard": "Dashboard",
        "page": "Page {page} of {pages}",
        "header": "Placed at Order Relay",
        "total": "Total",
    },
    "fr": {
        "sales": "Rapport des ventes",
        "dashboard": "Tableau de bord",
        "page": "Page {page} sur {pages}",
        "header": "Passée le Commande Relais",
        "total": "Total",
    },
    "de": {
        "sales": "Verkaufsbericht",
        "dashboard": "Übersicht",
        "page": "Seite {page} von {pages}",
        "header": "Bestellt am Bestellung Vermittler",
        "total": "Total",
    },
    "it": {
        "sales": "Rapporto delle vendite",
        "dashboard": "Cruscotto",
        "page": "Pagina {page} di {pages}",
        "header": "Effettuato il Ordine Intermediario",
        "total": "Totale",
    },
}


def pages_of(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def written(day: date, language: str) -> str:
    return format_date(day, "long", locale=LOCALES[language])


@pytest.fixture
def agency() -> Agency:
    return set_up_agency(build_fake_world(document_renderer=FpdfDocumentRenderer()))


def test_babel_writes_the_dates_as_this_test_expects() -> None:
    # The reference the tests below compare with, pinned on the examples of the documents.
    day = date(2026, 3, 5)
    assert [written(day, lang) for lang in ("en", "fr", "de", "it")] == [
        "5 March 2026",
        "5 mars 2026",
        "5. März 2026",
        "5 marzo 2026",
    ]


@pytest.mark.parametrize("language", ["fr", "de", "it", "en"])
def test_the_invoice_and_credit_note_print_their_dates_in_the_language(
    agency: Agency, language: str
) -> None:
    d = agency.world.domain
    d.handle(
        SetOrganizationBillingDetails(
            agency.operator,
            agency.organization_id,
            "Avenue du Théâtre",
            "12",
            "1003",
            "Lausanne",
            "CH",
            "CHE-123.456.789 TVA",
            "CH44 3199 9123 0008 8901 2",
            30,
        )
    )
    for _ in range(2):
        d.sales.place_order_for_structure(
            PlaceOrderForStructure(
                agency.operator,
                agency.phone_sales_point_id,
                agency.hotel_id,
                (LineRequest(agency.performance_id, agency.full_id, 2),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )
    issued = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert issued.due_on is not None
    issue_day, due_day = issued.issued_at.date(), issued.due_on
    issue_label, due_label, by = INVOICE_WORDS[language]
    text = " ".join(pages_of(d.handle(RenderInvoice(agency.operator, issued.id, language)).content))
    assert f"{issue_label} {written(issue_day, language)}" in text
    assert f"{due_label} {written(due_day, language)}" in text
    pay = f"{issued.total.currency} {issued.total.amount:.2f} {by} {written(due_day, language)}"
    assert pay in text
    # Not ISO any more (the order lines keep the performance's ISO date).
    assert f"{issue_label} {issue_day.isoformat()}" not in text
    assert f"{due_label} {due_day.isoformat()}" not in text

    world = agency.world
    world.clock.advance(timedelta(days=3))
    note = d.accounts.cancel_order(CancelOrder(agency.operator, issued.order_ids[0])).credit_note
    assert note is not None
    note_day = note.issued_at.date()
    assert note_day != issue_day
    text = " ".join(pages_of(d.handle(RenderInvoice(agency.operator, note.id, language)).content))
    assert f"{issue_label} {written(note_day, language)}" in text
    assert f"{issue_label} {note_day.isoformat()}" not in text


@pytest.mark.parametrize("language", ["fr", "de", "it"])
def test_the_sales_report_is_in_the_relays_language(agency: Agency, language: str) -> None:
    d = agency.world.domain
    d.handle(SetMyLanguage(agency.alice, language))
    for index in range(45):
        agency.world.clock.advance(timedelta(minutes=7))
        d.sales.place_order(
            PlaceOrder(
                agency.alice if index % 3 else agency.bob,
                (LineRequest(agency.later_performance_id, agency.agency_tariff_id, 1 + index % 2),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )
    report = d.reports.sales_report(ViewSalesReport(agency.alice))
    words = REPORT_WORDS[language]
    pages = pages_of(d.handle(RenderSalesReport(agency.alice)).content)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert page.startswith(words["sales"])
        assert words["page"].format(page=number, pages=len(pages)) in page
        assert "Page 1 of" not in page
    assert sum(words["header"] in page for page in pages) >= 2
    text = " ".join(pages)
    for row in report.rows:
        assert row.order_id in text
        assert row.placed_at.strftime("%Y-%m-%d %H:%M") in text
    for total in (*report.by_tariff, *report.by_relay):
        assert f"{total.key} {total.quantity} {total.amount.amount:.2f}" in text
    assert f"{words['total']} {report.total.quantity} {report.total.amount.amount:.2f}" in text

    # Bob chose no language: his report is in the organization's.
    d.handle(SetOrganizationLanguage(agency.operator, agency.organization_id, "de"))
    bob = pages_of(d.handle(RenderSalesReport(agency.bob)).content)
    assert bob[0].startswith(REPORT_WORDS["de"]["sales"])
    assert REPORT_WORDS["de"]["page"].format(page=1, pages=len(bob)) in bob[0]


@pytest.mark.parametrize("language", ["fr", "de", "it"])
def test_the_dashboard_is_in_the_relays_language(language: str) -> None:
    world = build_fake_world(document_renderer=FpdfDocumentRenderer())
    corporate = set_up_corporate(world)
    d = world.domain
    d.handle(SetMyLanguage(corporate.nina, language))
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
    words = REPORT_WORDS[language]
    pages = pages_of(d.handle(RenderDashboard(corporate.nina)).content)
    for number, page in enumerate(pages, start=1):
        assert page.startswith(words["dashboard"])
        assert words["page"].format(page=number, pages=len(pages)) in page
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
    assert f"{words['total']} " + " ".join(str(n) for n in counts) in text
    for product in board.products:
        assert product.product in text
    assert t.to_sub_structures
    for item in t.to_sub_structures:
        assert f"{item.structure} {item.count}" in text
