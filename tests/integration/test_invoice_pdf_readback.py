"""Invoice and credit note PDFs read back as a person (pypdf text) and a bank's scanner would
(pypdfium2 raster, zxing-cpp decoder): every figure compared with what the domain computed."""

from __future__ import annotations

import io
from decimal import Decimal

import attrs
import pypdf
import pypdfium2
import pytest
from babel.dates import format_date
from zxingcpp import read_barcodes

from support.agency import Agency, chf, set_up_agency
from ticketdomain import (
    CancelOrder,
    CreateProduct,
    CreateTariff,
    DispatchMail,
    IssueInvoice,
    LineRequest,
    Money,
    PaymentMethod,
    PlaceOrderForStructure,
    RecordPayment,
    ViewHoldingAccount,
)
from ticketdomain.services.commands import (
    RenderInvoice,
    SetOrganizationBillingDetails,
    SetStructureBillingDetails,
)
from ticketdomain.services.results import InvoiceView
from ticketdomain.testing.documents import an_invoice_document
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_fpdf import FpdfDocumentRenderer
from ticketdomain_fpdf._qr import qr_matrix
from ticketdomain_fpdf._qrbill import QR_SIZE

QR_IBAN = "CH44 3199 9123 0008 8901 2"
PLAIN_IBAN = "CH93 0076 2011 6238 5295 7"
#: the page is rendered at this many pixels per PDF point
SCALE = 4.0


def text_of(pdf: bytes) -> list[str]:
    """Each page's text as pypdf extracts it, spaces collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def payloads(pdf: bytes, page: int = 0) -> list[str]:
    """The QR codes decoded from a raster of ``page``, as a bank's scanner reads the slip."""
    document = pypdfium2.PdfDocument(pdf)
    image = document[page].render(scale=SCALE).to_pil()
    return [found.text for found in read_barcodes(image)]


def spc_fields(payload: str) -> dict[str, str]:
    """The fields of a Swiss QR-bill payload (SPC, version 0200) by their positions."""
    lines = payload.replace("\r\n", "\n").split("\n")
    assert lines[0] == "SPC" and lines[1] == "0200" and lines[2] == "1"
    return {
        "iban": lines[3],
        "creditor": lines[5],
        "amount": lines[18],
        "currency": lines[19],
        "debtor": lines[21],
        "reference_type": lines[27],
        "reference": lines[28],
        "message": lines[29],
        "trailer": lines[30],
    }


def amount(value: object) -> str:
    assert isinstance(value, Decimal)
    return f"{value:.2f}"


@pytest.fixture
def agency() -> Agency:
    world = build_fake_world(document_renderer=FpdfDocumentRenderer())
    return set_up_agency(world)


def set_billing(agency: Agency, iban: str) -> None:
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
            iban,
            30,
        )
    )
    d.handle(
        SetStructureBillingDetails(
            agency.operator,
            agency.hotel_id,
            "Place du Port",
            "17-19",
            "1006",
            "Lausanne",
            "CH",
            "compta@beau-rivage.ch",
        )
    )


def invoice_with_two_vat_rates(agency: Agency, orders: int = 2) -> InvoiceView:
    """Seats at 8.1 % and programmes at 2.6 %, ordered by phone for the hotel."""
    d = agency.world.domain
    programme = d.setup.create_product(
        CreateProduct(agency.operator, agency.activity_id, "Programme", Decimal("0.026"))
    )
    booklet = d.setup.create_tariff(
        CreateTariff(agency.operator, programme.id, "Booklet", chf("12.50"))
    )
    for index in range(orders):
        d.sales.place_order_for_structure(
            PlaceOrderForStructure(
                agency.operator,
                agency.phone_sales_point_id,
                agency.hotel_id,
                (
                    LineRequest(agency.performance_id, agency.full_id, 1 + index % 2),
                    LineRequest(agency.performance_id, booklet.id, 1),
                ),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )
    return d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )


