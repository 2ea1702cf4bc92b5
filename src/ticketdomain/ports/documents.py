"""Stored documents and rendered tickets."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import BinaryIO, Protocol, runtime_checkable

from ticketdomain.core.billing import InvoiceDocument, ReportDocument
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


@runtime_checkable
class BatchTicketRenderer(TicketRenderer, Protocol):
    """A ``TicketRenderer`` that can also write a batch of any size to a stream in bounded
    memory (optional: a host's renderer need not be one; check with ``isinstance``)."""

    def render_to(
        self,
        stream: BinaryIO,
        tickets: Iterable[PrintableTicket],
        *,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> int:
        """Write one document with every ticket, read once and in order, to ``stream``;
        ``progress(done, total)`` is called as tickets are drawn (``total`` is ``None`` when
        ``tickets`` has no length). Returns the number of tickets written."""
        ...


class DocumentRenderer(Protocol):
    """Draws the documents people file: invoices, credit notes and report tables."""

    media_type: str

    def render_invoice(self, document: InvoiceDocument) -> bytes:
        """An invoice or a credit note (with its QR-bill payment part when it has one)."""
        ...

    def render_report(self, document: ReportDocument) -> bytes:
        """A sales report or dashboard: its tables, header and page numbers on every page."""
        ...
