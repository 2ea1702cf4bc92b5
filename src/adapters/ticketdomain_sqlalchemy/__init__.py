"""SQLAlchemy storage for ticketdomain: SQLite (the embedded default) or PostgreSQL.

The tables are SQLAlchemy Core tables on this package's own :data:`metadata` (names prefixed
``td_``, so a host can migrate them with its own Alembic environment); domain classes are never
mapped, rows are converted explicitly.
"""

from ticketdomain_sqlalchemy._schema import metadata
from ticketdomain_sqlalchemy._storage import (
    DEFAULT_BUSY_TIMEOUT,
    SqlAlchemyStorage,
    SqlAlchemyUnitOfWork,
    configure_sqlite,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "SqlAlchemyStorage",
    "SqlAlchemyUnitOfWork",
    "configure_sqlite",
    "metadata",
]
