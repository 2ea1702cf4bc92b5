"""Many sellers at once on one database, each with its own engine as separate processes would:
a quota is never oversold and a capped holding account never goes over its limit.

Runs on a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it)."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from support.agency import Agency, chf, set_up_agency
from ticketdomain import (
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    SetCreditLimit,
    TicketDomain,
    ViewCatalog,
    ViewHoldingAccount,
)
from ticketdomain.core.errors import (
    ConcurrencyError,
    CreditLimitExceededError,
    QuotaExhaustedError,
)
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_system import SecretsBarcodeGenerator, UuidIdGenerator

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")
SELLERS = 6

StorageFactory = Callable[[], SqlAlchemyStorage]


@pytest.fixture(params=["sqlite", "postgresql"])
def new_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageFactory]:
    made: list[SqlAlchemyStorage] = []
    if request.param == "sqlite":
        path = tmp_path / "shared.sqlite3"

        def make() -> SqlAlchemyStorage:
            made.append(SqlAlchemyStorage.sqlite(path))
            return made[-1]

        yield make
    else:
        if not PG_URL:
            pytest.skip("set TICKETDOMAIN_TEST_PG_URL to run the PostgreSQL concurrency tests")
        schema = f"td_race_{secrets.token_hex(6)}"
        admin = create_engine(PG_URL)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

        def make() -> SqlAlchemyStorage:
            engine = create_engine(PG_URL, connect_args={"options": f"-c search_path={schema}"})
            made.append(SqlAlchemyStorage(engine))
            return made[-1]

        try:
            yield make
        finally:
            for storage in made:
                storage.engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
        return
    for storage in made:
        storage.close()


def seller(world: FakeWorld, storage: SqlAlchemyStorage) -> TicketDomain:
    # Each seller has its own engine and ids: nothing shared but the database.
    return TicketDomain(
        storage=storage,
        clock=world.clock,
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=world.payments,
        documents=world.documents,
        renderer=world.renderer,
        mailer=world.mailer,
    )


def set_up(new_storage: StorageFactory) -> tuple[FakeWorld, Agency]:
    storage = new_storage()
    storage.create_schema()
    world = build_fake_world(storage)
    world.domain = seller(world, storage)
    return world, set_up_agency(world)


def race(sellers: list[TicketDomain], attempt: Callable[[TicketDomain], bool]) -> int:
    """Every seller keeps selling until refused; returns how many sales were accepted."""
    accepted = 0
    lock = threading.Lock()
    start = threading.Barrier(len(sellers))
    failures: list[BaseException] = []

    def run(domain: TicketDomain) -> None:
        nonlocal accepted
        start.wait()
        try:
            while True:
                try:
                    if not attempt(domain):
                        return
                except ConcurrencyError:
                    continue
                with lock:
                    accepted += 1
        except BaseException as error:  # surfaced below, with its traceback
            failures.append(error)

    threads = [threading.Thread(target=run, args=(d,)) for d in sellers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return accepted


def test_concurrent_sellers_never_oversell_a_quota(new_storage: StorageFactory) -> None:
    world, agency = set_up(new_storage)
    sellers = [seller(world, new_storage()) for _ in range(SELLERS)]
    sessions = [agency.alice, agency.bob, agency.carol]

    def buy_two(domain: TicketDomain) -> bool:
        try:
            domain.sales.place_order(
                PlaceOrder(
                    sessions[id(domain) % 3],
                    (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
                    PaymentMethod.HOLDING_ACCOUNT,
                )
            )
        except QuotaExhaustedError:
            return False
        return True

    accepted = race(sellers, buy_two)
    assert accepted == 10  # the sales point quota of 20 places, two at a time, to the last one
    catalog = world.domain.sales.view_catalog(ViewCatalog(agency.alice))
    assert {e.available for e in catalog.entries if e.performance_id == agency.performance_id} == {
        0
    }


def test_concurrent_orders_on_account_never_pass_the_credit_limit(
    new_storage: StorageFactory,
) -> None:
    world, agency = set_up(new_storage)
    world.domain.accounts.set_credit_limit(
        SetCreditLimit(agency.operator, agency.hotel_id, chf("650.00"))
    )
    sellers = [seller(world, new_storage()) for _ in range(SELLERS)]

    def buy_one(domain: TicketDomain) -> bool:
        try:
            domain.sales.place_order(
                PlaceOrder(
                    agency.bob,
                    (LineRequest(agency.later_performance_id, agency.agency_tariff_id, 1),),
                    PaymentMethod.HOLDING_ACCOUNT,
                )
            )
        except CreditLimitExceededError:
            return False
        return True

    assert race(sellers, buy_one) == 10  # 10 x 65.00 = 650.00
    account = world.domain.accounts.view_holding_account(
        ViewHoldingAccount(agency.operator, agency.hotel_id)
    )
    assert account.outstanding == chf("650.00")
