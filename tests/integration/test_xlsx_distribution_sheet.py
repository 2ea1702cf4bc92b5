"""The distribution sheet as an Excel workbook (issue 9): exported as ``.xlsx`` and read back
with the same row checks and per-row report as a CSV; formulas read as their text, never
evaluated; exports formula-safe; broken, oversized or bomb-like workbooks refused with the
CSV's typed errors, never a stack trace."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from support.agency import set_up_agency
from support.corporate import Corporate, set_up_corporate
from support.state import refused
from ticketdomain import (
    ExportBeneficiaries,
    ExportStock,
    ImportDistribution,
    ImportOutcome,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    SheetFormat,
    StockSheet,
    ViewSalesReport,
)
from ticketdomain.core.distribution import SHEET_COLUMNS
from ticketdomain.core.errors import (
    CsvInvalidError,
    CsvTooLargeError,
    ImportRejectedError,
    SheetFormatUnsupportedError,
    TicketDomainError,
)
from ticketdomain.core.spreadsheets import MEDIA_TYPES, SheetLimits
from ticketdomain.ports.storage import Storage
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_openpyxl import OpenpyxlSpreadsheetCodec
from ticketdomain_sqlalchemy import SqlAlchemyStorage

XLSX = MEDIA_TYPES[SheetFormat.XLSX]


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield InMemoryStorage()
        return
    sqlite = SqlAlchemyStorage.sqlite(tmp_path / "xlsx.sqlite3")
    sqlite.create_schema()
    yield sqlite
    sqlite.close()


@pytest.fixture
def corporate(storage: Storage) -> Corporate:
    return set_up_corporate(build_fake_world(storage, spreadsheets=OpenpyxlSpreadsheetCodec()))


def exported(c: Corporate, quantity: int = 3) -> StockSheet:
    c.buy(quantity)
    return c.world.domain.distribution.export_stock(ExportStock(c.nina, format=SheetFormat.XLSX))


def open_workbook(data: bytes) -> list[list[Any]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def by_hand(rows: list[list[Any]], extra_sheet: bool = True) -> bytes:
    """A workbook as a person fills it in Excel (openpyxl writes it as Excel would: numbers as
    numbers, ``=…`` as formulas)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Stock"
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        notes = workbook.create_sheet("Notes")
        notes.append(["ticket_id", "first_name", "last_name", "email"])
        notes.append(["not read", "Not", "Read", "nobody@example.org"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_an_exported_workbook_opens_with_the_header_and_one_row_per_ticket(
    corporate: Corporate,
) -> None:
    c = corporate
    sheet = exported(c)
    csv_sheet = c.world.domain.distribution.export_stock(ExportStock(c.nina))
    assert (sheet.format, sheet.media_type, sheet.tickets) == (SheetFormat.XLSX, XLSX, 3)
    assert sheet.filename == f"stock-{c.council_id}.xlsx" and sheet.content == ""
    assert csv_sheet.data == csv_sheet.content.encode() and csv_sheet.format is SheetFormat.CSV
    rows = open_workbook(sheet.data)
    assert tuple(rows[0]) == SHEET_COLUMNS
    csv_rows = [line.split(",") for line in csv_sheet.content.splitlines()[1:]]
    assert [[cell or "" for cell in row] for row in rows[1:]] == csv_rows
    assert [row[1:] for row in rows[1:]] == [
        ["La Traviata", "2026-02-04 09:00 UTC", "Opera de Lausanne", "Stalls", None, None, None]
    ] * 3
    # Every text cell is a string, never a formula.
    cells = openpyxl.load_workbook(io.BytesIO(sheet.data)).worksheets[0].iter_rows()
    assert {cell.data_type for row in cells for cell in row if cell.value is not None} == {"s"}


def test_a_workbook_filled_in_by_a_person_is_distributed_with_a_report_per_row(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    ids = [row[0] for row in open_workbook(exported(c, 4).data)[1:]]
    content = by_hand(
        [
            [None],  # a blank row above the header: the header is the first filled row
            ["Ticket_ID", "Activity", "First_Name", "Last_Name", "Email", "Seats"],
            [ids[0], "La Traviata", "Anna", "Meier", "anna@nestor.ch", 2],
            [],
            [ids[1], "La Traviata", "=1+1", "Meier", "anna@nestor.ch", 1.5],
            [ids[2], None, None, None, None, None],
            [ids[3], "La Traviata", "Paul", 42, "paul@nestor.ch", 3],
        ]
    )
    report = d.distribution.import_distribution(
        ImportDistribution(c.nina, content, apply_valid_rows=True)
    )
    found = [(row.row, row.ticket_id, row.outcome, row.code) for row in report.rows]
    assert found == [
        (3, ids[0], ImportOutcome.DISTRIBUTED, None),
        # A formula is read as its text and checked as any name is.
        (5, ids[1], ImportOutcome.DISTRIBUTED, None),
        (6, ids[2], ImportOutcome.UNTOUCHED, None),
        # A number typed as a name is read as its text.
        (7, ids[3], ImportOutcome.DISTRIBUTED, None),
    ]
    assert len(report.mail_ids) == 2


def test_a_bad_row_of_a_workbook_is_reported_by_its_row_number(corporate: Corporate) -> None:
    c = corporate
    ids = [row[0] for row in open_workbook(exported(c, 2).data)[1:]]
    content = by_hand(
        [
            ["ticket_id", "first_name", "last_name", "email"],
            [ids[0], "Anna", "Meier", "anna@nestor.ch"],
            [],
            [],
            [ids[1], "Paul", "Roux", '=HYPERLINK("http://x")'],
            ["ticket-404", "Zoe", "Imhof", "zoe@nestor.ch"],
        ]
    )
    with refused(c.world, ImportRejectedError, "import_rejected") as caught:
        c.world.domain.distribution.import_distribution(ImportDistribution(c.nina, content))
    rows = caught.value.details["rows"]
    assert [(row["row"], row["ticket_id"], row["code"]) for row in rows] == [
        (5, ids[1], "email_invalid"),
        (6, "ticket-404", "ticket_unknown"),
    ]


def test_a_sheet_exported_as_xlsx_and_filled_in_imports_as_the_csv_would(
    corporate: Corporate,
) -> None:
    c = corporate
    d = c.world.domain
    sheet = exported(c, 2)
    workbook = openpyxl.load_workbook(io.BytesIO(sheet.data))
    stock = workbook.worksheets[0]
    stock["F2"], stock["G2"], stock["H2"] = "Anna", "Meier", "anna@nestor.ch"
    out = io.BytesIO()
    workbook.save(out)
    report = d.distribution.import_distribution(ImportDistribution(c.nina, out.getvalue()))
    assert [(row.row, row.outcome) for row in report.rows] == [
        (2, ImportOutcome.DISTRIBUTED),
        (3, ImportOutcome.UNTOUCHED),
    ]


def zip_of(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


WORKBOOK_PARTS = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}


def many_rows(rows: int) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Stock")
    sheet.append(["ticket_id", "first_name", "last_name", "email"])
    for n in range(rows):
        sheet.append([f"t{n}", "Anna", "Meier", "anna@nestor.ch"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A workbook whose sheet unpacks to 40 MB of zeros (about 40 KB packed), written in
    chunks so the test itself never holds it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in WORKBOOK_PARTS.items():
            archive.writestr(name, data)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"\x00" * 1_000_000
            for _ in range(40):
                sheet.write(chunk)
    return out.getvalue()


BROKEN: dict[str, tuple[Callable[[], bytes], type[TicketDomainError], str]] = {
    # refused before anything is unpacked
    "zip bomb": (zip_bomb, CsvTooLargeError, "csv_too_large"),
    "broken workbook": (lambda: zip_of(WORKBOOK_PARTS), CsvInvalidError, "csv_invalid"),
    "workbook parts of garbage": (
        lambda: zip_of({**WORKBOOK_PARTS, "xl/worksheets/sheet1.xml": b"<<<not xml"}),
        CsvInvalidError,
        "csv_invalid",
    ),
    "a zip that is no workbook": (
        lambda: zip_of({"a.txt": b"hello"}),
        CsvInvalidError,
        "csv_invalid",
    ),
    "an old .xls": (
        lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
        CsvInvalidError,
        "csv_invalid",
    ),
    "too many rows": (lambda: many_rows(10_001), CsvTooLargeError, "csv_too_large"),
    "too large a file": (
        lambda: b"PK\x03\x04" + b"\x00" * (3 * 1024 * 1024),
        CsvTooLargeError,
        "csv_too_large",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_or_oversized_workbooks_get_the_typed_errors(
    corporate: Corporate, name: str
) -> None:
    make, error, code = BROKEN[name]
    content = make()
    c = corporate
    c.buy(1)
    with refused(c.world, error, code):
        c.world.domain.distribution.import_distribution(ImportDistribution(c.nina, content))


def test_a_truncated_workbook_is_refused_as_a_sheet_that_is_not_one(corporate: Corporate) -> None:
    c = corporate
    data = exported(c).data
    for cut in (len(data) // 2, 100, 4):
        with refused(c.world, CsvInvalidError, "csv_invalid"):
            c.world.domain.distribution.import_distribution(ImportDistribution(c.nina, data[:cut]))


def test_a_workbook_with_many_empty_styled_rows_below_the_data_is_read(
    corporate: Corporate,
) -> None:
    c = corporate
    ids = [row[0] for row in open_workbook(exported(c, 1).data)[1:]]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["ticket_id", "first_name", "last_name", "email"])
    sheet.append([ids[0], "Anna", "Meier", "anna@nestor.ch"])
    sheet.cell(row=20_000, column=1).number_format = "0.00"  # a styled, empty cell far below
    out = io.BytesIO()
    workbook.save(out)
    report = c.world.domain.distribution.import_distribution(
        ImportDistribution(c.nina, out.getvalue())
    )
    assert [(row.row, row.outcome) for row in report.rows] == [(2, ImportOutcome.DISTRIBUTED)]


def test_without_a_codec_xlsx_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    world = build_fake_world()
    c = set_up_corporate(world)
    c.buy(1)
    with refused(world, SheetFormatUnsupportedError, "sheet_format_unsupported"):
        world.domain.distribution.export_stock(ExportStock(c.nina, format=SheetFormat.XLSX))
    content = by_hand([["ticket_id", "first_name", "last_name", "email"]])
    with refused(world, SheetFormatUnsupportedError, "sheet_format_unsupported"):
        world.domain.distribution.import_distribution(ImportDistribution(c.nina, content))
    # CSV still works.
    assert world.domain.distribution.export_stock(ExportStock(c.nina)).tickets == 1


def test_the_codec_writes_any_table_such_as_the_beneficiaries_export(
    corporate: Corporate,
) -> None:
    c = corporate
    exported(c, 1)
    table = c.world.domain.reports.export_beneficiaries(
        ExportBeneficiaries(c.operator, c.organization_id)
    ).to_table()
    codec = OpenpyxlSpreadsheetCodec()
    workbook = openpyxl.load_workbook(io.BytesIO(codec.write(table)))
    assert workbook.sheetnames == ["Beneficiaries"]
    assert [cell.value for cell in workbook.worksheets[0][1]] == list(table.columns)
    both = openpyxl.load_workbook(io.BytesIO(codec.write_tables([table, table])))
    assert both.sheetnames == ["Beneficiaries", "Beneficiaries (2)"]
    assert codec.read(codec.write(table), SheetLimits()) == [list(table.columns)]


def test_the_sales_report_as_a_workbook_keeps_amounts_as_numbers() -> None:
    world = build_fake_world(spreadsheets=OpenpyxlSpreadsheetCodec())
    agency = set_up_agency(world)
    d = world.domain
    d.sales.place_order(
        PlaceOrder(
            agency.bob,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    report = d.reports.sales_report(ViewSalesReport(agency.alice))
    table = report.to_table()
    data = OpenpyxlSpreadsheetCodec().write(table)
    rows = open_workbook(data)
    assert tuple(rows[0]) == table.columns
    assert len(rows) == 1 + len(report.rows) == 2
    at = dict(zip(table.columns, rows[1], strict=True))
    assert (at["quantity"], at["currency"], at["relay"]) == (2, "CHF", "Bob Rochat")
    assert at["amount"] == float(report.rows[0].amount.amount)
    # The same cells as the CSV, read back as text.
    assert report.to_csv().splitlines()[0] == ",".join(table.columns)
