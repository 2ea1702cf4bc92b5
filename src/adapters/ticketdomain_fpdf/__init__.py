"""Print@home tickets rendered as PDF with fpdf2 and qrcode (the ``documents`` extra)."""

from ticketdomain_fpdf._renderer import DEFAULT_CREATION_DATE, FpdfTicketRenderer

__all__ = ["DEFAULT_CREATION_DATE", "FpdfTicketRenderer"]
