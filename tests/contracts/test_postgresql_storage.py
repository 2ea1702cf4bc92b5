"""The storage contract on PostgreSQL: set TICKETDOMAIN_TEST_PG_URL (CI does).

The tables are created once, in a schema of their own that is dropped at the end; each test
starts from empty tables.
"""

import os
import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine

from ticketdomain.ports.storage import Storage
from ticketdomain.testing.contracts import StorageContract
from ticketdomain_sqlalchemy import SqlAlchemyStorage, metadata

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")

if not PG_URL:
    # One skip for the module rather than one line per contract test.
    pytest.skip(
        "set TICKETDOMAIN_TEST_PG_URL to run the PostgreSQL contract tests",
        allow_module_level=True,
    )

pytestmark = pytest.mark.postgresql


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    assert PG_URL is not None
    schema = f"td_test_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(
        PG_URL,
        # Durability is not under test: commits need not wait for the disk.
        connect_args={"options": f"-c search_path={schema} -c synchronous_commit=off"},
        pool_size=12,
    )
    try:
        SqlAlchemyStorage(engine).create_schema()
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


class TestPostgresqlStorage(StorageContract):
    detects_stale_versions = True

    def make_storage(self) -> Storage:
        self.engine: Engine = self.request.getfixturevalue("pg_engine")
        return SqlAlchemyStorage(self.engine)

    def cleanup_storage(self) -> None:
        # DELETE, not TRUNCATE: on a few rows it is much faster; one round trip for all tables.
        tables = reversed(metadata.sorted_tables)
        with self.engine.begin() as connection:
            connection.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in tables))
