"""FpdfTicketRenderer: real PDFs read back from their uncompressed bytes.

The byte-level checks print with the built-in Helvetica (``core_font=True``), whose strings are
cp1252 in the content stream; the embedded Unicode fonts (the default) are read back by text
extraction here and in test_ticket_pdf_*.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdf
import pypdfium2
import pytest
from qrcode import QRCode
from qrcode.constants import ERROR_CORRECT_M
from zxingcpp import BarcodeFormat, BarcodeFormats, ImageFormat, ImageView, read_barcodes

from ticketdomain.core.errors import ValidationError
from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain_fpdf import FpdfTicketRenderer
from ticketdomain_system import SecretsBarcodeGenerator

PARIS = ZoneInfo("Europe/Paris")


def ticket(number: int, beneficiary: str, **changes: object) -> PrintableTicket:
    fields: dict[str, object] = {
        "ticket_id": f"tkt_{number}",
        "barcode": f"TD{number:03d}K7Q2M9XW",
        "organization": "Opéra de Lyon",
        "activity": "La Traviata",
        "performance_starts_at": datetime(2025, 6, 14, 20, 30, tzinfo=PARIS),
        "venue": "Grande salle",
        "product": "Orchestre",
        "tariff": "Plein tarif",
        "price": Money(Decimal("45.5"), "EUR"),
        "order_id": "ord_42",
        "beneficiary": beneficiary,
    }
    fields.update(changes)
    return PrintableTicket(**fields)  # type: ignore[arg-type]


TICKETS = (
    ticket(1, "Zoë Ñúñez"),
    ticket(2, "Łukasz Kowalski"),
    ticket(3, "Ada Lovelace"),
)


def shown(text: str) -> bytes:
    """``text`` as a PDF string operand of the built-in fonts: cp1252, parentheses escaped."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"({escaped})".encode("cp1252")


def content_streams(pdf: bytes) -> list[bytes]:
    """The uncompressed page content streams (the ones that draw text)."""
    streams = re.findall(rb"stream\n(.*?)endstream", pdf, flags=re.DOTALL)
    return [s for s in streams if b" Tj " in s]


def drawn_qr(stream: bytes) -> list[list[bool]]:
    """The QR module matrix rebuilt from the rectangles of the one filled path on the page."""
    (path,) = re.findall(rb"q 0 g\n(.*?)\nf Q", stream, flags=re.DOTALL)
    rects = [
        tuple(float(n) for n in m)
        for m in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re", path)
    ]
    module = min(h for _, _, _, h in rects)
    left = min(x for x, _, _, _ in rects)
    # PDF space grows upwards: the first row is the highest.
    top = max(y for _, y, _, _ in rects)
    size = round((max(x + w for x, _, w, _ in rects) - left) / module)
    matrix = [[False] * size for _ in range(size)]
    for x, y, w, _ in rects:
        row, first = round((top - y) / module), round((x - left) / module)
        for column in range(first, first + round(w / module)):
            matrix[row][column] = True
    return matrix


def expected_qr(barcode: str) -> list[list[bool]]:
    # The renderer fixes the mask (any fixed mask is a valid code; choosing one costs most).
    code = QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=4)
    code.add_data(barcode)
    code.make(fit=True)
    return [[bool(m) for m in row] for row in code.get_matrix()]


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return FpdfTicketRenderer(compress=False, core_font=True).render(TICKETS)


def test_the_media_type_is_pdf() -> None:
    assert FpdfTicketRenderer.media_type == "application/pdf"


def test_one_a4_page_per_ticket(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 3
    assert b"/Count 3" in pdf
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf


def test_each_page_shows_its_ticket(pdf: bytes) -> None:
    pages = content_streams(pdf)
    assert len(pages) == 3
    for page, printed in zip(pages, TICKETS, strict=True):
        for text in (
            printed.barcode,
            printed.ticket_id,
            printed.order_id,
            "Opéra de Lyon",
            "La Traviata",
            "Grande salle",
            "Orchestre",
            "Plein tarif",
            "45.50 EUR",
            "Saturday 14 June 2025",
            # Performance time in the performance's own zone, not UTC (18:30).
            "20:30 CEST (Europe/Paris, UTC+02:00)",
        ):
            assert shown(text) in page, text


def test_names_the_built_in_font_lacks_are_transliterated(pdf: bytes) -> None:
    first, second, _ = content_streams(pdf)
    # Ë, Ñ and ú exist in the fonts' cp1252 encoding and are kept as they are.
    assert shown("Zoë Ñúñez") in first
    # Ł does not: it prints as L instead of failing.
    assert shown("Lukasz Kowalski") in second


def test_other_scripts_never_crash_the_built_in_font() -> None:
    quoted = "\u2018Ω\u2019"  # cp1252 has the typographic quotes, not the Greek letter
    odd = ticket(4, "王小明 Дмитрий", venue=f"Théâtre — {quoted} ẞ", activity="ﬁne\tline\nbreak")
    pdf = FpdfTicketRenderer(compress=False, core_font=True).render([odd])
    (page,) = content_streams(pdf)
    assert shown("??? ???????") in page
    assert shown("fine line break") in page
    assert shown("Théâtre — \u2018?\u2019 SS") in page


def test_the_qr_code_encodes_the_barcode(pdf: bytes) -> None:
    for page, printed in zip(content_streams(pdf), TICKETS, strict=True):
        assert drawn_qr(page) == expected_qr(printed.barcode)


def test_a_qr_reader_decodes_every_ticket_to_its_barcode() -> None:
    # Barcodes as the shop draws them (26 base32 characters), twelve tickets to one PDF, as sent.
    barcodes = SecretsBarcodeGenerator()
    tickets = [ticket(n, "Ada Lovelace", barcode=barcodes.new_barcode()) for n in range(1, 13)]
    qr_only = BarcodeFormats(BarcodeFormat.QRCode)
    document = pypdfium2.PdfDocument(FpdfTicketRenderer().render(tickets))
    decoded = []
    for page in document:
        # A coarse grey scan, 90 dpi: the code must not need a fine one.
        bitmap = page.render(scale=90 / 72, grayscale=True)
        pixels = memoryview(bitmap.buffer).cast("B")
        image = ImageView(pixels, bitmap.width, bitmap.height, ImageFormat.Lum, bitmap.stride)
        decoded.append([code.text for code in read_barcodes(image, formats=qr_only)])
    document.close()
    assert decoded == [[t.barcode] for t in tickets]


def test_times_are_shown_in_the_performances_zone() -> None:
    cases = {
        datetime(2025, 1, 10, 19, 0, tzinfo=PARIS): "19:00 CET (Europe/Paris, UTC+01:00)",
        datetime(2025, 1, 10, 19, 0, tzinfo=UTC): "19:00 UTC",
        datetime(2025, 1, 10, 19, 0, tzinfo=timezone(timedelta(hours=-5))): "19:00 UTC-05:00",
        datetime(2025, 1, 10, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata")): (
            "05:00 IST (Asia/Kolkata, UTC+05:30)"
        ),
        # No abbreviation in tzdata for this zone: its offset stands in.
        datetime(2025, 1, 10, 19, 0, tzinfo=ZoneInfo("America/Sao_Paulo")): (
            "19:00 UTC-03:00 (America/Sao_Paulo)"
        ),
        # The second 02:30 of the night the clocks go back in Zurich.
        datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Zurich")): (
            "02:30 CET (Europe/Zurich, UTC+01:00)"
        ),
    }
    for starts_at, expected in cases.items():
        pdf = FpdfTicketRenderer(compress=False, core_font=True).render(
            [ticket(1, "A B", performance_starts_at=starts_at)]
        )
        assert shown(expected) in pdf, expected


