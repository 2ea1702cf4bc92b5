"""``ticketdomain.emails.build_email``: the one place a message becomes an email, as both the
SMTP and the mail-directory mailers send it; and the HTML part through the outbox."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from support.corporate import set_up_corporate
from ticketdomain import ContactDetails, DispatchMail, DistributeToMember
from ticketdomain.core.contacts import Email
from ticketdomain.core.mail import Attachment, MailMessage
from ticketdomain.emails import build_email, message_id_header
from ticketdomain.ports.mail import MailDeliveryError
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_jinja import JinjaMailTemplates
from ticketdomain_maildir import MailDirectoryMailer

SENDER = "Opéra de Lausanne <billets@opera.example.org>"
TEXT = "Bonjour Élodie,\n\nvoici vos billets.\n"
HTML = "<!DOCTYPE html><html><body><p>Bonjour <b>Élodie</b>, voici vos billets.</p></body></html>"
PDF = Attachment("billets.pdf", "application/pdf", b"%PDF-1.4\n" + bytes(range(256)))


def message(**changes: object) -> MailMessage:
    values: dict[str, object] = {
        "id": "mail_0001",
        "to": Email("elodie@example.ch"),
        "subject": "Vos billets — Opéra",
        "body": TEXT,
    }
    values.update(changes)
    return MailMessage(**values)  # type: ignore[arg-type]


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_text_only_is_one_plain_part_with_the_headers() -> None:
    built = build_email(message(), SENDER)
    data = built.as_bytes()
    data.decode("ascii")  # 7-bit: encoded headers, quoted-printable body
    parsed = parse(data)
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == TEXT
    assert parsed["Subject"] == "Vos billets — Opéra"
    assert parsed["To"] == "elodie@example.ch"
    assert parsed["From"] == SENDER
    assert parsed["Message-ID"] == "<mail_0001@opera.example.org>"
    assert parsedate_to_datetime(parsed["Date"]).tzinfo is not None


def test_text_and_html_are_alternatives_text_first() -> None:
    parsed = parse(build_email(message(html=HTML), SENDER).as_bytes())
    assert parsed.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in parsed.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    text = parsed.get_body(preferencelist=("plain",))
    markup = parsed.get_body(preferencelist=("html",))
    assert text is not None and text.get_content() == TEXT
    assert markup is not None and markup.get_content().strip() == HTML
    assert markup.get_content_charset() == "utf-8"


def test_attachments_go_beside_the_alternatives_and_come_back_whole() -> None:
    parsed = parse(build_email(message(html=HTML, attachments=(PDF,)), SENDER).as_bytes())
    assert parsed.get_content_type() == "multipart/mixed"
    body = parsed.get_body(preferencelist=("html", "plain"))
    assert body is not None and body.get_content_type() == "text/html"
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "billets.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF.content


def test_the_message_id_is_the_same_on_every_attempt() -> None:
    first = build_email(message(), SENDER)["Message-ID"]
    assert (
        build_email(message(), SENDER)["Message-ID"]
        == first
        == message_id_header("mail_0001", SENDER)
    )
    assert message_id_header("a b/é", "") == "<a%20b%2F%C3%A9@ticketdomain>"


@pytest.mark.parametrize(
    "broken",
    [
        {"subject": "Hi\nBcc: x@example.org"},
        {"attachments": (Attachment("x", "nonsense", b""),)},
    ],
)
def test_a_message_that_can_never_be_an_email_is_a_permanent_failure(
    broken: dict[str, object],
) -> None:
    with pytest.raises(MailDeliveryError) as caught:
        build_email(message(html=HTML, **broken), SENDER)
    assert caught.value.permanent
    assert caught.value.details["reason"] == "invalid_message"
    assert isinstance(caught.value.__cause__, ValueError)


def test_the_mail_directory_writes_both_parts(tmp_path: Path) -> None:
    mailer = MailDirectoryMailer(tmp_path, sender=SENDER)
    mailer.send(message(html=HTML, attachments=(PDF,)))
    parsed = parse(mailer.path_for("mail_0001").read_bytes())
    assert parsed.get_content_type() == "multipart/mixed"
    markup = parsed.get_body(preferencelist=("html",))
    assert markup is not None and "<b>Élodie</b>" in markup.get_content()


def test_a_sent_mail_keeps_its_html_without_the_login_token() -> None:
    world = build_fake_world(mail_templates=JinjaMailTemplates())
    c = set_up_corporate(world)
    c.buy(1)
    given = world.domain.handle(
        DistributeToMember(
            c.nina,
            c.performance_id,
            c.product_id,
            1,
            member=ContactDetails("Lea", "Favre", "lea@example.org"),
        )
    )
    with world.storage.unit_of_work() as uow:
        queued = uow.outbox.get(given.mail_id)
    assert queued is not None and queued.message.html is not None
    assert "token=tdl_" in queued.message.html and "token=tdl_sent" not in queued.message.html
    world.domain.mail.dispatch_mail(DispatchMail(c.operator))
    (delivered,) = world.mailer.sent_to("lea@example.org")
    assert delivered.html == queued.message.html
    with world.storage.unit_of_work() as uow:
        kept = uow.outbox.get(given.mail_id)
    assert kept is not None and kept.message.html is not None
    # The link was for its recipient only: what the outbox keeps no longer logs anyone in.
    assert "token=tdl_sent" in kept.message.html and "token=tdl_sent" in kept.message.body
    assert kept.message.html.count("tdl_") == kept.message.html.count("tdl_sent")
