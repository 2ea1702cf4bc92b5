"""Racing units of work on one database, each with its own engine as separate processes
would: a SQLite file, and PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it)."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from ticketdomain import TicketDomain
from ticketdomain.core.errors import ConcurrencyError
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_system import SecretsBarcodeGenerator, SecretsTokenGenerator, UuidIdGenerator

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
    # Each seller has its own engine, ids and tokens: nothing shared but the database (and the
    # world's fakes and security policy, so the sessions opened there hold here too).
    return TicketDomain(
        storage=storage,
        clock=world.clock,
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=world.payments,
        documents=world.documents,
        renderer=world.renderer,
        mailer=world.mailer,
        passwords=world.passwords,
        tokens=SecretsTokenGenerator(),
        security=world.domain.adapters.security,
    )


def new_world(new_storage: StorageFactory) -> FakeWorld:
    storage = new_storage()
    storage.create_schema()
    world = build_fake_world(storage)
    world.domain = seller(world, storage)
    return world


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
