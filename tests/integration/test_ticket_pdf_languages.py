"""Ticket PDFs in the reader's language (French, German, Italian, English), read back as a person
and a scanner would: pypdf extracts the labels, the note and the date; pypdfium2 rasterizes the
page and zxing-cpp decodes its QR code. Through the services: the organization's language, a
member's own when printing their tickets, a transfer's client's (as the mail's)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pypdf
import pypdfium2
import pytest
from babel.dates import format_date
from zxingcpp import BarcodeFormat, BarcodeFormats, ImageFormat, ImageView, read_barcodes

from support.agency import Agency, set_up_agency
from support.corporate import set_up_corporate
from ticketdomain import (
    ContactDetails,
    DispatchMail,
    DistributeToMember,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PrintMemberTickets,
    PrintTickets,
    SetContactLanguage,
    SetMyLanguage,
    SetOrganizationLanguage,
    TransferTickets,
)
from ticketdomain.core.languages import LANGUAGES
from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.services.app import TicketDomain
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_fpdf import FpdfTicketRenderer, TicketLayout
from ticketdomain_fpdf import _renderer as renderer_module

ZURICH = ZoneInfo("Europe/Zurich")
BARCODE = "K7QZ2M4XN8PDT5WV3RJ6HBC9FA"

#: what each language's ticket says: its labels, the start of its note, the date of 1 April 2026
WORDS = {
    "fr": (("Nom", "Produit", "Tarif", "Prix", "Commande", "Billet"), "Valable pour une entrée"),
    "de": (("Name", "Produkt", "Tarif", "Preis", "Bestellung", "Ticket"), "Gültig für einen"),
    "it": (("Nome", "Prodotto", "Tariffa", "Prezzo", "Ordine", "Biglietto"), "Valido per un"),
    "en": (("Name", "Product", "Tariff", "Price", "Order", "Ticket"), "Valid for one admission"),
}
DATES = {
    "fr": "mercredi 1 avril 2026",
    "de": "Mittwoch, 1. April 2026",
    "it": "mercoledì 1 aprile 2026",
    "en": "Wednesday 1 April 2026",
}
#: words only the English ticket has
ENGLISH_ONLY = ("Product", "Tariff", "Price", "Order", "Valid for one admission", "Wednesday")


def ticket(language: str, **changes: object) -> PrintableTicket:
    fields: dict[str, object] = {
        "ticket_id": "tkt_1",
        "barcode": BARCODE,
        "organization": "Théâtre de Vidy",
        "activity": "Les Misérables",
        "performance_starts_at": datetime(2026, 4, 1, 20, 0, tzinfo=ZURICH),
        "venue": "Salle Charles Apothéloz",
        "product": "Parterre",
        "tariff": "Plein tarif",
        "price": Money(Decimal("38"), "CHF"),
        "order_id": "ord_7",
        "beneficiary": "Zoë Ñúñez",
        "language": language,
        **changes,
    }
    return PrintableTicket(**fields)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> str:
    """The PDF's text, its whitespace (line breaks, no-break spaces) made single spaces."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def decoded(pdf: bytes, dpi: int = 150) -> list[set[str]]:
    """The QR codes of each page."""
    qr_only = BarcodeFormats(BarcodeFormat.QRCode)
    document = pypdfium2.PdfDocument(pdf)
    found = []
    try:
        for page in document:
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            pixels = memoryview(bitmap.buffer).cast("B")
            image = ImageView(pixels, bitmap.width, bitmap.height, ImageFormat.Lum, bitmap.stride)
            found.append({code.text for code in read_barcodes(image, formats=qr_only)})
    finally:
        document.close()
    return found


def note(language: str) -> str:
    return " ".join(renderer_module._words(language).note.split())


def assert_in_language(text: str, language: str) -> None:
    labels, _ = WORDS[language]
    for label in labels:
        assert label in text, (language, label)
    # The whole note, neither cut nor dropped.
    assert note(language) in text and "\u2026" not in text
    assert DATES[language] in text
    assert "20:00 CEST (Europe/Zurich, UTC+02:00)" in text
    if language != "en":
        for word in ENGLISH_ONLY:
            assert re.search(rf"\b{word}\b", text) is None, (language, word)


# --- the renderer --------------------------------------------------------------------------


