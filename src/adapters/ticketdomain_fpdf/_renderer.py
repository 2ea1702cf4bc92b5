"""Print@home tickets as a PDF drawn with fpdf2: one, two or four tickets to an A4 page."""

from __future__ import annotations

import enum
import gc
import io
import itertools
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence, Sized
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

import attrs
from fpdf import FPDF
from fpdf.enums import Align
from fpdf.fonts import CORE_FONTS_CHARWIDTHS, TTFFont

from ticketdomain.core.errors import ValidationError
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.core.timezones import in_zone, offset_label, zone_label
from ticketdomain_fpdf._fonts import FontDocument, FontFamily, FontSet, needs_shaping
from ticketdomain_fpdf._pdfjoin import PdfJoiner
from ticketdomain_fpdf._qr import draw_qr, qr_matrix
from ticketdomain_fpdf._words import DATE_WORDS, DateWords

__all__ = ["CHUNK_TICKETS", "DEFAULT_CREATION_DATE", "FpdfTicketRenderer", "TicketLayout"]

# A fixed creation date keeps the output a function of the tickets alone: same tickets, same bytes.
DEFAULT_CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)

# The built-in PDF fonts know only this code page; everything else is transliterated.
_CORE_ENCODING = "cp1252"
_CORE_FAMILY = "Helvetica"
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


@attrs.frozen
class _Words:
    """What a ticket says in one language: its labels, its note, and how its date is written
    (``_words.DateWords``, shared with the invoices and reports)."""

    name: str
    product: str
    tariff: str
    price: str
    order: str
    ticket: str
    note: str
    dates: DateWords

    @property
    def weekdays(self) -> tuple[str, ...]:
        """Monday first, as ``datetime.weekday``."""
        return self.dates.weekdays

    @property
    def months(self) -> tuple[str, ...]:
        return self.dates.months

    def format_date(self, moment: datetime) -> str:
        return self.dates.weekday_date(moment)


#: the ticket's words by language (``core.languages.LANGUAGES``); any other prints as English.
#: Every letter is in cp1252, so the built-in fonts print them as they are.
_WORDS = {
    "en": _Words(
        name="Name",
        product="Product",
        tariff="Tariff",
        price="Price",
        order="Order",
        ticket="Ticket",
        note="Valid for one admission: the barcode is checked at the entrance and accepted once.",
        dates=DATE_WORDS["en"],
    ),
    "fr": _Words(
        name="Nom",
        product="Produit",
        tariff="Tarif",
        price="Prix",
        order="Commande",
        ticket="Billet",
        # A no-break space before the colon: a line never starts with it.
        note=(
            "Valable pour une entrée\u00a0: le code-barres est contrôlé à "
            "l\u2019entrée et accepté une seule fois."
        ),
        dates=DATE_WORDS["fr"],
    ),
    "de": _Words(
        name="Name",
        product="Produkt",
        tariff="Tarif",
        price="Preis",
        order="Bestellung",
        ticket="Ticket",
        note=(
            "Gültig für einen Eintritt: Der Barcode wird am Eingang geprüft "
            "und nur einmal angenommen."
        ),
        dates=DATE_WORDS["de"],
    ),
    "it": _Words(
        name="Nome",
        product="Prodotto",
        tariff="Tariffa",
        price="Prezzo",
        order="Ordine",
        ticket="Biglietto",
        note=(
            "Valido per un ingresso: il codice a barre viene controllato all\u2019ingresso "
            "e accettato una sola volta."
        ),
        dates=DATE_WORDS["it"],
    ),
}
_ENGLISH = _WORDS["en"]


def _words(language: str) -> _Words:
    return _WORDS.get(language, _ENGLISH)


def _format_date(moment: datetime, language: str = "en") -> str:
    """The date as a ticket in ``language`` prints it (``bench.documents`` reads it too)."""
    return _words(language).format_date(moment)


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


#: tickets rendered into one fpdf2 document before it is written out and joined to the file:
#: fpdf2 holds a document's pages in memory, so this bounds the memory of a batch
CHUNK_TICKETS = 250


class TicketLayout(enum.Enum):
    """How many tickets an A4 page holds; several are separated by dashed cut lines."""

    ONE_PER_PAGE = 1
    TWO_PER_PAGE = 2
    FOUR_PER_PAGE = 4

    @property
    def per_page(self) -> int:
        return self.value


