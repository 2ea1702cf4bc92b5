"""The mails the services send, in the recipient's language, as the email package reads them.

A world wired to ``JinjaMailTemplates`` sends every kind of mail the services queue; each mail
is built by ``ticketdomain.emails.build_email`` (what the SMTP and mail-directory mailers send)
and parsed back: a text and an HTML part, the login link in both, the performance's local time
with its zone and the price as Babel writes them for the language (from the values the domain
stored), the transfer's tickets attached as a PDF that pypdf opens.
"""

from __future__ import annotations

import email
import html
import io
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pypdf
import pypdfium2
import pytest
from babel.dates import format_date, format_time
from zxingcpp import BarcodeFormat, BarcodeFormats, ImageFormat, ImageView, read_barcodes

from support.agency import set_up_agency
from support.corporate import Corporate, set_up_corporate
from support.identity import links_in
from ticketdomain import (
    CancelOrder,
    ContactDetails,
    ContactRole,
    CreateIndividual,
    DispatchMail,
    DistributeToMember,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    ReclaimTickets,
    RequestLoginLink,
    SetContactLanguage,
    SetMyLanguage,
    SetOrganizationLanguage,
    TransferTickets,
    ViewOrder,
    ViewStock,
)
from ticketdomain.core.contacts import Email
from ticketdomain.core.errors import LanguageUnsupportedError, SetupInvalidError
from ticketdomain.core.languages import LANGUAGES
from ticketdomain.core.mail import MailMessage
from ticketdomain.core.timezones import zone_label
from ticketdomain.emails import build_email
from ticketdomain.services.app import TicketDomain
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_fpdf import FpdfTicketRenderer
from ticketdomain_jinja import JinjaMailTemplates

SENDER = "Billetterie <billets@opera.example.org>"

#: a word of each language's invitation subject, to tell the languages apart
INVITATION_WORD = {"fr": "imprimer", "de": "Ausdrucken", "it": "stampare", "en": "print"}


def world() -> FakeWorld:
    return build_fake_world(mail_templates=JinjaMailTemplates())


def corporate(language: str) -> Corporate:
    c = set_up_corporate(world(), time_zone="Europe/Zurich")
    c.world.domain.handle(SetOrganizationLanguage(c.operator, c.organization_id, language))
    c.world.domain.mail.dispatch_mail(DispatchMail(c.operator))
    c.world.mailer.outbox.clear()
    return c


def sent(world: FakeWorld, operator: str, to: str) -> list[EmailMessage]:
    """The mails to ``to``, dispatched now, as a receiver parses them."""
    world.domain.mail.dispatch_mail(DispatchMail(operator))
    return [parse(message) for message in world.mailer.sent_to(to)]


def parse(message: MailMessage) -> EmailMessage:
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
    ((space, token),) = set(links_in_text(text))
    link = f"https://tickets.invalid/{space}/login?token={token}"
    assert link in markup
    return link


def links_in_text(text: str) -> list[tuple[str, str]]:
    return links_in(MailMessage("x", _ANY, "s", text))


def local_start(c: Corporate) -> datetime:
    """The performance's start as the domain stored it (in its zone)."""
    with c.world.storage.unit_of_work() as uow:
        performance = uow.performances.get(c.performance_id)
    assert performance is not None
    return performance.starts_at


def assert_start_shown(c: Corporate, language: str, *texts: str) -> None:
    """Each text shows the start as Babel writes it in ``language``, with the zone."""
    starts_at = local_start(c)
    zone = zone_label(starts_at)
    assert zone == "CET" and str(starts_at.tzinfo) == "Europe/Zurich"
    when = f"{format_time(starts_at, 'short', locale=language)} {zone}"
    day = format_date(starts_at, "full", locale=language)
    for text in texts:
        assert when in text and day in text


