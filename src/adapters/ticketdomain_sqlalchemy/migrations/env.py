"""The Alembic environment of the ``td_`` tables (see ``ticketdomain_sqlalchemy._migrations``).

Online, it runs on the connection handed over in ``config.attributes["connection"]``, inside that
connection's transaction; offline (``sql=True``) it writes the SQL for the dialect of the
``sqlalchemy.url`` option. It never configures logging: that is the host's business.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from ticketdomain_sqlalchemy._migrations import VERSION_TABLE
from ticketdomain_sqlalchemy._schema import metadata


def _include_name(name: str | None, type_: str, _parent: Any) -> bool:
    # A host's database holds other tables: autogenerate looks at ours only.
    return type_ != "table" or (name is not None and name.startswith("td_"))


_OPTIONS: dict[str, Any] = {
    "target_metadata": metadata,
    "version_table": VERSION_TABLE,
    "include_name": _include_name,
    "compare_type": True,
    "compare_server_default": True,
}

config = context.config

if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "Run the ticketdomain migrations with SqlAlchemyStorage.upgrade(), or with "
            "ticketdomain_sqlalchemy.alembic_config(connection) and alembic.command."
        )
    context.configure(
        connection=connection,
        # SQLite alters little in place: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        **_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()
