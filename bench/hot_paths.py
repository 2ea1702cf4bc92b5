"""The hot paths of issue 10, the library beside its floor (``bench/floor.py``), in one run.

For each storage (SQLite as shipped, on a file; PostgreSQL when its URL answers) and each
operation, rounds of the library and of the floor alternate (the first to run swaps every
round); a round times ``per_round`` operations. Printed: the median rate (or latency) of each
side with its spread over the rounds (min-max), the ratio library / floor, the statements one
operation sends (counted on the engine with ``before_cursor_execute``; SQLite's ``BEGIN
IMMEDIATE`` left out, COMMIT is not a statement), and whether one library operation and one
floor operation changed the same number of rows in every ``td_`` table (and left the same number
of tickets in each state): the proof that the floor does the same work.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
from sqlalchemy import (
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    update,
)

from bench.dashboard import populate
from bench.floor import COUNTERS, Floor
from bench.processes import processes
from bench.processes import report as process_report
from support.corporate import Corporate, set_up_corporate
from ticketdomain import (
    CreatePerformance,
    ExportStock,
    ImportDistribution,
    ImportOutcome,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PrintAtOnce,
    ProductConditions,
    ScanTicket,
    SetCatalogProfile,
    ViewDashboard,
)
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage

PG_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: a performance's capacity on the bench: more than any run sells
CAPACITY = 1_000_000
ORDER_SIZE = 4
#: the most one order may hold on the bench's sales point, when buying tickets to scan
ORDER_MAX = 500
#: suffixes of copied rows' ids, never twice the same
COPIES = itertools.count(1)


@attrs.define
class Settings:
    rounds: int
    per_round: int
    dashboard_tickets: int
    dashboard_per_round: int
    growth: int | None
    postgresql_url: str | None
    import_rows: int = 0
    #: orders per run of the processes part on PostgreSQL (``bench/processes.py``; 0: none)
    process_orders: int = 0


@attrs.define
class Row:
    operation: str
    storage: str
    #: "per s" (a rate: higher is better) or "ms" (a latency: lower is better)
    unit: str
    floor: list[float]
    library: list[float]
    floor_statements: int | None = None
    library_statements: int | None = None
    same_rows: bool | None = None
    #: rows changed per table by one operation of each side ("library", "floor")
    written: dict[str, dict[str, int]] = attrs.Factory(dict)
    note: str = ""

    @property
    def ratio(self) -> float:
        """Library rate / floor rate (for a latency: floor / library, so higher is better)."""
        return statistics.median(self.floor_or_library(True)) / statistics.median(
            self.floor_or_library(False)
        )

    def floor_or_library(self, numerator: bool) -> list[float]:
        rate = self.unit == "per s"
        return self.library if numerator == rate else self.floor

    def as_json(self) -> dict[str, Any]:
        return attrs.asdict(self) | {"ratio": self.ratio}


# --- storages -------------------------------------------------------------------------------


@contextmanager
def sqlite_storage() -> Iterator[SqlAlchemyStorage]:
    """As shipped: ``SqlAlchemyStorage.sqlite`` on a file (WAL, synchronous left at SQLite's
    default, FULL)."""
    with tempfile.TemporaryDirectory() as folder:
        storage = SqlAlchemyStorage.sqlite(Path(folder) / "bench.sqlite3")
        storage.create_schema()
        try:
            yield storage
        finally:
            storage.close()


@contextmanager
def postgresql_storage(url: str) -> Iterator[SqlAlchemyStorage]:
    """A fresh schema of its own, dropped afterwards, so that benches and tests never meet."""
    schema = f"td_bench_{secrets.token_hex(6)}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(url, connect_args={"options": f"-c search_path={schema}"})
    try:
        storage = SqlAlchemyStorage(engine)
        storage.create_schema()
        yield storage
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def postgresql_answers(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def describe_sqlite(engine: Engine) -> str:
    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"SQLite {str(journal).upper()}, synchronous {names.get(int(level or 0), level)}"


def describe_postgresql(engine: Engine) -> str:
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SHOW server_version").scalar()
        commit = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
    return f"PostgreSQL {str(version).split()[0]}, synchronous_commit {commit}"


# --- measuring ------------------------------------------------------------------------------


class StatementCounter:
    """Statements sent on an engine while counting (``BEGIN`` left out)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _seen(self, *args: Any) -> None:
        statement = args[2]
        if not statement.lstrip().upper().startswith("BEGIN"):
            self.count += 1

    def __call__(self, action: Callable[[], object]) -> int:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        try:
            action()
        finally:
            event.remove(self.engine, "before_cursor_execute", self._seen)
        return self.count


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every ``td_`` table, and tickets in each state."""
    meta = MetaData()
    meta.reflect(engine)
    counts: dict[str, int] = {}
    with engine.connect() as connection:
        for name, table in sorted(meta.tables.items()):
            if name.startswith("td_") and name != COUNTERS:
                counts[name] = connection.execute(
                    select(func.count()).select_from(table)
                ).scalar_one()
        tickets = meta.tables["td_tickets"]
        for state, n in connection.execute(
            select(tickets.c.state, func.count()).group_by(tickets.c.state)
        ):
            counts[f"td_tickets[{state}]"] = n
    return counts


def delta(engine: Engine, action: Callable[[], object]) -> dict[str, int]:
    before = row_counts(engine)
    action()
    after = row_counts(engine)
    return {
        key: after.get(key, 0) - before.get(key, 0)
        for key in sorted(set(before) | set(after))
        if after.get(key, 0) != before.get(key, 0)
    }


def compare(
    engine: Engine, library: Callable[[], object], floor: Callable[[], object]
) -> tuple[int, int, bool, dict[str, dict[str, int]]]:
    """Statements of one library and one floor operation, and whether both changed as many
    rows in each table."""
    counter = StatementCounter(engine)
    found: dict[str, dict[str, int]] = {}
    counts = {}
    for side, action in (("library", library), ("floor", floor)):

        def counted(action: Callable[[], object] = action, side: str = side) -> None:
            counts[side] = counter(action)

        found[side] = delta(engine, counted)
    return counts["floor"], counts["library"], found["floor"] == found["library"], found


def alternate(
    library: Callable[[], object],
    floor: Callable[[], object],
    rounds: int,
    per_round: int,
    unit: str,
) -> tuple[list[float], list[float]]:
    """Rounds of each side, alternating (who goes first swaps each round); one figure per
    round: operations per second, or milliseconds per operation."""
    results: dict[str, list[float]] = {"library": [], "floor": []}
    for index in range(rounds):
        sides = [("library", library), ("floor", floor)]
        if index % 2:
            sides.reverse()
        for side, action in sides:
            start = time.perf_counter()
            for _ in range(per_round):
                action()
            elapsed = time.perf_counter() - start
            results[side].append(
                per_round / elapsed if unit == "per s" else elapsed * 1e3 / per_round
            )
    return results["library"], results["floor"]


# --- set-up ---------------------------------------------------------------------------------


@attrs.define
class Shop:
    """A works council buying on its holding account, with one performance for the library's
    orders and one for the floor's, and the floor on the same engine."""

    corp: Corporate
    floor: Floor
    library_performance: str
    floor_performance: str

    def library_order(self) -> object:
        d = self.corp.world.domain
        return d.sales.place_order(
            PlaceOrder(
                self.corp.nina,
                (LineRequest(self.library_performance, self.corp.tariff_id, ORDER_SIZE),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )

    def floor_order(self) -> object:
        return self.floor.place_order(
            self.corp.nina, self.floor_performance, self.corp.tariff_id, ORDER_SIZE
        )


def open_shop(storage: SqlAlchemyStorage, scan_capacity: int) -> Shop:
    world = build_fake_world(storage)
    corp = set_up_corporate(world, capacity=max(scan_capacity, 10))
    d = world.domain
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            corp.operator,
            corp.organization_id,
            frozenset({corp.activity_id}),
            (ProductConditions(corp.product_id, max_per_order=ORDER_MAX),),
            sales_point_id=corp.sales_point_id,
        )
    )

    def performance(venue: str) -> str:
        return d.setup.create_performance(
            CreatePerformance(
                corp.operator,
                corp.activity_id,
                world.clock.now() + timedelta(days=90),
                venue,
                CAPACITY,
            )
        ).id

    shop = Shop(
        corp,
        Floor(storage.engine, clock=world.clock.now),
        performance("Library"),
        performance("Floor"),
    )
    shop.floor.track(shop.floor_performance, CAPACITY)
    # The first order opens the holding account; then each side warms up.
    for _ in range(3):
        shop.library_order()
        shop.floor_order()
    return shop


