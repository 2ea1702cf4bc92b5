"""Availability (``performances.places_out``) reads the places sold from their counters and
the places held through indexes, never a table of the performance's history, on SQLite and
PostgreSQL.

The performance has 20,000 tickets and 2,000 reservations already confirmed (their lines stay
on the performance), beside a few live ones and a few past their deadline. The plan is taken
with ``EXPLAIN`` of the very statement the adapter runs, on SQLite as shipped (no ``ANALYZE``)
and after ``ANALYZE``, on PostgreSQL after ``VACUUM ANALYZE``. The PostgreSQL case needs
TICKETDOMAIN_TEST_PG_URL and runs in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert

from ticketdomain.core.quotas import PlacesOut
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_sqlalchemy import _schema as s

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TICKETS = 20_000
CONFIRMED = 2_000


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
    schema = f"td_avail_{secrets.token_hex(6)}"
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


def fill(storage: SqlAlchemyStorage) -> None:
    """Stand-in rows written directly (the triggers count the tickets as they go in)."""
    tickets = [
        {
            "id": f"tkt-{n:06d}",
            "organization_id": "org-1",
            "order_id": f"ord-{n // 4}",
            "order_line_id": "line-1",
            "sales_point_id": f"sp-{n % 3}",
            "performance_id": "perf-1" if n % 10 else "perf-other",
            "product_id": "prod-1",
            "tariff_id": "tar-1",
            "structure_id": "str-1",
            "stock_structure_id": "str-1",
            "state": "cancelled" if n % 7 == 0 else "bought",
            "holder_id": None,
            "version": 1,
        }
        for n in range(TICKETS)
    ]
    # confirmed (history), then 3 live and 2 past their deadline
    kinds = [("confirmed", NOW + timedelta(hours=1))] * CONFIRMED
    kinds += [("held", NOW + timedelta(hours=1))] * 3 + [("held", NOW - timedelta(hours=1))] * 2
    reservations = [
        {
            "id": f"res-{n:05d}",
            "organization_id": "org-1",
            "sales_point_id": f"sp-{n % 3}",
            "structure_id": "str-1",
            "relay_id": "ind-1",
            "created_at": NOW - timedelta(days=1),
            "deadline": deadline,
            "state": state,
        }
        for n, (state, deadline) in enumerate(kinds)
    ]
    lines = [
        {
            "reservation_id": r["id"],
            "position": 0,
            "performance_id": "perf-1",
            "tariff_id": "tar-1",
            "quantity": 2,
        }
        for r in reservations
    ]
    points = [
        {
            "id": f"sp-{n}",
            "organization_id": "org-1",
            "channel_id": "chan-1",
            "name": f"SP {n}",
            "reservation_delay_us": 0,
            "reservation_cutoff_us": 0,
            "option_lifetime_us": 0,
            "max_document_bytes": 0,
            "admit_before_settlement": False,
        }
        for n in range(3)
    ]
    with storage.engine.begin() as connection:
        for table, rows in (
            (s.sales_points, points),
            (s.tickets, tickets),
            (s.reservations, reservations),
            (s.reservation_lines, lines),
        ):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table), rows[start : start + 5000])


def places_out_plan(storage: SqlAlchemyStorage) -> list[str]:
    seen: list[tuple[str, Any]] = []

    def record(_: Any, __: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(storage.engine, "before_cursor_execute", record)
    try:
        with storage.unit_of_work() as uow:
            out = uow.performances.places_out("perf-1", NOW)
    finally:
        event.remove(storage.engine, "before_cursor_execute", record)
    sold = [
        sum(1 for n in range(TICKETS) if n % 10 and n % 7 and n % 3 == point) for point in range(3)
    ]
    # live reservations res-02000..02002 hold 2 each, one per sales point (2000 % 3 == 2)
    held = {f"sp-{(CONFIRMED + k) % 3}": 2 for k in range(3)}
    assert sorted(out, key=lambda o: o.sales_point_id) == [
        PlacesOut(f"sp-{point}", "chan-1", sold[point] + held[f"sp-{point}"]) for point in range(3)
    ]
    statement, parameters = next((st, p) for st, p in seen if "td_places_sold" in st)
    with storage.engine.connect() as connection:
        if storage.engine.dialect.name == "sqlite":
            found = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return [str(row[-1]) for row in found]
        found = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return [str(row[0]) for row in found]


def assert_index_driven(plan: list[str]) -> None:
    """No ticket read at all; the live reservations found by state and deadline, their lines
    by reservation (not every line the performance ever had)."""
    text = "\n".join(plan)
    assert "td_tickets" not in text, text
    assert "ix_td_reservations_state_deadline" in text, text
    # SQLite's full scans read "SCAN td_...", PostgreSQL's "Seq Scan on td_..." (the three
    # sales points excepted: a table that small is read whole).
    assert not [line for line in plan if line.startswith("SCAN td_")], text
    for table in ("td_reservations", "td_reservation_lines", "td_places_sold"):
        assert f"Seq Scan on {table} " not in text, text


def test_availability_reads_counters_and_live_reservations_through_indexes(
    storage: SqlAlchemyStorage,
) -> None:
    fill(storage)
    if storage.engine.dialect.name == "sqlite":
        assert_index_driven(places_out_plan(storage))
    engine = storage.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(
            "ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"
        )
    assert_index_driven(places_out_plan(storage))
