"""Distribution sheets and reports as .xlsx workbooks, with openpyxl (the ``spreadsheets``
extra)."""

from ticketdomain_openpyxl._codec import OpenpyxlSpreadsheetCodec

__all__ = ["OpenpyxlSpreadsheetCodec"]
