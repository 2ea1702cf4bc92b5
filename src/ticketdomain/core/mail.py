"""Mail messages the domain asks to send; delivered through the outbox after commit."""

from __future__ import annotations

import attrs

from ticketdomain.core.contacts import Email


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