def printed_barcodes(shop: Shop, count: int) -> list[str]:
    """``count`` tickets of the scan performance bought and printed through the library."""
    corp = shop.corp
    d = corp.world.domain
    left = count
    while left:
        quantity = min(left, ORDER_MAX)
        corp.buy(quantity)
        d.distribution.print_at_once(
            PrintAtOnce(corp.nina, corp.performance_id, corp.product_id, quantity)
        )
        left -= quantity
    t = shop.floor.t
    tickets, barcodes = t["td_tickets"], t["td_barcodes"]
    with shop.floor.engine.connect() as connection:
        return list(
            connection.execute(
                select(barcodes.c.value)
                .join(tickets, tickets.c.id == barcodes.c.ticket_id)
                .where(
                    tickets.c.performance_id == corp.performance_id,
                    tickets.c.state == "printed",
                    barcodes.c.revoked.is_(False),
                )
                .order_by(barcodes.c.value)
            ).scalars()
        )


def clone(
    engine: Engine, table: Table, changes: dict[str, Any], where: Any, limit: int | None = None
) -> None:
    """Copy (up to ``limit``) rows of ``table`` matching ``where``, with ``changes`` applied."""
    columns = [changes.get(column.name, column) for column in table.columns]
    with engine.begin() as connection:
        connection.execute(
            insert(table).from_select(
                [column.name for column in table.columns],
                select(*columns).where(where).limit(limit),
            )
        )


