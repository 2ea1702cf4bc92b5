"""SQLAlchemy storage for ticketdomain: SQLite (the embedded default) or PostgreSQL.

The tables are SQLAlchemy Core tables on this package's own :data:`metadata` (names prefixed
``td_``); domain classes are never mapped, rows are converted explicitly.

Schema migrations ship with the package (Alembic scripts in ``ticketdomain_sqlalchemy/migrations``,
configured in code: no ``alembic.ini``). A host upgrades at each deployment, before serving::

    storage = SqlAlchemyStorage(engine)
    storage.upgrade()  # creates the tables, or applies the revisions it has not seen yet

The revision reached is recorded in the table ``td_alembic_version`` (:data:`VERSION_TABLE`), so
it never collides with the host's own ``alembic_version``; a host running its own Alembic
environment on the same database should leave the ``td_`` tables out of its autogenerate.
:func:`alembic_config` gives the configuration for any other ``alembic.command`` (``current``,
``history``, ``downgrade``, ``upgrade(..., sql=True)`` for a DBA to review).
:meth:`SqlAlchemyStorage.create_schema` is the quick way for tests and the embedded default.
"""

from ticketdomain_sqlalchemy._migrations import VERSION_TABLE, alembic_config
from ticketdomain_sqlalchemy._schema import metadata
from ticketdomain_sqlalchemy._storage import (
    DEFAULT_BUSY_TIMEOUT,
    SqlAlchemyStorage,
    SqlAlchemyUnitOfWork,
    configure_sqlite,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "VERSION_TABLE",
    "SqlAlchemyStorage",
    "SqlAlchemyUnitOfWork",
    "alembic_config",
    "configure_sqlite",
    "metadata",
]
