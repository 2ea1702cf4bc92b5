"""Every kind of mail in every language, sent by the real services and read as a mail program.

For each ``MailKind`` and each language of ``LANGUAGES``, a world wired to ``JinjaMailTemplates``,
``FpdfTicketRenderer`` and ``FpdfDocumentRenderer`` runs the command that sends that kind to a
recipient whose language is set, dispatches the outbox, builds the delivered message with
``ticketdomain.emails.build_email`` and parses the bytes back with the ``email`` package. Each
mail must have a text and an HTML part in the recipient's language; a login link, the same in
both parts, that opens the recipient's session; the performance's local start with its zone as
Babel writes it; and attachments that open: the transferred tickets' PDF with one QR code per
ticket decoding to its live barcode, the invoice's PDF with its number and total and a QR-bill
decoding to the domain's IBAN, amount and reference, the credit note's PDF with its number and
total.
"""

from __future__ import annotations

import email
import html
import io
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default

import attrs
import pypdf
import pypdfium2
import pytest
from babel.dates import format_date, format_time
from babel.numbers import format_currency
from zxingcpp import BarcodeFormat, BarcodeFormats, ImageFormat, ImageView, read_barcodes

from support.agency import Agency, set_up_agency
from support.corporate import Corporate, set_up_corporate
from support.identity import links_in
from ticketdomain import (
    CancelOrder,
    ContactDetails,
    ContactRole,
    CreateIndividual,
    DispatchMail,
    DistributeToMember,
    IssueInvoice,
    LineRequest,
    LoginWithLink,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    ReclaimTickets,
    RequestLoginLink,
    SetContactLanguage,
    SetOrganizationLanguage,
    TransferTickets,
    ViewOrder,
)
from ticketdomain.core.contacts import Email
from ticketdomain.core.identity import ActorKind
from ticketdomain.core.languages import LANGUAGES
from ticketdomain.core.mail import MailKind, MailMessage
from ticketdomain.core.timezones import zone_label
from ticketdomain.emails import build_email
from ticketdomain.services.app import TicketDomain
from ticketdomain.services.commands import (
    SetOrganizationBillingDetails,
    SetStructureBillingDetails,
)
from ticketdomain.services.results import InvoiceView
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_fpdf import FpdfDocumentRenderer, FpdfTicketRenderer
from ticketdomain_jinja import JinjaMailTemplates

SENDER = "Billetterie <billets@opera.example.org>"
QR_IBAN = "CH44 3199 9123 0008 8901 2"
ZONE = "Europe/Zurich"

#: the adapters hold no state between calls: one of each for every case (templates parsed once)
TEMPLATES = JinjaMailTemplates()
TICKETS = FpdfTicketRenderer()
DOCUMENTS = FpdfDocumentRenderer()

#: the greeting of every kind's text and HTML, from the shipped templates
GREETING = {"en": "Hello", "fr": "Bonjour", "de": "Guten Tag", "it": "Buongiorno"}

#: words of each kind's subject in each language, from ``templates/<language>/<kind>.subject.txt``
SUBJECT_WORDS: dict[MailKind, dict[str, str]] = {
    MailKind.INVITATION: {
        "en": "to print",
        "fr": "à imprimer",
        "de": "zum Ausdrucken",
        "it": "da stampare",
    },
    MailKind.TRANSFER: {
        "en": "in your online account",
        "fr": "dans votre compte en ligne",
        "de": "in Ihrem Online-Konto",
        "it": "nel suo conto online",
    },
    MailKind.RECLAIM: {
        "en": "took back",
        "fr": "a repris",
        "de": "zurückgenommen",
        "it": "ha ritirato",
    },
    MailKind.CANCELLATION: {
        "en": "tickets cancelled",
        "fr": "billets annulés",
        "de": "Tickets storniert",
        "it": "biglietti annullati",
    },
    MailKind.INVOICE: {"en": "invoice", "fr": "facture", "de": "Rechnung", "it": "fattura"},
    MailKind.CREDIT_NOTE: {
        "en": "credit note",
        "fr": "note de crédit",
        "de": "Gutschrift",
        "it": "nota di credito",
    },
    MailKind.WELCOME: {
        "en": "Your access to the sales point",
        "fr": "Votre accès au point de vente",
        "de": "Ihr Zugang zur Verkaufsstelle",
        "it": "Il suo accesso al punto vendita",
    },
    MailKind.LOGIN_LINK: {
        "en": "Your link to the sales point",
        "fr": "Votre lien vers le point de vente",
        "de": "Ihr Link zur Verkaufsstelle",
        "it": "Il suo link al punto vendita",
    },
}

