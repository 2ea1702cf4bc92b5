"""The benchmarks of ``make bench``.

    python -m bench [--quick | --tiny] [--growth N] [--no-postgresql] [--json PATH]

prints issue 10's table (``bench/hot_paths.py``): placing an order, scanning a ticket and the
corporate dashboard, the library beside hand-written SQLAlchemy Core doing the same rows' work
(``bench/floor.py``), on SQLite as shipped and on PostgreSQL (``TICKETDOMAIN_TEST_PG_URL``, by
default the local server; in a schema of its own, dropped afterwards). ``--quick`` takes
smaller rounds and a 10,000-ticket dashboard, ``--tiny`` the least that still runs everything
(the smoke test's); ``--growth N`` times an order with 1,000 and with N stored orders (by
default 100,000 without ``--quick``), and the full run times a 10,000-row import on SQLite
(2,000 with ``--quick``) and, on PostgreSQL, 1, 2, 4 and 8 processes placing orders with the
oversell check (``bench/processes.py``; 1 and 2 with ``--tiny``). Then ticket PDFs beside a bare
fpdf2 floor and the peak memory of a 1,000- and a 10,000-ticket batch (``bench/documents.py``;
20 and 60 tickets with ``--tiny``).

    python -m bench --legacy [--orders N] [--tickets N N...]

times the main agency operations on each storage as ratios against an empty committed unit of
work on the same storage, so numbers compare across machines.

``--orders N`` places N one-ticket orders on the holding account, one after the other, on a
performance large enough for all of them, and reports the median of the first and of the last
tenth beside the overall one. The account keeps a running balance beside its append-only
ledger and is loaded without it, so ``place_order`` on account should not grow with the
account's history: compare ``--orders 90`` with ``--orders 600``.

``--tickets N N...`` (default 100 5000) builds, on a fresh storage for each N, a works council
holding N tickets spread over every custody state (``bench/dashboard.py``) and times its
dashboard and stock view, which are aggregate queries, beside ``list_distributed_tickets``, which
reads tickets one by one; the last line gives how much each grew, in floors, from the first N.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bench import documents
from bench.dashboard import bench_dashboard
from bench.hot_paths import run, settings_for
from support.agency import Agency, set_up_agency
from ticketdomain import (
    CreatePerformance,
    IssueInvoice,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    RecordPayment,
    ViewCatalog,
    ViewHoldingAccount,
)
from ticketdomain.ports.storage import Storage
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage


def samples(action: Callable[[], object], repeat: int) -> list[float]:
    found = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        found.append(time.perf_counter() - start)
    return found


def per_call(action: Callable[[], object], repeat: int) -> float:
    return statistics.median(samples(action, repeat))


def floor(storage: Storage) -> float:
    def empty() -> None:
        with storage.unit_of_work() as uow:
            uow.commit()

    return per_call(empty, 200)


def bench(name: str, storage: Storage, orders: int) -> None:
    world = build_fake_world(storage)
    agency: Agency = set_up_agency(world)
    d = world.domain
    base = floor(storage)
    # A performance of the agency's activity (no quota) with a seat for every order.
    performance = d.setup.create_performance(
        CreatePerformance(
            agency.operator,
            agency.activity_id,
            world.clock.now() + timedelta(days=90),
            "Bench",
            max(orders, 1),
        )
    )
    line = (LineRequest(performance.id, agency.agency_tariff_id, 1),)

    def place() -> object:
        return d.sales.place_order(PlaceOrder(agency.alice, line, PaymentMethod.HOLDING_ACCOUNT))

    placing = samples(place, orders)
    tenth = max(len(placing) // 10, 1)
    results = {
        f"place_order (1 ticket, {orders} in all)": statistics.median(placing),
        f"  first {tenth} orders": statistics.median(placing[:tenth]),
        f"  last {tenth} orders": statistics.median(placing[-tenth:]),
        "view_catalog": per_call(lambda: d.sales.view_catalog(ViewCatalog(agency.alice)), 50),
        "view_holding_account": per_call(
            lambda: d.accounts.view_holding_account(
                ViewHoldingAccount(agency.operator, agency.organization_id, agency.hotel_id)
            ),
            20,
        ),
    }
    start = time.perf_counter()
    invoice = d.accounts.issue_invoice(
        IssueInvoice(agency.operator, agency.organization_id, agency.hotel_id)
    )
    results[f"issue_invoice ({len(invoice.order_ids)} orders)"] = time.perf_counter() - start
    results["record_payment"] = per_call(
        lambda: d.accounts.record_payment(
            RecordPayment(
                agency.operator, agency.organization_id, agency.hotel_id, invoice.total, "bench"
            )
        ),
        1,
    )
    print(f"\n{name}: floor (empty unit of work) {base * 1e6:.0f} µs")
    for label, seconds in results.items():
        print(f"  {label:<32} {seconds * 1e3:9.2f} ms  {seconds / base:9.1f} x floor")


def main() -> None:
    parser = argparse.ArgumentParser(description="ticketdomain benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller rounds and dashboard")
    parser.add_argument("--tiny", action="store_true", help="the least that runs everything")
    parser.add_argument(
        "--growth",
        type=int,
        metavar="N",
        help="time an order with 1,000 and N orders stored (default 100000; 0 or --quick: none)",
    )
    parser.add_argument(
        "--no-postgresql", action="store_true", help="SQLite only, even if PostgreSQL answers"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    parser.add_argument(
        "--legacy", action="store_true", help="ratios to an empty unit of work (below)"
    )
    parser.add_argument(
        "--orders", type=int, default=90, help="orders placed on the holding account (default 90)"
    )
    parser.add_argument(
        "--tickets",
        type=int,
        nargs="+",
        default=[100, 5000],
        help="tickets of the works council whose dashboard is timed (default 100 5000)",
    )
    args = parser.parse_args()
    if not args.legacy:
        if args.growth is not None and 0 < args.growth < 1000:
            parser.error("--growth: at least 1000 orders (0: none)")
        rows = run(
            settings_for(args.quick, args.tiny, args.growth, not args.no_postgresql), args.json
        )
        if not all(row.same_rows is not False for row in rows):
            sys.exit("The floor and the library did not write the same rows.")
        # Ticket PDFs beside a bare fpdf2 floor, and a batch's peak memory (bench/documents.py).
        documents.report(args.quick, args.tiny)
        return
    if any(size < 10 for size in args.tickets):
        parser.error("--tickets: at least 10 tickets")
    bench("in-memory", InMemoryStorage(), args.orders)
    with sqlite() as storage:
        bench("SQLite", storage, args.orders)
    bench_dashboard("in-memory", memory, args.tickets, floor, per_call)
    bench_dashboard("SQLite", sqlite, args.tickets, floor, per_call)


@contextmanager
def memory() -> Iterator[Storage]:
    yield InMemoryStorage()


@contextmanager
def sqlite() -> Iterator[Storage]:
    with tempfile.TemporaryDirectory() as folder:
        storage = SqlAlchemyStorage.sqlite(Path(folder) / "bench.sqlite3")
        storage.create_schema()
        try:
            yield storage
        finally:
            storage.close()


if __name__ == "__main__":
    main()