def fill_tickets(engine: Engine, organization_id: str, total: int) -> int:
    """Copy the organization's tickets (keeping their custody spread) until it holds
    ``total``; the copies have no barcodes, which the dashboard does not read."""
    meta = MetaData()
    meta.reflect(engine, only=("td_tickets",))
    tickets = meta.tables["td_tickets"]
    while True:
        with engine.connect() as connection:
            held = connection.execute(
                select(func.count()).where(tickets.c.organization_id == organization_id)
            ).scalar_one()
        if held >= total:
            return int(held)
        clone(
            engine,
            tickets,
            {"id": tickets.c.id + literal(f"~{next(COPIES)}")},
            tickets.c.organization_id == organization_id,
            total - held,
        )


def fill_orders(shop: Shop, performance_id: str, total: int) -> None:
    """Copy the orders on ``performance_id`` (with their lines, tickets, barcodes and ledger
    entries) until it has ``total``: stored history, as years of sales would leave it."""
    engine = shop.floor.engine
    meta = MetaData()
    meta.reflect(
        engine,
        only=(
            "td_orders",
            "td_order_lines",
            "td_tickets",
            "td_barcodes",
            "td_ledger_entries",
            "td_holding_accounts",
        ),
    )
    t = meta.tables
    orders, lines, tickets = t["td_orders"], t["td_order_lines"], t["td_tickets"]
    barcodes, ledger, accounts = t["td_barcodes"], t["td_ledger_entries"], t["td_holding_accounts"]
    while True:
        mine = select(lines.c.order_id).where(lines.c.performance_id == performance_id)
        with engine.connect() as connection:
            held = connection.execute(
                select(func.count()).select_from(mine.subquery())
            ).scalar_one()
            last = connection.execute(select(func.max(ledger.c.sequence))).scalar_one()
        if held >= total:
            return
        suffix = literal(f"~{next(COPIES)}")
        ids = (
            select(orders.c.id)
            .where(orders.c.id.in_(mine))
            .order_by(orders.c.id)
            .limit(total - held)
            .subquery()
        )
        clone(engine, orders, {"id": orders.c.id + suffix}, orders.c.id.in_(select(ids)))
        clone(
            engine,
            lines,
            {"order_id": lines.c.order_id + suffix, "id": lines.c.id + suffix},
            lines.c.order_id.in_(select(ids)),
        )
        clone(
            engine,
            tickets,
            {
                "id": tickets.c.id + suffix,
                "order_id": tickets.c.order_id + suffix,
                "order_line_id": tickets.c.order_line_id + suffix,
            },
            tickets.c.order_id.in_(select(ids)),
        )
        clone(
            engine,
            barcodes,
            {"value": barcodes.c.value + suffix, "ticket_id": barcodes.c.ticket_id + suffix},
            barcodes.c.ticket_id.in_(
                select(tickets.c.id).where(tickets.c.order_id.in_(select(ids)))
            ),
        )
        clone(
            engine,
            ledger,
            {
                # numbered on after the last entry: adding ``last`` to each copied sequence
                # doubled the highest one every round, past PostgreSQL's INTEGER at 100k orders
                "sequence": (last or 0)
                + func.row_number().over(order_by=(ledger.c.account_id, ledger.c.sequence)),
                "order_id": ledger.c.order_id + suffix,
            },
            ledger.c.order_id.in_(select(ids)),
        )
        with engine.begin() as connection:
            connection.execute(
                update(accounts).values(
                    entry_count=select(func.max(ledger.c.sequence))
                    .where(ledger.c.account_id == accounts.c.id)
                    .scalar_subquery()
                )
            )


