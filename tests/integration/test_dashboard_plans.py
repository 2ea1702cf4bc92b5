"""The dashboard's aggregate reads the custody index, never the whole ticket table, on SQLite
and PostgreSQL; and the dashboard and stock view run a fixed, small number of statements.

The plans are taken with ``EXPLAIN`` of the very statement the adapter runs (caught on the
engine), over an organization whose 20 structures (each with a sub-structure) hold 20,000
tickets, with another organization's tickets beside them. SQLite is asked as shipped (no
``ANALYZE``: the library never runs it) and after ``ANALYZE``; PostgreSQL after ``VACUUM
ANALYZE``, as autovacuum leaves a table. The PostgreSQL cases need TICKETDOMAIN_TEST_PG_URL;
each runs in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert

from support.corporate import Corporate, set_up_corporate
from ticketdomain import DistributeToSubStructure, ViewDashboard, ViewStock
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_sqlalchemy._schema import tickets

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")
STRUCTURES = 20
TICKETS = 20_000
ORG = "org-plans"
INDEX = "ix_td_tickets_custody"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlAlchemyStorage]:
    if request.param == "sqlite":
        found = SqlAlchemyStorage.sqlite(tmp_path / "plans.sqlite3")
        found.create_schema()
        yield found
        found.close()
        return
    if not PG_URL:
        pytest.skip("set TICKETDOMAIN_TEST_PG_URL to check the plans on PostgreSQL")
    schema = f"td_plans_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(PG_URL, connect_args={"options": f"-c search_path={schema}"})
    try:
        found = SqlAlchemyStorage(engine)
        found.create_schema()
        yield found
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def caught(storage: SqlAlchemyStorage) -> Iterator[list[tuple[str, Any]]]:
    """The statements run on the storage's engine, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_: Any, __: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(storage.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(storage.engine, "before_cursor_execute", record)


def fill(storage: SqlAlchemyStorage) -> None:
    """20 structures of one organization holding 20,000 tickets (a fifth handed to each one's
    sub-structure), spread over states, performances, products and holders, and another
    organization's tickets: stand-in rows written directly, only their plan matters here."""
    states = ("bought", "bought", "distributed", "printed", "controlled", "cancelled")
    rows = []
    for index in range(TICKETS + TICKETS // 4):
        structure = f"str-{index % STRUCTURES:02d}"
        state = states[index % len(states)]
        rows.append(
            {
                "id": f"tkt-{index:06d}",
                "organization_id": ORG if index < TICKETS else "org-other",
                "order_id": f"ord-{index // 4}",
                "order_line_id": "line-1",
                "sales_point_id": "sp-1",
                "performance_id": f"perf-{index % 7}",
                "product_id": f"prod-{index % 3}",
                "tariff_id": "tar-1",
                "structure_id": structure,
                "stock_structure_id": structure + ("-club" if index % 5 == 0 else ""),
                "state": state,
                "holder_id": f"ind-{index % 40}" if state != "bought" and index % 2 else None,
                "version": 1,
            }
        )
    with storage.engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(tickets), rows[start : start + 5000])


def plan(storage: SqlAlchemyStorage, statement: str, parameters: Any) -> list[str]:
    with storage.engine.connect() as connection:
        if storage.engine.dialect.name == "sqlite":
            found = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return [str(row[-1]) for row in found]
        found = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return [str(row[0]) for row in found]


def custody_counts_plan(storage: SqlAlchemyStorage) -> list[str]:
    with caught(storage) as seen, storage.unit_of_work() as uow:
        counts = uow.tickets.custody_counts(ORG, ["str-03", "str-03-club"])
    assert sum(count.count for count in counts) == TICKETS // STRUCTURES
    statement, parameters = next((s, p) for s, p in seen if "td_tickets" in s)
    return plan(storage, statement, parameters)


def analyze(storage: SqlAlchemyStorage) -> None:
    engine = storage.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(
            "ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE td_tickets"
        )


def test_the_dashboard_aggregate_reads_the_custody_index_alone(
    storage: SqlAlchemyStorage,
) -> None:
    fill(storage)
    plans = []
    if storage.engine.dialect.name == "sqlite":
        plans.append(custody_counts_plan(storage))  # as shipped: no statistics
    analyze(storage)
    plans.append(custody_counts_plan(storage))
    for found in plans:
        text = "\n".join(found)
        if storage.engine.dialect.name == "sqlite":
            assert f"USING COVERING INDEX {INDEX}" in text, text
            assert "SCAN td_tickets" not in text, text
            assert "TEMP B-TREE" not in text, text
        else:
            assert "Seq Scan on td_tickets" not in text, text
            assert f"Index Only Scan using {INDEX} on td_tickets" in text, text
            # Aggregated as the index hands the rows over: no sort, no hash of every ticket.
            assert "Sort" not in text and "HashAggregate" not in text, text


# --- statements -----------------------------------------------------------------------------

VIEWS: dict[str, Callable[[Corporate], object]] = {
    "dashboard": lambda c: c.world.domain.distribution.view_dashboard(ViewDashboard(c.nina)),
    "club's dashboard": lambda c: c.world.domain.distribution.view_dashboard(
        ViewDashboard(c.nina, c.club_id)
    ),
    "stock": lambda c: c.world.domain.distribution.view_stock(ViewStock(c.nina)),
}
#: what each view reads once the relay is authorized, one statement each
READS = {
    "dashboard": ["td_structures", "td_tickets", "td_products", "td_activities"],
    "club's dashboard": ["td_structures", "td_tickets", "td_products", "td_activities"],
    "stock": ["td_structures", "td_tickets", "td_performances", "td_products", "td_activities"],
}
#: the most statements the Authenticator may run to authorize a relay (issue 10: 1-2 reads)
AUTHORIZATION = 2


@pytest.mark.parametrize("view", list(VIEWS))
def test_a_view_authorizes_then_reads_structures_tickets_and_names_once_each(
    storage: SqlAlchemyStorage, view: str
) -> None:
    corporate = set_up_corporate(build_fake_world(storage))
    corporate.buy(12)
    corporate.world.domain.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(
            corporate.nina, corporate.performance_id, corporate.product_id, 4, corporate.club_id
        )
    )
    with caught(storage) as seen:
        VIEWS[view](corporate)
    statements = [s for s, _ in seen if not s.startswith("BEGIN")]
    first = next(i for i, s in enumerate(statements) if s.lstrip().startswith("WITH RECURSIVE"))
    assert first <= AUTHORIZATION, statements[:first]
    own = statements[first:]
    assert len(own) == len(READS[view]), own
    for table, statement in zip(READS[view], own, strict=True):
        assert f"FROM {table} " in statement or f"FROM {table}\n" in statement, statement
