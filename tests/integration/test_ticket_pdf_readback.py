"""Ticket PDFs read back as a scanner and a person would: pypdfium2 rasterizes each page and
zxing-cpp decodes every QR code on it; pypdf extracts the names, in every script. All three come
from PyPI, so nothing here needs a system package or skips."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import pypdf
import pypdfium2
import pytest
from zxingcpp import BarcodeFormat, BarcodeFormats, ImageFormat, ImageView, read_barcodes

from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain_fpdf import FpdfTicketRenderer, TicketLayout
from ticketdomain_system import SecretsBarcodeGenerator

ZURICH = ZoneInfo("Europe/Zurich")
#: a beneficiary in each script the embedded fonts cover
NAMES = (
    "Łukasz Kowalski",
    "Jürgen Straße",
    "Ελένη Παπαδοπούλου",
    "Анна Каренина",
    "محمد عبد الله",
    "王小明",
    "Zoë Ñúñez",
    "田中 はなこ",
    "김민준",
)


def ticket(number: int, beneficiary: str, barcode: str) -> PrintableTicket:
    return PrintableTicket(
        ticket_id=f"tkt_{number}",
        barcode=barcode,
        organization="Théâtre de Vidy",
        activity="Les Misérables",
        performance_starts_at=datetime(2026, 3, 14, 19, 30, tzinfo=ZURICH),
        venue="Salle Charles Apothéloz",
        product="Parterre",
        tariff="Plein tarif",
        price=Money(Decimal("38"), "CHF"),
        order_id="ord_7",
        beneficiary=beneficiary,
    )


def batch(count: int) -> list[PrintableTicket]:
    # Barcodes as the shop draws them (26 base32 characters).
    barcodes = SecretsBarcodeGenerator()
    return [ticket(n, NAMES[n % len(NAMES)], barcodes.new_barcode()) for n in range(1, count + 1)]


def decoded_per_page(pdf: bytes, dpi: int) -> list[set[str]]:
    qr_only = BarcodeFormats(BarcodeFormat.QRCode)
    document = pypdfium2.PdfDocument(pdf)
    found = []
    try:
        for page in document:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            pixels = memoryview(bitmap.buffer).cast("B")
            image = ImageView(pixels, bitmap.width, bitmap.height, ImageFormat.Lum, bitmap.stride)
            found.append({code.text for code in read_barcodes(image, formats=qr_only)})
    finally:
        document.close()
    return found


@pytest.mark.parametrize("layout", list(TicketLayout), ids=lambda layout: layout.name)
def test_every_ticket_of_a_50_ticket_batch_decodes_to_its_barcode(layout: TicketLayout) -> None:
    tickets = batch(50)
    pdf = FpdfTicketRenderer(layout=layout).render(tickets)
    per_page = layout.per_page
    # A coarse grey scan, 90 dpi: the smaller codes of four tickets to a page too.
    pages = decoded_per_page(pdf, 90)
    expected = [
        {t.barcode for t in tickets[start : start + per_page]}
        for start in range(0, len(tickets), per_page)
    ]
    assert pages == expected


def shown(name: str) -> str:
    """``name`` as text extraction reads it: right-to-left words come in the order they are
    drawn (visual order), the last word first."""
    if any("\u0600" <= char <= "\u06ff" for char in name):
        return " ".join(reversed(name.split()))
    return name


@pytest.mark.parametrize("layout", list(TicketLayout), ids=lambda layout: layout.name)
def test_the_beneficiarys_name_reads_back_in_every_script(layout: TicketLayout) -> None:
    tickets = batch(len(NAMES))
    pdf = FpdfTicketRenderer(layout=layout).render(tickets)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages)
    for printed in tickets:
        assert shown(printed.beneficiary) in text, printed.beneficiary
        assert printed.barcode in text.replace("\n", "")
    assert "Saturday 14 March 2026" in text
    assert "19:30 CET (Europe/Zurich, UTC+01:00)" in text
    assert "38.00 CHF" in text or "38 CHF" in text


def test_the_issue_names_each_read_back_from_its_own_ticket() -> None:
    names = ("Łukasz", "Straße", "Ελένη", "Анна", "محمد", "王小明")
    tickets = [ticket(n, name, f"CODE{n:022d}") for n, name in enumerate(names)]
    reader = pypdf.PdfReader(BytesIO(FpdfTicketRenderer().render(tickets)))
    for page, name in zip(reader.pages, names, strict=True):
        assert name in page.extract_text().split("\n")
