"""SmtpMailer against a real SMTP server (aiosmtpd) listening on 127.0.0.1."""

from __future__ import annotations

import email.policy
import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ticketdomain.core.contacts import Email
from ticketdomain.core.mail import Attachment, MailMessage
from ticketdomain.ports.mail import MailDeliveryError, Mailer
from ticketdomain_smtp import SmtpMailer

SENDER = "Opéra de Lyon <tickets@opera.example.org>"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8
MESSAGE = MailMessage(
    id="mail_0001",
    to=Email("zoe.nunez@example.org"),
    subject="Vos billets — La Traviata",
    body="Bonjour Zoë,\n\nVos billets sont joints.\n",
    attachments=(Attachment("billets.pdf", "application/pdf", PDF),),
)
REFUSED = "refused@example.org"


def free_port() -> int:
    # aiosmtpd's Controller needs a port number up front: let the OS pick a free one.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Collector:
    """Keeps every envelope; refuses one recipient, and whole messages when told to."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse_data = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_data:
            return "554 5.7.1 Message rejected as spam"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"relay",
        b"s3cret",
    )
    # Not handled: aiosmtpd then answers the failure itself (535) instead of staying silent.
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Controller, Collector]]:
    collector = Collector()
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_require_tls=False,  # a test server on loopback has no certificate
    )
    controller.start()
    try:
        yield controller, collector
    finally:
        controller.stop()


@pytest.fixture
def collector(server: tuple[Controller, Collector]) -> Collector:
    _, collector = server
    collector.envelopes.clear()
    collector.refuse_data = False
    return collector


@pytest.fixture
def mailer(server: tuple[Controller, Collector]) -> SmtpMailer:
    controller, _ = server
    return SmtpMailer("127.0.0.1", controller.port, sender=SENDER, timeout=5)


def received(envelope: Envelope) -> EmailMessage:
    assert isinstance(envelope.original_content, bytes)
    parsed = BytesParser(policy=email.policy.default).parsebytes(envelope.original_content)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_it_is_a_mailer(mailer: SmtpMailer) -> None:
    typed: Mailer = mailer
    assert typed is mailer


def test_the_server_receives_the_whole_message(mailer: SmtpMailer, collector: Collector) -> None:
    mailer.send(MESSAGE)

    (envelope,) = collector.envelopes
    assert envelope.mail_from == "tickets@opera.example.org"
    assert envelope.rcpt_tos == ["zoe.nunez@example.org"]
    parsed = received(envelope)
    assert parsed["From"] == SENDER
    assert parsed["To"] == "zoe.nunez@example.org"
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["Message-ID"] == "<mail_0001@opera.example.org>"
    assert parsed["Date"] is not None
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None
    # SMTP carries CRLF line ends; the text is the same.
    assert body.get_content().replace("\r\n", "\n") == MESSAGE.body
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "billets.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == PDF


def test_login_with_the_right_credentials(
    server: tuple[Controller, Collector], collector: Collector
) -> None:
    controller, _ = server
    SmtpMailer(
        "127.0.0.1", controller.port, sender=SENDER, username="relay", password="s3cret"
    ).send(MESSAGE)
    assert len(collector.envelopes) == 1


def test_wrong_credentials_raise_a_delivery_error(
    server: tuple[Controller, Collector], collector: Collector
) -> None:
    controller, _ = server
    wrong = SmtpMailer(
        "127.0.0.1", controller.port, sender=SENDER, username="relay", password="nope"
    )
    with pytest.raises(MailDeliveryError) as caught:
        wrong.send(MESSAGE)
    assert caught.value.details["reason"] == "refused"
    assert caught.value.details["smtp_code"] == 535
    assert isinstance(caught.value.__cause__, smtplib.SMTPAuthenticationError)
    assert collector.envelopes == []


def test_a_refused_recipient_raises_a_delivery_error(
    mailer: SmtpMailer, collector: Collector
) -> None:
    message = MailMessage("mail_2", Email(REFUSED), "Hello", "Text")
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(message)
    error = caught.value
    assert error.details["reason"] == "recipient_refused"
    assert error.details["smtp_code"] == 550
    assert "No such user" in error.details["smtp_error"]
    assert error.details["message_id"] == "mail_2"
    assert isinstance(error.__cause__, smtplib.SMTPRecipientsRefused)
    assert collector.envelopes == []


def test_a_refused_message_raises_a_delivery_error(
    mailer: SmtpMailer, collector: Collector
) -> None:
    collector.refuse_data = True
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(MESSAGE)
    assert caught.value.details["reason"] == "refused"
    assert caught.value.details["smtp_code"] == 554
    assert "spam" in caught.value.details["smtp_error"]
    assert isinstance(caught.value.__cause__, smtplib.SMTPDataError)


def test_a_closed_port_raises_a_delivery_error() -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), sender=SENDER, timeout=2)
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(MESSAGE)
    assert caught.value.details["reason"] == "connection_failed"
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_a_silent_server_times_out_into_a_delivery_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never greets
        mailer = SmtpMailer("127.0.0.1", silent.getsockname()[1], sender=SENDER, timeout=0.2)
        with pytest.raises(MailDeliveryError) as caught:
            mailer.send(MESSAGE)
    assert caught.value.details["reason"] == "connection_failed"
    assert "timed out" in caught.value.message


def test_a_malformed_message_is_refused_before_connecting() -> None:
    # Nothing listens on this port: the error must come from the message, not the network.
    mailer = SmtpMailer("127.0.0.1", free_port(), sender=SENDER)
    with pytest.raises(MailDeliveryError) as caught:
        mailer.send(MailMessage("m", Email("a@example.org"), "Hi\r\nBcc: x@example.org", "B"))
    assert caught.value.details["reason"] == "invalid_message"
