"""The services run on every storage: in memory and on a SQLite file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support.agency import Agency, set_up_agency
from support.corporate import Corporate, set_up_corporate
from ticketdomain.ports.storage import Storage
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage


@pytest.fixture(scope="session")
def empty_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "empty.sqlite3"
    storage = SqlAlchemyStorage.sqlite(path)
    storage.create_schema()
    storage.close()
    return path


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path, empty_sqlite: Path) -> Storage:
    if request.param == "memory":
        return InMemoryStorage()
    path = tmp_path / "ticketdomain.sqlite3"
    shutil.copyfile(empty_sqlite, path)
    sqlite = SqlAlchemyStorage.sqlite(path)
    request.addfinalizer(sqlite.close)
    return sqlite


@pytest.fixture
def world(storage: Storage) -> FakeWorld:
    return build_fake_world(storage)


@pytest.fixture
def agency(world: FakeWorld) -> Agency:
    return set_up_agency(world)


@pytest.fixture
def corporate(world: FakeWorld) -> Corporate:
    return set_up_corporate(world)
