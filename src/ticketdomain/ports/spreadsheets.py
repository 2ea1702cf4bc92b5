"""Spreadsheet files other than the library's own CSV (``.xlsx`` with the shipped
``ticketdomain_openpyxl``)."""

from __future__ import annotations

from typing import Protocol

from ticketdomain.core.spreadsheets import SheetLimits, Table


class SpreadsheetCodec(Protocol):
    """Reads a spreadsheet file into rows of text and writes a table into a file.

    ``ticketdomain.core.spreadsheets.CsvCodec`` is the CSV one; a host plugs in another
    (``TicketDomain(spreadsheets=...)``) to read and write ``.xlsx``.
    """

    @property
    def media_type(self) -> str:
        """The media type of the files written."""
        ...

    @property
    def extension(self) -> str:
        """The file extension of the files written, without the dot."""
        ...

    def read(self, content: bytes, limits: SheetLimits) -> list[list[str]]:
        """The rows of the file's first sheet, every cell as text (``""`` when empty), blank
        rows included so that row ``n`` of the list is the sheet's row ``n + 1``. A formula
        is read as its text (``=1+1``), never evaluated; numbers as their shortest text.

        Raises ``CsvTooLargeError`` for a file past ``limits`` (its size, the bytes it
        unpacks to, its rows) and ``CsvInvalidError`` for a file it cannot read; never
        anything else.
        """
        ...

    def write(self, table: Table) -> bytes:
        """The table as a file (the title as the sheet's name where the format has one,
        the columns as the first row). Text cells are written formula-safe: as text, and
        neutralized as ``ticketdomain.core.spreadsheets.spreadsheet_safe`` says."""
        ...
