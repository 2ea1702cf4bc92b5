import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from ticketdomain.core.errors import ConcurrencyError
from ticketdomain.ports.storage import Storage
from ticketdomain.testing.contracts import StorageContract, a_quota
from ticketdomain_sqlalchemy import VERSION_TABLE, SqlAlchemyStorage, metadata


@pytest.fixture(scope="module")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file with the schema, created once and copied for each test (faster)."""
    path = tmp_path_factory.mktemp("sqlite") / "empty.db"
    storage = SqlAlchemyStorage.sqlite(path)
    storage.create_schema()
    storage.close()  # the last connection out checkpoints the WAL into the file
    return path


class TestSqliteStorage(StorageContract):
    detects_stale_versions = True

    def make_storage(self) -> Storage:
        path = self.tmp_path / "ticketdomain.db"
        shutil.copyfile(self.request.getfixturevalue("empty_database"), path)
        self.sqlite = SqlAlchemyStorage.sqlite(path)
        return self.sqlite

    def cleanup_storage(self) -> None:
        self.sqlite.close()


# What the contract cannot say about this adapter in particular.


def test_the_embedded_database_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    storage = SqlAlchemyStorage.sqlite(tmp_path / "td.db", busy_timeout=7)
    storage.create_schema()
    with storage.unit_of_work() as uow:
        pragma = uow.session.execute
        assert pragma(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert pragma(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert pragma(text("PRAGMA busy_timeout")).scalar_one() == 7000
    storage.close()


def test_tables_are_prefixed_and_no_domain_class_is_mapped(tmp_path: Path) -> None:
    storage = SqlAlchemyStorage.sqlite(tmp_path / "td.db")
    storage.create_schema()
    names = inspect(storage.engine).get_table_names()
    assert names and all(name.startswith("td_") for name in names)
    assert set(names) == {*metadata.tables, VERSION_TABLE}
    storage.drop_schema()
    assert inspect(storage.engine).get_table_names() == []
    storage.close()


@pytest.mark.parametrize("own_engine", [False, True], ids=["sqlite()", "host engine"])
def test_a_unit_of_work_holds_the_write_lock_from_its_first_statement(
    tmp_path: Path, own_engine: bool
) -> None:
    path = tmp_path / "td.db"
    if own_engine:
        storage = SqlAlchemyStorage(create_engine(f"sqlite:///{path}"))
    else:
        storage = SqlAlchemyStorage.sqlite(path)
    storage.create_schema()
    with storage.unit_of_work() as uow:
        uow.quotas.get("quota-agencies")  # a read starts BEGIN IMMEDIATE
        other = sqlite3.connect(path, timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    storage.engine.dispose()


def test_a_writer_kept_waiting_too_long_gets_a_concurrency_error(tmp_path: Path) -> None:
    path = tmp_path / "td.db"
    storage = SqlAlchemyStorage.sqlite(path, busy_timeout=0.05)
    storage.create_schema()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError) as refused:
        uow.quotas.add(a_quota())
    assert isinstance(refused.value.__cause__, Exception)
    blocker.execute("ROLLBACK")
    blocker.close()
    storage.close()


def test_a_host_session_factory_is_used(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    opened: list[Session] = []

    class HostSession(Session):
        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            opened.append(self)

    storage = SqlAlchemyStorage(engine, session_factory=sessionmaker(engine, class_=HostSession))
    storage.create_schema()
    with storage.unit_of_work() as uow:
        uow.quotas.add(a_quota())
        uow.commit()
    with storage.unit_of_work() as uow:
        assert uow.quotas.get("quota-agencies") == a_quota()
    assert len(opened) == 2
    with engine.connect() as connection:
        stored = connection.execute(select(metadata.tables["td_quotas"].c.capacity)).scalar_one()
    assert stored == a_quota().capacity
    engine.dispose()


def test_naive_datetimes_are_refused(tmp_path: Path) -> None:
    storage = SqlAlchemyStorage.sqlite(tmp_path / "td.db")
    storage.create_schema()
    with storage.unit_of_work() as uow:
        statement = (
            metadata.tables["td_outbox"]
            .insert()
            .values(
                message_id="m",
                recipient="a@b.ch",
                subject="s",
                body="b",
                attempts=0,
                queued_at=datetime(2026, 1, 1),
            )
        )
        with pytest.raises(Exception, match="aware"):
            uow.session.execute(statement)
        at = datetime(2026, 1, 1, tzinfo=UTC)
        aware = statement.values(queued_at=at, due_at=at, state="queued")
        uow.session.execute(aware)
    storage.close()
