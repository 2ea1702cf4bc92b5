"""The dashboard and the stock view are computed by aggregate queries: on SQLite they run the
same statements whatever the number of tickets, and read the tickets table only through one
GROUP BY, never row by row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from support.corporate import Corporate, set_up_corporate
from ticketdomain import (
    DistributeToMember,
    DistributeToSubStructure,
    PrintAtOnce,
    ViewDashboard,
    ViewStock,
)
from ticketdomain.services.commands import ContactDetails
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage


@contextmanager
def statements(storage: SqlAlchemyStorage) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_: Any, __: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(storage.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(storage.engine, "before_cursor_execute", record)


def corporate_with(tmp_path: Path, tickets: int) -> tuple[SqlAlchemyStorage, Corporate]:
    storage = SqlAlchemyStorage.sqlite(tmp_path / f"{tickets}.sqlite3")
    storage.create_schema()
    corporate = set_up_corporate(build_fake_world(storage))
    d = corporate.world.domain
    corporate.buy(tickets)
    n = tickets // 5
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(
            corporate.nina, corporate.performance_id, corporate.product_id, n, corporate.club_id
        )
    )
    d.distribution.distribute_to_member(
        DistributeToMember(
            corporate.nina,
            corporate.performance_id,
            corporate.product_id,
            n,
            member=ContactDetails("Lea", "Blanc", "lea@nestor.ch"),
        )
    )
    d.distribution.print_at_once(
        PrintAtOnce(corporate.nina, corporate.performance_id, corporate.product_id, n)
    )
    return storage, corporate


VIEWS: dict[str, Callable[[Corporate], object]] = {
    "dashboard": lambda c: c.world.domain.distribution.view_dashboard(ViewDashboard(c.nina)),
    "stock": lambda c: c.world.domain.distribution.view_stock(ViewStock(c.nina)),
    "club's dashboard": lambda c: c.world.domain.distribution.view_dashboard(
        ViewDashboard(c.nina, c.club_id)
    ),
}


@pytest.mark.parametrize("view", list(VIEWS.values()), ids=list(VIEWS))
def test_the_same_statements_count_ten_or_two_hundred_tickets(
    tmp_path: Path, view: Callable[[Corporate], object]
) -> None:
    runs = []
    for tickets in (10, 200):
        storage, corporate = corporate_with(tmp_path, tickets)
        try:
            with statements(storage) as seen:
                view(corporate)
        finally:
            storage.close()
        runs.append(seen)
    small, large = runs
    assert small == large
    on_tickets = [s for s in large if "td_tickets" in s]
    assert len(on_tickets) == 1
    assert "GROUP BY" in on_tickets[0] and "count(" in on_tickets[0]
    assert not any("td_barcodes" in s for s in large)