def test_a_ticket_naming_its_zone_prints_the_start_there() -> None:
    # Stored in UTC (18:30), printed in the venue's zone the ticket names.
    starts_at = datetime(2026, 5, 10, 18, 30, tzinfo=UTC)
    pdf = FpdfTicketRenderer(compress=False, core_font=True).render(
        [ticket(1, "A B", performance_starts_at=starts_at, time_zone="Europe/Zurich")]
    )
    assert shown("Sunday 10 May 2026") in pdf
    assert shown("20:30 CEST (Europe/Zurich, UTC+02:00)") in pdf


def test_the_same_tickets_give_the_same_bytes() -> None:
    renderer = FpdfTicketRenderer()
    first = renderer.render(TICKETS)
    assert first.startswith(b"%PDF-")
    assert FpdfTicketRenderer().render(list(TICKETS)) == first
    assert renderer.render(TICKETS[:2]) != first


def test_compression_makes_a_smaller_file(pdf: bytes) -> None:
    compressed = FpdfTicketRenderer().render(TICKETS)
    assert len(compressed) < len(pdf)
    assert b"/FlateDecode" in compressed


def test_title_and_creation_date_go_into_the_metadata() -> None:
    pdf = FpdfTicketRenderer(
        compress=False, title="Order ord_42", creation_date=datetime(2025, 3, 1, tzinfo=UTC)
    ).render(TICKETS[:1])
    # The default (embedded fonts) writes the same metadata.
    assert b"/Title (Order ord_42)" in pdf
    assert b"/CreationDate (D:20250301000000Z" in pdf


def test_no_ticket_is_refused_with_a_reason() -> None:
    with pytest.raises(ValidationError, match="at least one page"):
        FpdfTicketRenderer().render([])


def test_a_naive_performance_time_is_refused() -> None:
    naive = ticket(1, "A B", performance_starts_at=datetime(2025, 6, 14, 20, 30))
    with pytest.raises(ValidationError, match="time zone"):
        FpdfTicketRenderer().render([naive])


def test_a_missing_font_file_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FpdfTicketRenderer(font=tmp_path / "absent.ttf")


def test_the_default_embedded_font_prints_every_name_as_given() -> None:
    # No system font: DejaVu Sans ships in the package and is the default.
    renderer = FpdfTicketRenderer(compress=False)
    pdf = renderer.render(TICKETS)
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 3
    assert b"/FontFile2" in pdf
    assert b"DejaVuSans" in pdf
    # The embedded subset maps glyphs back to Ł (U+0141) and ë (U+00EB): text stays searchable.
    assert b"<0141>" in pdf
    assert b"<00EB>" in pdf
    assert renderer.render(TICKETS) == pdf
    pages = [page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages]
    for page, printed in zip(pages, TICKETS, strict=True):
        assert printed.beneficiary in page
        assert "20:30 CEST (Europe/Paris, UTC+02:00)" in page


def test_a_host_font_file_replaces_the_main_face(tmp_path: Path) -> None:
    from ticketdomain_fpdf._fonts import EMBEDDED_FONTS_DIR

    own = tmp_path / "HostSans.ttf"
    own.write_bytes((EMBEDDED_FONTS_DIR / "DejaVuSans-Bold.ttf").read_bytes())
    pdf = FpdfTicketRenderer(compress=False, font=own).render(TICKETS[1:2])
    assert b"+DejaVuSansBold" in pdf
    assert "Łukasz Kowalski" in pypdf.PdfReader(BytesIO(pdf)).pages[0].extract_text()
