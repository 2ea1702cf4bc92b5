"""Acceptance documents: recognised by content, never by the name the uploader gave."""

from __future__ import annotations

import attrs

from ticketdomain.core.errors import DocumentTooLargeError, DocumentTypeError

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff_media_type(content: bytes) -> str | None:
    for signature, media_type in _SIGNATURES:
        if content.startswith(signature):
            return media_type
    return None


@attrs.frozen
class AcceptanceDocument:
    """A PDF, PNG or JPEG certifying the client's acceptance of an order."""

    filename: str
    media_type: str
    content: bytes = attrs.field(repr=lambda c: f"<{len(c)} bytes>")

    @classmethod
    def from_upload(cls, filename: str, content: bytes, max_bytes: int) -> AcceptanceDocument:
        if not isinstance(content, bytes | bytearray):
            raise DocumentTypeError("A document is uploaded as bytes.")
        if len(content) > max_bytes:
            raise DocumentTooLargeError(
                f"The document is {len(content)} bytes; at most {max_bytes} are accepted.",
                size=len(content),
                max_bytes=max_bytes,
            )
        media_type = sniff_media_type(bytes(content))
        if media_type is None:
            raise DocumentTypeError(
                "Only PDF, PNG and JPEG documents are accepted.", filename=filename
            )
        safe_name = "".join(c for c in filename if c.isalnum() or c in "._- ")[:100] or "document"
        return cls(safe_name, media_type, bytes(content))
