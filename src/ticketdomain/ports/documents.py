"""Stored documents and rendered tickets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ticketdomain.core.documents import AcceptanceDocument
from ticketdomain.core.printing import PrintableTicket


class DocumentStore(Protocol):
    def put(self, document_id: str, document: AcceptanceDocument) -> None: ...

    def get(self, document_id: str) -> AcceptanceDocument | None: ...

    def delete(self, document_id: str) -> None: ...


class TicketRenderer(Protocol):
    media_type: str

    def render(self, tickets: Sequence[PrintableTicket]) -> bytes:
        """One document holding every ticket given (a PDF for print@home)."""
        ...