# --- the sections ---------------------------------------------------------------------------


def hot_paths(storage: SqlAlchemyStorage, name: str, settings: Settings) -> list[Row]:
    rounds, per_round = settings.rounds, settings.per_round
    scans = rounds * per_round + 1
    shop = open_shop(storage, 2 * scans + ORDER_MAX)
    engine = storage.engine
    rows = []

    floor_statements, library_statements, same, found = compare(
        engine, shop.library_order, shop.floor_order
    )
    library, floor = alternate(shop.library_order, shop.floor_order, rounds, per_round, "per s")
    rows.append(
        Row(
            f"place an order of {ORDER_SIZE} tickets on the holding account",
            name,
            "per s",
            floor,
            library,
            floor_statements,
            library_statements,
            same,
            found,
        )
    )

    corp = shop.corp
    d = corp.world.domain
    barcodes = printed_barcodes(shop, 2 * scans)
    library_codes, floor_codes = iter(barcodes[0::2]), iter(barcodes[1::2])

    def library_scan() -> object:
        result = d.access.scan_ticket(
            ScanTicket(corp.gate, corp.performance_id, next(library_codes))
        )
        assert result.accepted, result.rejection
        return result

    def floor_scan() -> object:
        accepted = shop.floor.scan(corp.gate, corp.performance_id, next(floor_codes))
        assert accepted
        return accepted

    floor_statements, library_statements, same, found = compare(engine, library_scan, floor_scan)
    library, floor = alternate(library_scan, floor_scan, rounds, per_round, "per s")
    rows.append(
        Row(
            "scan a ticket at a gate",
            name,
            "per s",
            floor,
            library,
            floor_statements,
            library_statements,
            same,
            found,
        )
    )
    return rows


def dashboard(storage: SqlAlchemyStorage, name: str, settings: Settings) -> Row:
    size = settings.dashboard_tickets
    corp = populate(storage, min(size, 2000))
    held = fill_tickets(storage.engine, corp.organization_id, size)
    floor = Floor(storage.engine, clock=corp.world.clock.now)
    d = corp.world.domain
    structures = (corp.council_id, corp.club_id)

    def library() -> object:
        return d.distribution.view_dashboard(ViewDashboard(corp.nina))

    def floor_board() -> object:
        return floor.dashboard(corp.organization_id, structures)

    floor_statements, library_statements, same, found = compare(
        storage.engine, library, floor_board
    )
    library_ms, floor_ms = alternate(
        library, floor_board, settings.rounds, settings.dashboard_per_round, "ms"
    )
    return Row(
        f"corporate dashboard, structure holding {held:,} tickets",
        name,
        "ms",
        floor_ms,
        library_ms,
        floor_statements,
        library_statements,
        same,
        found,
        "the floor is the best GROUP BY on the custody index, alone",
    )


