"""The SQLAlchemy adapter's own cost on the hot paths (issue 10): once warm, an order and a
scan build no SQL statement (each is built once, with bind parameters, and found compiled in
SQLAlchemy's cache) and open no ORM session (a unit of work runs on a Core connection).
Besides, the unit of work's ``session`` still works for a host: it shares the unit of work's
transaction, committed by ``commit`` and rolled back on leaving the block without it.

Runs on a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import coercions

from support.corporate import set_up_corporate
from support.race import StorageFactory, new_storage, new_world
from ticketdomain import PrintAtOnce, ScanTicket, ViewOrder
from ticketdomain.testing.contracts import a_quota
from ticketdomain_sqlalchemy import SqlAlchemyStorage, metadata

__all__ = ["new_storage"]  # the fixture, imported for pytest

QUOTAS = metadata.tables["td_quotas"]


def built_and_opened(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object]) -> list[int]:
    """How many clauses SQLAlchemy coerced (what building a statement does, never executing
    a built one) and how many ORM sessions were opened while ``action`` ran."""
    counts = [0, 0]
    expect, session_init = coercions.expect, Session.__init__

    def counted_expect(*args: Any, **kw: Any) -> Any:
        counts[0] += 1
        return expect(*args, **kw)

    def counted_init(self: Session, *args: Any, **kw: Any) -> None:
        counts[1] += 1
        session_init(self, *args, **kw)

    with monkeypatch.context() as patch:
        patch.setattr(coercions, "expect", counted_expect)
        patch.setattr(Session, "__init__", counted_init)
        action()
    return counts


def test_a_warm_order_and_scan_build_no_statement_and_open_no_session(
    new_storage: StorageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = set_up_corporate(new_world(new_storage), capacity=100)
    d = c.world.domain
    order = c.buy(3)
    d.distribution.print_at_once(PrintAtOnce(c.nina, c.performance_id, c.product_id, 3))
    tickets = d.sales.view_order(ViewOrder(c.nina, order.id)).tickets
    first, second, third = sorted(t.barcode for t in tickets if t.barcode is not None)

    c.buy(4)  # warm: the first call of a process builds what is built once
    assert built_and_opened(monkeypatch, lambda: c.buy(4)) == [0, 0]

    def scan(barcode: str) -> None:
        assert d.access.scan_ticket(ScanTicket(c.gate, c.performance_id, barcode)).accepted

    scan(first)
    scan(second)
    assert built_and_opened(monkeypatch, lambda: scan(third)) == [0, 0]


def stored_quotas(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(QUOTAS)).scalar_one())


@pytest.fixture(params=["connection", "host session"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> SqlAlchemyStorage:
    if request.param == "connection":
        made = SqlAlchemyStorage.sqlite(tmp_path / "td.db")
    else:
        engine = create_engine(f"sqlite:///{tmp_path / 'td.db'}")
        made = SqlAlchemyStorage(engine, session_factory=sessionmaker(engine))
    made.create_schema()
    request.addfinalizer(made.engine.dispose)
    return made


def test_the_session_shares_the_unit_of_works_transaction(storage: SqlAlchemyStorage) -> None:
    count = select(func.count()).select_from(QUOTAS)
    with storage.unit_of_work() as uow:
        uow.quotas.add(a_quota())
        assert uow.session.execute(count).scalar_one() == 1  # the same transaction
    assert stored_quotas(storage.engine) == 0  # left without commit: rolled back
    with storage.unit_of_work() as uow:
        uow.session.execute(QUOTAS.delete())
        uow.quotas.add(a_quota())
        uow.commit()
    assert stored_quotas(storage.engine) == 1
    with storage.unit_of_work() as uow:
        uow.session.execute(QUOTAS.delete())
        uow.rollback()
        assert uow.quotas.get(a_quota().id) == a_quota()


def test_a_unit_of_work_goes_on_after_a_commit(storage: SqlAlchemyStorage) -> None:
    with storage.unit_of_work() as uow:
        uow.quotas.add(a_quota())
        uow.commit()
        uow.quotas.add(a_quota(id="quota-second"))
        # Left without a second commit: only the second quota is rolled back.
    assert stored_quotas(storage.engine) == 1
    with storage.unit_of_work() as uow:
        assert uow.quotas.get("quota-second") is None
        uow.quotas.add(a_quota(id="quota-second"))
        uow.commit()
        uow.quotas.add(a_quota(id="quota-third"))
        uow.commit()
    assert stored_quotas(storage.engine) == 3


def test_a_unit_of_work_is_used_inside_its_block_only(storage: SqlAlchemyStorage) -> None:
    uow = storage.unit_of_work()
    for use in (lambda: uow.session, uow.commit, uow.rollback, lambda: uow.quotas.get("q")):
        with pytest.raises(RuntimeError, match="with"):
            use()
    with uow, pytest.raises(RuntimeError, match="already in use"), uow:
        pass
