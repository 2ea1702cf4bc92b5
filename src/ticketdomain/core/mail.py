"""Mail messages the domain asks to send; delivered through the outbox after commit.

A queued message is ``queued`` until a dispatcher claims it (``sending``, for the length of a
lease), then ``sent``, or ``queued`` again with a later due time after a temporary failure, or
``failed`` after a permanent one or too many attempts (an operator may queue it again). The
functions below decide; the outbox stores and the mail service drives.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from ticketdomain.core.contacts import Email
from ticketdomain.core.errors import SetupInvalidError, StateTransitionError


@attrs.frozen
class Attachment:
    filename: str
    media_type: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")


@attrs.frozen
class MailMessage:
    id: str
    to: Email
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    #: the institution the mail is sent for: only its operators see it in the outbox
    institution_id: str | None = None
    #: the same content as ``body``, as HTML (``None``: plain text only)
    html: str | None = None


class MailKind(enum.Enum):
    """What a mail is about: each kind has its own templates (see ``ports.mail.MailTemplates``)."""

    #: a member is invited to log in and print the tickets assigned to them
    INVITATION = "invitation"
    #: an order's tickets were put on a client's online account (tickets attached)
    TRANSFER = "transfer"
    #: tickets a holder had were taken back (new barcodes, the old ones void)
    RECLAIM = "reclaim"
    #: tickets a holder had were cancelled with their order
    CANCELLATION = "cancellation"
    #: an invoice (its PDF attached)
    INVOICE = "invoice"
    #: a credit note (its PDF attached)
    CREDIT_NOTE = "credit_note"
    #: a new relay is welcomed with a link to set their password
    WELCOME = "welcome"
    #: a single-use login link a relay or member asked for
    LOGIN_LINK = "login_link"


@attrs.frozen
class ComposedMail:
    """A mail's words in one language: its subject, plain text and (optionally) HTML."""

    subject: str
    text: str
    html: str | None = None


class OutboxState(enum.Enum):
    #: waiting for its due time, then for a dispatcher
    QUEUED = "queued"
    #: claimed by one dispatcher until its lease runs out
    SENDING = "sending"
    #: handed over to the mail server (final)
    SENT = "sent"
    #: refused for good, or out of attempts: waits for an operator to queue it again
    FAILED = "failed"


@attrs.frozen
class DeliveryPolicy:
    """How the outbox retries: after the n-th failed attempt a message is due again after
    ``first_retry * factor ** (n - 1)``, at most ``cap``; after ``max_attempts`` attempts, or a
    permanent failure, it is failed. A dispatcher claims ``batch`` messages at a time, each for
    ``lease``: keep the lease well above ``batch`` times the mailer's worst send time, or another
    dispatcher may take a message over (and send it again) while it is still being sent.

    Raises ``SetupInvalidError`` for values that make no sense (no attempt, a non-positive
    delay, factor, batch or lease, a cap below the first delay).
    """

    max_attempts: int = 8
    first_retry: timedelta = timedelta(minutes=1)
    factor: int = 2
    cap: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    batch: int = 10

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1 or self.factor < 1 or self.batch < 1:
            raise SetupInvalidError(
                "max_attempts, factor and batch must be at least 1.",
                max_attempts=self.max_attempts,
                factor=self.factor,
                batch=self.batch,
            )
        if self.first_retry <= timedelta(0) or self.lease <= timedelta(0):
            raise SetupInvalidError("The first retry delay and the lease must be positive.")
        if self.cap < self.first_retry:
            raise SetupInvalidError("The cap must not be below the first retry delay.")

    def retry_delay(self, attempts: int) -> timedelta:
        """How long after its ``attempts``-th failed attempt (1 or more) a message is due."""
        delay = self.first_retry
        for _ in range(max(attempts, 1) - 1):
            delay *= self.factor
            if delay >= self.cap:
                # Stop multiplying: a large count would overflow timedelta.
                return self.cap
        return min(delay, self.cap)


@attrs.frozen
class AfterFailure:
    """What becomes of a message whose attempt failed: ``retry_at`` is ``None`` once failed."""

    state: OutboxState
    retry_at: datetime | None


def after_failure(
    policy: DeliveryPolicy, attempts: int, permanent: bool, now: datetime
) -> AfterFailure:
    """The next state of a message whose ``attempts``-th attempt failed at ``now``."""
    if permanent or attempts >= policy.max_attempts:
        return AfterFailure(OutboxState.FAILED, None)
    return AfterFailure(OutboxState.QUEUED, now + policy.retry_delay(attempts))


def out_of_attempts(policy: DeliveryPolicy, attempts: int) -> bool:
    """Whether a claimed message (``attempts`` counting this claim) may not be sent again: a
    message whose sends kept dying with their dispatcher, lease after lease, ends as failed."""
    return attempts > policy.max_attempts


def require_requeueable(message_id: str, state: OutboxState) -> None:
    """Only a failed message is queued again. Raises ``StateTransitionError`` otherwise."""
    if state is not OutboxState.FAILED:
        raise StateTransitionError(
            f"Only failed mail can be queued again; this one is {state.value}.",
            id=message_id,
            state=state.value,
        )