#: the title of the invoice and credit note PDFs in each language (``ticketdomain_fpdf``)
PDF_TITLE = {
    MailKind.INVOICE: {"en": "Invoice", "fr": "Facture", "de": "Rechnung", "it": "Fattura"},
    MailKind.CREDIT_NOTE: {
        "en": "Credit note",
        "fr": "Note de crédit",
        "de": "Gutschrift",
        "it": "Nota di credito",
    },
}

#: the kinds whose mail carries a login link, and those that speak of a performance
WITH_LINK = frozenset(
    {MailKind.INVITATION, MailKind.TRANSFER, MailKind.WELCOME, MailKind.LOGIN_LINK}
)
WITH_PERFORMANCE = frozenset(
    {MailKind.INVITATION, MailKind.TRANSFER, MailKind.RECLAIM, MailKind.CANCELLATION}
)


@attrs.frozen
class Sent:
    """What a case's command sent, and what the domain says the mail must show."""

    world: FakeWorld
    operator: str
    to: str
    first_name: str
    #: the performance's start, in its zone (for the kinds about a performance)
    starts_at: datetime | None = None
    #: who the login link opens a session for, and the sales point to give with it
    actor: tuple[ActorKind, str] | None = None
    sales_point_id: str | None = None
    #: the live barcodes of the transferred tickets
    barcodes: frozenset[str] = frozenset()
    #: the invoice or credit note issued, and the number of the invoice a credit note negates
    invoice: InvoiceView | None = None
    corrected_number: int | None = None


# --- worlds -------------------------------------------------------------------------------------


def fpdf_world() -> FakeWorld:
    """The fakes, with the Jinja templates and tickets, invoices drawn by fpdf2."""
    fake = build_fake_world(mail_templates=TEMPLATES, document_renderer=DOCUMENTS)
    fake.domain = TicketDomain(
        storage=fake.storage,
        clock=fake.clock,
        ids=fake.ids,
        barcodes=fake.barcodes,
        payments=fake.payments,
        documents=fake.documents,
        renderer=TICKETS,
        mailer=fake.mailer,
        passwords=fake.passwords,
        tokens=fake.tokens,
        security=fake.domain.adapters.security,
        mail_templates=TEMPLATES,
        document_renderer=DOCUMENTS,
    )
    return fake


def corporate() -> Corporate:
    return set_up_corporate(fpdf_world(), time_zone=ZONE)


def agency() -> Agency:
    return set_up_agency(fpdf_world(), time_zone=ZONE)


def flush(world: FakeWorld, operator: str) -> None:
    """Send what the set-up queued and forget it: the case's mail is then the only one."""
    world.domain.mail.dispatch_mail(DispatchMail(operator))
    world.mailer.outbox.clear()


def individual_id(world: FakeWorld, institution_id: str, address: str) -> str:
    with world.storage.unit_of_work() as uow:
        found = uow.individuals.find_by_email(institution_id, address)
    assert found is not None
    return found.id


def start_of(world: FakeWorld, performance_id: str) -> datetime:
    """The performance's start as the domain stored it (in its zone)."""
    with world.storage.unit_of_work() as uow:
        performance = uow.performances.get(performance_id)
    assert performance is not None
    return performance.starts_at


def set_billing(a: Agency) -> None:
    d = a.world.domain
    d.handle(
        SetOrganizationBillingDetails(
            a.operator,
            a.organization_id,
            "Avenue du Théâtre",
            "12",
            "1003",
            "Lausanne",
            "CH",
            "CHE-123.456.789 TVA",
            QR_IBAN,
            30,
        )
    )
    d.handle(
        SetStructureBillingDetails(
            a.operator,
            a.hotel_id,
            "Place du Port",
            "17-19",
            "1006",
            "Lausanne",
            "CH",
            "compta@beau-rivage.ch",
        )
    )


