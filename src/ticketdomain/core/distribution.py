"""Distribution in the corporate space: who holds which tickets, the dashboard's tallies, and
the spreadsheet a relay fills in to distribute in bulk.

A ticket bought by a structure enters its stock. From there it is distributed: assigned to an
individual, printed at once and handed over by hand, or handed to a sub-structure whose stock it
joins (and which distributes it further). Reclaiming brings it back. A ticket's custody is told by
three facts: the structure that bought it, the structure whose stock holds it (or distributed it
from there), and its state. Tickets only move down the tree of structures one level at a time
and back up the same way, so the tickets that went through a structure are exactly those bought
by it or by one of its ancestors and held in its subtree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from ticketdomain.core.contacts import Email, Individual, PersonName, Structure
from ticketdomain.core.errors import CsvInvalidError, CsvTooLargeError, TicketDomainError
from ticketdomain.core.sales import Ticket, TicketState
from ticketdomain.core.spreadsheets import (
    Cell,
    SheetLimits,
    Table,
    from_spreadsheet,
    read_csv,
    write_csv,
)
from ticketdomain.core.spreadsheets import spreadsheet_safe as spreadsheet_safe  # lived here

# --- tallies --------------------------------------------------------------------------------


@attrs.frozen
class CustodyCount:
    """How many tickets share one custody: an aggregate row storage computes in one query."""

    buyer_structure_id: str
    stock_structure_id: str
    performance_id: str
    product_id: str
    state: TicketState
    #: assigned to an individual (``holder_id`` set)
    assigned: bool
    count: int


@attrs.frozen
class HolderCount:
    """How many tickets of a performance an individual holds, and from which structure."""

    holder_id: str
    stock_structure_id: str
    performance_id: str
    count: int


@attrs.frozen
class AttendeeCount:
    """How many printed tickets of a performance an individual holds for one beneficiary
    (name, and email and consent where the member gave them), and from which structure."""

    holder_id: str
    stock_structure_id: str
    performance_id: str
    beneficiary: str
    beneficiary_email: str | None
    beneficiary_consent: bool
    count: int


@attrs.frozen
class Tally:
    """A structure's tickets of one product (or of all): what came in and where it is now.

    ``bought + received == in_stock + distributed`` always holds; ``printed`` and
    ``controlled`` count distributed tickets by how far they went.
    """

    #: bought by the structure itself (online by its relays, or by an operator on its behalf)
    bought: int = 0
    #: handed to it by its parent structure
    received: int = 0
    in_stock: int = 0
    to_individuals: int = 0
    #: printed at once and handed over by hand
    handed_over: int = 0
    #: handed to each direct sub-structure (still held anywhere below it)
    to_sub_structures: Mapping[str, int] = attrs.field(factory=dict)
    printed: int = 0
    controlled: int = 0
    #: tickets of cancelled orders, counted nowhere else
    cancelled: int = 0

    @property
    def distributed(self) -> int:
        return self.to_individuals + self.handed_over + sum(self.to_sub_structures.values())

    def __add__(self, other: Tally) -> Tally:
        subs = dict(self.to_sub_structures)
        for key, value in other.to_sub_structures.items():
            subs[key] = subs.get(key, 0) + value
        return Tally(
            bought=self.bought + other.bought,
            received=self.received + other.received,
            in_stock=self.in_stock + other.in_stock,
            to_individuals=self.to_individuals + other.to_individuals,
            handed_over=self.handed_over + other.handed_over,
            to_sub_structures=subs,
            printed=self.printed + other.printed,
            controlled=self.controlled + other.controlled,
            cancelled=self.cancelled + other.cancelled,
        )


def _tally_of(structure_id: str, child_of: Mapping[str, str], item: CustodyCount) -> Tally | None:
    n = item.count
    if item.stock_structure_id != structure_id and item.stock_structure_id not in child_of:
        return None
    if item.state is TicketState.CANCELLED:
        return Tally(cancelled=n)
    came_in = Tally(bought=n) if item.buyer_structure_id == structure_id else Tally(received=n)
    if item.stock_structure_id == structure_id:
        if item.state is TicketState.BOUGHT:
            where = Tally(in_stock=n)
        elif item.assigned:
            where = Tally(to_individuals=n)
        else:
            where = Tally(handed_over=n)
    else:
        where = Tally(to_sub_structures={child_of[item.stock_structure_id]: n})
    how_far = Tally(
        printed=n if item.state is TicketState.PRINTED else 0,
        controlled=n if item.state is TicketState.CONTROLLED else 0,
    )
    return came_in + where + how_far


def tally(
    structure_id: str,
    ancestors: Sequence[str],
    child_of: Mapping[str, str],
    counts: Iterable[CustodyCount],
) -> dict[tuple[str, str], Tally]:
    """The structure's tallies per (performance, product).

    ``ancestors`` are the structure's parent, grandparent…; ``child_of`` maps every structure
    below it to the direct sub-structure it sits under. Counts of tickets that never went
    through the structure are ignored.
    """
    buyers = {structure_id, *ancestors}
    result: dict[tuple[str, str], Tally] = {}
    for item in counts:
        if item.buyer_structure_id not in buyers:
            continue
        found = _tally_of(structure_id, child_of, item)
        if found is None:
            continue
        key = (item.performance_id, item.product_id)
        result[key] = result.get(key, Tally()) + found
    return result


@attrs.frozen
class Family:
    """Structures read together (``StructureRepository.family``: a structure, its ancestors and
    everything below it), so that a view walks the tree without reading storage again.

    Walks stop at a structure not in the family, and at one already seen (a cycle, which set-up
    never makes)."""

    structures: Mapping[str, Structure]

    @classmethod
    def of(cls, structures: Iterable[Structure]) -> Family:
        return cls({structure.id: structure for structure in structures})

    def get(self, structure_id: str) -> Structure | None:
        return self.structures.get(structure_id)

    def ancestors(self, structure_id: str) -> list[str]:
        """The parent, grandparent… of the structure, nearest first."""
        found: list[str] = []
        structure = self.structures.get(structure_id)
        parent_id = structure.parent_id if structure is not None else None
        while parent_id is not None and parent_id not in found and parent_id != structure_id:
            found.append(parent_id)
            parent = self.structures.get(parent_id)
            parent_id = parent.parent_id if parent is not None else None
        return found

    def children(self, structure_id: str) -> list[Structure]:
        """The direct sub-structures, ordered by name then id."""
        found = [s for s in self.structures.values() if s.parent_id == structure_id]
        return sorted(found, key=lambda s: (s.name, s.id))

    def below(self, structure_id: str) -> dict[str, str]:
        """Every structure below ``structure_id``, mapped to the direct sub-structure above it
        (the key ``tally`` takes)."""
        kids: dict[str, list[str]] = {}
        for structure in self.structures.values():
            if structure.parent_id is not None:
                kids.setdefault(structure.parent_id, []).append(structure.id)
        child_of: dict[str, str] = {}
        pending = [(child, child) for child in kids.get(structure_id, [])]
        while pending:
            current, top = pending.pop()
            if current in child_of or current == structure_id:
                continue
            child_of[current] = top
            pending.extend((child, top) for child in kids.get(current, []))
        return child_of


# --- the distribution spreadsheet -----------------------------------------------------------

SHEET_COLUMNS = (
    "ticket_id",
    "activity",
    "performance",
    "venue",
    "product",
    "first_name",
    "last_name",
    "email",
)
#: largest spreadsheet accepted, in bytes, and most rows
MAX_SHEET_BYTES = 2 * 1024 * 1024
MAX_SHEET_ROWS = 10_000


@attrs.frozen
class SheetRow:
    """One ticket in stock as exported."""

    ticket_id: str
    activity: str
    performance: str
    venue: str
    product: str


def sheet_table(rows: Iterable[SheetRow], title: str = "Stock") -> Table:
    """The distribution spreadsheet as a table, for any spreadsheet writer."""
    cells: tuple[tuple[Cell, ...], ...] = tuple(
        (row.ticket_id, row.activity, row.performance, row.venue, row.product, "", "", "")
        for row in rows
    )
    return Table(title, SHEET_COLUMNS, cells)


def write_sheet(rows: Iterable[SheetRow]) -> str:
    """The distribution spreadsheet, through the one CSV writer (formula-safe cells)."""
    table = sheet_table(rows)
    return write_csv(table.columns, table.rows)


@attrs.frozen
class SheetLine:
    """One filled-in row read back: raw text, checked by the caller. ``row`` counts from 2,
    as a spreadsheet numbers the first row under the header."""

    row: int
    ticket_id: str
    first_name: str
    last_name: str
    email: str

    @property
    def untouched(self) -> bool:
        return not (self.first_name or self.last_name or self.email)


#: what reading a distribution sheet may cost (the header row counts as one)
SHEET_LIMITS = SheetLimits(max_bytes=MAX_SHEET_BYTES, max_rows=MAX_SHEET_ROWS + 1)
#: the columns a filled-in sheet must have (others are ignored)
_FILLED_COLUMNS = ("ticket_id", "first_name", "last_name", "email")


def read_sheet(content: bytes, max_bytes: int = MAX_SHEET_BYTES) -> list[SheetLine]:
    """Read a filled-in distribution spreadsheet (UTF-8 CSV, comma, semicolon or tab
    separated, as spreadsheet programs save it).

    Raises ``CsvTooLargeError`` or ``CsvInvalidError`` when the file is not such a sheet.
    """
    limits = attrs.evolve(SHEET_LIMITS, max_bytes=max_bytes)
    return sheet_lines(read_csv(content, limits))


def sheet_lines(records: Sequence[Sequence[str]]) -> list[SheetLine]:
    """The filled-in rows of a sheet read as text (CSV or a workbook's first sheet, row ``n``
    of ``records`` being the sheet's row ``n + 1``): the header is the first row that is not
    blank, blank rows are skipped, a cell :func:`~ticketdomain.core.spreadsheets.spreadsheet_safe`
    quoted is read as the text it stands for.

    Raises ``CsvInvalidError`` (no header, a column missing) or ``CsvTooLargeError`` (more than
    ``MAX_SHEET_ROWS`` rows under the header).
    """
    start = next(
        (index for index, record in enumerate(records) if any(c.strip() for c in record)), None
    )
    if start is None:
        raise CsvInvalidError("The spreadsheet is empty.")
    header = [name.strip().lower() for name in records[start]]
    missing = [name for name in _FILLED_COLUMNS if name not in header]
    if missing:
        raise CsvInvalidError(
            "The spreadsheet lacks the columns " + ", ".join(missing) + ".", missing=missing
        )
    below = len(records) - start - 1
    if below > MAX_SHEET_ROWS:
        raise CsvTooLargeError(
            f"The spreadsheet has {below} rows; at most {MAX_SHEET_ROWS} are accepted.",
            rows=below,
            limit=MAX_SHEET_ROWS,
        )
    at = {name: header.index(name) for name in _FILLED_COLUMNS}
    lines = []
    for number, record in enumerate(records[start + 1 :], start=start + 2):
        if not any(cell.strip() for cell in record):
            continue

        def cell(name: str, record: Sequence[str] = record) -> str:
            index = at[name]
            return from_spreadsheet(record[index].strip()) if index < len(record) else ""

        lines.append(
            SheetLine(
                row=number,
                ticket_id=cell("ticket_id"),
                first_name=cell("first_name"),
                last_name=cell("last_name"),
                email=cell("email"),
            )
        )
    return lines


# --- the import's row checks ----------------------------------------------------------------


@attrs.frozen
class RowRejection:
    """A row of an import that is not distributed, and why (``code``: ``incomplete``,
    ``name_invalid``, ``email_invalid``, ``duplicate_ticket``, ``ticket_unknown``,
    ``ticket_not_in_stock`` or ``foreign_contact``)."""

    row: int
    ticket_id: str
    code: str
    message: str


@attrs.frozen
class ImportRow:
    """A filled-in row whose fields are valid: its ticket goes to the individual it names."""

    row: int
    ticket_id: str
    name: PersonName
    email: Email

    @property
    def email_key(self) -> str:
        """The email as contacts are matched: ignoring case."""
        return self.email.value.lower()


@attrs.frozen
class SheetCheck:
    """The rows of a filled-in sheet sorted by what the sheet alone says of them."""

    untouched: tuple[SheetLine, ...]
    rejected: tuple[RowRejection, ...]
    wanted: tuple[ImportRow, ...]


def check_sheet(lines: Iterable[SheetLine]) -> SheetCheck:
    """Check every row on its own text (no storage needed): blank rows stay in stock; a row
    filled in part, naming a ticket an earlier filled-in row named, or with an invalid name or
    email is rejected; the others are wanted."""
    untouched: list[SheetLine] = []
    rejected: list[RowRejection] = []
    wanted: list[ImportRow] = []
    seen: set[str] = set()
    for line in lines:
        if line.untouched:
            untouched.append(line)
            continue
        if not (line.ticket_id and line.first_name and line.last_name and line.email):
            rejected.append(
                RowRejection(
                    line.row,
                    line.ticket_id,
                    "incomplete",
                    "Fill in ticket_id, first_name, last_name and email, or none.",
                )
            )
        elif line.ticket_id in seen:
            rejected.append(
                RowRejection(
                    line.row,
                    line.ticket_id,
                    "duplicate_ticket",
                    "This ticket is on an earlier row already.",
                )
            )
        else:
            try:
                name = PersonName(line.first_name, line.last_name)
                email = Email(line.email)
            except TicketDomainError as error:
                rejected.append(RowRejection(line.row, line.ticket_id, error.code, error.message))
            else:
                wanted.append(ImportRow(line.row, line.ticket_id, name, email))
        # A rejected row still takes its ticket: a later row naming it again is a duplicate.
        seen.add(line.ticket_id)
    return SheetCheck(tuple(untouched), tuple(rejected), tuple(wanted))


def check_stock(
    rows: Iterable[ImportRow],
    tickets: Mapping[str, Ticket],
    contacts: Mapping[str, Individual | None],
    organization_id: str,
    structure_id: str,
) -> tuple[list[ImportRow], list[RowRejection]]:
    """Split wanted rows into those that can be distributed now and those rejected: the ticket
    unknown (or another organization's), no longer in the structure's stock, or the email a
    contact of another structure. ``tickets`` by id, ``contacts`` by email ignoring case (a
    missing key: nobody has that email)."""
    kept: list[ImportRow] = []
    rejected: list[RowRejection] = []
    for row in rows:
        ticket = tickets.get(row.ticket_id)
        contact = contacts.get(row.email_key)
        if ticket is None or ticket.organization_id != organization_id:
            rejected.append(
                RowRejection(row.row, row.ticket_id, "ticket_unknown", "No such ticket.")
            )
        elif ticket.stock_structure_id != structure_id or not ticket.in_stock:
            rejected.append(
                RowRejection(
                    row.row,
                    row.ticket_id,
                    "ticket_not_in_stock",
                    "This ticket is no longer in stock.",
                )
            )
        elif contact is not None and contact.structure_id not in (None, structure_id):
            rejected.append(
                RowRejection(
                    row.row,
                    row.ticket_id,
                    "foreign_contact",
                    "This email belongs to another structure.",
                )
            )
        else:
            kept.append(row)
    return kept, rejected
