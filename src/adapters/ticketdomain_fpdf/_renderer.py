"""Print@home tickets as a PDF drawn with fpdf2, one A4 page per ticket."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from qrcode import QRCode
from qrcode.constants import ERROR_CORRECT_M

from ticketdomain.core.errors import ValidationError
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.core.timezones import in_zone, offset_label, zone_label

__all__ = ["FpdfTicketRenderer"]

# A fixed creation date keeps the output a function of the tickets alone: same tickets, same bytes.
DEFAULT_CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)

# The built-in PDF fonts know only this code page; everything else is transliterated.
_CORE_ENCODING = "cp1252"
_CORE_FAMILY = "Helvetica"
_TTF_FAMILY = "TicketFont"
# Letters that neither cp1252 nor a Unicode decomposition reduce to an ASCII base letter.
_FALLBACK = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "Ŀ": "L",
        "ŀ": "l",
        "Ŧ": "T",
        "ŧ": "t",
        "Ŋ": "N",
        "ŋ": "n",
        "ĸ": "k",
        "ẞ": "SS",
    }
)

# English names, not strftime's %a/%b: those follow the host process's locale.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Layout, in millimetres on an A4 portrait page.
_BOX_X, _BOX_Y, _BOX_W = 15.0, 15.0, 180.0
_PAD = 8.0
_QR_SIZE = 42.0
_TEXT_X = _BOX_X + _PAD
_QR_X = _BOX_X + _BOX_W - _PAD - _QR_SIZE
_TEXT_W = _QR_X - _TEXT_X - 6.0
_GREY = (100, 100, 100)
_BLACK = (0, 0, 0)


def _encodable(char: str) -> bool:
    try:
        char.encode(_CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


# Accented letters lose their accent only when the code page lacks them ("Ł" -> "L", "ő" -> "o",
# "é" stays); letters of other scripts become "?". Never raises, unlike fpdf2 with core fonts.
def _core_font_text(text: str) -> str:
    out: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if _encodable(char):
            out.append(char)
            continue
        replaced = char.translate(_FALLBACK)
        if replaced != char:
            out.append(replaced)
            continue
        base = "".join(
            c
            for c in unicodedata.normalize("NFKD", char)
            if not unicodedata.combining(c) and _encodable(c)
        )
        out.append(base or "?")
    return "".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _format_date(moment: datetime) -> str:
    return f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


# The wall-clock time at the venue with the zone's abbreviation, then the zone and its offset:
# "20:30 CEST (Europe/Zurich, UTC+02:00)"; "19:00 UTC"; "19:00 UTC-05:00" for a fixed offset.
def _format_time(moment: datetime) -> str:
    label = zone_label(moment)
    offset = offset_label(moment)
    key = getattr(moment.tzinfo, "key", None)
    if not isinstance(key, str) or key == "UTC":
        return f"{moment:%H:%M} {label}"
    if label == offset:
        return f"{moment:%H:%M} {label} ({key})"
    return f"{moment:%H:%M} {label} ({key}, {offset})"


def _local_start(ticket: PrintableTicket) -> datetime:
    """The performance's start in the venue's zone (as given when the ticket names none)."""
    if ticket.time_zone is None:
        return ticket.performance_starts_at
    return in_zone(ticket.performance_starts_at, ticket.time_zone)


def _qr_matrix(barcode: str) -> list[list[bool]]:
    # No border modules: the quiet zone is left blank on the page around the drawn code.
    code = QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(barcode)
    code.make(fit=True)
    return [[bool(module) for module in row] for row in code.get_matrix()]


class FpdfTicketRenderer:
    """A ``TicketRenderer`` drawing one A4 page per ticket, with a QR code of its barcode.

    Each page shows, in a framed box, the organization, activity, performance date and time (in
    the performance's own time zone), venue, product, tariff, price, beneficiary, order and ticket
    ids, and the barcode both as a vector QR code and as text.

    Without ``font`` the PDF uses the built-in Helvetica, which knows Western European letters
    only: others are transliterated (``Łukasz`` prints as ``Lukasz``) or replaced by ``?``. Pass
    a Unicode TrueType font (for instance DejaVuSans.ttf) to print every name as given; it is
    embedded, subset to the letters used.

    The output depends on the tickets and the options only: ``creation_date`` (a fixed date by
    default) goes into the metadata instead of the current time.
    """

    media_type = "application/pdf"

    def __init__(
        self,
        *,
        compress: bool = True,
        title: str | None = None,
        font: Path | str | None = None,
        creation_date: datetime = DEFAULT_CREATION_DATE,
    ) -> None:
        if font is not None:
            if not Path(font).is_file():
                raise FileNotFoundError(f"No TrueType font file at {str(font)!r}.")
            # Load it once now: a broken font file fails the host's set-up, not every render.
            FPDF().add_font(_TTF_FAMILY, "", str(font))
        if creation_date.tzinfo is None:
            raise ValueError("creation_date must be timezone-aware.")
        self.compress = compress
        self.title = title
        self.font = Path(font) if font is not None else None
        self.creation_date = creation_date

    def render(self, tickets: Sequence[PrintableTicket]) -> bytes:
        """One PDF with a page per ticket, in the order given.

        Raises ``ValidationError`` for an empty sequence (a PDF needs at least one page) and for
        a performance time without a time zone (the time printed would be ambiguous).
        """
        tickets = tuple(tickets)
        if not tickets:
            raise ValidationError(
                "There is no ticket to render: a PDF needs at least one page.", count=0
            )
        for ticket in tickets:
            if ticket.performance_starts_at.utcoffset() is None:
                raise ValidationError(
                    "A performance time without a time zone cannot be printed unambiguously.",
                    ticket_id=ticket.ticket_id,
                )
        pdf = self._document()
        for ticket in tickets:
            self._page(pdf, ticket)
        return bytes(pdf.output())

    # --- drawing -----------------------------------------------------------------------------

    def _document(self) -> FPDF:
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_compression(self.compress)
        pdf.set_creation_date(self.creation_date)
        pdf.set_auto_page_break(False)
        pdf.set_title(self.title or "Tickets")
        pdf.set_margins(_BOX_X, _BOX_Y, _BOX_X)
        # The fonts' /WinAnsiEncoding is cp1252; fpdf2's latin-1 default would refuse "€", "—", "Š".
        pdf.core_fonts_encoding = _CORE_ENCODING
        if self.font is not None:
            pdf.add_font(_TTF_FAMILY, "", str(self.font))
        return pdf

    def _text(self, text: str) -> str:
        text = _one_line(text)
        return text if self.font is not None else _core_font_text(text)

    def _set_font(self, pdf: FPDF, size: float, *, bold: bool = False) -> None:
        if self.font is not None:
            # One embedded face only: hierarchy comes from size, not weight.
            pdf.set_font(_TTF_FAMILY, "", size)
        else:
            pdf.set_font(_CORE_FAMILY, "B" if bold else "", size)

    def _write(
        self, pdf: FPDF, text: str, size: float, *, bold: bool = False, grey: bool = False
    ) -> None:
        self._set_font(pdf, size, bold=bold)
        pdf.set_text_color(*(_GREY if grey else _BLACK))
        pdf.set_x(_TEXT_X)
        pdf.multi_cell(
            _TEXT_W,
            size * 0.45,
            self._text(text),
            align=Align.L,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def _field(self, pdf: FPDF, label: str, value: str, *, strong: bool = False) -> None:
        self._write(pdf, label, 8, grey=True)
        self._write(pdf, value, 13 if strong else 11, bold=strong)
        pdf.ln(1.5)

    def _page(self, pdf: FPDF, ticket: PrintableTicket) -> None:
        pdf.add_page()
        starts_at = _local_start(ticket)
        pdf.set_y(_BOX_Y + _PAD)
        self._write(pdf, ticket.organization, 10, grey=True)
        pdf.ln(1)
        self._write(pdf, ticket.activity, 18, bold=True)
        pdf.ln(2)
        self._write(pdf, _format_date(starts_at), 13, bold=True)
        self._write(pdf, _format_time(starts_at), 13, bold=True)
        pdf.ln(1)
        self._write(pdf, ticket.venue, 11)
        pdf.ln(4)
        self._field(pdf, "Name", ticket.beneficiary, strong=True)
        self._field(pdf, "Product", ticket.product)
        self._field(pdf, "Tariff", ticket.tariff)
        self._field(pdf, "Price", f"{ticket.price.amount} {ticket.price.currency}")
        self._field(pdf, "Order", ticket.order_id)
        self._field(pdf, "Ticket", ticket.ticket_id)
        text_bottom = pdf.get_y()

        qr_bottom = self._qr(pdf, ticket.barcode)
        bottom = max(text_bottom, qr_bottom) + _PAD - 1.5
        pdf.set_draw_color(*_BLACK)
        pdf.set_line_width(0.4)
        pdf.rect(_BOX_X, _BOX_Y, _BOX_W, bottom - _BOX_Y)

        pdf.set_xy(_BOX_X, bottom + 4)
        self._set_font(pdf, 8)
        pdf.set_text_color(*_GREY)
        pdf.multi_cell(
            _BOX_W,
            4,
            "Valid for one admission: the barcode is checked at the entrance and accepted once.",
            align=Align.L,
        )

    # Draws the QR code and the barcode under it; returns the bottom of what was drawn.
    def _qr(self, pdf: FPDF, barcode: str) -> float:
        matrix = _qr_matrix(barcode)
        module = _QR_SIZE / len(matrix)
        top = _BOX_Y + _PAD
        # One path of rectangles filled at once: separate fills leave hairline seams on screen.
        with pdf.new_path() as path:
            path.style.fill_color = "#000000"
            path.style.stroke_color = None
            for row_index, row in enumerate(matrix):
                column = 0
                while column < len(row):
                    if not row[column]:
                        column += 1
                        continue
                    start = column
                    while column < len(row) and row[column]:
                        column += 1
                    path.rectangle(
                        _QR_X + start * module,
                        top + row_index * module,
                        (column - start) * module,
                        module,
                    )
        pdf.set_text_color(*_BLACK)
        # Courier keeps ambiguous characters (0/O, 1/l) apart for someone typing the code in.
        if self.font is None:
            pdf.set_font("Courier", "", 10)
        else:
            self._set_font(pdf, 10)
        pdf.set_xy(_QR_X - 4, top + _QR_SIZE + 3)
        pdf.multi_cell(
            _QR_SIZE + 8,
            4.5,
            self._text(barcode),
            align=Align.C,
            wrapmode=WrapMode.CHAR,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        return pdf.get_y()