def invoiced(language: str) -> tuple[Agency, InvoiceView]:
    """An order by phone for the hotel, invoiced to its billing address (no contact there: the
    mail is in the organization's language)."""
    a = agency()
    d = a.world.domain
    d.handle(SetOrganizationLanguage(a.operator, a.organization_id, language))
    set_billing(a)
    d.sales.place_order_for_structure(
        PlaceOrderForStructure(
            a.operator,
            a.phone_sales_point_id,
            a.hotel_id,
            (LineRequest(a.performance_id, a.full_id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    flush(a.world, a.operator)
    return a, d.handle(IssueInvoice(a.operator, a.organization_id, a.hotel_id))


# --- what sends each kind -----------------------------------------------------------------------


def send_invitation(language: str) -> Sent:
    """A relay gives tickets to a new member, created in ``language``."""
    c = corporate()
    c.buy(2)
    flush(c.world, c.operator)
    member = ContactDetails("Lea", "Favre", "lea@example.org", language=language)
    c.world.domain.handle(
        DistributeToMember(c.nina, c.performance_id, c.product_id, 2, member=member)
    )
    lea = individual_id(c.world, c.institution_id, "lea@example.org")
    return Sent(
        c.world,
        c.operator,
        "lea@example.org",
        "Lea",
        starts_at=start_of(c.world, c.performance_id),
        actor=(ActorKind.MEMBER, lea),
    )


def send_transfer(language: str) -> Sent:
    """An agency's relay puts an order's tickets on a new client's account, in ``language``."""
    a = agency()
    d = a.world.domain
    order = d.sales.place_order(
        PlaceOrder(
            a.alice,
            (LineRequest(a.performance_id, a.agency_tariff_id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    flush(a.world, a.operator)
    client = ContactDetails("Jean", "Muller", "jean@example.org", language=language)
    transferred = d.handle(TransferTickets(a.alice, order.id, client))
    view = d.handle(ViewOrder(a.alice, order.id))
    barcodes = {
        ticket.barcode for ticket in view.tickets if ticket.id in set(transferred.ticket_ids)
    }
    assert len(transferred.ticket_ids) == 2 and None not in barcodes
    return Sent(
        a.world,
        a.operator,
        "jean@example.org",
        "Jean",
        starts_at=start_of(a.world, a.performance_id),
        actor=(ActorKind.MEMBER, individual_id(a.world, a.institution_id, "jean@example.org")),
        barcodes=frozenset(code for code in barcodes if code is not None),
    )


def send_reclaim(language: str) -> Sent:
    """A relay takes tickets back from a member who named no language: the organization's."""
    c = corporate()
    d = c.world.domain
    d.handle(SetOrganizationLanguage(c.operator, c.organization_id, language))
    c.buy(2)
    given = d.handle(
        DistributeToMember(
            c.nina,
            c.performance_id,
            c.product_id,
            2,
            member=ContactDetails("Lea", "Favre", "lea@example.org"),
        )
    )
    flush(c.world, c.operator)
    d.handle(ReclaimTickets(c.nina, given.ticket_ids))
    return Sent(
        c.world, c.operator, "lea@example.org", "Lea", starts_at=start_of(c.world, c.performance_id)
    )


def send_cancellation(language: str) -> Sent:
    """The back office cancels an order whose tickets a member (language set by an operator)
    holds."""
    c = corporate()
    d = c.world.domain
    d.handle(SetContactLanguage(c.operator, c.marc_id, language))
    order = c.buy(2)
    d.handle(DistributeToMember(c.nina, c.performance_id, c.product_id, 2, member_id=c.marc_id))
    flush(c.world, c.operator)
    d.handle(CancelOrder(c.operator, order.id))
    return Sent(
        c.world, c.operator, "marc@nestor.ch", "Marc", starts_at=start_of(c.world, c.performance_id)
    )


def send_invoice(language: str) -> Sent:
    a, issued = invoiced(language)
    return Sent(a.world, a.operator, "compta@beau-rivage.ch", "Accounts", invoice=issued)


def send_credit_note(language: str) -> Sent:
    a, issued = invoiced(language)
    flush(a.world, a.operator)
    cancelled = a.world.domain.handle(CancelOrder(a.operator, issued.order_ids[0]))
    assert cancelled.credit_note is not None
    return Sent(
        a.world,
        a.operator,
        "compta@beau-rivage.ch",
        "Accounts",
        invoice=cancelled.credit_note,
        corrected_number=issued.number,
    )


def send_welcome(language: str) -> Sent:
    """An operator creates a relay in ``language``."""
    c = corporate()
    flush(c.world, c.operator)
    created = c.world.domain.handle(
        CreateIndividual(
            c.operator,
            "Ueli",
            "Maurer",
            "ueli@nestor.ch",
            c.council_id,
            ContactRole.RELAY,
            language=language,
        )
    )
    return Sent(
        c.world,
        c.operator,
        "ueli@nestor.ch",
        "Ueli",
        actor=(ActorKind.RELAY, created.id),
        sales_point_id=c.sales_point_id,
    )


def send_login_link(language: str) -> Sent:
    """A relay (language set by an operator) asks for a link to the sales point."""
    c = corporate()
    d = c.world.domain
    d.handle(SetContactLanguage(c.operator, c.nina_id, language))
    flush(c.world, c.operator)
    d.handle(RequestLoginLink(c.institution_id, "nina@nestor.ch", c.sales_point_id))
    return Sent(c.world, c.operator, "nina@nestor.ch", "Nina", actor=(ActorKind.RELAY, c.nina_id))


SEND: dict[MailKind, Callable[[str], Sent]] = {
    MailKind.INVITATION: send_invitation,
    MailKind.TRANSFER: send_transfer,
    MailKind.RECLAIM: send_reclaim,
    MailKind.CANCELLATION: send_cancellation,
    MailKind.INVOICE: send_invoice,
    MailKind.CREDIT_NOTE: send_credit_note,
    MailKind.WELCOME: send_welcome,
    MailKind.LOGIN_LINK: send_login_link,
}


# --- reading the mail ---------------------------------------------------------------------------


def delivered(sent: Sent) -> EmailMessage:
    """The one mail the case's command sent to its recipient, dispatched now, as a receiver
    parses it."""
    sent.world.domain.mail.dispatch_mail(DispatchMail(sent.operator))
    (message,) = sent.world.mailer.sent_to(sent.to)
    assert [m.to.value for m in sent.world.mailer.outbox] == [sent.to]
    parsed = email.message_from_bytes(build_email(message, SENDER).as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(parsed: EmailMessage) -> tuple[str, str]:
    """The text and the HTML (unescaped) of a mail with both."""
    text = parsed.get_body(preferencelist=("plain",))
    markup = parsed.get_body(preferencelist=("html",))
    assert text is not None and markup is not None
    assert text.get_content_type() == "text/plain" and markup.get_content_type() == "text/html"
    return text.get_content(), html.unescape(markup.get_content())


def the_link(text: str, markup: str) -> str:
    """The one login link of the text, also in the HTML; returns its token."""
    ((space, token),) = set(links_in(MailMessage("x", Email("any@example.org"), "s", text)))
    assert f"https://tickets.invalid/{space}/login?token={token}" in markup
    return token


def assert_start_shown(starts_at: datetime, language: str, *texts: str) -> None:
    """Each text shows the start as Babel writes it in ``language``, with the zone."""
    zone = zone_label(starts_at)
    assert zone == "CET" and str(starts_at.tzinfo) == ZONE
    when = f"{format_time(starts_at, 'short', locale=language)} {zone}"
    day = format_date(starts_at, "full", locale=language)
    for text in texts:
        assert when in text and day in text


def pdf_text(pdf: bytes) -> str:
    """The text of every page as pypdf extracts it, spaces collapsed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def qr_codes(pdf: bytes, scale: float) -> list[list[str]]:
    """The QR codes of each page, rasterized at ``scale`` pixels per point."""
    document = pypdfium2.PdfDocument(pdf)
    found = []
    try:
        for page in document:
            bitmap = page.render(scale=scale, grayscale=True)
            pixels = memoryview(bitmap.buffer).cast("B")
            image = ImageView(pixels, bitmap.width, bitmap.height, ImageFormat.Lum, bitmap.stride)
            formats = BarcodeFormats(BarcodeFormat.QRCode)
            found.append([code.text for code in read_barcodes(image, formats=formats)])
    finally:
        document.close()
    return found


def spc_fields(payload: str) -> dict[str, str]:
    """The fields of a Swiss QR-bill payload (SPC, version 0200) by their positions."""
    lines = payload.replace("\r\n", "\n").split("\n")
    assert lines[0] == "SPC" and lines[1] == "0200" and lines[2] == "1"
    return {
        "iban": lines[3],
        "amount": lines[18],
        "currency": lines[19],
        "reference_type": lines[27],
        "reference": lines[28],
        "trailer": lines[30],
    }


def the_pdf(parsed: EmailMessage, filename: str | None = None) -> bytes:
    assert parsed.get_content_type() == "multipart/mixed"
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    if filename is not None:
        assert attachment.get_filename() == filename
    content = attachment.get_content()
    assert isinstance(content, bytes)
    return content


def assert_tickets_attached(parsed: EmailMessage, sent: Sent) -> None:
    """One page per ticket, each page's QR code a live barcode of the transferred tickets."""
    pdf = the_pdf(parsed)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == len(sent.barcodes)
    pages = qr_codes(pdf, scale=3)
    assert all(len(page) == 1 for page in pages)
    assert {code for page in pages for code in page} == sent.barcodes


def assert_invoice_attached(
    kind: MailKind, language: str, parsed: EmailMessage, sent: Sent, text: str, markup: str
) -> None:
    """The mail names the number and the total (Babel's money); the PDF, in the language,
    shows them too; the invoice's QR-bill pays the domain's amount to its IBAN and reference."""
    issued = sent.invoice
    assert issued is not None
    total = issued.total
    # A credit note's mail tells the amount credited, without its minus sign.
    money = format_currency(abs(total.amount), total.currency, locale=language)
    for words in (text, markup):
        assert str(issued.number) in words and money in words
    if sent.corrected_number is not None:
        assert str(sent.corrected_number) in text
    pdf = the_pdf(parsed)
    printed = pdf_text(pdf)
    assert f"{PDF_TITLE[kind][language]} {issued.number}" in printed
    assert f"{total.amount:.2f}" in printed
    payloads = [code for page in qr_codes(pdf, scale=4) for code in page]
    if kind is MailKind.CREDIT_NOTE:
        assert total.amount < 0 and payloads == []
        return
    assert issued.reference is not None and issued.reference in text
    (payload,) = payloads
    fields = spc_fields(payload)
    assert fields["iban"] == QR_IBAN.replace(" ", "")
    assert Decimal(fields["amount"]) == total.amount and fields["currency"] == total.currency
    assert fields["reference_type"] == "QRR" and fields["reference"] == issued.reference
    assert fields["trailer"] == "EPD"


CASES = [(kind, language) for kind in MailKind for language in LANGUAGES]


@pytest.mark.parametrize(
    ("kind", "language"), CASES, ids=[f"{kind.value}-{language}" for kind, language in CASES]
)
def test_every_kind_reads_in_every_language(kind: MailKind, language: str) -> None:
    sent = SEND[kind](language)
    parsed = delivered(sent)

    # Both parts, in the recipient's language.
    text, markup = parts(parsed)
    subject = parsed["Subject"]
    assert SUBJECT_WORDS[kind][language] in subject
    if language != "en":
        assert SUBJECT_WORDS[kind]["en"] not in subject
    greeting = f"{GREETING[language]} {sent.first_name},"
    assert greeting in text and greeting in markup

    # The login link, the same in both parts, opens the recipient's session (once).
    if kind in WITH_LINK:
        assert sent.actor is not None
        token = the_link(text, markup)
        session = sent.world.domain.handle(LoginWithLink(token, sent.sales_point_id))
        assert (session.actor_kind, session.actor_id) == sent.actor
    else:
        assert links_in(MailMessage("x", Email("any@example.org"), "s", text + markup)) == []

    # The performance's local start, with its zone, as Babel writes it in the language.
    if kind in WITH_PERFORMANCE:
        assert sent.starts_at is not None
        assert_start_shown(sent.starts_at, language, text, markup)
        assert "La Traviata" in text and "La Traviata" in markup

    # The attachments open.
    if kind is MailKind.TRANSFER:
        assert_tickets_attached(parsed, sent)
    elif kind in PDF_TITLE:
        assert_invoice_attached(kind, language, parsed, sent, text, markup)
    else:
        assert parsed.get_content_type() == "multipart/alternative"
        assert list(parsed.iter_attachments()) == []
