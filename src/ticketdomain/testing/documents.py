"""A contract suite every ``DocumentRenderer`` passes (``RecordingDocumentRenderer``,
``ticketdomain_fpdf.FpdfDocumentRenderer``, a host's own): subclass it and implement
:meth:`DocumentRendererContract.make_renderer`::

    class TestMyRenderer(DocumentRendererContract):
        def make_renderer(self) -> DocumentRenderer:
            return MyRenderer()

The documents are built as the core builds them: an invoice with a Swiss QR-bill, a credit
note, an invoice without billing details, one of many lines, names in many scripts, report
tables empty and long.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from ticketdomain.core.banking import Iban, Party, PostalAddress, qr_reference
from ticketdomain.core.billing import (
    InvoiceDocument,
    QrBillData,
    ReportColumn,
    ReportDocument,
    ReportTable,
)
from ticketdomain.core.invoices import InvoiceKind, InvoiceLine, vat_breakdown
from ticketdomain.core.money import Money, VatRate
from ticketdomain.ports.documents import DocumentRenderer

__all__ = ["NAMES", "DocumentRendererContract", "a_report_document", "an_invoice_document"]

#: names people type, in the scripts a renderer must print
NAMES = (
    "Zoë Ñúñez",
    "Łukasz Wąsowski",
    "Straße am Fluß",
    "Σοφία Παπαδοπούλου",
    "Дмитрий Иванов",
    "فاطمة الزهراء",
    "山田 太郎",
    "김민준",
)


def _chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


def _lines(count: int, sign: int = 1) -> tuple[InvoiceLine, ...]:
    rates = (VatRate(Decimal("0.081")), VatRate(Decimal("0.026")))
    return tuple(
        InvoiceLine(
            order_id=f"ord-{index // 2 + 1}",
            order_line_id=f"line-{index + 1}",
            description=f"Carmen, 2026-03-14 20:00 CET, Grand Théâtre: Seat / Tariff {index + 1}",
            quantity=1 + index % 3,
            unit_price=_chf("45.50") if sign > 0 else -_chf("45.50"),
            vat_rate=rates[index % 2],
            total=_chf("45.50").times(1 + index % 3)
            if sign > 0
            else -_chf("45.50").times(1 + index % 3),
        )
        for index in range(count)
    )


def an_invoice_document(
    lines: int = 3,
    *,
    kind: InvoiceKind = InvoiceKind.INVOICE,
    buyer_name: str = "Léman Voyages SA",
    billing: bool = True,
    language: str = "en",
) -> InvoiceDocument:
    """An invoice (with a QR-bill when ``billing``) or a credit note of ``lines`` lines."""
    sign = -1 if kind is InvoiceKind.CREDIT_NOTE else 1
    items = _lines(lines, sign)
    total = Money.sum((line.total for line in items), "CHF")
    seller = Party(
        "Grand Théâtre de Genève",
        PostalAddress("Boulevard du Théâtre", "11", "1204", "Genève", "CH") if billing else None,
        "CHE-116.281.710 TVA" if billing else None,
    )
    buyer = Party(
        buyer_name, PostalAddress("Rue du Lac", "2", "1003", "Lausanne", "CH") if billing else None
    )
    iban = Iban("CH44 3199 9123 0008 8901 2").value
    reference = qr_reference("123456") if billing and sign > 0 else None
    qr_bill = (
        QrBillData(iban, seller, total, buyer, reference, "Invoice 7")
        if reference is not None
        else None
    )
    return InvoiceDocument(
        kind=kind,
        number=7 if sign > 0 else 8,
        seller=seller,
        buyer=buyer,
        issue_date=date(2026, 3, 1),
        currency="CHF",
        lines=items,
        vat_rows=vat_breakdown(items, "CHF"),
        total=total,
        order_ids=tuple(sorted({line.order_id for line in items})),
        due_date=date(2026, 3, 31) if sign > 0 else None,
        payment_terms_days=30 if sign > 0 else None,
        corrects_number=7 if sign < 0 else None,
        reference=reference,
        iban=iban if billing else None,
        qr_bill=qr_bill,
        language=language,
    )


def a_report_document(rows: int = 3, *, name: str = "Alice Martin") -> ReportDocument:
    columns = (
        ReportColumn("Placed at", weight=1.6),
        ReportColumn("Relay", weight=2),
        ReportColumn("Performance", weight=3),
        ReportColumn("Qty", True, 0.6),
        ReportColumn("Amount", True, 1.2),
    )
    return ReportDocument(
        title="Sales report",
        subtitle=("Structure str-1", f"Generated {datetime(2026, 3, 1, tzinfo=UTC):%Y-%m-%d}"),
        tables=(
            ReportTable(
                "Sales",
                columns,
                tuple(
                    (
                        "2026-03-01 10:00",
                        name,
                        "Carmen, 2026-03-14 20:00 CET",
                        str(1 + i % 4),
                        f"{45.5 * (1 + i % 4):.2f}",
                    )
                    for i in range(rows)
                ),
            ),
            ReportTable("Empty", (ReportColumn(""), ReportColumn("Count", True)), ()),
        ),
        filename="sales-report-str-1.pdf",
    )


class DocumentRendererContract:
    """Tests every document renderer passes."""

    def make_renderer(self) -> DocumentRenderer:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _contract_renderer(self) -> None:
        self.renderer = self.make_renderer()

    def _check(self, content: bytes) -> None:
        assert isinstance(content, bytes) and content
        if self.renderer.media_type == "application/pdf":
            assert content.startswith(b"%PDF-")

    def test_it_names_its_media_type(self) -> None:
        assert "/" in self.renderer.media_type

    def test_an_invoice_with_its_qr_bill_renders_the_same_every_time(self) -> None:
        document = an_invoice_document()
        first = self.renderer.render_invoice(document)
        self._check(first)
        assert self.renderer.render_invoice(document) == first

    def test_a_credit_note_renders(self) -> None:
        self._check(self.renderer.render_invoice(an_invoice_document(kind=InvoiceKind.CREDIT_NOTE)))

    def test_an_invoice_without_billing_details_renders(self) -> None:
        self._check(self.renderer.render_invoice(an_invoice_document(billing=False)))

    def test_an_invoice_of_many_lines_renders(self) -> None:
        self._check(self.renderer.render_invoice(an_invoice_document(60)))

    @pytest.mark.parametrize("name", NAMES)
    def test_names_in_any_script_render(self, name: str) -> None:
        self._check(self.renderer.render_invoice(an_invoice_document(buyer_name=name)))
        self._check(self.renderer.render_report(a_report_document(name=name)))

    @pytest.mark.parametrize("language", ["en", "fr", "de", "it"])
    def test_every_language_of_mail_renders(self, language: str) -> None:
        self._check(self.renderer.render_invoice(an_invoice_document(language=language)))

    def test_reports_empty_and_long_render_the_same_every_time(self) -> None:
        for document in (a_report_document(0), a_report_document(300)):
            first = self.renderer.render_report(document)
            self._check(first)
            assert self.renderer.render_report(document) == first

    def test_a_report_of_no_table_renders(self) -> None:
        self._check(self.renderer.render_report(attrs.evolve(a_report_document(), tables=())))
