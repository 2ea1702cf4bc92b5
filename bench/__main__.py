"""Time the main agency operations on each storage, as ratios against a floor measured in the same
run (an empty committed unit of work on the same storage), so numbers compare across machines.

    python -m bench [--orders N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.agency import Agency, set_up_agency
from ticketdomain import (
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


def per_call(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


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
    line = (LineRequest(agency.later_performance_id, agency.agency_tariff_id, 1),)

    def place() -> object:
        return d.sales.place_order(PlaceOrder(agency.alice, line, PaymentMethod.HOLDING_ACCOUNT))

    results = {
        "place_order (1 ticket)": per_call(place, orders),
        "view_catalog": per_call(lambda: d.sales.view_catalog(ViewCatalog(agency.alice)), 50),
        "view_holding_account": per_call(
            lambda: d.accounts.view_holding_account(
                ViewHoldingAccount(agency.operator, agency.hotel_id)
            ),
            20,
        ),
    }
    start = time.perf_counter()
    invoice = d.accounts.issue_invoice(IssueInvoice(agency.operator, agency.hotel_id))
    results[f"issue_invoice ({len(invoice.order_ids)} orders)"] = time.perf_counter() - start
    results["record_payment"] = per_call(
        lambda: d.accounts.record_payment(
            RecordPayment(agency.operator, agency.hotel_id, invoice.total, "bench")
        ),
        1,
    )
    print(f"\n{name}: floor (empty unit of work) {base * 1e6:.0f} µs")
    for label, seconds in results.items():
        print(f"  {label:<32} {seconds * 1e3:9.2f} ms  {seconds / base:9.1f} x floor")


def main() -> None:
    parser = argparse.ArgumentParser(description="ticketdomain benchmarks")
    parser.add_argument("--orders", type=int, default=90)
    args = parser.parse_args()
    bench("in-memory", InMemoryStorage(), args.orders)
    with tempfile.TemporaryDirectory() as folder:
        storage = SqlAlchemyStorage.sqlite(Path(folder) / "bench.sqlite3")
        storage.create_schema()
        bench("SQLite", storage, args.orders)


if __name__ == "__main__":
    main()
