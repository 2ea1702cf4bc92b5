"""A distribution import sends a number of statements that does not grow with its rows (issue
10): the tickets are read in chunks of 500 ids (a ticket read and its barcodes' read each) and
written back by one executemany, so 1,000 rows cost at most one more chunk than 10.

For the same members (already in the structure), the statements of an import are: the relay
authorized before the file is read (2), and again in the unit of work that writes (2); the
tickets locked with their barcodes (2 per chunk); each member's contact by email (1 each); the
tickets written back (1); per invitation the organization, the structure, the login link and the
queued mail (4 each); the catalog labels of the mails, read once (4).

Counted as ``bench/hot_paths.py`` counts (``before_cursor_execute``, SQLite's ``BEGIN
IMMEDIATE`` left out). On a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

from support.corporate import Corporate, set_up_corporate
from support.race import StorageFactory, new_storage, new_world
from ticketdomain import (
    ExportStock,
    ImportDistribution,
    ImportOutcome,
    ProductConditions,
    SetCatalogProfile,
)

__all__ = ["new_storage"]  # the fixture, imported for pytest

MEMBERS = 5
#: an import of a few rows to MEMBERS members already in the structure (one chunk of tickets)
IMPORT_STATEMENTS = 2 + 2 + 2 + MEMBERS + 1 + 4 * MEMBERS + 4


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


def stocked(new_storage: StorageFactory, tickets: int) -> tuple[Corporate, Engine]:
    world = new_world(new_storage)
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
    engine = getattr(world.storage, "engine")  # noqa: B009 (a SqlAlchemyStorage)
    return corp, engine


def importing(corp: Corporate, rows: int) -> tuple[int, list[str]]:
    """Fill in the first ``rows`` rows of the stock sheet for MEMBERS colleagues and import
    it: how many were distributed, and the statements sent."""
    d = corp.world.domain
    lines = d.distribution.export_stock(ExportStock(corp.nina)).content.splitlines()
    filled = [lines[0]]
    for index, line in enumerate(lines[1 : rows + 1]):
        n = index % MEMBERS
        filled.append(line[: -len(",,")] + f"Colleague,No {n},colleague{n}@nestor.ch")
    sheet = "\r\n".join(filled).encode()
    reports = []
    seen = counted(
        getattr(corp.world.storage, "engine"),  # noqa: B009
        lambda: reports.append(
            d.distribution.import_distribution(ImportDistribution(corp.nina, sheet))
        ),
    )
    return reports[0].count(ImportOutcome.DISTRIBUTED), seen


def test_an_import_costs_the_same_statements_for_10_rows_as_for_1000(
    new_storage: StorageFactory,
) -> None:
    corp, _ = stocked(new_storage, 1_020)
    # The members made by a first import: later ones find them.
    assert importing(corp, MEMBERS)[0] == MEMBERS
    distributed, small = importing(corp, 10)
    assert distributed == 10
    assert len(small) == IMPORT_STATEMENTS, "\n".join(small)
    distributed, large = importing(corp, 1_000)
    assert distributed == 1_000
    # One more chunk of 500 tickets read (tickets, barcodes); one UPDATE for all of them.
    assert len(large) == IMPORT_STATEMENTS + 2, "\n".join(large)
    assert sum(s.startswith("UPDATE td_tickets") for s in large) == 1
