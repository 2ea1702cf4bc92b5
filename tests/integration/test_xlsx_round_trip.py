"""Every sheet written and read back, as ``.xlsx`` and as CSV, gives the same rows; any text
that looks like a formula comes back as that text, and is written so that no spreadsheet runs
it (issue 9)."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.corporate import set_up_corporate
from ticketdomain import CreateActivity, CreatePerformance, ExportStock, SheetFormat
from ticketdomain.core.distribution import SHEET_COLUMNS, SheetRow, sheet_lines, sheet_table
from ticketdomain.core.spreadsheets import (
    FORMULA_STARTS,
    CsvCodec,
    SheetLimits,
    Table,
    from_spreadsheet,
    sheet_format_of,
)
from ticketdomain.ports.spreadsheets import SpreadsheetCodec
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_openpyxl import OpenpyxlSpreadsheetCodec

CODECS: dict[str, SpreadsheetCodec] = {"csv": CsvCodec(), "xlsx": OpenpyxlSpreadsheetCodec()}


def _not_quoted_formula(text: str) -> bool:
    # "'=1" is how a spreadsheet writes the text "=1": read back, it is "=1" (documented).
    return not (text.startswith("'") and text[1:].startswith(FORMULA_STARTS))


#: any text a person or a catalog holds (control characters are refused at the boundary)
texts = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(
    _not_quoted_formula
)
formulas = st.builds(lambda start, rest: start + rest, st.sampled_from(["=", "+", "-", "@"]), texts)
cells = texts | formulas | st.integers(-(10**15), 10**15)


def as_text(value: object) -> str:
    return str(value)


@pytest.mark.parametrize("name", sorted(CODECS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), max_size=8))
def test_any_table_written_and_read_back_gives_the_same_rows(
    name: str, rows: list[list[object]]
) -> None:
    codec = CODECS[name]
    table = Table("Any", ("a", "b", "c"), tuple(tuple(row) for row in rows))  # type: ignore[arg-type]
    content = codec.write(table)
    assert sheet_format_of(content) is SheetFormat(name)
    read = codec.read(content, SheetLimits())
    assert [[from_spreadsheet(cell) for cell in row] for row in read] == [
        ["a", "b", "c"],
        *[[as_text(value) for value in row] for row in rows],
    ]
    if name == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    # Written as text and neutralized: nothing a spreadsheet would run.
                    assert cell.data_type == "s"
                    assert not cell.value.startswith(FORMULA_STARTS)


sheet_rows = st.builds(
    SheetRow,
    ticket_id=st.from_regex(r"ticket-[0-9a-f]{1,8}", fullmatch=True),
    activity=texts | formulas,
    performance=texts,
    venue=texts | formulas,
    product=texts | formulas,
)


@pytest.mark.parametrize("name", sorted(CODECS))
@settings(max_examples=40, deadline=None)
@given(rows=st.lists(sheet_rows, max_size=6))
def test_every_stock_sheet_exported_and_read_back_gives_the_same_rows(
    name: str, rows: list[SheetRow]
) -> None:
    codec = CODECS[name]
    table = sheet_table(rows)
    read = codec.read(codec.write(table), SheetLimits())
    assert read[0] == list(SHEET_COLUMNS)
    # The name and email columns are blank (CSV keeps the empty cells, a workbook has none).
    assert all(not any(row[5:]) for row in read[1:])
    assert [[from_spreadsheet(cell) for cell in row[:5]] for row in read[1:]] == [
        [row.ticket_id, row.activity, row.performance, row.venue, row.product] for row in rows
    ]
    # Left blank, every row is untouched: the reader sees the tickets and nothing filled in.
    lines = sheet_lines(read)
    assert [(line.row, line.ticket_id, line.untouched) for line in lines] == [
        (n, row.ticket_id, True) for n, row in enumerate(rows, start=2)
    ]


def test_a_stock_named_like_formulas_is_exported_formula_safe_and_read_back_as_text() -> None:
    world = build_fake_world(spreadsheets=OpenpyxlSpreadsheetCodec())
    c = set_up_corporate(world)
    d = world.domain
    activity = d.setup.create_activity(CreateActivity(c.operator, c.organization_id, "=1+1"))
    performance = d.setup.create_performance(
        CreatePerformance(
            c.operator, activity.id, world.clock.now() + timedelta(days=9), "@Salle", 10
        )
    )
    assert performance.id
    c.buy(1)
    sheet = d.distribution.export_stock(ExportStock(c.nina, format=SheetFormat.XLSX))
    found = openpyxl.load_workbook(io.BytesIO(sheet.data)).worksheets[0]
    assert all(
        cell.data_type == "s" and not cell.value.startswith(FORMULA_STARTS)
        for row in found.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    )