@attrs.frozen
class _Geometry:
    """Where the tickets of a layout go on an A4 portrait page, in millimetres."""

    #: top-left corner of each ticket's frame on the page
    frames: tuple[tuple[float, float], ...]
    width: float
    height: float
    pad: float
    qr_size: float
    #: the QR code beside the text (top right) or under it (bottom left)
    qr_beside: bool
    #: font sizes relative to the one-per-page ticket
    scale: float
    #: dashed cut lines: (x1, y1, x2, y2)
    cuts: tuple[tuple[float, float, float, float], ...] = ()

    def text_width(self) -> float:
        if self.qr_beside:
            return self.width - 2 * self.pad - self.qr_size - 6
        return self.width - 2 * self.pad


_PAGE_W, _PAGE_H = 210.0, 297.0
_GEOMETRIES = {
    TicketLayout.ONE_PER_PAGE: _Geometry(
        frames=((15.0, 15.0),),
        width=180.0,
        height=128.0,
        pad=8.0,
        qr_size=42.0,
        qr_beside=True,
        scale=1.0,
    ),
    TicketLayout.TWO_PER_PAGE: _Geometry(
        frames=((15.0, 10.25), (15.0, 158.75)),
        width=180.0,
        height=128.0,
        pad=8.0,
        qr_size=42.0,
        qr_beside=True,
        scale=1.0,
        cuts=((0.0, 148.5, _PAGE_W, 148.5),),
    ),
    TicketLayout.FOUR_PER_PAGE: _Geometry(
        frames=((6.0, 6.0), (111.0, 6.0), (6.0, 154.5), (111.0, 154.5)),
        width=93.0,
        height=136.5,
        pad=5.0,
        qr_size=32.0,
        qr_beside=False,
        scale=0.72,
        cuts=((105.0, 0.0, 105.0, _PAGE_H), (0.0, 148.5, _PAGE_W, 148.5)),
    ),
}

_GREY = (100, 100, 100)
_BLACK = (0, 0, 0)
_CUT_GREY = (160, 160, 160)
#: line height as a share of the font size (points to millimetres: 0.3528)
_LEADING = 0.45
#: no text is set smaller than this share of its size: below, it is wrapped or cut with "…"
_MIN_SCALE = 0.6
#: the width of a label column beside its value, at scale 1
_LABEL_W = 22.0
_ELLIPSIS = "\u2026"


def _check(ticket: PrintableTicket) -> None:
    if ticket.performance_starts_at.utcoffset() is None:
        raise ValidationError(
            "A performance time without a time zone cannot be printed unambiguously.",
            ticket_id=ticket.ticket_id,
        )


