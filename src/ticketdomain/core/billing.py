"""Billing: an invoice's dates and structured reference, and the plain data its documents print.

Pure: the services load the invoice, its organization and structure, these functions decide
what is printed, a ``DocumentRenderer`` draws it. Nothing here knows about PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import attrs

from ticketdomain.core.accounts import HoldingAccount
from ticketdomain.core.banking import (
    Party,
    compact_reference,
    invoice_reference,
    is_creditor_reference,
    is_qr_reference,
)
from ticketdomain.core.contacts import Structure
from ticketdomain.core.errors import (
    BillingDetailsInvalidError,
    CurrencyMismatchError,
    InvoiceAlreadySettledError,
    InvoiceReferenceForeignError,
    InvoiceReferenceUnknownError,
)
from ticketdomain.core.invoices import Invoice, InvoiceKind, InvoiceLine, VatBreakdownRow
from ticketdomain.core.money import Money
from ticketdomain.core.setup import Organization
from ticketdomain.core.timezones import in_zone

#: payment terms of an organization that set none
DEFAULT_PAYMENT_TERMS_DAYS = 30


@attrs.frozen
class PaymentTerms:
    """What an invoice is issued with: when it is due, and how it is paid."""

    due_on: date
    #: a QR reference (QR-IBAN) or Creditor Reference (other Swiss IBAN); ``None``: no QR-bill
    reference: str | None = None
    iban: str | None = None


def issue_date(issued_at: datetime, time_zone: str) -> date:
    """The day an invoice was issued, in the organization's zone."""
    return in_zone(issued_at, time_zone).date()


def payment_terms(organization: Organization, number: int, issued_at: datetime) -> PaymentTerms:
    """The due date (issue date plus the organization's payment terms) and, for a Swiss IBAN
    and an invoice in CHF or EUR, the structured reference of invoice ``number``."""
    billing = organization.billing
    days = billing.payment_terms_days if billing is not None else DEFAULT_PAYMENT_TERMS_DAYS
    due_on = issue_date(issued_at, organization.time_zone) + timedelta(days=days)
    if billing is None or billing.iban is None:
        return PaymentTerms(due_on)
    qr_iban = billing.qr_bill_iban(organization.currency)
    reference = invoice_reference(qr_iban, organization.id, number) if qr_iban is not None else None
    return PaymentTerms(due_on, reference, billing.iban.value)


# --- documents ------------------------------------------------------------------------------


@attrs.frozen
class QrBillData:
    """The Swiss QR-bill payment part of an invoice (implementation guidelines 2.3)."""

    iban: str
    creditor: Party
    amount: Money
    debtor: Party | None = None
    reference: str | None = None
    #: unstructured message (``Invoice 12``)
    message: str = ""

    @property
    def reference_type(self) -> str:
        """``QRR`` (QR reference), ``SCOR`` (Creditor Reference) or ``NON``."""
        if self.reference is None:
            return "NON"
        return "QRR" if is_qr_reference(self.reference) else "SCOR"


@attrs.frozen
class InvoiceDocument:
    """Everything an invoice or a credit note prints, computed by the core."""

    kind: InvoiceKind
    number: int
    seller: Party
    buyer: Party
    issue_date: date
    currency: str
    lines: tuple[InvoiceLine, ...]
    vat_rows: tuple[VatBreakdownRow, ...]
    total: Money
    order_ids: tuple[str, ...]
    due_date: date | None = None
    payment_terms_days: int | None = None
    #: for a credit note: the number of the invoice it negates
    corrects_number: int | None = None
    reference: str | None = None
    iban: str | None = None
    qr_bill: QrBillData | None = None
    #: the language of the labels (``en``, ``fr``, ``de``)
    language: str = "en"

    @property
    def is_credit_note(self) -> bool:
        return self.kind is InvoiceKind.CREDIT_NOTE

    @property
    def filename(self) -> str:
        stem = "credit-note" if self.is_credit_note else "invoice"
        return f"{stem}-{self.number}.pdf"


def seller_party(organization: Organization) -> Party:
    """The organization as its invoices print it now (kept on each invoice it issues)."""
    billing = organization.billing
    if billing is None:
        return Party(organization.name)
    return Party(organization.name, billing.address, billing.vat_number)


def buyer_party(structure: Structure) -> Party:
    """The structure as its invoices print it now (kept on each invoice it receives)."""
    billing = structure.billing
    if billing is None:
        return Party(structure.name)
    return Party(structure.name, billing.address)


#: the QR-bill's unstructured message ("Invoice 12"), in the document's language
_INVOICE_WORD = {"en": "Invoice", "fr": "Facture", "de": "Rechnung", "it": "Fattura"}


