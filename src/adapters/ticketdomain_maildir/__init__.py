"""A mailer that writes each message as an RFC 5322 ``.eml`` file, for development and tests."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from ticketdomain.core.mail import MailMessage
from ticketdomain.emails import build_email
from ticketdomain.ports.mail import MailDeliveryError

__all__ = ["MailDirectoryMailer"]

_SUFFIX = ".eml"
_MAX_NAME = 200


class MailDirectoryMailer:
    """A ``Mailer`` writing every message to ``directory/<message id>.eml`` (created when missing).

    Each file is a complete RFC 5322 message as ``ticketdomain.emails.build_email`` builds it
    (From, To, Subject, Date, a Message-ID derived from the message id, the UTF-8 text, the
    HTML when the message has it, and the attachments), written through a temporary file and
    ``os.replace`` so a reader never sees half a message. Sending an id already written does
    nothing: the message was delivered. Ids that are empty, start with a dot or contain a path
    separator or control character are refused; other characters are percent-encoded in the file
    name. Every failure raises ``MailDeliveryError`` with a ``reason`` in its details; it is
    ``permanent`` for an id or a message that can never be written, temporary for an error of
    the file system. The Message-ID is the same on every attempt.
    """

    def __init__(self, directory: Path | str, *, sender: str = "ticketdomain@localhost") -> None:
        self.directory = Path(directory)
        self.sender = sender

    def path_for(self, message_id: str) -> Path:
        """The file the message with this id is (or would be) written to."""
        if (
            not message_id
            or message_id.startswith(".")
            or any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in message_id)
        ):
            raise MailDeliveryError(
                "A message id must be non-empty, not start with '.' and hold no path separator "
                "or control character.",
                message_id=message_id,
                reason="invalid_message_id",
                permanent=True,
            )
        # Percent-encoding is injective: two ids never share a file.
        name = quote(message_id, safe="") + _SUFFIX
        if len(name) > _MAX_NAME:
            raise MailDeliveryError(
                "This message id is too long for a file name.",
                message_id=message_id,
                reason="invalid_message_id",
                permanent=True,
            )
        path = self.directory / name
        # Belt and braces: nothing may resolve outside the directory, symlinks included.
        if path.resolve().parent != self.directory.resolve():
            raise MailDeliveryError(
                "This message id escapes the mail directory.",
                message_id=message_id,
                reason="invalid_message_id",
                permanent=True,
            )
        return path

    def send(self, message: MailMessage) -> None:
        """Write the message to its file, unless a message with this id was already written."""
        path = self.path_for(message.id)
        data = build_email(message, self.sender).as_bytes()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if path.exists():
                return
            _write_atomically(path, data)
        except OSError as exc:
            raise MailDeliveryError(
                f"Could not write the message to {str(path)!r}: {exc}",
                message_id=message.id,
                reason="os_error",
                error=str(exc),
            ) from exc


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