class FpdfTicketRenderer:
    """A ``TicketRenderer`` drawing tickets on A4 pages, one, two or four to a page.

    Each ticket shows, in a frame, the organization, activity, performance date and time (in
    the performance's own time zone), venue, beneficiary, product, tariff, price, order and
    ticket ids, and the barcode both as a vector QR code and as text. Long texts shrink, then
    wrap (up to the lines their place has), and are cut with "…" only past that: nothing leaves
    its frame.

    ``fonts`` (by default ``FontSet.embedded()``, shipped in this package) prints any script:
    Latin, Greek and Cyrillic with DejaVu Sans, Arabic (shaped) with Noto Sans Arabic, Chinese,
    Japanese and Korean with Droid Sans Fallback; faces are embedded as subsets of the letters
    used. ``font`` (a TrueType file) replaces the main face and keeps the embedded fallbacks.
    ``core_font=True`` uses the PDF viewer's built-in Helvetica instead (no font embedded,
    Western European letters only: ``Łukasz`` prints as ``Lukasz``, other scripts as ``?``).

    The output depends on the tickets and the options only: ``creation_date`` (a fixed date by
    default) goes into the metadata instead of the current time. ``render_to`` writes a batch
    of any size to a stream in bounded memory.

    Raises ``FileNotFoundError`` or ``ValueError`` at construction for a missing or unusable
    font file, and ``ValueError`` for an unknown layout or a naive ``creation_date``.
    """

    media_type = "application/pdf"

    def __init__(
        self,
        *,
        layout: TicketLayout | int = TicketLayout.ONE_PER_PAGE,
        fonts: FontSet | None = None,
        font: Path | str | None = None,
        core_font: bool = False,
        compress: bool = True,
        title: str | None = None,
        creation_date: datetime = DEFAULT_CREATION_DATE,
    ) -> None:
        if creation_date.tzinfo is None:
            raise ValueError("creation_date must be timezone-aware.")
        if font is not None:
            if fonts is not None:
                raise ValueError("Give fonts or font, not both.")
            embedded = FontSet.embedded()
            try:
                fonts = FontSet(FontFamily(font), embedded.fallbacks)
            except FileNotFoundError:
                raise FileNotFoundError(f"No TrueType font file at {str(font)!r}.") from None
        self.layout = layout if isinstance(layout, TicketLayout) else TicketLayout(layout)
        self.fonts = None if core_font else (fonts or FontSet.embedded())
        self.compress = compress
        self.title = title
        self.creation_date = creation_date
        self._geometry = _GEOMETRIES[self.layout]

    # --- the ports ---------------------------------------------------------------------------

    def render(self, tickets: Sequence[PrintableTicket]) -> bytes:
        """One PDF with every ticket, in the order given.

        Raises ``ValidationError`` for an empty sequence (a PDF needs at least one page) and for
        a performance time without a time zone (the time printed would be ambiguous).
        """
        tickets = tuple(tickets)
        if not tickets:
            raise ValidationError(
                "There is no ticket to render: a PDF needs at least one page.", count=0
            )
        for ticket in tickets:
            _check(ticket)
        if len(tickets) <= CHUNK_TICKETS:
            return self._render_part(tickets)
        out = io.BytesIO()
        self.render_to(out, tickets)
        return out.getvalue()

    def render_to(
        self,
        stream: BinaryIO,
        tickets: Iterable[PrintableTicket],
        *,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> int:
        """Write one PDF with every ticket of ``tickets`` to ``stream``; returns how many.

        ``tickets`` may be any iterable, read once and in order: a batch of 10,000 is rendered
        a part of ``CHUNK_TICKETS`` at a time, each part written to the stream before the next
        is read, so memory stays bounded whatever the batch's size. ``progress(done, total)``
        is called after each part (``total`` is ``None`` when ``tickets`` has no length).

        Raises ``ValidationError`` when there is no ticket (nothing is written) or for a naive
        performance time; in the latter case the stream holds an unfinished file.
        """
        total = len(tickets) if isinstance(tickets, Sized) else None
        iterator = iter(tickets)
        first = tuple(itertools.islice(iterator, CHUNK_TICKETS))
        if not first:
            raise ValidationError(
                "There is no ticket to render: a PDF needs at least one page.", count=0
            )
        for ticket in first:
            _check(ticket)
        if progress is not None:
            progress(0, total)
        second = tuple(itertools.islice(iterator, CHUNK_TICKETS))
        if not second:
            # One part is a whole file as it is: the same bytes as ``render``.
            stream.write(self._render_part(first))
            if progress is not None:
                progress(len(first), total)
            return len(first)
        joiner = PdfJoiner(stream)
        done = 0
        part: tuple[PrintableTicket, ...] = first
        while part:
            for ticket in part:
                _check(ticket)
            joiner.add(self._render_part(part))
            # An fpdf2 document is a graph of cycles: collect it now, or parts pile up until
            # the collector's own thresholds (a few, of several megabytes each) are reached.
            gc.collect()
            done += len(part)
            if progress is not None:
                progress(done, total)
            part, second = second, ()
            if not part:
                part = tuple(itertools.islice(iterator, CHUNK_TICKETS))
        joiner.close()
        return done

    # --- one part ----------------------------------------------------------------------------

    def _document(self) -> FPDF:
        pdf: FPDF
        if self.fonts is None:
            pdf = FPDF(orientation="portrait", unit="mm", format="A4")
            # The fonts' /WinAnsiEncoding is cp1252; fpdf2's latin-1 default would refuse "€".
            pdf.core_fonts_encoding = _CORE_ENCODING
        else:
            pdf = FontDocument(orientation="portrait", unit="mm", format="A4", fonts=self.fonts)
        pdf.set_compression(self.compress)
        pdf.set_creation_date(self.creation_date)
        pdf.set_auto_page_break(False)
        pdf.set_title(self.title or "Tickets")
        pdf.set_margins(0, 0, 0)
        # The main face registered now: text widths are read from it from the first ticket on.
        self._set_font(pdf, 10)
        return pdf

    def _render_part(self, tickets: Sequence[PrintableTicket]) -> bytes:
        pdf = self._document()
        geometry = self._geometry
        per_page = len(geometry.frames)
        for index, ticket in enumerate(tickets):
            slot = index % per_page
            if slot == 0:
                pdf.add_page()
                self._cut_lines(pdf)
            _TicketDrawing(self, pdf, ticket, *geometry.frames[slot]).draw()
        return bytes(pdf.output())

    def _cut_lines(self, pdf: FPDF) -> None:
        if not self._geometry.cuts:
            return
        pdf.set_draw_color(*_CUT_GREY)
        pdf.set_line_width(0.2)
        with pdf.local_context():
            pdf.set_dash_pattern(dash=2, gap=2)
            for x1, y1, x2, y2 in self._geometry.cuts:
                pdf.line(x1, y1, x2, y2)

    # --- text --------------------------------------------------------------------------------

    def _text(self, text: str) -> str:
        text = _one_line(text)
        return text if self.fonts is not None else _core_font_text(text)

    def _set_font(self, pdf: FPDF, size: float, *, mono: bool = False) -> None:
        if self.fonts is not None:
            # One embedded face only: hierarchy comes from size (a second face costs a subset).
            pdf.set_font(self.fonts.family, "", size)
        elif mono:
            # Courier keeps ambiguous characters (0/O, 1/l) apart for someone typing the code.
            pdf.set_font("Courier", "", size)
        else:
            pdf.set_font(_CORE_FAMILY, "", size)

    def _plain(self, text: str) -> bool:
        """Whether ``text`` prints with fpdf2's fastest call (no fallback face, no shaping)."""
        return self.fonts is None or (self.fonts.covers(text) and not needs_shaping(text))


class _TicketDrawing:
    """One ticket drawn in its frame; every text is fitted to the width and lines it has."""

    def __init__(
        self, renderer: FpdfTicketRenderer, pdf: FPDF, ticket: PrintableTicket, x: float, y: float
    ) -> None:
        self.r = renderer
        self.pdf = pdf
        self.ticket = ticket
        self.g = renderer._geometry
        self.x = x
        self.y = y
        self.text_x = x + self.g.pad
        self.text_w = self.g.text_width()
        self.cursor = y + self.g.pad

    def draw(self) -> None:
        g, t = self.g, self.ticket
        # The ticket's language looked up once: each text below is a field of it.
        words = _words(t.language)
        starts_at = _local_start(t)
        bottom = self.y + g.height - g.pad
        note_size = 7.5 * g.scale
        note_lines = self.fit(words.note, note_size, g.width - 2 * g.pad, 2)
        note_top = bottom - len(note_lines[1]) * note_lines[0] * _LEADING
        self.write(t.organization, 10, 1, grey=True, after=1)
        self.write(t.activity, 18, 2, after=2)
        self.write(words.format_date(starts_at), 13, 1)
        self.write(_format_time(starts_at), 13, 1, after=1)
        self.write(t.venue, 11, 2, after=4)
        self.write(words.name, 8, 1, grey=True)
        self.write(t.beneficiary, 13, 2, after=1.5)
        self.field(words.product, t.product, 2)
        self.field(words.tariff, t.tariff, 2)
        self.field(words.price, f"{t.price.amount} {t.price.currency}", 1)
        self.field(words.order, t.order_id, 1)
        self.field(words.ticket, t.ticket_id, 1)

        if g.qr_beside:
            qr_x, qr_y = self.x + g.width - g.pad - g.qr_size, self.y + g.pad
            code_x, code_y, code_w = qr_x - 4, qr_y + g.qr_size + 3, g.qr_size + 8
            code_lines = 4
        else:
            qr_x, qr_y = self.x + g.pad, note_top - 3 - g.qr_size
            code_x, code_y = qr_x + g.qr_size + 4, qr_y
            code_w = g.width - 2 * g.pad - g.qr_size - 4
            code_lines = 5
        self.qr(t.barcode, qr_x, qr_y)
        self.cursor = code_y
        self.write(t.barcode, 10, code_lines, x=code_x, width=code_w, by_char=True, mono=True)
        self.cursor = note_top
        self.lines(*note_lines, x=self.text_x, width=g.width - 2 * g.pad, grey=True)

        pdf = self.pdf
        pdf.set_draw_color(*_BLACK)
        pdf.set_line_width(0.4)
        pdf.rect(self.x, self.y, g.width, g.height)

    def field(self, label: str, value: str, max_lines: int) -> None:
        label_w = _LABEL_W * self.g.scale
        top = self.cursor
        self.write(label, 8, 1, grey=True, width=label_w - 2, baseline_of=11)
        self.cursor = top
        self.write(
            value, 11, max_lines, x=self.text_x + label_w, width=self.text_w - label_w, after=1.5
        )

    def write(
        self,
        text: str,
        size: float,
        max_lines: int,
        *,
        x: float | None = None,
        width: float | None = None,
        grey: bool = False,
        after: float = 0.0,
        by_char: bool = False,
        mono: bool = False,
        baseline_of: float | None = None,
    ) -> None:
        width = self.text_w if width is None else width
        size *= self.g.scale
        fitted = self.fit(self.r._text(text), size, width, max_lines, by_char=by_char, mono=mono)
        line_size = None if baseline_of is None else baseline_of * self.g.scale
        self.lines(
            *fitted,
            x=self.text_x if x is None else x,
            width=width,
            grey=grey,
            mono=mono,
            line_size=line_size,
        )
        self.cursor += after * self.g.scale

    def lines(
        self,
        size: float,
        lines: Sequence[str],
        *,
        x: float,
        width: float,
        grey: bool = False,
        mono: bool = False,
        line_size: float | None = None,
    ) -> None:
        pdf = self.pdf
        r = self.r
        r._set_font(pdf, size, mono=mono)
        pdf.set_text_color(*(_GREY if grey else _BLACK))
        height = (line_size or size) * _LEADING
        for line in lines:
            # The baseline as fpdf2's cell() puts it, so both ways of drawing line up.
            baseline = self.cursor + 0.5 * height + 0.3 * size / pdf.k
            if r._plain(line):
                pdf.text(x, baseline, line)
            else:
                pdf.set_xy(x, self.cursor)
                pdf.cell(w=width, h=height, text=line, align=Align.L)
            self.cursor += height

    # --- fitting -----------------------------------------------------------------------------

    def width_at(self, text: str, size: float, *, mono: bool = False) -> float:
        """The width of ``text`` at ``size`` points, in millimetres."""
        pdf = self.pdf
        if self.r._plain(text):
            # What fpdf2's get_string_width computes, without its per-call fragment objects.
            if self.r.fonts is None:
                units: float
                if mono:
                    units = 600.0 * len(text)
                else:
                    # Keyed by the byte each character is in the fonts' cp1252 encoding.
                    table = CORE_FONTS_CHARWIDTHS[_CORE_FAMILY.lower()]
                    encoded = text.encode(_CORE_ENCODING).decode("latin-1")
                    units = sum(table[char] for char in encoded)
            else:
                face = cast("TTFFont", pdf.fonts[self.r.fonts.family.lower()])
                widths = face.cw
                units = sum(widths[ord(char)] for char in text)
            return units * size / 1000 / pdf.k
        self.r._set_font(pdf, size, mono=mono)
        return pdf.get_string_width(text)

    def fit(
        self,
        text: str,
        size: float,
        width: float,
        max_lines: int,
        *,
        by_char: bool = False,
        mono: bool = False,
    ) -> tuple[float, list[str]]:
        """The size and lines ``text`` prints with in ``width``: as given if it fits on a line;
        else shrunk a little (to 85%) onto one line; else wrapped at sizes down to 60%; else cut
        with "…" at 60%."""
        natural = self.width_at(text, size, mono=mono)
        if natural <= width:
            return size, [text]
        one_line = size * width / natural
        if one_line >= size * (0.85 if max_lines > 1 else _MIN_SCALE):
            return _floor_size(one_line), [text]
        smallest = size * _MIN_SCALE
        candidate = size
        while True:
            lines = self.wrap(text, candidate, width, by_char=by_char, mono=mono)
            if len(lines) <= max_lines:
                return candidate, lines
            if candidate <= smallest:
                break
            candidate = max(_floor_size(candidate * 0.9), smallest)
        kept = lines[:max_lines]
        kept[-1] = self.cut(kept[-1] + " " + lines[max_lines], candidate, width, mono=mono)
        return candidate, kept

    def wrap(self, text: str, size: float, width: float, *, by_char: bool, mono: bool) -> list[str]:
        pieces = list(text) if by_char else text.split(" ")
        joiner = "" if by_char else " "
        lines: list[str] = []
        current = ""
        for piece in pieces:
            trial = piece if not current else current + joiner + piece
            if self.width_at(trial, size, mono=mono) <= width:
                current = trial
                continue
            if current:
                lines.append(current)
            # A word wider than the line is broken between its letters.
            while self.width_at(piece, size, mono=mono) > width and len(piece) > 1:
                cut = len(piece) - 1
                while cut > 1 and self.width_at(piece[:cut], size, mono=mono) > width:
                    cut -= 1
                lines.append(piece[:cut])
                piece = piece[cut:]
            current = piece
        if current:
            lines.append(current)
        return lines

    def cut(self, text: str, size: float, width: float, *, mono: bool) -> str:
        while text and self.width_at(text + _ELLIPSIS, size, mono=mono) > width:
            text = text[:-1]
        return text.rstrip() + _ELLIPSIS

    # --- the QR code -------------------------------------------------------------------------

    def qr(self, barcode: str, left: float, top: float) -> None:
        """The QR code of ``barcode``, its top left corner at (``left``, ``top``)."""
        draw_qr(self.pdf, qr_matrix(barcode), left, top, self.g.qr_size)


def _floor_size(size: float) -> float:
    # Sizes rounded down to a tenth of a point: the same ticket gives the same bytes.
    return math.floor(size * 10) / 10