def test_the_invoice_shows_its_number_dates_every_vat_line_and_the_totals(agency: Agency) -> None:
    set_billing(agency, QR_IBAN)
    issued = invoice_with_two_vat_rates(agency)
    assert len(issued.vat_breakdown) == 2
    pdf = agency.world.domain.handle(RenderInvoice(agency.operator, issued.id)).content
    pages = text_of(pdf)
    text = " ".join(pages)
    assert f"Invoice {issued.number}" in pages[0]
    assert f"Page 1 of {len(pages)}" in pages[0]
    assert issued.due_on is not None
    # Dates in words, as an English reader writes them ("5 March 2026").
    issue_day = format_date(issued.issued_at.date(), "long", locale="en_GB")
    assert f"Issue date {issue_day}" in text
    assert f"Due date {format_date(issued.due_on, 'long', locale='en_GB')}" in text
    assert "Payment terms 30 days net" in text
    for row in issued.vat_breakdown:
        rate = f"{(Decimal(row.vat_rate) * 100).normalize():f} %"
        assert (
            f"{rate} {amount(row.net.amount)} {amount(row.vat.amount)} {amount(row.gross.amount)}"
            in text
        )
    net = sum((row.net.amount for row in issued.vat_breakdown), Decimal(0))
    vat = sum((row.vat.amount for row in issued.vat_breakdown), Decimal(0))
    assert f"Total CHF {amount(net)} {amount(vat)} {amount(issued.total.amount)}" in text
    for line in issued.lines:
        assert line.order_id in text
        assert amount(line.total.amount) in text
    assert "Hotel Beau-Rivage" in text and "CHE-123.456.789 TVA" in text


def test_the_qr_bill_decodes_to_the_invoices_amount_iban_and_reference(agency: Agency) -> None:
    set_billing(agency, QR_IBAN)
    issued = invoice_with_two_vat_rates(agency)
    pdf = agency.world.domain.handle(RenderInvoice(agency.operator, issued.id)).content
    found = payloads(pdf)
    assert len(found) == 1
    fields = spc_fields(found[0])
    assert fields["iban"] == "CH4431999123000889012"
    assert Decimal(fields["amount"]) == issued.total.amount
    assert fields["currency"] == issued.total.currency
    assert fields["reference_type"] == "QRR"
    assert fields["reference"] == issued.reference
    assert fields["creditor"] == "Opera de Lausanne"
    assert fields["debtor"] == "Hotel Beau-Rivage"
    assert fields["message"] == f"Invoice {issued.number}"
    assert fields["trailer"] == "EPD"
    # Paying the decoded reference settles the invoice.
    d = agency.world.domain
    d.accounts.record_payment(
        RecordPayment(
            agency.operator,
            agency.organization_id,
            agency.hotel_id,
            issued.total,
            "camt.054",
            invoice_reference=fields["reference"],
        )
    )
    account = d.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
    )
    assert account.outstanding.is_zero


def test_qr_modules_are_at_least_three_pixels_at_the_scale_scanned(agency: Agency) -> None:
    set_billing(agency, QR_IBAN)
    issued = invoice_with_two_vat_rates(agency)
    pdf = agency.world.domain.handle(RenderInvoice(agency.operator, issued.id)).content
    (payload,) = payloads(pdf)
    # The code drawn is the one qrcode makes of the payload (error correction M).
    modules = len(qr_matrix(payload.encode("utf-8")))
    pixels_per_mm = SCALE * 72 / 25.4
    assert QR_SIZE / modules * pixels_per_mm >= 3


def test_a_plain_iban_gets_a_creditor_reference_on_its_qr_bill(agency: Agency) -> None:
    set_billing(agency, PLAIN_IBAN)
    issued = invoice_with_two_vat_rates(agency, orders=1)
    pdf = agency.world.domain.handle(RenderInvoice(agency.operator, issued.id)).content
    fields = spc_fields(payloads(pdf)[0])
    assert fields["iban"] == "CH9300762011623852957"
    assert fields["reference_type"] == "SCOR" and fields["reference"] == issued.reference
    assert Decimal(fields["amount"]) == issued.total.amount


def test_a_long_invoice_keeps_the_payment_part_on_its_first_page(agency: Agency) -> None:
    set_billing(agency, QR_IBAN)
    issued = invoice_with_two_vat_rates(agency, orders=12)
    pdf = agency.world.domain.handle(RenderInvoice(agency.operator, issued.id)).content
    pages = text_of(pdf)
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Invoice {issued.number} · Page {number} of {len(pages)}" in page
    assert len(payloads(pdf, 0)) == 1
    assert payloads(pdf, len(pages) - 1) == []
    assert amount(issued.total.amount) in pages[-1]


