"""A mailer that hands messages to an SMTP server with :mod:`smtplib`."""

from __future__ import annotations

import smtplib
import ssl
from email.utils import parseaddr
from typing import Any

from ticketdomain.core.mail import MailMessage
from ticketdomain.emails import build_email
from ticketdomain.ports.mail import MailDeliveryError

__all__ = ["SmtpMailer"]


class SmtpMailer:
    """A ``Mailer`` sending each message through one SMTP connection to ``host:port``.

    ``sender`` is the From address (``"Tickets <tickets@example.org>"`` works too). With
    ``starttls`` the connection is upgraded to TLS, checking the server certificate, before the
    optional login. Every failure (a refused connection, a timeout, a refused sender, recipient or
    message, a malformed message) raises ``MailDeliveryError`` whose details carry a ``reason``
    and, when the server answered, its ``smtp_code`` and ``smtp_error``; the original exception is
    chained. The error is ``permanent`` when this message can never go: its recipient or its data
    refused with a 5xx reply, or a message that cannot be written as an email. Anything else (no
    connection, a timeout, a 4xx reply, a refused login or sender: the server's or the host's
    state, not the message's) is temporary, so the outbox tries again later.

    The email is built by ``ticketdomain.emails.build_email`` (text, HTML when the message has
    it, attachments). Every message carries a ``Message-ID`` made from its id, the same on every
    attempt, so a receiver can drop the copy a crash between sending and marking may cause.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def send(self, message: MailMessage) -> None:
        """Send the message or raise ``MailDeliveryError``."""
        email = build_email(message, self.sender)
        where: dict[str, Any] = {"message_id": message.id, "host": self.host, "port": self.port}
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(
                    email, from_addr=parseaddr(self.sender)[1], to_addrs=[str(message.to)]
                )
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            raise MailDeliveryError(
                f"The SMTP server refused the recipient {message.to}: {code} {_text(reply)}",
                permanent=_permanent(code),
                reason="recipient_refused",
                smtp_code=code,
                smtp_error=_text(reply),
                **where,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # Sender refused, data refused, authentication failed, or any other error reply.
            # Only a refusal of the data is about this message; the rest is about the server.
            raise MailDeliveryError(
                f"The SMTP server refused the message: {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=isinstance(exc, smtplib.SMTPDataError) and _permanent(exc.smtp_code),
                reason="refused",
                smtp_code=exc.smtp_code,
                smtp_error=_text(exc.smtp_error),
                **where,
            ) from exc
        except smtplib.SMTPServerDisconnected as exc:
            # Also what a read timeout becomes once connected.
            raise MailDeliveryError(
                f"The SMTP server {self.host}:{self.port} closed the connection: {exc}",
                reason="connection_failed",
                error=str(exc),
                **where,
            ) from exc
        except smtplib.SMTPException as exc:
            raise MailDeliveryError(
                f"SMTP delivery failed: {exc}", reason="smtp_error", error=str(exc), **where
            ) from exc
        except OSError as exc:
            # After the SMTP errors on purpose: they subclass OSError too.
            raise MailDeliveryError(
                f"Could not reach the SMTP server {self.host}:{self.port}: {exc}",
                reason="connection_failed",
                error=str(exc),
                **where,
            ) from exc


def _permanent(smtp_code: int) -> bool:
    """A 5xx reply refuses for good; a 4xx one asks to try again later."""
    return 500 <= smtp_code < 600


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
