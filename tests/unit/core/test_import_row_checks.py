"""The import's row checks in the core: what the sheet alone says of each row
(``check_sheet``), then what the stock and the contacts say (``check_stock``)."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.contacts import ContactRole, Email, Individual, PersonName
from ticketdomain.core.distribution import (
    ImportRow,
    SheetLine,
    check_sheet,
    check_stock,
)
from ticketdomain.core.sales import TicketState
from ticketdomain.testing.contracts import ORG, STRUCTURE, a_held_ticket

_ids = st.sampled_from(["", "tkt-1", "tkt-2", "tkt-3"])
_names = st.sampled_from(["", "Anna", "  ", "Zoë"])
_emails = st.sampled_from(["", "anna@example.ch", "ANNA@example.ch", "not-an-email"])
_lines = st.lists(st.tuples(_ids, _names, _names, _emails), max_size=12).map(
    lambda rows: [SheetLine(n + 2, *row) for n, row in enumerate(rows)]
)


@given(_lines)
def test_every_row_lands_in_exactly_one_group_in_sheet_order(lines: list[SheetLine]) -> None:
    checked = check_sheet(lines)
    rows = (
        [line.row for line in checked.untouched]
        + [rejection.row for rejection in checked.rejected]
        + [row.row for row in checked.wanted]
    )
    assert sorted(rows) == [line.row for line in lines]
    for group in (checked.untouched, checked.rejected, checked.wanted):
        assert [item.row for item in group] == sorted(item.row for item in group)


@given(_lines)
def test_a_wanted_row_is_complete_valid_and_the_first_to_name_its_ticket(
    lines: list[SheetLine],
) -> None:
    checked = check_sheet(lines)
    assert all(line.untouched for line in checked.untouched)
    by_row = {line.row: line for line in lines}
    for row in checked.wanted:
        line = by_row[row.row]
        earlier = [o for o in lines if o.row < line.row and not o.untouched]
        assert line.ticket_id not in {o.ticket_id for o in earlier}
        assert row.name == PersonName(line.first_name, line.last_name)
        assert row.email == Email(line.email)
    # No ticket is wanted twice.
    wanted_ids = [row.ticket_id for row in checked.wanted]
    assert len(wanted_ids) == len(set(wanted_ids))


def test_each_rejection_says_why() -> None:
    checked = check_sheet(
        [
            SheetLine(2, "tkt-1", "Anna", "", "anna@example.ch"),
            SheetLine(3, "tkt-2", "Anna", "Muster", "anna@example.ch"),
            SheetLine(4, "tkt-2", "Marc", "Muster", "marc@example.ch"),
            SheetLine(5, "tkt-3", "Anna", "Muster", "not-an-email"),
            SheetLine(6, "tkt-1", "Anna", "Muster", "anna@example.ch"),
            SheetLine(7, "tkt-4", "", "", ""),
        ]
    )
    assert [(r.row, r.code) for r in checked.rejected] == [
        (2, "incomplete"),
        (4, "duplicate_ticket"),
        (5, "email_invalid"),
        # A rejected row still takes its ticket.
        (6, "duplicate_ticket"),
    ]
    assert [row.row for row in checked.wanted] == [3]
    assert [line.row for line in checked.untouched] == [7]


_states = st.sampled_from(list(TicketState))
_stocks = st.sampled_from([STRUCTURE, "str-branch"])
_orgs = st.sampled_from([ORG, "org-other"])
_contact_structures = st.sampled_from([None, STRUCTURE, "str-other", "absent"])


@given(
    st.lists(
        st.tuples(st.booleans(), _orgs, _stocks, _states, _contact_structures),
        min_size=1,
        max_size=8,
    )
)
def test_check_stock_keeps_a_row_only_for_a_ticket_in_stock_and_a_free_or_own_contact(
    cases: list[tuple[bool, str, str, TicketState, str | None]],
) -> None:
    rows, tickets, contacts = [], {}, {}
    for n, (exists, organization, stock, state, contact_structure) in enumerate(cases):
        ticket_id, email = f"tkt-{n}", f"m{n}@example.ch"
        rows.append(ImportRow(n + 2, ticket_id, PersonName("M", str(n)), Email(email)))
        if exists:
            tickets[ticket_id] = attrs.evolve(
                a_held_ticket(ticket_id, stock_structure_id=stock, state=state),
                organization_id=organization,
            )
        if contact_structure != "absent":
            contacts[email] = Individual(
                f"ind-{n}",
                "inst",
                PersonName("M", str(n)),
                Email(email),
                structure_id=contact_structure,
                role=ContactRole.MEMBER if contact_structure else None,
            )
    kept, rejected = check_stock(rows, tickets, contacts, ORG, STRUCTURE)
    assert sorted([r.row for r in kept] + [r.row for r in rejected]) == [r.row for r in rows]
    codes = {rejection.row: rejection.code for rejection in rejected}
    for row, (exists, organization, stock, state, contact_structure) in zip(
        rows, cases, strict=True
    ):
        if not exists or organization != ORG:
            expected: str | None = "ticket_unknown"
        elif stock != STRUCTURE or state is not TicketState.BOUGHT:
            expected = "ticket_not_in_stock"
        elif contact_structure not in (None, STRUCTURE, "absent"):
            expected = "foreign_contact"
        else:
            expected = None
        assert codes.get(row.row) == expected


def test_contacts_are_matched_ignoring_case() -> None:
    row = ImportRow(2, "tkt-1", PersonName("Anna", "Muster"), Email("Anna@Example.ch"))
    foreign = Individual(
        "ind-anna", "inst", row.name, Email("anna@example.ch"), structure_id="str-other"
    )
    _, rejected = check_stock(
        [row], {"tkt-1": a_held_ticket("tkt-1")}, {"anna@example.ch": foreign}, ORG, STRUCTURE
    )
    assert [r.code for r in rejected] == ["foreign_contact"]
