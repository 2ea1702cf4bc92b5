"""Delivering the outbox: a mail leaves only once the change that queued it was committed."""

from __future__ import annotations

import re

import attrs

from ticketdomain.core.errors import QuantityInvalidError
from ticketdomain.core.identity import LINK_PREFIX
from ticketdomain.ports.mail import MailDeliveryError
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator
from ticketdomain.services._context import Adapters

_LINK_TOKEN = re.compile(re.escape(LINK_PREFIX) + r"[A-Za-z0-9_-]+")


def blank_links(body: str) -> str | None:
    """The body to keep once sent, its login-link tokens blanked (``None``: keep it as is)."""
    blanked = _LINK_TOKEN.sub(LINK_PREFIX + "sent", body)
    return blanked if blanked != body else None


@attrs.frozen
class MailService:
    adapters: Adapters

    def dispatch_mail(self, command: c.DispatchMail) -> r.MailDispatched:
        """Send pending mails one transaction each; a failure is recorded and retried later.

        The outbox is the storage's whole outbox (one per deployment). Raises
        ``QuantityInvalidError`` for a limit out of 1 to 10000.
        """
        with Authenticator(self.adapters).operator(command) as (uow, _):
            if not 1 <= command.limit <= 10_000:
                raise QuantityInvalidError(
                    "Dispatch 1 to 10000 mails at a time.", limit=command.limit
                )
            pending = [item.message.id for item in uow.outbox.pending(command.limit)]
        sent: list[str] = []
        failed: list[str] = []
        for message_id in pending:
            with self.adapters.storage.unit_of_work() as uow:
                item = uow.outbox.get(message_id)
                if item is None or item.sent_at is not None:
                    continue
                try:
                    self.adapters.mailer.send(item.message)
                except MailDeliveryError as exc:
                    uow.outbox.mark_failed(message_id, exc.message)
                    failed.append(message_id)
                else:
                    uow.outbox.mark_sent(
                        message_id, self.adapters.clock.now(), blank_links(item.message.body)
                    )
                    sent.append(message_id)
                uow.commit()
        return r.MailDispatched(tuple(sent), tuple(failed))
