"""The one CSV writer: every spreadsheet the library writes goes through :func:`write_csv`.

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and some strip a leading tab or carriage return first), so a contact named
``=HYPERLINK(...)`` could make a link, or worse, in the operator's spreadsheet. Every text cell
that starts so is written with a leading apostrophe, which spreadsheets show as text; numbers
(``int``, ``Decimal``) are written as they are, so a negative amount stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: what a cell may hold: text is neutralized, numbers are written as they are
Cell = str | int | Decimal | None


def spreadsheet_safe(value: str) -> str:
    """Text a spreadsheet will show as text, never run as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _cell(value: Cell) -> str | int | Decimal:
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
    writer.writerow([_cell(name) for name in header])
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
