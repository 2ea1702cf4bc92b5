"""Mail messages as RFC 5322 emails, built with the standard :mod:`email` package: the one
place both the SMTP and the mail-directory mailers build what they send.

A message with only text is a single ``text/plain`` part; with HTML too, a
``multipart/alternative`` of both (text first, so a reader that shows one part shows the
HTML); with attachments, a ``multipart/mixed`` of that and each attachment. Bodies are UTF-8
in quoted-printable: 7-bit, so no server needs 8BITMIME.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import quote

from ticketdomain.core.mail import MailMessage
from ticketdomain.ports.mail import MailDeliveryError

__all__ = ["build_email", "message_id_header"]


def message_id_header(message_id: str, sender: str) -> str:
    """The ``Message-ID`` of the message with this id sent by ``sender``: the same id always
    gives the same header, so a receiver can drop a copy sent again."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "ticketdomain"
    return f"<{quote(message_id, safe='')}@{domain}>"


def build_email(message: MailMessage, sender: str) -> EmailMessage:
    """``message`` from ``sender`` (``"Tickets <tickets@example.org>"`` works) as an email with
    From, To, Subject, Date (now) and a stable Message-ID (``message_id_header``).

    Raises ``MailDeliveryError`` (permanent, ``reason`` ``invalid_message``, the email
    package's ``ValueError`` or ``TypeError`` chained) for a message that can never be an
    email: a line break in a header, a malformed attachment media type.
    """
    try:
        email = EmailMessage()
        email["From"] = sender
        email["To"] = str(message.to)
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        email["Message-ID"] = message_id_header(message.id, sender)
        email.set_content(message.body, subtype="plain", charset="utf-8", cte="quoted-printable")
        if message.html is not None:
            email.add_alternative(
                message.html, subtype="html", charset="utf-8", cte="quoted-printable"
            )
        for attachment in message.attachments:
            maintype, _, subtype = attachment.media_type.partition("/")
            if not maintype or not subtype:
                raise ValueError(f"{attachment.media_type!r} is not a media type.")
            email.add_attachment(
                attachment.content, maintype, subtype, filename=attachment.filename
            )
    except (ValueError, TypeError) as exc:
        # The email package refuses line breaks in headers and malformed media types.
        raise MailDeliveryError(
            f"This message cannot be written as an email: {exc}",
            permanent=True,
            message_id=message.id,
            reason="invalid_message",
        ) from exc
    return email
