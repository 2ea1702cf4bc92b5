"""The one CSV writer: every spreadsheet the library writes goes through :func:`write_csv`
(or, as ``.xlsx``, through a ``SpreadsheetCodec`` applying the same rule to its cells).

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and some strip a leading tab or carriage return first), so a contact named
``=HYPERLINK(...)`` could make a link, or worse, in the operator's spreadsheet. Every text cell
that starts so is written with a leading apostrophe, which spreadsheets show as text; numbers
(``int``, ``Decimal``) are written as they are, so a negative amount stays a number.
"""

from __future__ import annotations

import csv
import enum
import io
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from ticketdomain.core.errors import CsvInvalidError, CsvTooLargeError

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: what a cell may hold: text is neutralized, numbers are written as they are
Cell = str | int | Decimal | None


def spreadsheet_safe(value: str) -> str:
    """Text a spreadsheet will show as text, never run as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def safe_cell(value: Cell) -> str | int | Decimal:
    """A cell as every spreadsheet writer writes it: text made :func:`spreadsheet_safe`, a
    bool as ``yes``/``no``, ``None`` as empty text, numbers as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        # A bool is an int to Python; a spreadsheet reads "yes"/"no" better.
        return "yes" if value else "no"
    if isinstance(value, int | Decimal):
        return value
    return spreadsheet_safe(str(value))


def write_csv(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], *, line_end: str = "\r\n"
) -> str:
    """A CSV text (comma separated, header line first, fields quoted where needed) whose
    text cells are all :func:`spreadsheet_safe`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return out.getvalue()


def from_spreadsheet(value: str) -> str:
    """The text a cell read back stands for: the apostrophe :func:`spreadsheet_safe` put
    before a formula-like text is taken off again (a spreadsheet program hides it too), so
    ``'=1+1`` reads as the text ``=1+1``, never as a formula."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


class SheetFormat(enum.Enum):
    """How a spreadsheet file is written: CSV (text, the library's own) or Excel's ``.xlsx``
    (through a :class:`ticketdomain.ports.spreadsheets.SpreadsheetCodec` the host plugs in)."""

    CSV = "csv"
    XLSX = "xlsx"


#: the media type and file extension of each format
MEDIA_TYPES = {
    SheetFormat.CSV: "text/csv",
    SheetFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@attrs.frozen
class Table:
    """Any table the library writes as a spreadsheet: a title (the sheet's name), the column
    names and the rows (text is made formula-safe when written, numbers stay numbers)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@attrs.frozen
class SheetLimits:
    """What a spreadsheet read may cost: the file's bytes, for a workbook (a zip) the bytes
    it unpacks to (checked before anything is unpacked: zip bombs), its rows (blank ones
    included, the header row too) and the columns read per row (more are ignored)."""

    max_bytes: int = 2 * 1024 * 1024
    max_unpacked_bytes: int = 32 * 1024 * 1024
    max_rows: int = 10_001
    max_columns: int = 64


#: how an old binary Excel file (``.xls``, OLE2) starts
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: the parts every ``.xlsx`` workbook has (Office Open XML)
_XLSX_PARTS = frozenset({"[Content_Types].xml", "xl/workbook.xml"})


def sheet_format_of(content: bytes) -> SheetFormat:
    """The format of a spreadsheet file, from its content: a zip holding a workbook's parts
    is ``.xlsx``; anything else is read as CSV (and refused there if it is not)."""
    if not isinstance(content, bytes) or not content.startswith(b"PK\x03\x04"):
        return SheetFormat.CSV
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        return SheetFormat.CSV
    return SheetFormat.XLSX if names >= _XLSX_PARTS else SheetFormat.CSV


def read_csv(content: bytes, limits: SheetLimits | None = None) -> list[list[str]]:
    """The records of a UTF-8 CSV file (comma, semicolon or tab separated, as spreadsheet
    programs save it; the separator is the one the first line uses most), as text.

    Raises ``CsvTooLargeError`` past ``limits`` and ``CsvInvalidError`` for a file that is
    not such a CSV.
    """
    limits = limits or SheetLimits()
    if not isinstance(content, bytes):
        raise CsvInvalidError("The spreadsheet must be given as bytes.")
    check_size(content, limits)
    if content.startswith(_OLE):
        raise CsvInvalidError(
            "The spreadsheet is an old Excel file (.xls): save it as .xlsx or CSV."
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvInvalidError("The spreadsheet is not a UTF-8 CSV file.") from None
    if "\x00" in text:
        raise CsvInvalidError("The spreadsheet is not a CSV file.")
    header_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header_line.count)
    records: list[list[str]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for record in reader:
            records.append(record)
            if len(records) > limits.max_rows:
                # Counted to the end (the file is small: its size was checked), not kept.
                raise too_many_rows(len(records) + sum(1 for _ in reader), limits)
    except csv.Error as error:
        raise CsvInvalidError(f"The spreadsheet cannot be read: {error}.") from None
    return records


def check_size(content: bytes, limits: SheetLimits) -> None:
    """Raises ``CsvTooLargeError`` for a file of more than ``limits.max_bytes``."""
    if len(content) > limits.max_bytes:
        raise CsvTooLargeError(
            f"The spreadsheet is {len(content)} bytes; at most {limits.max_bytes} are accepted.",
            size=len(content),
            limit=limits.max_bytes,
        )


def too_many_rows(rows: int, limits: SheetLimits) -> CsvTooLargeError:
    """The error for a sheet of more than ``limits.max_rows`` rows (the header included)."""
    return CsvTooLargeError(
        f"The spreadsheet has {rows - 1} rows; at most {limits.max_rows - 1} are accepted.",
        rows=rows - 1,
        limit=limits.max_rows - 1,
    )


@attrs.frozen
class CsvCodec:
    """CSV as a :class:`~ticketdomain.ports.spreadsheets.SpreadsheetCodec`: the library's
    own, always there (UTF-8, comma separated, formula-safe cells)."""

    media_type: str = MEDIA_TYPES[SheetFormat.CSV]
    extension: str = "csv"

    def read(self, content: bytes, limits: SheetLimits) -> list[list[str]]:
        return read_csv(content, limits)

    def write(self, table: Table) -> bytes:
        return write_csv(table.columns, table.rows).encode("utf-8")
