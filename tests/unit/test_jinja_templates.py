"""ticketdomain_jinja: every kind of mail in every language, text and HTML, formatted by Babel.

Contexts hold exactly the keys ``services._mail`` documents for each kind (the templates use
``StrictUndefined``: a key a template needs and the context lacks fails the test). Expected
dates and amounts come from Babel itself for the values given, not from an earlier output.
"""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import pytest
from babel.dates import format_date, format_time
from babel.numbers import format_currency

from ticketdomain.core.errors import SetupInvalidError
from ticketdomain.core.languages import LANGUAGES
from ticketdomain.core.mail import MailKind
from ticketdomain.core.money import Money
from ticketdomain.services._mail import (
    COMMON_KEYS,
    CONTEXT_KEYS,
    TICKET_KEYS,
    PlainTextTemplates,
)
from ticketdomain_jinja import TEMPLATES, JinjaMailTemplates, template_names

ZURICH = ZoneInfo("Europe/Zurich")
#: 20:30 in Zurich in summer: CEST, two hours ahead of UTC
STARTS_AT = datetime(2026, 6, 12, 20, 30, tzinfo=ZURICH)
ISSUED_AT = datetime(2026, 3, 31, 22, 30, tzinfo=ZoneInfo("UTC"))  # 1 April in Zurich
PRICE = Money(Decimal("1234.50"), "CHF")
TOTAL = Money(Decimal("98765.40"), "CHF")
LINK = "https://tickets.invalid/member/login?token=tdl_abc-123"


def a_ticket() -> dict[str, object]:
    return {
        "activity": "La Traviata",
        "starts_at": STARTS_AT,
        "time_zone": "Europe/Zurich",
        "venue": "Opéra de Lausanne",
        "product": "Parterre",
        "tariff": "Plein tarif",
        "price": PRICE,
    }


def context(kind: MailKind, first_name: str = "Élodie", tickets: int = 2) -> dict[str, object]:
    values: dict[str, object] = {
        "first_name": first_name,
        "last_name": "Dupont",
        "sender": "Opéra de Lausanne",
        "time_zone": "Europe/Zurich",
        "organization": "Opéra de Lausanne",
        "structure": "Comité d'entreprise Nestor",
        "tickets": [a_ticket() for _ in range(tickets)],
        "link": LINK,
        "order_id": "ord-42",
        "space": "member",
        "number": "2026-0007",
        "issued_at": ISSUED_AT,
        "due_at": datetime(2026, 4, 30, 22, 0, tzinfo=ZoneInfo("UTC")),
        "total": TOTAL,
        "reference": "RF18 5390 0754 7034",
        "invoice_number": "2026-0003",
    }
    keys = COMMON_KEYS | CONTEXT_KEYS[kind]
    return {key: value for key, value in values.items() if key in keys}


TEMPLATES_ = JinjaMailTemplates()
CASES = [(kind, language) for kind in MailKind for language in LANGUAGES]


def test_every_kind_has_its_context_keys_and_every_language_its_templates() -> None:
    assert set(CONTEXT_KEYS) == set(MailKind)
    for kind, language in CASES:
        for name in template_names(kind, language):
            assert (TEMPLATES / name).is_file(), name


@pytest.mark.parametrize(("kind", "language"), CASES, ids=lambda v: getattr(v, "value", v))
def test_every_kind_renders_a_subject_a_text_and_an_html_part(
    kind: MailKind, language: str
) -> None:
    mail = TEMPLATES_.compose(kind, language, context(kind))
    assert mail.subject and "\n" not in mail.subject
    assert mail.html is not None
    assert mail.html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in mail.html
    assert "Élodie" in mail.text and "Élodie" in mail.html
    # Nothing left unrendered, no placeholder of another language's words.
    for part in (mail.subject, mail.text, mail.html):
        assert "{{" not in part and "{%" not in part
    assert mail.text.endswith("Opéra de Lausanne\n")
    if "link" in CONTEXT_KEYS[kind]:
        assert LINK in mail.text
        assert f'href="{LINK}"' in mail.html
    if "tickets" in CONTEXT_KEYS[kind]:
        local = STARTS_AT.astimezone(ZURICH)
        when = format_time(local, "short", locale=language) + " CEST"
        day = format_date(local, "full", locale=language)
        price = format_currency(PRICE.amount, PRICE.currency, locale=language)
        for part in (mail.text, html.unescape(mail.html)):
            assert part.count(when) == 2 and part.count(day) == 2
            assert part.count(price) == 2
            assert part.count("La Traviata") == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_invoices_show_the_local_date_and_the_total_as_the_language_writes_them(
    language: str,
) -> None:
    mail = TEMPLATES_.compose(MailKind.INVOICE, language, context(MailKind.INVOICE))
    issued = format_date(ISSUED_AT.astimezone(ZURICH), "long", locale=language)
    due = format_date(datetime(2026, 5, 1, tzinfo=ZURICH), "long", locale=language)
    total = format_currency(TOTAL.amount, TOTAL.currency, locale=language)
    assert "2026-0007" in mail.subject
    assert mail.html is not None
    for part in (mail.text, html.unescape(mail.html)):
        # 22:30 UTC on 31 March is 1 April in Zurich: the date is the local one.
        assert issued in part and due in part and total in part
        assert "RF18 5390 0754 7034" in part
    credit = TEMPLATES_.compose(MailKind.CREDIT_NOTE, language, context(MailKind.CREDIT_NOTE))
    assert "2026-0003" in credit.text and total in credit.text