def test_the_credit_note_names_the_invoice_it_negates_and_has_no_qr_bill(agency: Agency) -> None:
    set_billing(agency, QR_IBAN)
    issued = invoice_with_two_vat_rates(agency)
    d = agency.world.domain
    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, issued.order_ids[0]))
    note = cancelled.credit_note
    assert note is not None
    pdf = d.handle(RenderInvoice(agency.operator, note.id)).content
    text = " ".join(text_of(pdf))
    assert f"Credit note {note.number}" in text
    assert f"Credit note for invoice {issued.number}" in text
    assert f"{amount(note.total.amount)}" in text and note.total.amount < 0
    for row in note.vat_breakdown:
        assert (
            f"{amount(row.net.amount)} {amount(row.vat.amount)} {amount(row.gross.amount)}" in text
        )
    assert payloads(pdf) == []
    german = " ".join(text_of(d.handle(RenderInvoice(agency.operator, note.id, "de")).content))
    assert f"Gutschrift zur Rechnung {issued.number}" in german


def test_names_in_any_script_print(agency: Agency) -> None:
    d = agency.world.domain
    set_billing(agency, QR_IBAN)
    d.handle(
        SetStructureBillingDetails(
            agency.operator, agency.hotel_id, "Ulica Długa", "5", "80-831", "Gdańsk", "PL"
        )
    )
    issued = invoice_with_two_vat_rates(agency, orders=1)
    pdf = d.handle(RenderInvoice(agency.operator, issued.id, "fr")).content
    text = " ".join(text_of(pdf))
    assert "Ulica Długa 5" in text and "80-831 Gdańsk" in text
    assert f"Facture {issued.number}" in text
    fields = spc_fields(payloads(pdf)[0])
    assert fields["reference"] == issued.reference


def test_the_invoice_mail_carries_the_pdf_whose_qr_bill_decodes(agency: Agency) -> None:
    set_billing(agency, QR_IBAN)
    issued = invoice_with_two_vat_rates(agency, orders=1)
    d = agency.world.domain
    d.mail.dispatch_mail(DispatchMail(agency.operator, limit=100))
    (mail,) = [m for m in agency.world.mailer.outbox if m.id in issued.mail_ids]
    assert mail.to.value == "compta@beau-rivage.ch"
    (attachment,) = mail.attachments
    assert f"Invoice {issued.number}" in text_of(attachment.content)[0]
    fields = spc_fields(payloads(attachment.content)[0])
    assert fields["reference"] == issued.reference
    assert Decimal(fields["amount"]) == issued.total.amount


def test_the_qr_bill_keeps_to_its_character_set_while_the_invoice_prints_every_script(
    agency: Agency,
) -> None:
    d = agency.world.domain
    set_billing(agency, QR_IBAN)
    d.handle(
        SetStructureBillingDetails(
            agency.operator, agency.hotel_id, "Οδός Ερμού", "5", "105 63", "Αθήνα", "GR"
        )
    )
    issued = invoice_with_two_vat_rates(agency, orders=1)
    pdf = d.handle(RenderInvoice(agency.operator, issued.id)).content
    assert "Οδός Ερμού 5" in " ".join(text_of(pdf))
    fields = spc_fields(payloads(pdf)[0])
    assert fields["reference"] == issued.reference
    lines = payloads(pdf)[0].replace("\r\n", "\n").split("\n")
    assert all(ord(char) < 0x180 for line in lines for char in line)


def test_a_qr_bill_in_euros_decodes_to_its_currency() -> None:
    document = an_invoice_document()
    assert document.qr_bill is not None
    euros = Money(document.total.amount, "EUR")
    qr_bill = attrs.evolve(document.qr_bill, amount=euros)
    pdf = FpdfDocumentRenderer().render_invoice(attrs.evolve(document, qr_bill=qr_bill))
    fields = spc_fields(payloads(pdf)[0])
    assert (fields["currency"], Decimal(fields["amount"])) == ("EUR", euros.amount)
    assert fields["reference"] == document.reference
