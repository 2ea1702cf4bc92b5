"""The Swiss QR-bill payment part (receipt and payment part), drawn with fpdf2.

The ``qrbill`` package builds and validates the payload (``QRBill.qr_data()``: IBAN, addresses,
amount, reference and their character set, per the Swiss Implementation Guidelines 2.3); this
module draws the A6 slip itself at the bottom of an A4 page: the receipt (62 mm) and the payment
part (148 mm) with the 46 x 46 mm QR code (error correction M) and its Swiss cross, the dashed
cutting lines and the labels in the document's language.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from qrbill import QRBill
from qrbill.bill import LABELS

from ticketdomain.core.banking import Party, PostalAddress
from ticketdomain.core.billing import QrBillData
from ticketdomain_fpdf._qr import draw_qr, qr_matrix

#: the slip's size and place on an A4 page (mm)
SLIP_HEIGHT = 105.0
RECEIPT_WIDTH = 62.0
PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
SLIP_TOP = PAGE_HEIGHT - SLIP_HEIGHT
QR_SIZE = 46.0
CROSS_SIZE = 7.0
_MARGIN = 5.0


def _permitted(char: str) -> bool:
    # The guidelines' character set: Basic Latin, Latin-1 Supplement, Latin Extended-A, and
    # a few letters more.
    code = ord(char)
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0x17F or char in "ȘșȚț€"


def qr_bill_text(text: str) -> str:
    """``text`` in the QR-bill's character set: a letter outside it loses its accents if that
    is enough, else becomes ``.`` (banks refuse a payload with other characters)."""
    kept = []
    for char in text:
        if not _permitted(char):
            base = unicodedata.normalize("NFKD", char)[:1]
            char = base if base and _permitted(base) else "."
        kept.append(char)
    return "".join(kept)


def _address(party: Party) -> dict[str, str]:
    address = party.address
    assert address is not None, "a QR-bill party has an address"
    return {
        "name": qr_bill_text(party.name)[:70],
        "street": qr_bill_text(address.street),
        "house_num": qr_bill_text(address.house_number),
        "pcode": qr_bill_text(address.postal_code),
        "city": qr_bill_text(address.town),
        "country": address.country,
    }


def build(data: QrBillData, language: str = "en") -> QRBill:
    """The validated QR-bill (``qrbill`` raises ``ValueError`` for what the guidelines refuse)."""
    return QRBill(
        account=data.iban,
        creditor=_address(data.creditor),
        amount=f"{data.amount.amount:.2f}",
        currency=data.amount.currency,
        debtor=_address(data.debtor) if data.debtor is not None else None,
        reference_number=data.reference,
        additional_information=qr_bill_text(data.message),
        language=language if language in ("en", "de", "fr", "it") else "en",
    )


def payload(data: QrBillData) -> str:
    """The text the QR code holds (``SPC`` … ``EPD``, lines separated by CR LF)."""
    return str(build(data).qr_data())


def _label(text: str, language: str) -> str:
    return LABELS.get(text, {}).get(language, text) if language != "en" else text


def _grouped(text: str, size: int) -> str:
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def format_reference(reference: str) -> str:
    """Printed as the guidelines ask: a QR reference in blocks of five from the right after
    the first two digits, a Creditor Reference in blocks of four."""
    if reference.startswith("RF"):
        return _grouped(reference, 4)
    head = len(reference) % 5
    return (reference[:head] + " " + _grouped(reference[head:], 5)).strip()


def _amount(amount: Decimal) -> str:
    whole, _, cents = f"{amount:.2f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return " ".join([whole, *groups]) + "." + cents


class PaymentSlip:
    """Draws one QR-bill slip on a page of ``pdf`` with the font family ``family``."""

    def __init__(self, pdf: FPDF, family: str, language: str) -> None:
        self.pdf = pdf
        self.fallback = family
        self.family = family
        self.language = language

    def _choose_font(self, text: str) -> None:
        # Helvetica, one of the fonts the guidelines name, when it has every letter the slip
        # prints; else the document's own Unicode font.
        try:
            text.encode("cp1252")
        except UnicodeEncodeError:
            self.family = self.fallback
        else:
            self.family = "helvetica"

    def _heading(self, x: float, y: float, width: float, text: str, size: float) -> float:
        self.pdf.set_font(self.family, "B", size)
        self.pdf.set_xy(x, y)
        self.pdf.multi_cell(
            width, size * 0.45, _label(text, self.language), new_x=XPos.LEFT, new_y=YPos.NEXT
        )
        return self.pdf.get_y()

    def _lines(self, x: float, y: float, width: float, lines: list[str], size: float) -> float:
        self.pdf.set_font(self.family, "", size)
        self.pdf.set_xy(x, y)
        for line in lines:
            self.pdf.multi_cell(width, size * 0.45, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        return self.pdf.get_y() + size * 0.3

    def _block(
        self, x: float, y: float, width: float, title: str, lines: list[str], size: float
    ) -> float:
        y = self._heading(x, y, width, title, size - 2)
        return self._lines(x, y, width, lines, size)

    @staticmethod
    def _party(party: Party) -> list[str]:
        # As the code holds it: the slip shows what the bank reads.
        address: PostalAddress | None = party.address
        lines = [party.name, *(address.lines()[:-1] if address else ())]
        return [qr_bill_text(line) for line in lines]

    def _corner_box(self, x: float, y: float, width: float, height: float) -> None:
        # An empty field is framed by corner marks only (guidelines 3.7).
        pdf = self.pdf
        pdf.set_line_width(0.25)
        arm = 3.0
        for cx, dx in ((x, arm), (x + width, -arm)):
            for cy, dy in ((y, arm), (y + height, -arm)):
                pdf.line(cx, cy, cx + dx, cy)
                pdf.line(cx, cy, cx, cy + dy)

    def _cut_lines(self) -> None:
        pdf = self.pdf
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.2)
        pdf.set_dash_pattern(dash=1.5, gap=1.0)
        pdf.line(0, SLIP_TOP, PAGE_WIDTH, SLIP_TOP)
        pdf.line(RECEIPT_WIDTH, SLIP_TOP, RECEIPT_WIDTH, PAGE_HEIGHT)
        pdf.set_dash_pattern()
        pdf.set_font(self.family, "", 6)
        pdf.set_xy(0, SLIP_TOP - 3.5)
        pdf.cell(PAGE_WIDTH, 3, _label("Separate before paying in", self.language), align=Align.C)

    def _qr(self, x: float, y: float, text: str) -> None:
        draw_qr(self.pdf, qr_matrix(text.encode("utf-8")), x, y, QR_SIZE)
        self._swiss_cross(x + (QR_SIZE - CROSS_SIZE) / 2, y + (QR_SIZE - CROSS_SIZE) / 2)

    def _swiss_cross(self, x: float, y: float) -> None:
        # A white margin, a black square, a white cross (the guidelines' 7 x 7 mm logo).
        pdf = self.pdf
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(x, y, CROSS_SIZE, CROSS_SIZE, style="F")
        inner = CROSS_SIZE * 0.86
        offset = (CROSS_SIZE - inner) / 2
        pdf.set_fill_color(0, 0, 0)
        pdf.rect(x + offset, y + offset, inner, inner, style="F")
        arm_long, arm_short = inner * 0.6, inner * 0.19
        centre_x, centre_y = x + CROSS_SIZE / 2, y + CROSS_SIZE / 2
        pdf.set_fill_color(255, 255, 255)
        pdf.rect(centre_x - arm_short / 2, centre_y - arm_long / 2, arm_short, arm_long, style="F")
        pdf.rect(centre_x - arm_long / 2, centre_y - arm_short / 2, arm_long, arm_short, style="F")
        pdf.set_fill_color(0, 0, 0)

    def draw(self, data: QrBillData) -> str:
        """Draw the slip on the current page; returns the payload the QR code holds."""
        text = payload(data)
        labels = " ".join(_label(key, self.language) for key in LABELS)
        self._choose_font(text + labels)
        pdf = self.pdf
        pdf.set_auto_page_break(False)
        pdf.set_text_color(0, 0, 0)
        self._cut_lines()
        account = [format_iban(data.iban), *self._party(data.creditor)]
        reference = [format_reference(data.reference)] if data.reference else []
        amount = _amount(data.amount.amount)

        # Receipt
        x, width = _MARGIN, RECEIPT_WIDTH - 2 * _MARGIN
        self._heading(x, SLIP_TOP + _MARGIN, width, "Receipt", 11)
        y = self._block(x, SLIP_TOP + 12, width, "Account / Payable to", account, 8)
        if reference:
            y = self._block(x, y, width, "Reference", reference, 8)
        if data.debtor is not None:
            self._block(x, y, width, "Payable by", self._party(data.debtor), 8)
        else:
            end = self._heading(x, y, width, "Payable by (name/address)", 6)
            self._corner_box(x, end + 1, 52, 20)
        self._heading(x, SLIP_TOP + 68, 16, "Currency", 6)
        self._lines(x, SLIP_TOP + 71, 16, [data.amount.currency], 8)
        self._heading(x + 18, SLIP_TOP + 68, 30, "Amount", 6)
        self._lines(x + 18, SLIP_TOP + 71, 30, [amount], 8)
        pdf.set_font(self.family, "B", 6)
        pdf.set_xy(x, SLIP_TOP + 82)
        pdf.cell(width, 3, _label("Acceptance point", self.language), align=Align.R)

        # Payment part
        x = RECEIPT_WIDTH + _MARGIN
        self._heading(x, SLIP_TOP + _MARGIN, 46, "Payment part", 11)
        self._qr(x, SLIP_TOP + 17, text)
        self._heading(x, SLIP_TOP + 68, 18, "Currency", 8)
        self._lines(x, SLIP_TOP + 72, 18, [data.amount.currency], 10)
        self._heading(x + 20, SLIP_TOP + 68, 30, "Amount", 8)
        self._lines(x + 20, SLIP_TOP + 72, 30, [amount], 10)
        x, width = RECEIPT_WIDTH + 56.0, PAGE_WIDTH - RECEIPT_WIDTH - 56.0 - _MARGIN
        y = self._block(x, SLIP_TOP + _MARGIN, width, "Account / Payable to", account, 10)
        if reference:
            y = self._block(x, y, width, "Reference", reference, 10)
        if data.message:
            message = [qr_bill_text(data.message)]
            y = self._block(x, y, width, "Additional information", message, 10)
        if data.debtor is not None:
            self._block(x, y, width, "Payable by", self._party(data.debtor), 10)
        else:
            end = self._heading(x, y, width, "Payable by (name/address)", 8)
            self._corner_box(x, end + 1, 65, 25)
        return text


def format_iban(iban: str) -> str:
    return _grouped(iban, 4)
