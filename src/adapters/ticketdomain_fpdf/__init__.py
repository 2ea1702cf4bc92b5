"""Print@home tickets rendered as PDF with fpdf2 and qrcode (the ``documents`` extra)."""

from ticketdomain_fpdf._documents import FpdfDocumentRenderer
from ticketdomain_fpdf._fonts import FontDocument, FontFamily, FontSet
from ticketdomain_fpdf._renderer import (
    CHUNK_TICKETS,
    DEFAULT_CREATION_DATE,
    FpdfTicketRenderer,
    TicketLayout,
)

__all__ = [
    "CHUNK_TICKETS",
    "DEFAULT_CREATION_DATE",
    "FontDocument",
    "FontFamily",
    "FontSet",
    "FpdfDocumentRenderer",
    "FpdfTicketRenderer",
    "TicketLayout",
]
