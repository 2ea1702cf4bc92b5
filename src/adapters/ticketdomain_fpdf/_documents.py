"""Invoices, credit notes and report tables as PDF, with fpdf2 (a ``DocumentRenderer``).

An invoice prints the seller and the buyer (the buyer where a window envelope shows it), its
number, issue and due dates, one line per order line with the order it comes from, the VAT per
rate (net, VAT, gross), the total and the payment terms; a credit note names the invoice it
negates. An invoice with a structured reference (a Swiss IBAN, CHF or EUR) carries the Swiss
QR-bill payment part at the bottom of its first page (``_qrbill``).

A report prints its title and lines under it at the top of every page, each table's header row
again on every page it runs onto, and "Page N of M" at the bottom of every page.

Text goes through H1's ``FontSet`` (embedded DejaVu Sans with Arabic and CJK fallbacks by
default), so any script prints. The output depends on the document and the options only: the
creation date is fixed unless given.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import attrs
from fpdf.enums import Align, TableHeadingsDisplay, XPos, YPos
from fpdf.fonts import FontFace

from ticketdomain.core.banking import Party
from ticketdomain.core.billing import InvoiceDocument, ReportDocument, ReportTable
from ticketdomain.core.money import Money
from ticketdomain_fpdf._fonts import FontDocument, FontSet
from ticketdomain_fpdf._qrbill import SLIP_TOP, PaymentSlip, format_iban, format_reference
from ticketdomain_fpdf._words import long_date

DEFAULT_DOCUMENT_DATE = datetime(2000, 1, 1, tzinfo=UTC)

_MARGIN = 18.0
_GREY = (235, 235, 235)

#: invoice labels per language (English for any other); the QR-bill slip takes qrbill's
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "corrects": "Credit note for invoice {number}",
        "issue_date": "Issue date",
        "due_date": "Due date",
        "terms": "Payment terms",
        "terms_days": "{days} days net",
        "reference": "Reference",
        "vat_number": "VAT number",
        "order": "Order",
        "description": "Description",
        "quantity": "Qty",
        "unit_price": "Unit price",
        "vat": "VAT",
        "amount": "Amount",
        "vat_rate": "VAT rate",
        "net": "Net",
        "gross": "Gross",
        "total": "Total",
        "pay": "Please pay {total} by {due} to {iban}, with the reference {reference}.",
        "pay_plain": "Please pay {total} by {due}.",
        "credited": "This amount is credited to your account.",
        "page": "Page {page} of {pages}",
    },
    "fr": {
        "invoice": "Facture",
        "credit_note": "Note de crédit",
        "corrects": "Note de crédit pour la facture {number}",
        "issue_date": "Date d'émission",
        "due_date": "Échéance",
        "terms": "Conditions de paiement",
        "terms_days": "{days} jours net",
        "reference": "Référence",
        "vat_number": "N° TVA",
        "order": "Commande",
        "description": "Description",
        "quantity": "Qté",
        "unit_price": "Prix unitaire",
        "vat": "TVA",
        "amount": "Montant",
        "vat_rate": "Taux de TVA",
        "net": "Net",
        "gross": "Brut",
        "total": "Total",
        "pay": "Merci de payer {total} d'ici au {due} sur {iban}, référence {reference}.",
        "pay_plain": "Merci de payer {total} d'ici au {due}.",
        "credited": "Ce montant est crédité sur votre compte.",
        "page": "Page {page} sur {pages}",
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "corrects": "Gutschrift zur Rechnung {number}",
        "issue_date": "Rechnungsdatum",
        "due_date": "Fällig am",
        "terms": "Zahlungsbedingungen",
        "terms_days": "{days} Tage netto",
        "reference": "Referenz",
        "vat_number": "MWST-Nr.",
        "order": "Bestellung",
        "description": "Beschreibung",
        "quantity": "Menge",
        "unit_price": "Einzelpreis",
        "vat": "MWST",
        "amount": "Betrag",
        "vat_rate": "MWST-Satz",
        "net": "Netto",
        "gross": "Brutto",
        "total": "Total",
        "pay": "Bitte zahlen Sie {total} bis {due} auf {iban}, Referenz {reference}.",
        "pay_plain": "Bitte zahlen Sie {total} bis {due}.",
        "credited": "Dieser Betrag wird Ihrem Konto gutgeschrieben.",
        "page": "Seite {page} von {pages}",
    },
    "it": {
        "invoice": "Fattura",
        "credit_note": "Nota di credito",
        "corrects": "Nota di credito per la fattura {number}",
        "issue_date": "Data di emissione",
        "due_date": "Scadenza",
        "terms": "Condizioni di pagamento",
        "terms_days": "{days} giorni netto",
        "reference": "Riferimento",
        "vat_number": "N. IVA",
        "order": "Ordine",
        "description": "Descrizione",
        "quantity": "Qtà",
        "unit_price": "Prezzo unitario",
        "vat": "IVA",
        "amount": "Importo",
        "vat_rate": "Aliquota IVA",
        "net": "Netto",
        "gross": "Lordo",
        "total": "Totale",
        "pay": "Vi preghiamo di pagare {total} entro il {due} su {iban}, riferimento {reference}.",
        "pay_plain": "Vi preghiamo di pagare {total} entro il {due}.",
        "credited": "Questo importo è accreditato sul vostro conto.",
        "page": "Pagina {page} di {pages}",
    },
}


def labels_for(language: str) -> dict[str, str]:
    return LABELS.get(language, LABELS["en"])


#: what a report prints in words, by language, keyed by the English the services write: its
#: title, section titles and column headers, and its subtitle lines as patterns whose ``{name}``
#: parts (ids, names, dates, figures) are kept as they are. English, and any text not listed,
#: prints unchanged; the footer takes the invoices' "page" label.
REPORT_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "Sales report": "Rapport des ventes",
        "Dashboard": "Tableau de bord",
        "Sales": "Ventes",
        "By performance": "Par représentation",
        "By tariff": "Par tarif",
        "By relay": "Par relais",
        "Total": "Total",
        "Per product": "Par produit",
        "To sub-structures": "Aux sous-structures",
        "Placed at": "Passée le",
        "Order": "Commande",
        "Relay": "Relais",
        "Contact": "Contact",
        "Performance": "Représentation",
        "Tariff": "Tarif",
        "Qty": "Qté",
        "Amount": "Montant",
        "Payment": "Paiement",
        "State": "État",
        "Quantity": "Quantité",
        "Activity": "Activité",
        "Product": "Produit",
        "Bought": "Achetés",
        "Received": "Reçus",
        "In stock": "En stock",
        "Distributed": "Distribués",
        "To individuals": "Aux personnes",
        "Handed over": "Remis",
        "Printed": "Imprimés",
        "Controlled": "Contrôlés",
        "Cancelled": "Annulés",
        "Sub-structure": "Sous-structure",
        "Tickets": "Billets",
        "Structure {structure}": "Structure {structure}",
        "All sales ({zone}); amounts in {currency}; cancelled orders are listed, not totalled": (
            "Toutes les ventes ({zone}), montants en {currency}, commandes annulées listées "
            "mais non totalisées"
        ),
        "Period {start} to {end} ({zone}); amounts in {currency}; cancelled orders are "
        "listed, not totalled": (
            "Période du {start} au {end} ({zone}), montants en {currency}, commandes annulées "
            "listées mais non totalisées"
        ),
        "{in_stock} left to distribute of {came_in}": "{in_stock} à distribuer sur {came_in}",
    },
    "de": {
        "Sales report": "Verkaufsbericht",
        "Dashboard": "Übersicht",
        "Sales": "Verkäufe",
        "By performance": "Nach Vorstellung",
        "By tariff": "Nach Tarif",
        "By relay": "Nach Vermittler",
        "Total": "Total",
        "Per product": "Pro Produkt",
        "To sub-structures": "An Unterstrukturen",
        "Placed at": "Bestellt am",
        "Order": "Bestellung",
        "Relay": "Vermittler",
        "Contact": "Kontakt",
        "Performance": "Vorstellung",
        "Tariff": "Tarif",
        "Qty": "Menge",
        "Amount": "Betrag",
        "Payment": "Zahlung",
        "State": "Status",
        "Quantity": "Anzahl",
        "Activity": "Aktivität",
        "Product": "Produkt",
        "Bought": "Gekauft",
        "Received": "Erhalten",
        "In stock": "Am Lager",
        "Distributed": "Verteilt",
        "To individuals": "An Personen",
        "Handed over": "Übergeben",
        "Printed": "Gedruckt",
        "Controlled": "Kontrolliert",
        "Cancelled": "Storniert",
        "Sub-structure": "Unterstruktur",
        "Tickets": "Tickets",
        "Structure {structure}": "Struktur {structure}",
        "All sales ({zone}); amounts in {currency}; cancelled orders are listed, not totalled": (
            "Alle Verkäufe ({zone}), Beträge in {currency}, stornierte Bestellungen aufgeführt, "
            "nicht summiert"
        ),
        "Period {start} to {end} ({zone}); amounts in {currency}; cancelled orders are "
        "listed, not totalled": (
            "Zeitraum {start} bis {end} ({zone}), Beträge in {currency}, stornierte "
            "Bestellungen aufgeführt, nicht summiert"
        ),
        "{in_stock} left to distribute of {came_in}": "{in_stock} von {came_in} zu verteilen",
    },
    "it": {
        "Sales report": "Rapporto delle vendite",
        "Dashboard": "Cruscotto",
        "Sales": "Vendite",
        "By performance": "Per rappresentazione",
        "By tariff": "Per tariffa",
        "By relay": "Per intermediario",
        "Total": "Totale",
        "Per product": "Per prodotto",
        "To sub-structures": "A sottostrutture",
        "Placed at": "Effettuato il",
        "Order": "Ordine",
        "Relay": "Intermediario",
        "Contact": "Contatto",
        "Performance": "Rappresentazione",
        "Tariff": "Tariffa",
        "Qty": "Qtà",
        "Amount": "Importo",
        "Payment": "Pagamento",
        "State": "Stato",
        "Quantity": "Quantità",
        "Activity": "Attività",
        "Product": "Prodotto",
        "Bought": "Acquistati",
        "Received": "Ricevuti",
        "In stock": "In giacenza",
        "Distributed": "Distribuiti",
        "To individuals": "A persone",
        "Handed over": "Consegnati",
        "Printed": "Stampati",
        "Controlled": "Controllati",
        "Cancelled": "Annullati",
        "Sub-structure": "Sottostruttura",
        "Tickets": "Biglietti",
        "Structure {structure}": "Struttura {structure}",
        "All sales ({zone}); amounts in {currency}; cancelled orders are listed, not totalled": (
            "Tutte le vendite ({zone}), importi in {currency}, ordini annullati elencati ma "
            "non totalizzati"
        ),
        "Period {start} to {end} ({zone}); amounts in {currency}; cancelled orders are "
        "listed, not totalled": (
            "Periodo dal {start} al {end} ({zone}), importi in {currency}, ordini annullati "
            "elencati ma non totalizzati"
        ),
        "{in_stock} left to distribute of {came_in}": "{in_stock} da distribuire su {came_in}",
    },
}

_FIELD = re.compile(r"\{(\w+)\}")


@cache
def _pattern(english: str) -> re.Pattern[str]:
    """``english`` with each ``{name}`` matching any text, as a group of that name."""
    parts = _FIELD.split(english)  # the text between fields, then each field's name
    return re.compile(
        "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
    )


def report_text(text: str, language: str) -> str:
    """A report's ``text`` (a title, a header, a subtitle line) in ``language``: the listed
    word for it, else the first pattern it matches with its parts put back, else ``text``."""
    words = REPORT_WORDS.get(language)
    if not words:
        return text
    if text in words:
        return words[text]
    for english, translated in words.items():
        if "{" in english:
            found = _pattern(english).fullmatch(text)
            if found is not None:
                return translated.format(**found.groupdict())
    return text


def format_amount(amount: Decimal) -> str:
    """An amount as the documents print it: two decimals, no grouping (``-1234.50``)."""
    return f"{amount:.2f}"


def format_money(money: Money) -> str:
    return f"{money.currency} {format_amount(money.amount)}"


def format_date(day: date, language: str = "en") -> str:
    """A date as the documents in ``language`` print it: "5 March 2026", "5 mars 2026",
    "5. März 2026", "5 marzo 2026" (``_words.long_date``)."""
    return long_date(day, language)


def format_rate(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


class _Document(FontDocument):
    """An A4 page with a running header and footer drawn by the renderer's callbacks."""

    def __init__(self, fonts: FontSet | None, orientation: str = "portrait") -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4", fonts=fonts)
        self.running_header: Any = None
        self.running_footer: Any = None

    def header(self) -> None:
        if self.running_header is not None:
            self.running_header()

    def footer(self) -> None:
        if self.running_footer is not None:
            self.running_footer()


