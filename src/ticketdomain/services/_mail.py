"""Queuing mail: the words come from the host's ``MailTemplates`` (``ticketdomain_jinja`` for
French, German, Italian and English, text and HTML), in the recipient's language; without
templates, the built-in English plain text below.

What each kind's context holds (plain data; the templates format it for the language):

- every kind: ``first_name``, ``last_name`` (the recipient's), ``sender`` (who signs: the
  organization's name, else the institution's), ``time_zone`` (the zone datetimes without one of
  their own are shown in);
- ``INVITATION``: ``organization``, ``structure`` (who sent the tickets), ``tickets``, ``link``;
- ``TRANSFER``: ``organization``, ``order_id``, ``tickets``, ``link`` (the tickets attached);
- ``RECLAIM``: ``structure`` (who took them back), ``tickets``;
- ``CANCELLATION``: ``organization``, ``tickets``;
- ``WELCOME``: ``link``;
- ``LOGIN_LINK``: ``link``, ``space`` (``"member"`` or ``"relay"``);
- ``INVOICE``: ``organization``, ``number``, ``issued_at`` and ``due_at`` (aware datetimes, or
  ``due_at`` ``None``), ``total`` (``Money``), ``reference`` (the payment reference, or
  ``None``) (the PDF attached);
- ``CREDIT_NOTE``: as ``INVOICE`` without ``due_at`` and ``reference`` (``total`` is the
  amount credited, positive), plus ``invoice_number`` (the invoice it negates).

A ticket (in ``tickets``) is a dict: ``activity``, ``starts_at`` (aware, in the performance's
zone), ``time_zone`` (that zone's name), ``venue``, ``product``, ``tariff``, ``price``
(``Money``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ticketdomain.core.contacts import Individual
from ticketdomain.core.languages import DEFAULT_LANGUAGE
from ticketdomain.core.mail import Attachment, ComposedMail, MailKind, MailMessage
from ticketdomain.core.setup import Organization
from ticketdomain.core.timezones import format_local, in_zone
from ticketdomain.ports.storage import UnitOfWork

if TYPE_CHECKING:
    from ticketdomain.services._context import Adapters

#: the keys each kind's context must hold, beside ``COMMON_KEYS``
CONTEXT_KEYS: Mapping[MailKind, frozenset[str]] = {
    MailKind.INVITATION: frozenset({"organization", "structure", "tickets", "link"}),
    MailKind.TRANSFER: frozenset({"organization", "order_id", "tickets", "link"}),
    MailKind.RECLAIM: frozenset({"structure", "tickets"}),
    MailKind.CANCELLATION: frozenset({"organization", "tickets"}),
    MailKind.WELCOME: frozenset({"link"}),
    MailKind.LOGIN_LINK: frozenset({"link", "space"}),
    MailKind.INVOICE: frozenset(
        {"organization", "number", "issued_at", "due_at", "total", "reference"}
    ),
    MailKind.CREDIT_NOTE: frozenset(
        {"organization", "number", "issued_at", "total", "invoice_number"}
    ),
}
#: the keys every context holds (``queue_mail`` fills them in)
COMMON_KEYS = frozenset({"first_name", "last_name", "sender", "time_zone"})
#: the keys of a ticket in ``tickets``
TICKET_KEYS = frozenset(
    {"activity", "starts_at", "time_zone", "venue", "product", "tariff", "price"}
)


def language_for(to: Individual, organization: Organization | None) -> str:
    """The contact's language, else the organization's, else the default."""
    if to.language is not None:
        return to.language
    return organization.language if organization is not None else DEFAULT_LANGUAGE


def queue_mail(
    uow: UnitOfWork,
    adapters: Adapters,
    *,
    to: Individual,
    kind: MailKind,
    context: Mapping[str, object],
    attachments: Sequence[Attachment] = (),
    organization: Organization | None = None,
) -> str:
    """Compose a mail of ``kind`` in ``to``'s language and queue it in the outbox (sent after
    commit); returns the message id.

    ``context`` holds the kind's keys (``CONTEXT_KEYS``); the recipient's names, ``sender``
    (``organization``'s name when given, else the institution's) and ``time_zone``
    (``organization``'s zone, else UTC) are added unless given. With an ``organization``, no
    statement beyond the outbox's insert.
    """
    full: dict[str, object] = {
        "first_name": to.name.first,
        "last_name": to.name.last,
        "sender": _sender(uow, to, organization) if "sender" not in context else "",
        "time_zone": organization.time_zone if organization is not None else "UTC",
    }
    full.update(context)
    composed = adapters.mail_templates.compose(kind, language_for(to, organization), full)
    message = MailMessage(
        id=adapters.ids.new_id("mail"),
        to=to.email,
        subject=composed.subject,
        body=composed.text,
        attachments=tuple(attachments),
        institution_id=to.institution_id,
        html=composed.html,
    )
    uow.outbox.add(message, adapters.clock.now())
    return message.id


def _sender(uow: UnitOfWork, to: Individual, organization: Organization | None) -> str:
    """Who signs: the organization, else (a relay's welcome, a login link: mail about no one
    organization) the institution."""
    if organization is not None:
        return organization.name
    institution = uow.institutions.get(to.institution_id)
    return institution.name if institution is not None else ""


class PlainTextTemplates:
    """The built-in ``MailTemplates``: English plain text whatever the language, so a host
    without ``ticketdomain_jinja`` still sends every mail (no HTML part)."""

    def compose(self, kind: MailKind, language: str, context: Mapping[str, object]) -> ComposedMail:
        c = context
        hello = f"Hello {c['first_name']},\n\n"
        signature = f"\n\n{c['sender']}\n" if c.get("sender") else "\n"
        if kind is MailKind.INVITATION:
            n = _count(c)
            return ComposedMail(
                f"{c['organization']}: {n} ticket(s) to print",
                f"{hello}{c['structure']} sent you {n} ticket(s):\n{_lines(c)}\n\n"
                "Log in to your personal space to print them with the name of the person who "
                f"will attend (this link works once):\n{c['link']}{signature}",
            )
        if kind is MailKind.TRANSFER:
            n = _count(c)
            return ComposedMail(
                f"{c['organization']}: {n} ticket(s) in your online account",
                f"{hello}{n} ticket(s) of order {c['order_id']} were transferred to your online "
                f"account:\n{_lines(c)}\n\nThey are attached to this mail. Log in to your "
                "personal space to print them again (this link works once):\n"
                f"{c['link']}{signature}",
            )
        if kind is MailKind.RECLAIM:
            n = _count(c)
            return ComposedMail(
                f"{c['structure']} took back {n} ticket(s)",
                f"{hello}{c['structure']} took back these ticket(s) you had received:\n"
                f"{_lines(c)}\n\nTickets you may have printed are no longer valid at the gate."
                f"{signature}",
            )
        if kind is MailKind.CANCELLATION:
            n = _count(c)
            return ComposedMail(
                f"{c['organization']}: {n} ticket(s) cancelled",
                f"{hello}These ticket(s) you had received were cancelled with their order:\n"
                f"{_lines(c)}\n\nThey are no longer valid at the gate.{signature}",
            )
        if kind is MailKind.WELCOME:
            return ComposedMail(
                "Your access to the sales point",
                f"{hello}You can now sell tickets for your structure. Log in with this link "
                f"(it works once) and choose a password:\n{c['link']}{signature}",
            )
        if kind is MailKind.LOGIN_LINK:
            space = "your tickets" if c["space"] == "member" else "the sales point"
            return ComposedMail(
                f"Your link to {space}",
                f"{hello}Log in with this link (it works once, for a short while):\n"
                f"{c['link']}\n\nIf you did not ask for it, ignore this mail.{signature}",
            )
        if kind is MailKind.INVOICE:
            due = c.get("due_at")
            reference = c.get("reference")
            return ComposedMail(
                f"{c['organization']}: invoice {c['number']}",
                f"{hello}Please find attached invoice {c['number']} of "
                f"{_when(c['issued_at'], c)} for {c['total']}."
                + (f" It is due by {_when(due, c)}." if isinstance(due, datetime) else "")
                + (f"\nPayment reference: {reference}" if reference else "")
                + signature,
            )
        if kind is MailKind.CREDIT_NOTE:
            return ComposedMail(
                f"{c['organization']}: credit note {c['number']}",
                f"{hello}Please find attached credit note {c['number']} of "
                f"{_when(c['issued_at'], c)} for {c['total']}, negating invoice "
                f"{c['invoice_number']}.{signature}",
            )
        raise ValueError(f"No template for {kind}.")


def _count(context: Mapping[str, object]) -> int:
    tickets = context["tickets"]
    assert isinstance(tickets, Sequence)
    return len(tickets)


def _lines(context: Mapping[str, object]) -> str:
    tickets = context["tickets"]
    assert isinstance(tickets, Sequence)
    return "\n".join(
        f"- {t['activity']}, {format_local(t['starts_at'])}, {t['venue']}: "
        f"{t['product']} / {t['tariff']}"
        for t in tickets
    )


def _when(moment: object, context: Mapping[str, object]) -> str:
    assert isinstance(moment, datetime)
    return format_local(in_zone(moment, str(context["time_zone"])))
