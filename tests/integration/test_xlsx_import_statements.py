"""A workbook import sends exactly the statements a CSV import of the same rows sends (issue
9): the workbook is read, like the CSV, before the unit of work that writes opens, so the
write lock is held no longer. On a SQLite file, and on PostgreSQL when
TICKETDOMAIN_TEST_PG_URL is set."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import openpyxl
from sqlalchemy import Engine, event

from support.corporate import Corporate, set_up_corporate
from support.race import StorageFactory, new_storage
from ticketdomain import (
    ExportStock,
    ImportDistribution,
    ImportOutcome,
    ProductConditions,
    SetCatalogProfile,
    TicketDomain,
)
from ticketdomain.core.spreadsheets import SheetLimits, Table
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_openpyxl import OpenpyxlSpreadsheetCodec
from ticketdomain_system import SecretsBarcodeGenerator, SecretsTokenGenerator, UuidIdGenerator

__all__ = ["new_storage"]  # the fixture, imported for pytest

MEMBERS = 5


def counted(engine: Engine, action: Callable[[], object]) -> list[str]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = " ".join(str(args[2]).split())
        if not statement.upper().startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def stocked(new_storage: StorageFactory, tickets: int) -> Corporate:
    storage = new_storage()
    storage.create_schema()
    world = build_fake_world(storage)
    world.domain = TicketDomain(
        storage=storage,
        clock=world.clock,
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=world.payments,
        documents=world.documents,
        renderer=world.renderer,
        mailer=world.mailer,
        passwords=world.passwords,
        tokens=SecretsTokenGenerator(),
        security=world.domain.adapters.security,
        spreadsheets=OpenpyxlSpreadsheetCodec(),
    )
    corp = set_up_corporate(world, capacity=tickets)
    world.domain.setup.set_catalog_profile(
        SetCatalogProfile(
            corp.operator,
            corp.organization_id,
            frozenset({corp.activity_id}),
            (ProductConditions(corp.product_id, max_per_order=500),),
            sales_point_id=corp.sales_point_id,
        )
    )
    left = tickets
    while left:
        corp.buy(min(left, 500))
        left -= min(left, 500)
    return corp


def filled(ids: list[str]) -> list[list[str]]:
    rows = [["ticket_id", "first_name", "last_name", "email"]]
    for index, id in enumerate(ids):
        n = index % MEMBERS
        rows.append([id, "Colleague", f"No {n}", f"colleague{n}@nestor.ch"])
    return rows


def as_csv(rows: list[list[str]]) -> bytes:
    return "\r\n".join(",".join(row) for row in rows).encode()


def as_xlsx(rows: list[list[str]]) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Stock")
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def importing(corp: Corporate, content: bytes) -> tuple[int, list[str], float]:
    """How many were distributed, the statements sent, and the seconds the import took."""
    d = corp.world.domain
    reports = []
    started = time.perf_counter()
    seen = counted(
        getattr(corp.world.storage, "engine"),  # noqa: B009 (a SqlAlchemyStorage)
        lambda: reports.append(
            d.distribution.import_distribution(ImportDistribution(corp.nina, content))
        ),
    )
    return reports[0].count(ImportOutcome.DISTRIBUTED), seen, time.perf_counter() - started


def in_stock(corp: Corporate) -> list[str]:
    sheet = corp.world.domain.distribution.export_stock(ExportStock(corp.nina)).content
    return [line.split(",", 1)[0] for line in sheet.splitlines()[1:]]


def test_the_workbook_is_read_between_the_units_of_work_not_inside_one(
    new_storage: StorageFactory,
) -> None:
    """Read while no unit of work is open (on SQLite each holds the write lock): after the
    relay is authorized, before the unit of work that locks the tickets begins."""
    corp = stocked(new_storage, 20)
    content = as_xlsx(filled(in_stock(corp)[:10]))
    codec = OpenpyxlSpreadsheetCodec()
    events: list[str] = []

    class Watched:
        media_type = codec.media_type
        extension = codec.extension

        def read(self, data: bytes, limits: SheetLimits) -> list[list[str]]:
            events.append("read")
            return codec.read(data, limits)

        def write(self, table: Table) -> bytes:
            return codec.write(table)

    adapters = corp.world.domain.adapters
    engine = getattr(corp.world.storage, "engine")  # noqa: B009
    domain = TicketDomain(
        storage=adapters.storage,
        clock=adapters.clock,
        ids=adapters.ids,
        barcodes=adapters.barcodes,
        payments=adapters.payments,
        documents=adapters.documents,
        renderer=adapters.renderer,
        mailer=adapters.mailer,
        passwords=adapters.passwords,
        tokens=adapters.tokens,
        security=adapters.security,
        spreadsheets=Watched(),
    )

    def on_begin(*args: Any) -> None:
        events.append("begin")

    def on_end(*args: Any) -> None:
        events.append("end")

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "commit", on_end)
    event.listen(engine, "rollback", on_end)
    try:
        report = domain.distribution.import_distribution(ImportDistribution(corp.nina, content))
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "commit", on_end)
        event.remove(engine, "rollback", on_end)
    assert report.count(ImportOutcome.DISTRIBUTED) == 10
    assert events == ["begin", "end", "read", "begin", "end"]


def shape(statements: list[str]) -> list[str]:
    """The statements without their expanded ``IN`` lists (the ids differ between imports)."""
    return [statement.split(" IN (", 1)[0] for statement in statements]


def test_a_workbook_import_sends_the_statements_of_the_same_csv_import(
    new_storage: StorageFactory,
) -> None:
    corp = stocked(new_storage, 2_010)
    # The members made by a first import: later ones find them.
    assert importing(corp, as_csv(filled(in_stock(corp)[:MEMBERS])))[0] == MEMBERS
    ids = in_stock(corp)
    from_csv, csv_statements, _ = importing(corp, as_csv(filled(ids[:1_000])))
    from_xlsx, xlsx_statements, _ = importing(corp, as_xlsx(filled(ids[1_000:2_000])))
    assert from_csv == from_xlsx == 1_000
    assert shape(xlsx_statements) == shape(csv_statements), "\n".join(xlsx_statements)
