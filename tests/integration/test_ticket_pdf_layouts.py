"""Ticket layouts: one, two or four tickets to an A4 page, and long texts that shrink, wrap or
are cut so nothing leaves its frame. Positions are read back from the PDF with pypdfium2 (the
box of every character drawn), not taken from the renderer."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pypdfium2
import pypdfium2.raw as pdfium_c
import pytest

from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain_fpdf import FpdfTicketRenderer, TicketLayout
from ticketdomain_fpdf._renderer import _GEOMETRIES

MM = 72 / 25.4
PAGE_H = 297 * MM
LONG = "Wolkenstein-Trostburg Hohenzollern-Sigmaringen Montmorency-Laval de la Tour d'Auvergne"


def ticket(number: int, **changes: object) -> PrintableTicket:
    fields: dict[str, object] = {
        "ticket_id": f"tkt_{number}",
        "barcode": f"TD{number:03d}K7Q2M9XWABCDEFGHJKLM",
        "organization": "Opéra de Lyon",
        "activity": "La Traviata",
        "performance_starts_at": datetime(2025, 6, 14, 20, 30, tzinfo=ZoneInfo("Europe/Paris")),
        "venue": "Grande salle",
        "product": "Orchestre",
        "tariff": "Plein tarif",
        "price": Money(Decimal("45.5"), "EUR"),
        "order_id": "ord_42",
        "beneficiary": "Ada Lovelace",
    }
    fields.update(changes)
    return PrintableTicket(**fields)  # type: ignore[arg-type]


def longest(number: int, text: str) -> PrintableTicket:
    """Every text of the ticket 100 characters long (or as long as the domain allows)."""
    hundred = (text * 100)[:100]
    return ticket(
        number,
        organization=hundred,
        activity=hundred,
        venue=hundred,
        beneficiary=hundred,
        product=hundred,
        tariff=hundred,
        order_id="ord_" + "9" * 60,
        ticket_id="tkt_" + "8" * 60,
        barcode=("QRX" * 40)[:100],
    )


OVERFLOWING = [
    longest(1, LONG),
    longest(2, "W"),  # the widest letter, no space to wrap at
    longest(3, "王小明的票"),
    longest(4, "محمد عبد الله "),
    longest(5, "Ελένη Παπαδοπούλου Анна Каренина "),
    ticket(6),
    ticket(7, beneficiary=LONG),
]


def frames_pt(layout: TicketLayout) -> list[tuple[float, float, float, float]]:
    """Each frame as PDF boxes are given: left, bottom, right, top in points."""
    g = _GEOMETRIES[layout]
    return [
        (x * MM, PAGE_H - (y + g.height) * MM, (x + g.width) * MM, PAGE_H - y * MM)
        for x, y in g.frames
    ]


def char_boxes(pdf: bytes) -> list[list[tuple[str, tuple[float, float, float, float]]]]:
    """Per page, every drawn character with its tight box (left, bottom, right, top)."""
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for page in document:
            text = page.get_textpage()
            chars = []
            for index in range(text.count_chars()):
                char = text.get_text_range(index, 1)
                box = text.get_charbox(index)
                if char.strip() and box[2] > box[0]:
                    chars.append((char, box))
            pages.append(chars)
    finally:
        document.close()
    return pages


def page_lines(pdf: bytes) -> list[list[str]]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.get_textpage().get_text_range().splitlines() for page in document]
    finally:
        document.close()


def filled_squares(pdf: bytes, side_pt: float) -> list[list[tuple[float, float, float, float]]]:
    """Per page, the bounds of the filled paths about ``side_pt`` square (the QR codes)."""
    document = pypdfium2.PdfDocument(pdf)
    pages = []
    try:
        for page in document:
            found = []
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]):
                left, bottom, right, top = obj.get_bounds()
                if abs((right - left) - side_pt) < 2 and abs((top - bottom) - side_pt) < 2:
                    found.append((left, bottom, right, top))
            pages.append(found)
    finally:
        document.close()
    return pages


def inside(box: tuple[float, ...], frame: tuple[float, ...], slack: float = 0.5) -> bool:
    return (
        box[0] >= frame[0] - slack
        and box[1] >= frame[1] - slack
        and box[2] <= frame[2] + slack
        and box[3] <= frame[3] + slack
    )


def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("layout", list(TicketLayout), ids=lambda layout: layout.name)
def test_no_text_leaves_its_frame_or_covers_the_qr_code(layout: TicketLayout) -> None:
    pdf = FpdfTicketRenderer(layout=layout).render(OVERFLOWING)
    per_page = layout.per_page
    frames = frames_pt(layout)
    qr_side = _GEOMETRIES[layout].qr_size * MM
    pages = char_boxes(pdf)
    squares = filled_squares(pdf, qr_side)
    assert len(pages) == -(-len(OVERFLOWING) // per_page)
    for number, (chars, codes) in enumerate(zip(pages, squares, strict=True)):
        on_page = min(per_page, len(OVERFLOWING) - number * per_page)
        assert len(codes) == on_page
        assert len(chars) > 100 * on_page
        for char, box in chars:
            assert any(inside(box, frame) for frame in frames[:on_page]), (number, char, box)
            assert not any(overlaps(box, code) for code in codes), (number, char, box)


@pytest.mark.parametrize("layout", list(TicketLayout), ids=lambda layout: layout.name)
def test_a_long_name_wraps_whole_and_an_endless_one_is_cut_with_an_ellipsis(
    layout: TicketLayout,
) -> None:
    pdf = FpdfTicketRenderer(layout=layout).render([OVERFLOWING[6], OVERFLOWING[1]])
    pages = char_boxes(pdf)
    text = "".join(char for page in pages for char, _ in page)
    # 87 characters: on two lines, every letter kept.
    assert LONG.replace(" ", "") in text
    # 100 "W"s do not fit the two lines a name has: the first ones print, then "…".
    lines = page_lines(pdf)[-1]
    name = len(lines) - 1 - lines[::-1].index("Name")  # the second ticket's
    first, second = lines[name + 1], lines[name + 2]
    assert set(first) == {"W"}
    assert second.endswith("\u2026")
    assert set(second[:-1]) == {"W"}
    assert 30 < len(first + second) - 1 < 100


def test_short_texts_print_at_their_size_on_one_line() -> None:
    pdf = FpdfTicketRenderer().render([ticket(1)])
    (chars,) = char_boxes(pdf)
    text = "".join(char for char, _ in chars)
    assert "\u2026" not in text
    for word in ("LaTraviata", "AdaLovelace", "GrandesalleName"):
        assert word in text


@pytest.mark.parametrize(
    ("layout", "tickets", "pages"),
    [
        (TicketLayout.ONE_PER_PAGE, 5, 5),
        (TicketLayout.TWO_PER_PAGE, 5, 3),
        (TicketLayout.FOUR_PER_PAGE, 5, 2),
        (TicketLayout.FOUR_PER_PAGE, 8, 2),
    ],
)
def test_tickets_fill_the_pages_of_their_layout(
    layout: TicketLayout, tickets: int, pages: int
) -> None:
    pdf = FpdfTicketRenderer(layout=layout, compress=False).render(
        [ticket(n) for n in range(tickets)]
    )
    assert len(re.findall(rb"/Type /Page\b", pdf)) == pages
    assert pdf.count(b"/MediaBox [0 0 595.28 841.89]") == 1
    # Dashed cut lines between the tickets of a page, none with one ticket to a page.
    dashes = len(re.findall(rb"\[[\d.]+ [\d.]+\] [\d.]+ d", pdf))
    assert (dashes > 0) == (layout is not TicketLayout.ONE_PER_PAGE)


def test_a_layout_is_chosen_by_its_number_too() -> None:
    assert FpdfTicketRenderer(layout=2).layout is TicketLayout.TWO_PER_PAGE
    assert FpdfTicketRenderer(layout=4).layout is TicketLayout.FOUR_PER_PAGE
    with pytest.raises(ValueError, match="3"):
        FpdfTicketRenderer(layout=3)
