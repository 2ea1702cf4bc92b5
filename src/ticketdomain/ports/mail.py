"""Sending mail. The domain never sends directly: messages wait in the outbox until committed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ticketdomain.core.errors import TicketDomainError
from ticketdomain.core.mail import ComposedMail, MailKind, MailMessage


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


class MailTemplates(Protocol):
    """The words of every kind of mail, per language.

    ``context`` holds plain data only: str, int, bool, ``Money``, aware ``datetime`` (shown in
    the zone named by the context's ``"time_zone"``), lists of dicts of these. What each kind's
    context holds is listed in ``ticketdomain.services._mail`` (``CONTEXT_KEYS``).
    """

    def compose(self, kind: MailKind, language: str, context: Mapping[str, object]) -> ComposedMail:
        """The subject, text and HTML of one mail in ``language`` (one of
        ``core.languages.LANGUAGES``)."""
        ...