def test_money_follows_the_language_and_the_territory() -> None:
    amounts = {
        language: format_currency(PRICE.amount, "CHF", locale=language) for language in LANGUAGES
    }
    # Babel writes the amount differently per language; Swiss German differs again.
    assert len(set(amounts.values())) >= 3
    swiss = JinjaMailTemplates(territory="CH")
    for language in LANGUAGES:
        mail = swiss.compose(MailKind.CANCELLATION, language, context(MailKind.CANCELLATION))
        assert format_currency(PRICE.amount, "CHF", locale=f"{language}_CH") in mail.text
    assert swiss.locale("de") == "de_CH"
    assert JinjaMailTemplates(territory="XX").locale("de") == "de"


def test_a_name_with_markup_is_escaped_in_html_and_kept_in_text() -> None:
    name = "<script>alert('x')</script>"
    for kind in MailKind:
        mail = TEMPLATES_.compose(kind, "fr", context(kind, first_name=name))
        assert mail.html is not None
        assert "<script>" not in mail.html
        assert "&lt;script&gt;" in mail.html
        assert name in mail.text


def test_one_ticket_is_told_in_the_singular() -> None:
    for language, word in {"fr": "1 billet", "de": "1 Ticket", "it": "1 biglietto"}.items():
        mail = TEMPLATES_.compose(
            MailKind.INVITATION, language, context(MailKind.INVITATION, tickets=1)
        )
        assert word in mail.subject
    english = TEMPLATES_.compose(MailKind.TRANSFER, "en", context(MailKind.TRANSFER, tickets=1))
    assert "1 ticket in" in english.subject and "This ticket of order ord-42 was" in english.text


def test_a_host_file_of_the_same_name_wins(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "invitation.subject.txt").write_text("Vos places, {{ first_name }} !")
    (tmp_path / "_layout.html").write_text(
        '<!DOCTYPE html><html lang="{{ _language }}"><body class="host">'
        "{% block content %}{% endblock %}</body></html>"
    )
    host = JinjaMailTemplates(tmp_path)
    mail = host.compose(MailKind.INVITATION, "fr", context(MailKind.INVITATION))
    assert mail.subject == "Vos places, Élodie !"
    assert mail.html is not None and 'class="host"' in mail.html
    # What the host did not override comes from the package.
    assert LINK in mail.text
    german = host.compose(MailKind.INVITATION, "de", context(MailKind.INVITATION))
    assert german.subject.startswith("Opéra de Lausanne: 2 Tickets")


def test_a_missing_key_fails_loudly_as_a_set_up_error() -> None:
    values = context(MailKind.INVITATION)
    del values["link"]
    with pytest.raises(SetupInvalidError) as caught:
        TEMPLATES_.compose(MailKind.INVITATION, "en", values)
    assert caught.value.details["template"] == "en/invitation.txt"
    assert isinstance(caught.value.__cause__, jinja2.UndefinedError)


def test_a_language_without_templates_is_refused() -> None:
    with pytest.raises(SetupInvalidError) as caught:
        TEMPLATES_.compose(MailKind.WELCOME, "xx", context(MailKind.WELCOME))
    assert isinstance(caught.value.__cause__, jinja2.TemplateNotFound)


def test_a_host_template_that_does_not_parse_is_a_set_up_error(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "welcome.html").write_text("<p>{% if link %}unclosed</p>")
    with pytest.raises(SetupInvalidError) as caught:
        JinjaMailTemplates(tmp_path).compose(MailKind.WELCOME, "en", context(MailKind.WELCOME))
    assert caught.value.code == "setup_invalid"
    assert caught.value.details["template"] == "en/welcome.html"


@pytest.mark.parametrize("kind", list(MailKind), ids=lambda k: k.value)
def test_the_built_in_english_text_needs_no_more_than_the_documented_keys(
    kind: MailKind,
) -> None:
    mail = PlainTextTemplates().compose(kind, "fr", context(kind))
    assert mail.html is None
    assert mail.text.startswith("Hello Élodie,")
    if "link" in CONTEXT_KEYS[kind]:
        assert LINK in mail.text


def test_tickets_in_contexts_hold_the_documented_keys() -> None:
    assert set(a_ticket()) == TICKET_KEYS
