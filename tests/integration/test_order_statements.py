"""Placing an order of 4 tickets on the holding account sends a pinned number of statements
(issue 10), so that a change adding a query to this hot path fails here.

The 12: the relay's session with its individual, sales point, organization and catalog profile
(1) and every set of the sales point and of the profile (1); the performance locked with its
quotas (1); the tariff with its product (1); the places out per sales point, one aggregate (1);
the holding account locked with its open invoices (1), written back (1) with its ledger entry
(1); the order, its line, its tickets and their barcodes (4). A quota that applies on the sales
point adds its lock (1 each). No DELETE: a charge leaves the account's open invoices alone.

Counted as ``bench/hot_paths.py`` counts (``before_cursor_execute``, SQLite's ``BEGIN
IMMEDIATE`` left out). On a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from support.corporate import Corporate, set_up_corporate
from support.race import StorageFactory, new_storage, new_world
from ticketdomain import (
    CreateQuota,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    ProductConditions,
    SetCatalogProfile,
)

__all__ = ["new_storage"]  # the fixture, imported for pytest

#: statements of an order of 4 on the holding account, with a catalog profile, no quota
ORDER_STATEMENTS = 12


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = " ".join(str(args[2]).split())
        if not statement.upper().startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def shop(new_storage: StorageFactory) -> tuple[Corporate, Engine]:
    """The bench's shop: a works council buying on its holding account on a sales point with a
    catalog profile of its own; one order already placed (the account is open)."""
    world = new_world(new_storage)
    corp = set_up_corporate(world, capacity=1_000)
    world.domain.setup.set_catalog_profile(
        SetCatalogProfile(
            corp.operator,
            corp.organization_id,
            frozenset({corp.activity_id}),
            (ProductConditions(corp.product_id, max_per_order=10),),
            sales_point_id=corp.sales_point_id,
        )
    )
    corp.buy(4)
    engine = getattr(world.storage, "engine")  # noqa: B009 (a SqlAlchemyStorage)
    return corp, engine


def counted(engine: Engine, action: Callable[[], object]) -> list[str]:
    with statements(engine) as seen:
        action()
    return seen


def test_an_order_of_4_on_the_holding_account_sends_12_statements(
    new_storage: StorageFactory,
) -> None:
    corp, engine = shop(new_storage)
    seen = counted(engine, lambda: corp.buy(4))
    assert len(seen) == ORDER_STATEMENTS, "\n".join(seen)
    assert not [s for s in seen if s.upper().startswith("DELETE")]
    # Each row read once: the organization, the performance and the sales point's sets.
    assert sum("FROM td_organizations" in s for s in seen) == 0  # joined to the session
    assert sum(s.startswith("SELECT") and "td_performances" in s for s in seen) == 1


def test_the_count_stays_flat_with_history(new_storage: StorageFactory) -> None:
    corp, engine = shop(new_storage)
    first = counted(engine, lambda: corp.buy(4))
    for _ in range(10):
        corp.buy(4)
    assert len(counted(engine, lambda: corp.buy(4))) == len(first) == ORDER_STATEMENTS


def test_a_quota_that_applies_adds_its_lock_only(new_storage: StorageFactory) -> None:
    corp, engine = shop(new_storage)
    d = corp.world.domain
    with corp.world.storage.unit_of_work() as uow:
        point = uow.sales_points.get(corp.sales_point_id)
        assert point is not None
    d.setup.create_quota(
        CreateQuota(corp.operator, corp.performance_id, 500, channel_id=point.channel_id)
    )
    d.setup.create_quota(
        CreateQuota(corp.operator, corp.performance_id, 300, sales_point_id=corp.sales_point_id)
    )
    # A quota of another sales point is read with the performance, not locked.
    d.setup.create_quota(
        CreateQuota(
            corp.operator, corp.performance_id, 100, sales_point_id=corp.phone_sales_point_id
        )
    )
    seen = counted(engine, lambda: corp.buy(4))
    assert len(seen) == ORDER_STATEMENTS + 2, "\n".join(seen)


def test_an_order_over_two_performances_reads_each_once(new_storage: StorageFactory) -> None:
    corp, engine = shop(new_storage)

    def buy_both() -> object:
        return corp.world.domain.sales.place_order(
            PlaceOrder(
                corp.nina,
                (
                    LineRequest(corp.later_performance_id, corp.tariff_id, 2),
                    LineRequest(corp.performance_id, corp.tariff_id, 2),
                ),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )

    seen = counted(engine, buy_both)
    # Per more performance: its lock, its places out; per more line: its tariff.
    assert len(seen) == ORDER_STATEMENTS + 3, "\n".join(seen)
