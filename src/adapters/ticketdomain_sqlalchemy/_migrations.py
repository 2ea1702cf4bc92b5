"""Versioned schema changes: Alembic, configured in code, on the storage's own engine.

The migration scripts ship inside the package (``migrations/``), so no ``alembic.ini`` is needed
at run time; the revision reached is kept in :data:`VERSION_TABLE`, apart from the host's own
``alembic_version``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, text

from ticketdomain_sqlalchemy._schema import metadata

#: the table where Alembic records the revision of the ``td_`` tables
VERSION_TABLE = "td_alembic_version"

_SCRIPT_LOCATION = Path(__file__).with_name("migrations")

# What create_schema() built before migrations were shipped: the tables of revision 0001.
_INITIAL_REVISION = "0001"

# Any fixed key: PostgreSQL serializes on it the migrations of every process of a deployment.
_PG_LOCK_KEY = 0x74645F6D69677261  # "td_migra"

# Alembic's ``op`` and ``context`` are module-level proxies: two migrations running at once in
# one process, even on different databases, would send their operations to each other's
# connection. This lock is the only state kept here, and it guards Alembic's.
_ONE_AT_A_TIME_IN_THIS_PROCESS = threading.Lock()


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the ``td_`` tables, to use with ``alembic.command``.

    Given a ``connection``, the migration environment runs on it (inside its transaction);
    without one only offline (``sql=True``) commands work, for the dialect named by the
    ``sqlalchemy.url`` main option. Commands run this way do without the locks and the SQLite
    foreign key switch of :meth:`SqlAlchemyStorage.upgrade`, which is the way to migrate.
    """
    config = Config()
    # Config values are %-interpolated.
    config.set_main_option("script_location", str(_SCRIPT_LOCATION).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _pragma(connection: Connection, pragma: str) -> None:
    # On the driver connection: a SQLAlchemy statement would begin a transaction first.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that alone may change the schema until it ends.

    One migration at a time in this process, whatever its database. PostgreSQL: an advisory
    transaction lock, taken at READ COMMITTED so that the statements after the wait see what
    the previous holder committed: a process starting with another one waits, then finds the
    tables at head. SQLite: the storage's ``BEGIN IMMEDIATE`` already serializes writers.
    Foreign keys are off meanwhile (SQLite switches them outside transactions only): a batch
    migration rebuilds a table by dropping it, and with foreign keys on, that drop deletes the
    rows of every child table declared ``ON DELETE CASCADE``. ``PRAGMA foreign_key_check``
    runs before the commit instead.
    """
    with _ONE_AT_A_TIME_IN_THIS_PROCESS, engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.execution_options(isolation_level="READ COMMITTED")
        if dialect == "sqlite":
            _pragma(connection, "foreign_keys = OFF")
        try:
            with connection.begin():
                if dialect == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                    )
                yield connection
                if dialect == "sqlite":
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(
                            f"The migration left a row of {broken[0]} without its parent."
                        )
        finally:
            if dialect == "sqlite":
                _pragma(connection, "foreign_keys = ON")


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config(connection)
    names = inspect(connection).get_table_names()
    if VERSION_TABLE not in names and any(name.startswith("td_") for name in names):
        # Tables made by create_schema() of a release without migrations: they are 0001.
        command.stamp(config, _INITIAL_REVISION)
    command.upgrade(config, revision)


def upgrade(engine: Engine, revision: str) -> None:
    with migrating(engine) as connection:
        _upgrade(connection, revision)


def create_schema(engine: Engine) -> None:
    with migrating(engine) as connection:
        names = set(inspect(connection).get_table_names())
        if names.isdisjoint({*metadata.tables, VERSION_TABLE}):
            # An empty database gets the current tables in one go, marked as at head (Alembic's
            # "building an up to date database from scratch"), rather than upgrade(): half the
            # time on SQLite today, and it does not grow slower with every revision added as
            # replaying them all would. The migrations test proves both give the same tables.
            metadata.create_all(connection)
            command.stamp(alembic_config(connection), "head")
        else:
            _upgrade(connection, "head")