def growth(storage: SqlAlchemyStorage, name: str, settings: Settings) -> list[Row]:
    assert settings.growth is not None
    shop = open_shop(storage, 10)
    rows = []
    for stored in (1000, settings.growth):
        for performance in (shop.library_performance, shop.floor_performance):
            fill_orders(shop, performance, stored)
        shop.floor.track(shop.floor_performance, CAPACITY)
        library, floor = alternate(
            shop.library_order, shop.floor_order, settings.rounds, settings.per_round, "per s"
        )
        rows.append(
            Row(
                f"order of {ORDER_SIZE} with {stored:,} orders stored",
                name,
                "per s",
                floor,
                library,
            )
        )
    return rows


def write_lock(storage: SqlAlchemyStorage, rows: int) -> tuple[float, float]:
    """Seconds a ``rows``-row distribution import takes, and the longest a probe writer (on a
    connection of its own, taking ``BEGIN IMMEDIATE`` again and again) waited meanwhile:
    how long the import holds SQLite's write lock at a stretch."""
    world = build_fake_world(storage)
    corp = set_up_corporate(world, capacity=rows)
    d = world.domain
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            corp.operator,
            corp.organization_id,
            frozenset({corp.activity_id}),
            (ProductConditions(corp.product_id, max_per_order=ORDER_MAX),),
            sales_point_id=corp.sales_point_id,
        )
    )
    left = rows
    while left:
        corp.buy(min(left, ORDER_MAX))
        left -= min(left, ORDER_MAX)
    lines = d.distribution.export_stock(ExportStock(corp.nina)).content.splitlines()
    filled = [lines[0]]
    for index, line in enumerate(lines[1 : rows + 1]):
        member = index % 10
        filled.append(line[: -len(",,")] + f"Colleague,No {member},colleague{member}@nestor.ch")
    sheet = "\r\n".join(filled).encode()
    database = storage.engine.url.database
    assert database is not None
    waits: list[float] = []
    importing = threading.Event()
    done = threading.Event()

    def probe() -> None:
        connection = sqlite3.connect(database, timeout=600, isolation_level=None)
        try:
            importing.wait()
            while not done.is_set():
                start = time.perf_counter()
                connection.execute("BEGIN IMMEDIATE")
                waits.append(time.perf_counter() - start)
                connection.execute("COMMIT")
                time.sleep(0.001)
        finally:
            connection.close()

    thread = threading.Thread(target=probe)
    thread.start()
    importing.set()
    start = time.perf_counter()
    try:
        report = d.distribution.import_distribution(ImportDistribution(corp.nina, sheet))
    finally:
        elapsed = time.perf_counter() - start
        done.set()
        thread.join()
    assert report.count(ImportOutcome.DISTRIBUTED) == rows, report
    return elapsed, max(waits, default=0.0)


# --- report ---------------------------------------------------------------------------------


def spread(values: list[float], unit: str) -> str:
    def show(value: float) -> str:
        return f"{value:,.0f}" if unit == "per s" else f"{value:,.1f}"

    return f"{show(statistics.median(values))} ({show(min(values))}-{show(max(values))})"


def table(rows: list[Row]) -> str:
    lines = [
        "| operation | storage | floor | library | library/floor | statements floor / library "
        "| same rows |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        statements = (
            f"{row.floor_statements} / {row.library_statements}"
            if row.floor_statements is not None
            else ""
        )
        same = "" if row.same_rows is None else ("yes" if row.same_rows else "NO")
        ratio = f"{row.ratio:.3f}" if row.unit == "per s" else f"{1 / row.ratio:.1f}x slower"
        lines.append(
            f"| {row.operation} | {row.storage} | {spread(row.floor, row.unit)} {row.unit} "
            f"| {spread(row.library, row.unit)} {row.unit} | {ratio} | {statements} | {same} |"
        )
    return "\n".join(lines)