_ANY = Email("any@example.org")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_invitation_and_the_reclaim_are_in_the_organizations_language(language: str) -> None:
    c = corporate(language)
    d = c.world.domain
    c.buy(3)
    given = d.handle(
        DistributeToMember(
            c.nina,
            c.performance_id,
            c.product_id,
            2,
            member=ContactDetails("Lea", "Favre", "lea@example.org"),
        )
    )
    (invitation,) = sent(c.world, c.operator, "lea@example.org")
    assert INVITATION_WORD[language] in invitation["Subject"]
    assert invitation.get_content_type() == "multipart/alternative"
    text, markup = parts(invitation)
    assert the_link(text, markup).startswith("https://tickets.invalid/member/login?token=")
    assert "Works council Nestor SA" in text and "Works council Nestor SA" in markup
    assert_start_shown(c, language, text, markup)
    assert text.count("La Traviata") == markup.count("La Traviata") == 2

    d.handle(ReclaimTickets(c.nina, given.ticket_ids))
    reclaim = sent(c.world, c.operator, "lea@example.org")[-1]
    text, markup = parts(reclaim)
    assert_start_shown(c, language, text, markup)
    assert "Works council Nestor SA" in reclaim["Subject"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_contacts_own_language_wins_over_the_organizations(language: str) -> None:
    other = "de" if language != "de" else "fr"
    c = corporate(other)
    d = c.world.domain
    d.handle(SetContactLanguage(c.operator, c.marc_id, language))
    c.buy(2)
    d.handle(DistributeToMember(c.nina, c.performance_id, c.product_id, 1, member_id=c.marc_id))
    (invitation,) = sent(c.world, c.operator, "marc@nestor.ch")
    assert INVITATION_WORD[language] in invitation["Subject"]
    text, markup = parts(invitation)
    assert_start_shown(c, language, text, markup)

    # A member who asks for a login link gets it in their language too, with the link.
    d.handle(RequestLoginLink(c.institution_id, "marc@nestor.ch"))
    login = sent(c.world, c.operator, "marc@nestor.ch")[-1]
    the_link(*parts(login))
    # Back to the organization's language.
    d.handle(SetMyLanguage(c.marc, None))
    c.buy(1)
    d.handle(DistributeToMember(c.nina, c.performance_id, c.product_id, 1, member_id=c.marc_id))
    assert INVITATION_WORD[other] in sent(c.world, c.operator, "marc@nestor.ch")[-1]["Subject"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_new_relay_is_welcomed_in_their_language_with_their_link(language: str) -> None:
    c = corporate("en")
    c.world.domain.handle(
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
    (welcome,) = sent(c.world, c.operator, "ueli@nestor.ch")
    text, markup = parts(welcome)
    assert the_link(text, markup).startswith("https://tickets.invalid/relay/login?token=")
    assert "Ueli" in text and "Ueli" in markup


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_cancellation_notice_is_in_the_holders_language(language: str) -> None:
    c = corporate("en")
    d = c.world.domain
    d.handle(SetContactLanguage(c.operator, c.marc_id, language))
    order = c.buy(2)
    d.handle(DistributeToMember(c.nina, c.performance_id, c.product_id, 2, member_id=c.marc_id))
    d.handle(CancelOrder(c.operator, order.id))
    notice = sent(c.world, c.operator, "marc@nestor.ch")[-1]
    text, markup = parts(notice)
    assert_start_shown(c, language, text, markup)
    if language != "en":
        assert "cancelled" not in text


def test_a_name_with_markup_reaches_the_html_part_escaped() -> None:
    c = corporate("fr")
    c.buy(1)
    c.world.domain.handle(
        DistributeToMember(
            c.nina,
            c.performance_id,
            c.product_id,
            1,
            member=ContactDetails("<script>alert(1)</script>", "Favre", "lea@example.org"),
        )
    )
    (invitation,) = sent(c.world, c.operator, "lea@example.org")
    markup = invitation.get_body(preferencelist=("html",))
    assert markup is not None
    raw = markup.get_content()
    assert "<script>" not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    text, _ = parts(invitation)
    assert "Bonjour <script>alert(1)</script>," in text


def test_a_broken_host_template_refuses_the_command_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    # A typo in the host's override: the context has "link", not "login_link".
    (tmp_path / "en" / "invitation.txt").write_text("Hello {{ first_name }}: {{ login_link }}")
    w = build_fake_world(mail_templates=JinjaMailTemplates(tmp_path))
    c = set_up_corporate(w, time_zone="Europe/Zurich")
    c.buy(1)
    before = c.world.domain.handle(ViewStock(c.nina))
    with pytest.raises(SetupInvalidError) as caught:
        w.domain.handle(
            DistributeToMember(
                c.nina,
                c.performance_id,
                c.product_id,
                1,
                member=ContactDetails("Lea", "Favre", "lea@example.org"),
            )
        )
    assert caught.value.details["template"] == "en/invitation.txt"
    assert c.world.domain.handle(ViewStock(c.nina)) == before
    with w.storage.unit_of_work() as uow:
        assert uow.individuals.find_by_email(c.institution_id, "lea@example.org") is None


def test_an_unsupported_language_is_refused_and_changes_nothing() -> None:
    c = corporate("fr")
    d = c.world.domain
    for command in (
        SetOrganizationLanguage(c.operator, c.organization_id, "xx"),
        SetContactLanguage(c.operator, c.marc_id, "klingon"),
        SetMyLanguage(c.marc, "EN-GB"),
    ):
        with pytest.raises(LanguageUnsupportedError) as caught:
            d.handle(command)
        assert caught.value.code == "language_unsupported"
    with c.world.storage.unit_of_work() as uow:
        organization, marc = (
            uow.organizations.get(c.organization_id),
            uow.individuals.get(c.marc_id),
        )
    assert organization is not None and organization.language == "fr"
    assert marc is not None and marc.language is None


def test_the_transfer_carries_the_tickets_as_a_pdf() -> None:
    fake = world()
    # The same fakes, but tickets rendered by fpdf2, as a host would send them.
    domain = TicketDomain(
        storage=fake.storage,
        clock=fake.clock,
        ids=fake.ids,
        barcodes=fake.barcodes,
        payments=fake.payments,
        documents=fake.documents,
        renderer=FpdfTicketRenderer(),
        mailer=fake.mailer,
        passwords=fake.passwords,
        tokens=fake.tokens,
        security=fake.domain.adapters.security,
        mail_templates=JinjaMailTemplates(),
    )
    fake.domain = domain
    agency = set_up_agency(fake, time_zone="Europe/Zurich")
    domain.handle(SetOrganizationLanguage(agency.operator, agency.organization_id, "de"))
    order = domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    transferred = domain.handle(
        TransferTickets(
            agency.alice, order.id, ContactDetails("Jean", "Muller", "jean@example.org")
        )
    )
    (mail,) = sent(fake, agency.operator, "jean@example.org")
    assert mail.get_content_type() == "multipart/mixed"
    text, markup = parts(mail)
    the_link(text, markup)
    assert "2 Tickets" in mail["Subject"] and order.id in text
    (attachment,) = mail.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"tickets-{order.id}.pdf"
    pdf = pypdf.PdfReader(io.BytesIO(attachment.get_content()))
    assert len(pdf.pages) == len(transferred.ticket_ids) == 2
    printed = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Jean Muller" in printed
    view = domain.sales.view_order(ViewOrder(agency.alice, order.id))
    barcodes = {ticket.barcode for ticket in view.tickets}
    assert None not in barcodes and all(code in printed for code in barcodes if code)
    # As the gate's scanner reads them: each page's QR code is a live barcode of the order.
    pages = decoded(attachment.get_content())
    assert [len(page) for page in pages] == [1, 1]
    assert set.union(*pages) == barcodes


def decoded(pdf: bytes) -> list[set[str]]:
    """The QR codes of each page, rasterized at 150 dpi."""
    document = pypdfium2.PdfDocument(pdf)
    found = []
    try:
        for page in document:
            bitmap = page.render(scale=150 / 72, grayscale=True)
            pixels = memoryview(bitmap.buffer).cast("B")
            image = ImageView(pixels, bitmap.width, bitmap.height, ImageFormat.Lum, bitmap.stride)
            formats = BarcodeFormats(BarcodeFormat.QRCode)
            found.append({code.text for code in read_barcodes(image, formats=formats)})
    finally:
        document.close()
    return found