def _qr_bill(invoice: Invoice, seller: Party, buyer: Party, language: str) -> QrBillData | None:
    # Only invoices issued with a structured reference (a Swiss IBAN, CHF or EUR) carry one,
    # and the payment part needs the creditor's address.
    if invoice.kind is not InvoiceKind.INVOICE or invoice.reference is None:
        return None
    if invoice.iban is None or seller.address is None or not invoice.total.is_positive:
        return None
    if not (is_qr_reference(invoice.reference) or is_creditor_reference(invoice.reference)):
        return None
    return QrBillData(
        iban=invoice.iban,
        creditor=seller,
        amount=invoice.total,
        debtor=buyer if buyer.address is not None else None,
        reference=invoice.reference,
        message=f"{_INVOICE_WORD.get(language, 'Invoice')} {invoice.number}",
    )


def invoice_document(
    invoice: Invoice,
    organization: Organization,
    structure: Structure,
    *,
    corrected: Invoice | None = None,
    language: str = "en",
) -> InvoiceDocument:
    """The document of an invoice, or of a credit note (``corrected``: the invoice it
    negates): everything as the invoice was issued (seller, buyer, dates, lines, amounts,
    reference and account)."""
    # As issued; invoices issued before their parties were kept print them as they are now.
    seller = invoice.seller or seller_party(organization)
    buyer = invoice.buyer or buyer_party(structure)
    issued = issue_date(invoice.issued_at, organization.time_zone)
    # The terms as issued: the days from the issue date to the due date.
    due_on = invoice.due_on if invoice.kind is InvoiceKind.INVOICE else None
    return InvoiceDocument(
        kind=invoice.kind,
        number=invoice.number,
        seller=seller,
        buyer=buyer,
        issue_date=issued,
        currency=invoice.currency,
        lines=invoice.lines,
        vat_rows=invoice.vat_breakdown,
        total=invoice.total,
        order_ids=invoice.order_ids,
        due_date=due_on,
        payment_terms_days=(due_on - issued).days if due_on is not None else None,
        corrects_number=corrected.number if corrected is not None else None,
        reference=invoice.reference,
        iban=invoice.iban,
        qr_bill=_qr_bill(invoice, seller, buyer, language),
        language=language,
    )


@attrs.frozen
class ReportColumn:
    title: str
    #: right-aligned (amounts, counts)
    numeric: bool = False
    #: relative width
    weight: float = 1.0


@attrs.frozen
class ReportTable:
    """One table: its header row is printed again at the top of every page it runs onto."""

    title: str
    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[str, ...], ...]


@attrs.frozen
class ReportDocument:
    """A report as tables of text, with a title and a few lines under it."""

    title: str
    subtitle: tuple[str, ...]
    tables: tuple[ReportTable, ...]
    filename: str
    language: str = "en"


# --- payments by reference ------------------------------------------------------------------


def invoice_to_settle(
    reference: str,
    candidates: Sequence[Invoice],
    *,
    organization_id: str,
    structure_id: str,
    amount: Money,
    account: HoldingAccount | None,
) -> Invoice:
    """The invoice a payment made with structured ``reference`` settles, among ``candidates``
    (the invoices of the caller's institution carrying it).

    Raises ``BillingDetailsInvalidError`` for a reference whose check digits fail (a typing
    error), ``InvoiceReferenceUnknownError`` when no invoice carries it,
    ``InvoiceReferenceForeignError`` for another organization's or another structure's,
    ``InvoiceAlreadySettledError`` for one with nothing left due (paid, credited, or a credit
    note) and ``CurrencyMismatchError`` for a payment in another currency.
    """
    compact = compact_reference(reference)
    if not (is_qr_reference(compact) or is_creditor_reference(compact)):
        raise BillingDetailsInvalidError(
            "This is neither a QR reference nor a Creditor Reference (check digits).",
            field="invoice_reference",
        )
    if not candidates:
        raise InvoiceReferenceUnknownError("No invoice carries this reference.", reference=compact)
    ours = [i for i in candidates if i.organization_id == organization_id]
    if not ours:
        raise InvoiceReferenceForeignError(
            "This reference is another organization's invoice.",
            reference=compact,
            organization_id=candidates[0].organization_id,
        )
    invoice = ours[0]
    if invoice.structure_id != structure_id:
        raise InvoiceReferenceForeignError(
            "This reference is another structure's invoice.",
            reference=compact,
            structure_id=invoice.structure_id,
        )
    if (
        invoice.kind is not InvoiceKind.INVOICE
        or account is None
        or account.remaining_on(invoice.id).is_zero
    ):
        raise InvoiceAlreadySettledError(
            f"Invoice {invoice.number} has nothing left to pay.",
            reference=compact,
            invoice_id=invoice.id,
            number=invoice.number,
        )
    if amount.currency != invoice.currency:
        raise CurrencyMismatchError(
            f"Invoice {invoice.number} is in {invoice.currency}, the payment in {amount.currency}.",
            invoice_currency=invoice.currency,
            currency=amount.currency,
        )
    return invoice
