"""``.xlsx`` workbooks read and written with openpyxl, behind ``SpreadsheetCodec``."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ticketdomain.core.errors import CsvInvalidError, CsvTooLargeError
from ticketdomain.core.spreadsheets import (
    MEDIA_TYPES,
    Cell,
    SheetFormat,
    SheetLimits,
    Table,
    check_size,
    safe_cell,
    too_many_rows,
)

#: characters a sheet's name may not hold, and its longest length (Excel's rules)
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_TITLE_LENGTH = 31
#: a workbook holds a few dozen parts; thousands are not a spreadsheet a person filled in
_MAX_PARTS = 1_000
#: blank rows read past the limit of rows before the sheet is refused: a person's sheet may
#: have styled empty rows below the data, a sheet of a million empty rows is refused
_BLANK_ROWS_FACTOR = 10


def _text(value: object) -> str:
    """A cell's value as text: formulas as written (openpyxl gives ``=…`` with
    ``data_only=False``; array formulas as their text), whole numbers without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = getattr(value, "text", None)  # ArrayFormula, DataTableFormula
    if isinstance(text, str):
        return text
    return str(value)


def _cell(value: Cell) -> object:
    """A cell to write: formula-safe text (with the characters XML cannot hold taken out),
    numbers as numbers."""
    cell = safe_cell(value)
    if isinstance(cell, str):
        return ILLEGAL_CHARACTERS_RE.sub("", cell)
    return cell


def _title(title: str) -> str:
    cleaned = _TITLE_FORBIDDEN.sub(" ", ILLEGAL_CHARACTERS_RE.sub("", title)).strip(" '")
    return cleaned[:_TITLE_LENGTH] or "Sheet"


def _unique(title: str, taken: set[str]) -> str:
    found, n = title, 1
    while found.lower() in taken:
        n += 1
        suffix = f" ({n})"
        found = title[: _TITLE_LENGTH - len(suffix)] + suffix
    taken.add(found.lower())
    return found


def _check_archive(content: bytes, limits: SheetLimits) -> None:
    """Refuse a workbook whose parts unpack past the limit, before anything is unpacked (the
    sizes the zip declares bound what reading unpacks: ``zipfile`` stops there)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise CsvInvalidError("The spreadsheet is not an .xlsx workbook.") from None
    if len(parts) > _MAX_PARTS:
        raise CsvInvalidError(
            f"The workbook has {len(parts)} parts; it is not a spreadsheet.", parts=len(parts)
        )
    unpacked = sum(part.file_size for part in parts)
    if unpacked > limits.max_unpacked_bytes:
        raise CsvTooLargeError(
            f"The workbook unpacks to {unpacked} bytes; at most {limits.max_unpacked_bytes} "
            "are accepted.",
            unpacked=unpacked,
            limit=limits.max_unpacked_bytes,
        )


@attrs.frozen
class OpenpyxlSpreadsheetCodec:
    """``.xlsx`` workbooks with openpyxl: the first worksheet read as text (formulas as
    their text, never evaluated: ``data_only=False``), tables written one per workbook, every
    text cell a string made formula-safe."""

    media_type: str = MEDIA_TYPES[SheetFormat.XLSX]
    extension: str = "xlsx"

    def read(self, content: bytes, limits: SheetLimits) -> list[list[str]]:
        """The rows of the first worksheet (trailing blank rows and cells dropped).

        Raises ``CsvTooLargeError`` (the file, what it unpacks to, its rows) and
        ``CsvInvalidError`` (not a workbook, or one openpyxl cannot read).
        """
        if not isinstance(content, bytes):
            raise CsvInvalidError("The spreadsheet must be given as bytes.")
        check_size(content, limits)
        _check_archive(content, limits)
        try:
            # read_only streams the sheet's XML: memory stays bounded by a row.
            workbook = load_workbook(
                io.BytesIO(content), read_only=True, data_only=False, keep_links=False
            )
        except Exception as error:  # openpyxl raises many kinds for a broken file
            raise CsvInvalidError(
                f"The workbook cannot be read ({type(error).__name__})."
            ) from None
        try:
            return self._rows(workbook, limits)
        except (CsvTooLargeError, CsvInvalidError):
            raise
        except Exception as error:
            raise CsvInvalidError(
                f"The workbook cannot be read ({type(error).__name__})."
            ) from None
        finally:
            workbook.close()

    def _rows(self, workbook: Workbook, limits: SheetLimits) -> list[list[str]]:
        sheets = workbook.worksheets
        if not sheets:
            raise CsvInvalidError("The workbook has no worksheet.")
        rows: list[list[str]] = []
        blanks = 0
        seen = 0
        for values in sheets[0].iter_rows(max_col=limits.max_columns, values_only=True):
            seen += 1
            row = [_text(value) for value in values]
            while row and not row[-1]:
                row.pop()
            if not row:
                blanks += 1
                if seen > limits.max_rows * _BLANK_ROWS_FACTOR:
                    raise too_many_rows(seen, limits)
                continue
            # Blank rows between filled ones are kept: the rows keep the sheet's numbers.
            rows.extend([] for _ in range(blanks))
            blanks = 0
            rows.append(row)
            if len(rows) > limits.max_rows:
                raise too_many_rows(len(rows), limits)
        return rows

    def write(self, table: Table) -> bytes:
        """One worksheet named after the title: the columns, then the rows."""
        return self.write_tables([table])

    def write_tables(self, tables: Sequence[Table]) -> bytes:
        """One worksheet per table, in order (a report's tables in one workbook), each named
        after its table's title (Excel's rules: at most 31 characters, unique)."""
        workbook = Workbook(write_only=True)
        taken: set[str] = set()
        for table in tables:
            sheet = workbook.create_sheet(title=_unique(_title(table.title), taken))
            for row in _lines(table):
                sheet.append(row)
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()


def _lines(table: Table) -> Iterable[list[object]]:
    yield [_cell(name) for name in table.columns]
    for row in table.rows:
        # Text never starts with "=" once made safe, so openpyxl writes every text cell as a
        # string, never as a formula.
        yield [_cell(value) for value in row]