@pytest.mark.parametrize("layout", list(TicketLayout), ids=lambda layout: layout.name)
@pytest.mark.parametrize("core_font", [False, True], ids=["embedded", "core"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_ticket_speaks_its_language_and_still_scans(
    language: str, core_font: bool, layout: TicketLayout
) -> None:
    renderer = FpdfTicketRenderer(layout=layout, core_font=core_font)
    pdf = renderer.render([ticket(language)] * layout.per_page)
    assert_in_language(text_of(pdf), language)
    assert decoded(pdf) == [{BARCODE}]
    # Deterministic: the same tickets, the same bytes.
    assert renderer.render([ticket(language)] * layout.per_page) == pdf


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_note_fits_beside_the_longest_texts_four_to_a_page(language: str) -> None:
    long = "Orchestre de la Suisse Romande et Chœur du Grand Théâtre de Genève " * 2
    tickets = [
        ticket(language, ticket_id=f"tkt_{n}", activity=long, venue=long, product=long)
        for n in range(4)
    ]
    pdf = FpdfTicketRenderer(layout=TicketLayout.FOUR_PER_PAGE).render(tickets)
    text = text_of(pdf)
    assert text.count(note(language)) == 4
    assert text.count(DATES[language]) == 4
    assert decoded(pdf) == [{BARCODE}]


def test_a_ticket_in_an_unknown_language_is_printed_in_english() -> None:
    renderer = FpdfTicketRenderer()
    pdf = renderer.render([ticket("xx")])
    assert_in_language(text_of(pdf), "en")
    assert pdf == renderer.render([ticket("en")])


def test_a_ticket_names_english_unless_told() -> None:
    fields = attrs.asdict(ticket("en"), recurse=False)
    del fields["language"]
    assert PrintableTicket(**fields) == ticket("en")


@pytest.mark.parametrize("language", ["fr", "de", "it"])
def test_every_date_of_a_year_is_written_as_cldr_writes_it(language: str) -> None:
    words = renderer_module._words(language)
    day = date(2026, 1, 1)
    while day.year == 2026:
        moment = datetime(day.year, day.month, day.day, 12, tzinfo=ZURICH)
        assert words.format_date(moment) == format_date(day, "full", locale=language)
        day += timedelta(days=1)


def test_every_word_prints_with_the_built_in_fonts() -> None:
    for words in renderer_module._WORDS.values():
        for text in (
            words.name,
            words.product,
            words.tariff,
            words.price,
            words.order,
            words.ticket,
            words.note,
            *words.weekdays,
            *words.months,
        ):
            text.encode("cp1252")


# --- through the services ------------------------------------------------------------------


def fpdf_world() -> FakeWorld:
    """The fakes, but tickets rendered by fpdf2, as a host would print them."""
    fake = build_fake_world()
    fake.domain = TicketDomain(
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
    )
    return fake


def start_of(world: FakeWorld, performance_id: str) -> datetime:
    with world.storage.unit_of_work() as uow:
        performance = uow.performances.get(performance_id)
    assert performance is not None
    return performance.starts_at


def assert_date_in(text: str, starts_at: datetime, language: str) -> None:
    words = renderer_module._words(language)
    assert words.months[starts_at.month - 1] in text
    assert words.weekdays[starts_at.weekday()] in text


def french_agency() -> Agency:
    agency = set_up_agency(fpdf_world(), time_zone="Europe/Zurich")
    agency.world.domain.handle(
        SetOrganizationLanguage(agency.operator, agency.organization_id, "fr")
    )
    return agency


def place(agency: Agency, quantity: int) -> str:
    return agency.world.domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    ).id


def test_print_at_home_speaks_the_organizations_language() -> None:
    agency = french_agency()
    printed = agency.world.domain.sales.print_tickets(PrintTickets(agency.alice, place(agency, 2)))
    text = text_of(printed.content)
    assert text.count("Commande") == 2 and note("fr") in text
    assert "Product" not in text and "Order" not in text
    assert_date_in(text, start_of(agency.world, agency.performance_id), "fr")
    assert [len(page) for page in decoded(printed.content)] == [1, 1]


def test_a_member_prints_in_their_own_language_else_the_organizations() -> None:
    c = set_up_corporate(fpdf_world(), time_zone="Europe/Zurich")
    d = c.world.domain
    d.handle(SetOrganizationLanguage(c.operator, c.organization_id, "fr"))
    d.handle(SetMyLanguage(c.marc, "de"))
    c.buy(2)
    given = d.handle(
        DistributeToMember(c.nina, c.performance_id, c.product_id, 2, member_id=c.marc_id)
    )
    printed = d.members.print_member_tickets(PrintMemberTickets(c.marc, given.ticket_ids))
    text = text_of(printed.content)
    assert text.count("Bestellung") == 2 and note("de") in text
    assert "Commande" not in text
    assert_date_in(text, start_of(c.world, c.performance_id), "de")
    assert [len(page) for page in decoded(printed.content)] == [1, 1]

    # Without a language of their own: the organization's.
    d.handle(SetMyLanguage(c.marc, None))
    again = d.members.print_member_tickets(PrintMemberTickets(c.marc, given.ticket_ids[:1]))
    text = text_of(again.content)
    assert "Commande" in text and note("fr") in text and "Bestellung" not in text


def attachments(agency: Agency, to: str) -> dict[str, bytes]:
    """The PDF attached to each mail to ``to``, dispatched now, by the mail's id."""
    agency.world.domain.handle(DispatchMail(agency.operator))
    found = {}
    for message in agency.world.mailer.sent_to(to):
        (attachment,) = message.attachments
        assert attachment.media_type == "application/pdf"
        found[message.id] = attachment.content
    return found


def test_a_transfer_attaches_the_tickets_in_the_clients_language() -> None:
    agency = french_agency()
    d = agency.world.domain
    client = ContactDetails("Jean", "Muller", "jean@example.org")
    # A new client names no language: the organization's, French.
    first = d.handle(TransferTickets(agency.alice, place(agency, 1), client))
    # The client speaks English: the next transfer's tickets are in English, in a French
    # organization.
    d.handle(SetContactLanguage(agency.operator, first.client_id, "en"))
    second = d.handle(TransferTickets(agency.alice, place(agency, 2), client))
    pdfs = attachments(agency, "jean@example.org")
    assert set(pdfs) == {first.mail_id, second.mail_id}
    french, english = text_of(pdfs[first.mail_id]), text_of(pdfs[second.mail_id])
    assert "Commande" in french and note("fr") in french and "Order" not in french
    assert english.count("Order") == 2 and note("en") in english and "Commande" not in english
    assert_date_in(english, start_of(agency.world, agency.performance_id), "en")
    assert [len(page) for page in decoded(pdfs[second.mail_id])] == [1, 1]
