"""Sending mail. The domain never sends directly: messages wait in the outbox until committed."""

from __future__ import annotations

from typing import Protocol

from ticketdomain.core.errors import TicketDomainError
from ticketdomain.core.mail import MailMessage


class MailDeliveryError(TicketDomainError):
    """The mailer could not hand the message over; it stays in the outbox for a retry."""

    code = "mail_delivery_failed"


class Mailer(Protocol):
    def send(self, message: MailMessage) -> None:
        """Deliver the message or raise MailDeliveryError."""
        ...
