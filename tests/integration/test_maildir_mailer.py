"""MailDirectoryMailer: .eml files on a real file system, parsed back with the email package."""

from __future__ import annotations

import email.policy
import os
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from ticketdomain.core.contacts import Email
from ticketdomain.core.mail import Attachment, MailMessage
from ticketdomain.ports.mail import MailDeliveryError, Mailer
from ticketdomain_maildir import MailDirectoryMailer

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4
MESSAGE = MailMessage(
    id="mail_0001",
    to=Email("zoe.nunez@example.org"),
    subject="Opéra de Lyon: 2 tickets — à imprimer",
    body="Bonjour Zoë,\n\nVos billets sont joints. À bientôt !\n",
    attachments=(
        Attachment("billets-été.pdf", "application/pdf", PDF),
        Attachment("liste.csv", "text/csv", "nom;prénom\nÑúñez;Zoë\n".encode()),
    ),
)


def parse(path: Path) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def eml_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
def mailer(tmp_path: Path) -> MailDirectoryMailer:
    return MailDirectoryMailer(tmp_path / "outbox", sender="Tickets <tickets@example.org>")


def test_it_is_a_mailer(mailer: MailDirectoryMailer) -> None:
    typed: Mailer = mailer
    assert typed is mailer


def test_a_message_is_written_and_parses_back_whole(mailer: MailDirectoryMailer) -> None:
    mailer.send(MESSAGE)

    assert eml_files(mailer.directory) == ["mail_0001.eml"]
    parsed = parse(mailer.path_for("mail_0001"))
    assert parsed["From"] == "Tickets <tickets@example.org>"
    assert parsed["To"] == "zoe.nunez@example.org"
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["Message-ID"] == "<mail_0001@example.org>"
    assert parsedate_to_datetime(parsed["Date"]).tzinfo is not None

    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content_type() == "text/plain"
    assert body.get_content_charset() == "utf-8"
    assert body.get_content() == MESSAGE.body

    attachments = list(parsed.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("billets-été.pdf", "application/pdf"),
        ("liste.csv", "text/csv"),
    ]
    assert [a.get_payload(decode=True) for a in attachments] == [
        a.content for a in MESSAGE.attachments
    ]


def test_the_file_is_plain_ascii_rfc_5322(mailer: MailDirectoryMailer) -> None:
    mailer.send(MESSAGE)
    raw = mailer.path_for(MESSAGE.id).read_bytes()
    raw.decode("ascii")  # non-ASCII headers and body are encoded, not written raw
    assert b"\nMIME-Version: 1.0\n" in raw


def test_a_message_without_attachment_is_a_single_text_part(
    mailer: MailDirectoryMailer,
) -> None:
    mailer.send(MailMessage("mail_2", Email("a@example.org"), "Hello", "Just text."))
    parsed = parse(mailer.path_for("mail_2"))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "Just text.\n"


def test_sending_the_same_id_twice_keeps_one_file(mailer: MailDirectoryMailer) -> None:
    mailer.send(MESSAGE)
    first = mailer.path_for(MESSAGE.id).read_bytes()
    mailer.send(MESSAGE)
    assert eml_files(mailer.directory) == ["mail_0001.eml"]
    assert mailer.path_for(MESSAGE.id).read_bytes() == first


def test_no_temporary_file_is_left_behind(mailer: MailDirectoryMailer) -> None:
    for number in range(3):
        mailer.send(MailMessage(f"m{number}", Email("a@example.org"), "S", "B"))
    assert eml_files(mailer.directory) == ["m0.eml", "m1.eml", "m2.eml"]


def test_unusual_ids_get_distinct_safe_file_names(mailer: MailDirectoryMailer) -> None:
    ids = ["a b", "a_b", "a%20b", "é:1", "x..y"]
    for message_id in ids:
        mailer.send(MailMessage(message_id, Email("a@example.org"), message_id, "B"))
    assert len(eml_files(mailer.directory)) == len(ids)
    for message_id in ids:
        assert parse(mailer.path_for(message_id))["Subject"] == message_id


@pytest.mark.parametrize(
    "message_id", ["../escape", "..", ".hidden", "a/b", "a\\b", "/etc/passwd", "", "a\nb", "x\0"]
)
def test_ids_that_could_escape_the_directory_are_refused(
    mailer: MailDirectoryMailer, tmp_path: Path, message_id: str
) -> None:
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(MailMessage(message_id, Email("a@example.org"), "S", "B"))
    assert caught.value.details["reason"] == "invalid_message_id"
    assert eml_files(tmp_path) == []


def test_a_subject_with_a_line_break_is_refused(mailer: MailDirectoryMailer) -> None:
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(MailMessage("m", Email("a@example.org"), "Hi\nBcc: x@example.org", "B"))
    assert caught.value.details["reason"] == "invalid_message"
    assert isinstance(caught.value.__cause__, ValueError)


def test_an_attachment_without_media_type_is_refused(mailer: MailDirectoryMailer) -> None:
    message = MailMessage("m", Email("a@example.org"), "S", "B", (Attachment("x", "pdf", b"x"),))
    with pytest.raises(MailDeliveryError, match="media type"):
        mailer.send(message)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_an_unwritable_directory_raises_a_chained_delivery_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(MailDeliveryError) as caught:
            MailDirectoryMailer(locked).send(MESSAGE)
    finally:
        locked.chmod(0o700)
    assert caught.value.details["reason"] == "os_error"
    assert isinstance(caught.value.__cause__, OSError)


def test_a_directory_that_is_a_file_raises_a_chained_delivery_error(tmp_path: Path) -> None:
    # Works as root too, unlike permissions.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    with pytest.raises(MailDeliveryError) as caught:
        MailDirectoryMailer(blocker / "outbox").send(MESSAGE)
    assert caught.value.details["reason"] == "os_error"
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.details["message_id"] == MESSAGE.id
