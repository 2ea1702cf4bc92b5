"""Distribution in the core: the dashboard's tallies from custody counts, and the spreadsheet a
relay exports, fills in and imports."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.distribution import (
    MAX_SHEET_BYTES,
    MAX_SHEET_ROWS,
    SHEET_COLUMNS,
    CustodyCount,
    SheetLine,
    SheetRow,
    Tally,
    read_sheet,
    spreadsheet_safe,
    tally,
    write_sheet,
)
from ticketdomain.core.errors import CsvInvalidError, CsvTooLargeError
from ticketdomain.core.sales import TicketState

# The works council "wc" (parent "group", grandparent "holding") with two sub-structures,
# "club" and "choir", and "youth" below the club; "acme" is unrelated.
WC = "wc"
ANCESTORS = ("group", "holding")
CHILD_OF = {"club": "club", "choir": "choir", "youth": "club"}
KEY = ("perf-1", "stalls")


def count(
    buyer: str,
    stock: str,
    state: TicketState = TicketState.BOUGHT,
    n: int = 1,
    assigned: bool = False,
    key: tuple[str, str] = KEY,
) -> CustodyCount:
    return CustodyCount(buyer, stock, *key, state, assigned, n)


def tally_of(*counts: CustodyCount) -> Tally:
    found = tally(WC, ANCESTORS, CHILD_OF, counts)
    assert set(found) <= {KEY}
    return found.get(KEY, Tally())


def balanced(t: Tally) -> bool:
    return t.bought + t.received == t.in_stock + t.distributed


# --- tallies --------------------------------------------------------------------------------


def test_what_the_structure_bought_and_keeps_is_in_stock() -> None:
    assert tally_of(count(WC, WC, n=5)) == Tally(bought=5, in_stock=5)


def test_distributed_tickets_are_counted_by_where_they_went_and_how_far() -> None:
    found = tally_of(
        count(WC, WC, TicketState.DISTRIBUTED, 2, assigned=True),
        count(WC, WC, TicketState.PRINTED, 3, assigned=True),
        count(WC, WC, TicketState.CONTROLLED, 1, assigned=True),
        count(WC, WC, TicketState.PRINTED, 4),  # printed at once, handed over by hand
        count(WC, WC, TicketState.CONTROLLED, 1),
    )
    assert found == Tally(bought=11, to_individuals=6, handed_over=5, printed=7, controlled=2)
    assert found.distributed == 11
    assert balanced(found)


def test_tickets_handed_down_count_under_the_direct_sub_structure_wherever_they_are() -> None:
    found = tally_of(
        count(WC, "club", n=2),
        count(WC, "youth", TicketState.PRINTED, 3, assigned=True),  # the club passed them on
        count(WC, "choir", TicketState.CONTROLLED, 1, assigned=True),
    )
    assert found == Tally(
        bought=6, to_sub_structures={"club": 5, "choir": 1}, printed=3, controlled=1
    )
    assert found.distributed == 6
    assert balanced(found)


def test_tickets_from_ancestors_are_received_not_bought() -> None:
    found = tally_of(
        count("group", WC, n=4),
        count("holding", WC, TicketState.DISTRIBUTED, 1, assigned=True),
        count("group", "club", n=2),
    )
    assert found == Tally(received=7, in_stock=4, to_individuals=1, to_sub_structures={"club": 2})
    assert balanced(found)


def test_tickets_that_never_went_through_the_structure_are_ignored() -> None:
    assert (
        tally_of(
            count("club", "club", n=3),  # the club's own purchase
            count("club", "youth", TicketState.PRINTED, 1),
            count("acme", "acme", n=2),  # another company's
            count("acme", WC, n=1),  # (a row storage would never return; still ignored)
            count("group", "group", n=8),  # the parent's stock, never handed down
            count("group", "elsewhere", TicketState.DISTRIBUTED, 1, assigned=True),
        )
        == Tally()
    )


def test_cancelled_tickets_that_never_went_through_the_structure_are_ignored_too() -> None:
    assert tally_of(count("group", "group", TicketState.CANCELLED, 8)) == Tally()


def test_cancelled_tickets_are_counted_apart() -> None:
    found = tally_of(
        count(WC, WC, n=2),
        count(WC, WC, TicketState.CANCELLED, 3, assigned=True),
        count(WC, "club", TicketState.CANCELLED, 1),
        count("group", WC, TicketState.CANCELLED, 1),
        count("club", "club", TicketState.CANCELLED, 4),  # not the council's
    )
    assert found == Tally(bought=2, in_stock=2, cancelled=5)
    assert balanced(found)


def test_tallies_are_per_performance_and_product() -> None:
    found = tally(
        WC,
        ANCESTORS,
        CHILD_OF,
        [
            count(WC, WC, n=2, key=("perf-1", "stalls")),
            count(WC, WC, n=3, key=("perf-1", "balcony")),
            count(WC, "club", n=1, key=("perf-2", "stalls")),
            count(WC, WC, n=4, key=("perf-1", "stalls")),
        ],
    )
    assert found == {
        ("perf-1", "stalls"): Tally(bought=6, in_stock=6),
        ("perf-1", "balcony"): Tally(bought=3, in_stock=3),
        ("perf-2", "stalls"): Tally(bought=1, to_sub_structures={"club": 1}),
    }


def test_a_sub_structure_sees_what_it_received_and_passed_on() -> None:
    counts = [
        count(WC, "club", n=2),
        count(WC, "youth", TicketState.PRINTED, 1, assigned=True),
        count("club", "club", TicketState.DISTRIBUTED, 3, assigned=True),
        count(WC, WC, n=9),  # still the council's
    ]
    found = tally("club", (WC, *ANCESTORS), {"youth": "youth"}, counts)[KEY]
    assert found == Tally(
        bought=3,
        received=3,
        in_stock=2,
        to_individuals=3,
        to_sub_structures={"youth": 1},
        printed=1,
    )
    assert balanced(found)


_ids = st.sampled_from([WC, *ANCESTORS, *CHILD_OF, "acme", "elsewhere"])
_counts = st.builds(
    CustodyCount,
    buyer_structure_id=_ids,
    # what storage returns: the counts of tickets held by the structure or below it
    stock_structure_id=st.sampled_from([WC, *CHILD_OF]),
    performance_id=st.sampled_from(["perf-1", "perf-2"]),
    product_id=st.sampled_from(["stalls", "balcony"]),
    state=st.sampled_from(TicketState),
    assigned=st.booleans(),
    count=st.integers(min_value=1, max_value=1000),
)


@given(st.lists(_counts, max_size=30))
def test_for_every_set_of_counts_what_came_in_is_in_stock_or_distributed(
    counts: list[CustodyCount],
) -> None:
    found = tally(WC, ANCESTORS, CHILD_OF, counts)
    through = [c for c in counts if c.buyer_structure_id in {WC, *ANCESTORS}]
    for key, t in found.items():
        assert balanced(t)
        assert t.printed + t.controlled <= t.distributed
        assert set(t.to_sub_structures) <= set(CHILD_OF.values())
        of_key = [c for c in through if (c.performance_id, c.product_id) == key]
        assert t.bought + t.received + t.cancelled == sum(c.count for c in of_key)
        assert t.cancelled == sum(c.count for c in of_key if c.state is TicketState.CANCELLED)
    assert sum(t.bought for t in found.values()) == sum(
        c.count
        for c in through
        if c.buyer_structure_id == WC and c.state is not TicketState.CANCELLED
    )


# --- adding tallies -------------------------------------------------------------------------

_subs = st.dictionaries(st.sampled_from(["club", "choir", "youth"]), st.integers(0, 100))
_tallies = st.builds(
    Tally,
    bought=st.integers(0, 100),
    received=st.integers(0, 100),
    in_stock=st.integers(0, 100),
    to_individuals=st.integers(0, 100),
    handed_over=st.integers(0, 100),
    to_sub_structures=_subs,
    printed=st.integers(0, 100),
    controlled=st.integers(0, 100),
    cancelled=st.integers(0, 100),
)


def _plain(t: Tally) -> dict[str, object]:
    """Comparable whatever zero entries the sub-structure counts carry."""
    return {
        "bought": t.bought,
        "received": t.received,
        "in_stock": t.in_stock,
        "to_individuals": t.to_individuals,
        "handed_over": t.handed_over,
        "subs": {k: v for k, v in t.to_sub_structures.items() if v},
        "printed": t.printed,
        "controlled": t.controlled,
        "cancelled": t.cancelled,
    }


@given(_tallies, _tallies, _tallies)
def test_tallies_add_field_by_field(a: Tally, b: Tally, c: Tally) -> None:
    total = a + b
    assert total.bought == a.bought + b.bought
    assert total.cancelled == a.cancelled + b.cancelled
    assert total.distributed == a.distributed + b.distributed
    for sub in {*a.to_sub_structures, *b.to_sub_structures}:
        assert total.to_sub_structures[sub] == a.to_sub_structures.get(
            sub, 0
        ) + b.to_sub_structures.get(sub, 0)
    assert _plain(a + b) == _plain(b + a)
    assert _plain((a + b) + c) == _plain(a + (b + c))
    assert a + Tally() == a == Tally() + a
    assert sum([a, b, c], Tally()) == (a + b) + c


def test_adding_tallies_leaves_both_unchanged() -> None:
    subs: Mapping[str, int] = {"club": 1}
    a, b = Tally(to_sub_structures=subs), Tally(to_sub_structures={"club": 2, "choir": 1})
    assert (a + b).to_sub_structures == {"club": 3, "choir": 1}
    assert a.to_sub_structures == {"club": 1}
    assert b.to_sub_structures == {"club": 2, "choir": 1}


# --- reading the spreadsheet ----------------------------------------------------------------

HEADER = ["ticket_id", "activity", "first_name", "last_name", "email"]
ROWS = [
    ["ticket-1", "La Traviata", "Anna", "Meyer", "anna@example.ch"],
    ["ticket-2", "La Traviata", "", "", ""],
    ["ticket-3", "La Traviata", "Jean", "Dupont, Jr", "jean@example.ch"],
]
EXPECTED = [
    SheetLine(2, "ticket-1", "Anna", "Meyer", "anna@example.ch"),
    SheetLine(3, "ticket-2", "", "", ""),
    SheetLine(4, "ticket-3", "Jean", "Dupont, Jr", "jean@example.ch"),
]


def sheet(rows: list[list[str]], delimiter: str = ",", header: list[str] = HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_a_sheet_is_read_whatever_its_separator(delimiter: str) -> None:
    assert read_sheet(sheet(ROWS, delimiter)) == EXPECTED


def test_a_byte_order_mark_is_skipped() -> None:
    assert read_sheet(b"\xef\xbb\xbf" + sheet(ROWS, ";")) == EXPECTED


@pytest.mark.parametrize("newline", ["\n", "\r"], ids=["lf", "cr"])
def test_any_line_ending_is_read(newline: str) -> None:
    content = sheet(ROWS).replace(b"\r\n", newline.encode())
    assert read_sheet(content) == EXPECTED


def test_blank_lines_are_skipped_and_rows_keep_their_spreadsheet_numbers() -> None:
    content = b"ticket_id,first_name,last_name,email\r\n\r\nt-1,A,B,a@b.ch\r\n , ,\t,\r\nt-2,,,\r\n"
    assert read_sheet(content) == [
        SheetLine(3, "t-1", "A", "B", "a@b.ch"),
        SheetLine(5, "t-2", "", "", ""),
    ]


def test_untouched_rows_are_those_without_name_or_email() -> None:
    lines = read_sheet(sheet(ROWS))
    assert [line.untouched for line in lines] == [False, True, False]
    assert not SheetLine(2, "t", "", "", "x@y.ch").untouched
    assert not SheetLine(2, "", "Ann", "", "").untouched


def test_columns_are_found_by_name_in_any_order_and_case_and_cells_are_trimmed() -> None:
    content = (
        b" EMAIL ;Notes;Last_Name;First_name;Ticket_ID\r\n"
        b" anna@example.ch ;VIP; Meyer ;Anna;  ticket-1 \r\n"
        b";;;;ticket-2\r\n"
    )
    assert read_sheet(content) == [
        SheetLine(2, "ticket-1", "Anna", "Meyer", "anna@example.ch"),
        SheetLine(3, "ticket-2", "", "", ""),
    ]


def test_short_rows_read_as_blank_cells() -> None:
    content = b"ticket_id,first_name,last_name,email\r\nticket-1,Anna\r\nticket-2\r\n"
    assert read_sheet(content) == [
        SheetLine(2, "ticket-1", "Anna", "", ""),
        SheetLine(3, "ticket-2", "", "", ""),
    ]


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["ticket_id", "first_name", "last_name"], ["email"]),
        (["id", "first name", "last_name", "email"], ["ticket_id", "first_name"]),
        (["activity"], ["ticket_id", "first_name", "last_name", "email"]),
    ],
)
def test_a_sheet_without_the_needed_columns_is_refused(
    header: list[str], missing: list[str]
) -> None:
    with pytest.raises(CsvInvalidError) as error:
        read_sheet(sheet([], header=header))
    assert error.value.details["missing"] == missing


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(
            "ticket_id;first_name;last_name;email\r\nt;Zoë;Müller;z@x.ch\r\n".encode("latin-1"),
            id="latin-1",
        ),
        pytest.param("ticket_id,email\r\n".encode("utf-16"), id="utf-16"),
        pytest.param(sheet(ROWS).replace(b"Anna", b"An\x00na"), id="nul-byte"),
        pytest.param(b"%PDF-1.7\n\x00\x01\x02", id="pdf"),
        pytest.param(
            b"ticket_id,first_name,last_name,email\r\nt," + b"x" * 200_000 + b",B,c@d.ch\r\n",
            id="huge-cell",
        ),
    ],
)
def test_what_is_not_a_utf8_csv_sheet_is_refused(content: bytes) -> None:
    with pytest.raises(CsvInvalidError) as error:
        read_sheet(content)
    assert error.value.message


def test_a_sheet_given_as_text_is_refused() -> None:
    with pytest.raises(CsvInvalidError):
        read_sheet("ticket_id,first_name,last_name,email\r\n")  # type: ignore[arg-type]


def test_a_sheet_over_the_size_limit_is_refused_before_reading() -> None:
    content = sheet(ROWS)
    assert read_sheet(content, max_bytes=len(content)) == EXPECTED
    with pytest.raises(CsvTooLargeError) as error:
        read_sheet(content, max_bytes=len(content) - 1)
    assert error.value.details == {"size": len(content), "limit": len(content) - 1}
    with pytest.raises(CsvTooLargeError):
        read_sheet(b"\xff" * (MAX_SHEET_BYTES + 1))  # too large wins over not UTF-8


def test_a_sheet_over_the_row_limit_is_refused() -> None:
    rows = [[f"t-{n}", "", "", "", ""] for n in range(MAX_SHEET_ROWS)]
    assert len(read_sheet(sheet(rows))) == MAX_SHEET_ROWS
    with pytest.raises(CsvTooLargeError) as error:
        read_sheet(sheet([*rows, ["t-last", "", "", "", ""]]))
    assert error.value.details == {"rows": MAX_SHEET_ROWS + 1, "limit": MAX_SHEET_ROWS}


# --- writing the spreadsheet ----------------------------------------------------------------


def test_the_exported_sheet_has_the_columns_and_blank_names_to_fill_in() -> None:
    text = write_sheet(
        [SheetRow("ticket-1", "La Traviata", "2026-02-04 20:00", "Opéra, Lausanne", "Stalls")]
    )
    assert text.splitlines() == [
        ",".join(SHEET_COLUMNS),
        'ticket-1,La Traviata,2026-02-04 20:00,"Opéra, Lausanne",Stalls,,,',
    ]
    assert text.endswith("\r\n")


def test_a_filled_in_export_reads_back() -> None:
    exported = write_sheet(
        [
            SheetRow(f"ticket-{n}", "Carmen", "2026-03-01 20:00", "Grand hall", "Stalls")
            for n in (1, 2)
        ]
    )
    records = list(csv.reader(io.StringIO(exported, newline="")))
    records[1][5:8] = ["Anna", "Meyer", "anna@example.ch"]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerows(records)  # saved again by a spreadsheet
    assert read_sheet(buffer.getvalue().encode("utf-8-sig")) == [
        SheetLine(2, "ticket-1", "Anna", "Meyer", "anna@example.ch"),
        SheetLine(3, "ticket-2", "", "", ""),
    ]


def test_the_export_neutralizes_formulas_in_catalog_names() -> None:
    text = write_sheet([SheetRow("ticket-1", "=HYPERLINK(1)", "2026", "+41 hall", "@SUM(A1)")])
    cells = next(iter(csv.reader(io.StringIO(text.splitlines()[1]))))
    assert cells[1:5] == ["'=HYPERLINK(1)", "2026", "'+41 hall", "'@SUM(A1)"]


_cell_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
_ticket_ids = st.from_regex(r"[a-z]+-[0-9]{1,6}", fullmatch=True)


@given(
    st.lists(
        st.builds(SheetRow, _ticket_ids, _cell_text, _cell_text, _cell_text, _cell_text),
        max_size=20,
    )
)
def test_every_exported_sheet_reads_back_untouched(rows: list[SheetRow]) -> None:
    lines = read_sheet(write_sheet(rows).encode("utf-8"))
    assert [line.ticket_id for line in lines] == [row.ticket_id for row in rows]
    assert all(line.untouched for line in lines)
    assert [line.row for line in lines] == list(range(2, len(rows) + 2))


# --- spreadsheet_safe -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+41 21 000", "'+41 21 000"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Anna", "Anna"),
        ("", ""),
        (" =1", " =1"),
        ("a=1", "a=1"),
        ("'quoted", "'quoted"),
    ],
)
def test_values_a_spreadsheet_would_run_are_quoted(value: str, shown: str) -> None:
    assert spreadsheet_safe(value) == shown


@given(st.text())
def test_every_value_is_kept_and_never_starts_a_formula(value: str) -> None:
    safe = spreadsheet_safe(value)
    assert safe in (value, "'" + value)
    assert not safe.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert spreadsheet_safe(safe) == safe
