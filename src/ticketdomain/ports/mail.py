"""Sending mail. The domain never sends directly: messages wait in the outbox until committed."""

from __future__ import annotations

from typing import Any, Protocol

from ticketdomain.core.errors import TicketDomainError
from ticketdomain.core.mail import MailMessage


class MailDeliveryError(TicketDomainError):
    """The mailer could not hand the message over.

    ``permanent`` says whether trying again is pointless (an address refused, a message that
    cannot be sent): the outbox then gives the message up as failed at once. A temporary
    failure (the server unreachable, a timeout, a 4xx reply) is retried later, with backoff.
    """

    code = "mail_delivery_failed"

    def __init__(self, message: str, *, permanent: bool = False, **details: Any) -> None:
        super().__init__(message, permanent=permanent, **details)

    @property
    def permanent(self) -> bool:
        # Read from the details, so that an error rebuilt from its parts keeps it.
        return bool(self.details.get("permanent", False))


class Mailer(Protocol):
    def send(self, message: MailMessage) -> None:
        """Deliver the message or raise MailDeliveryError."""
        ...