def growth_lines(rows: list[Row]) -> list[str]:
    found = []
    by_storage: dict[str, list[Row]] = {}
    for row in rows:
        if row.operation.startswith("order of") and row.floor_statements is None:
            by_storage.setdefault(row.storage, []).append(row)
    for name, (small, large) in ((k, v) for k, v in by_storage.items() if len(v) == 2):
        library = statistics.median(small.library) / statistics.median(large.library)
        floor = statistics.median(small.floor) / statistics.median(large.floor)
        found.append(
            f"growth on {name}: an order costs x{library:.2f} for the library and "
            f"x{floor:.2f} for the floor ({large.operation.split('with ')[1]} vs "
            f"{small.operation.split('with ')[1]}; target: library within x1.20)"
        )
    return found


def run(settings: Settings, json_path: str | None = None) -> list[Row]:
    storages: list[tuple[Callable[[], Any], Callable[[Engine], str]]] = [
        (sqlite_storage, describe_sqlite)
    ]
    url = settings.postgresql_url
    if url and postgresql_answers(url):
        storages.append((lambda: postgresql_storage(url), describe_postgresql))
    elif url:
        print(f"PostgreSQL at {url} does not answer: SQLite only.")
    rows: list[Row] = []
    for open_storage, describe in storages:
        with open_storage() as storage:
            name = describe(storage.engine)
            print(f"\n{name}: orders and scans ...", flush=True)
            rows += hot_paths(storage, name, settings)
        with open_storage() as storage:
            print(f"{name}: dashboard ...", flush=True)
            rows.append(dashboard(storage, name, settings))
        if settings.growth:
            with open_storage() as storage:
                print(f"{name}: growth ...", flush=True)
                rows += growth(storage, name, settings)
    print(
        f"\nMedians of {settings.rounds} alternating rounds (min-max in brackets); rates are "
        f"operations per second, a round being {settings.per_round} operations "
        f"({settings.dashboard_per_round} dashboards); statements per operation, BEGIN left out."
    )
    print(table(rows))
    for line in growth_lines(rows):
        print(line)
    if settings.import_rows:
        with sqlite_storage() as storage:
            print(f"{settings.import_rows:,}-row import on SQLite ...", flush=True)
            elapsed, held = write_lock(storage, settings.import_rows)
        print(
            f"{settings.import_rows:,}-row distribution import on SQLite: {elapsed:.1f} s, "
            f"holding the write lock for up to {held:.1f} s at a stretch (target: under 1 s "
            "for 10,000 rows)"
        )
    else:
        print("10,000-row import, SQLite write lock held: not measured in this mode")
    if settings.process_orders and url and len(storages) > 1:
        counts = (1, 2) if settings.process_orders < 64 else (1, 2, 4, 8)
        with postgresql_storage(url) as storage:
            name = describe_postgresql(storage.engine)
            print(f"{name}: {', '.join(map(str, counts))} processes placing orders ...", flush=True)
            measured = processes(storage, url, settings.rounds, settings.process_orders, counts)
        print(f"{max(counts)} processes placing orders on {name} vs 1, oversell check:")
        for line in process_report(measured, os.cpu_count()):
            print(line)
        if any(run.problems for run in measured.runs):
            raise SystemExit("Oversold, or the places-sold counters differ from a recount.")
    else:
        print("8 processes placing orders on PostgreSQL vs 1, oversell check: not measured")
    if json_path:
        Path(json_path).write_text(json.dumps([row.as_json() for row in rows], indent=2))
    return rows


def settings_for(quick: bool, tiny: bool, growth: int | None, postgresql: bool) -> Settings:
    url = os.environ.get("TICKETDOMAIN_TEST_PG_URL", PG_URL_DEFAULT) if postgresql else None
    if tiny:
        return Settings(2, 3, 300, 2, growth, url, process_orders=16)
    if quick:
        return Settings(3, 50, 10_000, 5, growth, url, import_rows=2000, process_orders=200)
    return Settings(
        5,
        200,
        100_000,
        10,
        100_000 if growth is None else growth,
        url,
        import_rows=10_000,
        process_orders=800,
    )