class FpdfDocumentRenderer:
    """A ``DocumentRenderer`` drawing invoices, credit notes and reports as PDF.

    ``fonts``: the ``FontSet`` to print with (the embedded fonts by default, which cover Latin,
    Greek, Cyrillic, Arabic and CJK). ``creation_date`` goes into the metadata in place of the
    current time, so the same document always gives the same bytes.
    """

    media_type = "application/pdf"

    def __init__(
        self,
        *,
        fonts: FontSet | None = None,
        compress: bool = True,
        creation_date: datetime = DEFAULT_DOCUMENT_DATE,
    ) -> None:
        if creation_date.tzinfo is None:
            raise ValueError("creation_date must be timezone-aware.")
        self.fonts = fonts
        self.compress = compress
        self.creation_date = creation_date

    def _new(self, title: str, orientation: str = "portrait") -> _Document:
        pdf = _Document(self.fonts, orientation)
        pdf.set_compression(self.compress)
        pdf.set_creation_date(self.creation_date)
        pdf.set_title(title)
        pdf.set_creator("ticketdomain")
        pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        pdf.set_auto_page_break(True, _MARGIN)
        return pdf

    def _font(self, pdf: _Document, size: float, bold: bool = False) -> None:
        pdf.set_font(pdf.font_set.family, "B" if bold else "", size)

    # --- invoices ---------------------------------------------------------------------------

    def render_invoice(self, document: InvoiceDocument) -> bytes:
        words = labels_for(document.language)
        kind = words["credit_note" if document.is_credit_note else "invoice"]
        title = f"{kind} {document.number}"
        pdf = self._new(title)

        def header() -> None:
            self._font(pdf, 8)
            pdf.set_xy(_MARGIN, 8)
            page = words["page"].format(page=pdf.page_no(), pages="{nb}")
            pdf.cell(pdf.epw, 4, f"{title} · {page}", align=Align.R)
            pdf.set_xy(_MARGIN, _MARGIN)

        pdf.running_header = header
        pdf.add_page()
        if document.qr_bill is not None:
            # The payment part takes the bottom of the first page: the text stops above it.
            PaymentSlip(pdf, pdf.font_set.family, document.language).draw(document.qr_bill)
            pdf.set_auto_page_break(True, pdf.h - SLIP_TOP + 6)
            pdf.set_xy(_MARGIN, _MARGIN)
            pdf.running_footer = lambda: pdf.set_auto_page_break(True, _MARGIN)
        self._parties(pdf, document, words)
        self._title(pdf, document, words, title)
        self._lines(pdf, document, words)
        self._vat(pdf, document, words)
        self._payment(pdf, document, words)
        return bytes(pdf.output())

    def _party(
        self, pdf: _Document, x: float, y: float, party: Party, words: dict[str, str]
    ) -> None:
        pdf.set_xy(x, y)
        self._font(pdf, 10, bold=True)
        pdf.multi_cell(80, 5, party.name, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self._font(pdf, 10)
        for line in party.address.lines() if party.address else ():
            pdf.multi_cell(80, 5, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
        if party.vat_number:
            pdf.multi_cell(
                80, 5, f"{words['vat_number']} {party.vat_number}", new_x=XPos.LEFT, new_y=YPos.NEXT
            )

    def _parties(self, pdf: _Document, document: InvoiceDocument, words: dict[str, str]) -> None:
        self._party(pdf, _MARGIN, _MARGIN, document.seller, words)
        seller_end = pdf.get_y()
        # The buyer where the window of a C5/C6 envelope (window on the right) shows it.
        self._party(pdf, 118, 40, document.buyer, words)
        pdf.set_y(max(seller_end, pdf.get_y()) + 6)

    def _title(
        self, pdf: _Document, document: InvoiceDocument, words: dict[str, str], title: str
    ) -> None:
        pdf.set_x(_MARGIN)
        self._font(pdf, 14, bold=True)
        pdf.cell(pdf.epw, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._font(pdf, 10)
        facts = [(words["issue_date"], format_date(document.issue_date, document.language))]
        if document.corrects_number is not None:
            pdf.cell(
                pdf.epw,
                6,
                words["corrects"].format(number=document.corrects_number),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
        if document.due_date is not None:
            facts.append((words["due_date"], format_date(document.due_date, document.language)))
        if document.payment_terms_days is not None:
            facts.append(
                (words["terms"], words["terms_days"].format(days=document.payment_terms_days))
            )
        if document.reference is not None and not document.is_credit_note:
            facts.append((words["reference"], format_reference(document.reference)))
        # The label column fits the longest label of the language ("Conditions de paiement").
        self._font(pdf, 10, bold=True)
        label_width = max([45.0] + [pdf.get_string_width(name) + 4 for name, _ in facts])
        for name, value in facts:
            self._font(pdf, 10, bold=True)
            pdf.cell(label_width, 5, name)
            self._font(pdf, 10)
            pdf.cell(pdf.epw - label_width, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)

    def _table(
        self,
        pdf: _Document,
        rows: list[tuple[str, ...]],
        widths: tuple[float, ...],
        align: tuple[str, ...],
        *,
        bold_last: bool = False,
    ) -> None:
        self._font(pdf, 9)
        with pdf.table(
            col_widths=widths,
            text_align=align,
            width=pdf.epw,
            line_height=4.2,
            headings_style=FontFace(emphasis="BOLD", fill_color=_GREY),
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
            borders_layout="HORIZONTAL_LINES",
            padding=(0.8, 1.5),
        ) as table:
            for index, cells in enumerate(rows):
                style = FontFace(emphasis="BOLD") if bold_last and index == len(rows) - 1 else None
                table.row(cells, style=style)
        pdf.ln(3)

    def _lines(self, pdf: _Document, document: InvoiceDocument, words: dict[str, str]) -> None:
        rows: list[tuple[str, ...]] = [
            (
                words["order"],
                words["description"],
                words["quantity"],
                words["unit_price"],
                words["vat"],
                words["amount"],
            )
        ]
        rows += [
            (
                line.order_id,
                line.description,
                str(line.quantity),
                format_amount(line.unit_price.amount),
                format_rate(line.vat_rate.rate),
                format_amount(line.total.amount),
            )
            for line in document.lines
        ]
        self._table(
            pdf,
            rows,
            (2.8, 7.6, 1.6, 2.4, 1.6, 2.2),
            ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        )

    def _vat(self, pdf: _Document, document: InvoiceDocument, words: dict[str, str]) -> None:
        rows: list[tuple[str, ...]] = [
            (words["vat_rate"], words["net"], words["vat"], words["gross"])
        ]
        rows += [
            (
                format_rate(row.vat_rate.rate),
                format_amount(row.net.amount),
                format_amount(row.vat.amount),
                format_amount(row.gross.amount),
            )
            for row in document.vat_rows
        ]
        rows.append(
            (
                f"{words['total']} {document.currency}",
                format_amount(sum((row.net.amount for row in document.vat_rows), Decimal(0))),
                format_amount(sum((row.vat.amount for row in document.vat_rows), Decimal(0))),
                format_amount(document.total.amount),
            )
        )
        self._table(pdf, rows, (4, 3, 3, 3), ("LEFT", "RIGHT", "RIGHT", "RIGHT"), bold_last=True)

    def _payment(self, pdf: _Document, document: InvoiceDocument, words: dict[str, str]) -> None:
        self._font(pdf, 10)
        total = format_money(document.total)
        if document.is_credit_note:
            text = words["credited"]
        elif document.due_date is not None and document.iban and document.reference:
            text = words["pay"].format(
                total=total,
                due=format_date(document.due_date, document.language),
                iban=format_iban(document.iban),
                reference=format_reference(document.reference),
            )
        elif document.due_date is not None:
            text = words["pay_plain"].format(
                total=total, due=format_date(document.due_date, document.language)
            )
        else:
            return
        pdf.set_x(_MARGIN)
        pdf.multi_cell(pdf.epw, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # --- reports ----------------------------------------------------------------------------

    def render_report(self, document: ReportDocument) -> bytes:
        document = _in_language(document)
        page_words = labels_for(document.language)["page"]
        wide = sum(len(table.columns) for table in document.tables[:1]) > 6
        pdf = self._new(document.title, "landscape" if wide else "portrait")
        pdf.set_auto_page_break(True, _MARGIN)

        def header() -> None:
            pdf.set_xy(_MARGIN, 8)
            self._font(pdf, 12, bold=True)
            pdf.cell(pdf.epw, 6, document.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self._font(pdf, 8)
            for line in document.subtitle:
                pdf.multi_cell(pdf.epw, 4, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(3)

        def footer() -> None:
            pdf.set_y(-12)
            self._font(pdf, 8)
            page = page_words.format(page=pdf.page_no(), pages="{nb}")
            pdf.cell(pdf.epw, 4, page, align=Align.C)

        pdf.running_header = header
        pdf.running_footer = footer
        pdf.add_page()
        for table in document.tables:
            self._report_table(pdf, table)
        return bytes(pdf.output())

    def _report_table(self, pdf: _Document, table: ReportTable) -> None:
        # A table's title stays with its header row.
        if pdf.get_y() > pdf.h - _MARGIN - 25:
            pdf.add_page()
        self._font(pdf, 10, bold=True)
        pdf.cell(pdf.epw, 7, table.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        rows: list[tuple[str, ...]] = [tuple(column.title for column in table.columns)]
        rows += list(table.rows)
        align = tuple("RIGHT" if column.numeric else "LEFT" for column in table.columns)
        self._table(pdf, rows, self._widths(pdf, table), align)

    def _widths(self, pdf: _Document, table: ReportTable) -> tuple[float, ...]:
        """Each column its share of the page by weight, but at least its header's longest word
        (a header never breaks inside a word)."""
        self._font(pdf, 9, bold=True)
        least = [
            max((pdf.get_string_width(word) for word in column.title.split()), default=0.0) + 4
            for column in table.columns
        ]
        total = sum(column.weight for column in table.columns)
        shares = [column.weight / total * pdf.epw for column in table.columns]
        widths = [max(share, low) for share, low in zip(shares, least, strict=True)]
        # Give back what the widened columns took, from the others, in proportion.
        excess = sum(widths) - pdf.epw
        flexible = sum(w - low for w, low in zip(widths, least, strict=True) if w > low)
        if excess > 0 and flexible > 0:
            widths = [
                w - excess * (w - low) / flexible if w > low else w
                for w, low in zip(widths, least, strict=True)
            ]
        return tuple(widths)


def _in_language(document: ReportDocument) -> ReportDocument:
    """The report with its title, subtitle lines, table titles and column headers in its
    language (``report_text``), and the "Total" label of a table's last row; the cells
    (ids, names, dates, figures) as they are."""
    language = document.language
    if language not in REPORT_WORDS:
        return document

    def words(text: str) -> str:
        return report_text(text, language)

    def table_in_language(table: ReportTable) -> ReportTable:
        rows = list(table.rows)
        if rows and rows[-1] and rows[-1][0] == "Total":
            rows[-1] = (words("Total"), *rows[-1][1:])
        return attrs.evolve(
            table,
            title=words(table.title),
            columns=tuple(
                attrs.evolve(column, title=words(column.title)) for column in table.columns
            ),
            rows=tuple(rows),
        )

    return attrs.evolve(
        document,
        title=words(document.title),
        subtitle=tuple(words(line) for line in document.subtitle),
        tables=tuple(table_in_language(table) for table in document.tables),
    )
