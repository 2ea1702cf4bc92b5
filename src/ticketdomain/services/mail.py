"""Delivering the outbox: a mail leaves only once the change that queued it was committed.

A run claims a batch of due messages in one short unit of work, sends them with no unit of
work open (no lock held while the mail server is talked to), and records each outcome in its own
short unit of work, which counts only while the claim is still this run's. Two runs never send a
message twice; a run that dies between sending and recording lets the claim's lease run out,
and the message is sent again, with the same id (hence the same Message-ID).
"""

from __future__ import annotations

import re

import attrs

from ticketdomain.core.errors import NotFoundError, QuantityInvalidError
from ticketdomain.core.identity import LINK_PREFIX
from ticketdomain.core.mail import after_failure, out_of_attempts, require_requeueable
from ticketdomain.core.timezones import DEFAULT_TIME_ZONE, in_zone
from ticketdomain.ports.mail import MailDeliveryError
from ticketdomain.ports.storage import OutboxItem, UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator, require_institution_wide
from ticketdomain.services._context import Adapters

_LINK_TOKEN = re.compile(re.escape(LINK_PREFIX) + r"[A-Za-z0-9_-]+")


def blank_links(body: str) -> str | None:
    """The body to keep once sent, its login-link tokens blanked (``None``: keep it as is)."""
    blanked = _LINK_TOKEN.sub(LINK_PREFIX + "sent", body)
    return blanked if blanked != body else None


@attrs.define
class _Run:
    """One dispatcher's run: its claim id and what became of each message."""

    dispatcher: str
    sent: list[str] = attrs.Factory(list)
    failed: list[str] = attrs.Factory(list)
    given_up: list[str] = attrs.Factory(list)
    overtaken: list[str] = attrs.Factory(list)

    def result(self) -> r.MailDispatched:
        return r.MailDispatched(
            tuple(self.sent), tuple(self.failed), tuple(self.given_up), tuple(self.overtaken)
        )


@attrs.frozen
class MailService:
    adapters: Adapters

    def dispatch_mail(self, command: c.DispatchMail) -> r.MailDispatched:
        """Send up to ``command.limit`` due mails, claimed ``DeliveryPolicy.batch`` at a time.

        The outbox is the storage's whole outbox (one per deployment); several runs may go on
        at once, in threads or processes. A temporary delivery failure queues the mail again
        after a backoff; a permanent one, or the last allowed attempt, leaves it failed. Raises
        ``QuantityInvalidError`` for a limit out of 1 to 10000; an exception other than
        ``MailDeliveryError`` from the mailer propagates, and the claimed mails are taken up
        again once their lease runs out.
        """
        policy = self.adapters.delivery
        run = _Run(self.adapters.ids.new_id("dispatcher"))
        with Authenticator(self.adapters).operator(command) as (uow, _):
            if not 1 <= command.limit <= 10_000:
                raise QuantityInvalidError(
                    "Dispatch 1 to 10000 mails at a time.", limit=command.limit
                )
            claimed = self._claim(uow, run, min(policy.batch, command.limit))
            uow.commit()
        left = command.limit - len(claimed)
        while claimed:
            for item in claimed:
                self._deliver(run, item)
            if left <= 0:
                break
            with self.adapters.storage.unit_of_work() as uow:
                claimed = self._claim(uow, run, min(policy.batch, left))
                uow.commit()
            left -= len(claimed)
        return run.result()

    def _claim(self, uow: UnitOfWork, run: _Run, limit: int) -> list[OutboxItem]:
        """Claim due messages; those whose sends kept dying with their dispatcher are given up
        here rather than sent once more."""
        policy = self.adapters.delivery
        now = self.adapters.clock.now()
        claimed = uow.outbox.claim(run.dispatcher, now, now + policy.lease, limit)
        keep: list[OutboxItem] = []
        for item in claimed:
            if out_of_attempts(policy, item.attempts):
                error = f"Given up after {item.attempts - 1} attempts left unfinished."
                uow.outbox.mark_failed(item.message.id, run.dispatcher, error)
                run.given_up.append(item.message.id)
            else:
                keep.append(item)
        return keep

    def _deliver(self, run: _Run, item: OutboxItem) -> None:
        message_id = item.message.id
        try:
            self.adapters.mailer.send(item.message)
        except MailDeliveryError as exc:
            now = self.adapters.clock.now()
            decision = after_failure(self.adapters.delivery, item.attempts, exc.permanent, now)
            with self.adapters.storage.unit_of_work() as uow:
                if decision.retry_at is None:
                    marked = uow.outbox.mark_failed(message_id, run.dispatcher, exc.message)
                else:
                    marked = uow.outbox.mark_retry(
                        message_id, run.dispatcher, exc.message, decision.retry_at
                    )
                uow.commit()
            run.failed.append(message_id)
            if marked and decision.retry_at is None:
                run.given_up.append(message_id)
            return
        with self.adapters.storage.unit_of_work() as uow:
            now = self.adapters.clock.now()
            body = blank_links(item.message.body)
            html = blank_links(item.message.html) if item.message.html is not None else None
            marked = uow.outbox.mark_sent(message_id, run.dispatcher, now, body, html)
            uow.commit()
        (run.sent if marked else run.overtaken).append(message_id)

    def list_failed_mail(self, command: c.ListFailedMail) -> r.FailedMailList:
        """The operator's institution's failed mails, oldest first, at most ``command.limit``.

        The outbox is the institution's, not an organization's: an operator of only some
        organizations gets ``PermissionMissingError``. Raises ``QuantityInvalidError`` for a
        limit out of 1 to 10000.
        """
        with Authenticator(self.adapters).operator(command) as (uow, operator):
            require_institution_wide(operator, command)
            items = uow.outbox.failed(operator.institution_id, command.limit)
        return r.FailedMailList(
            tuple(
                r.FailedMail(
                    item.message.id,
                    item.message.to.value,
                    item.message.subject,
                    in_zone(item.queued_at, DEFAULT_TIME_ZONE),
                    item.attempts,
                    item.last_error,
                )
                for item in items
            ),
            # The outbox is the institution's, which has no zone of its own.
            time_zone=DEFAULT_TIME_ZONE,
        )

    def requeue_mail(self, command: c.RequeueMail) -> r.MailRequeued:
        """Queue a failed mail again, due now, its attempts counted anew.

        Raises ``PermissionMissingError`` for an operator of only some organizations (as
        ``ListFailedMail``), ``NotFoundError`` for a mail that is not the operator's
        institution's, and ``StateTransitionError`` for one that is not failed.
        """
        with Authenticator(self.adapters).operator(command) as (uow, operator):
            require_institution_wide(operator, command)
            item = uow.outbox.get(command.mail_id)
            if item is None or item.message.institution_id != operator.institution_id:
                raise NotFoundError("mail", command.mail_id)
            require_requeueable(item.message.id, item.state)
            now = self.adapters.clock.now()
            uow.outbox.requeue(item.message.id, now)
            uow.commit()
        return r.MailRequeued(item.message.id, in_zone(now, DEFAULT_TIME_ZONE), DEFAULT_TIME_ZONE)
