"""Places sold per performance and sales point, kept by triggers on the tickets.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Availability counted a performance's tickets on every order, a cost that grew with history.
``td_places_sold`` keeps that count (tickets not cancelled, per performance and sales point),
and three triggers on ``td_tickets`` keep it exact: after an insert, after an update that
changes whether a ticket counts as sold or moves a sold ticket to another performance or sales
point (prints and scans fire nothing), and after a delete. On PostgreSQL the triggers call one
plpgsql function, ``td_places_sold_count()``.

The triggers are created before the table is filled from the tickets: on PostgreSQL creating a
trigger locks ``td_tickets`` against writes until the migration commits, so no ticket written
meanwhile is missed or counted twice (SQLite's migration holds its write lock throughout).
Filling reads every ticket once (seconds for a million). Downgrading drops the triggers, the
function and the table; nothing else reads them.

Self-contained: explicit names and SQL, nothing imported from ``_schema`` (which describes the
newest tables, not the ones of this revision); the SQL is the same text ``create_schema()``
runs, as the migrations test checks.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "td_places_sold"
_TRIGGERS = ["td_tickets_sold_insert", "td_tickets_sold_update", "td_tickets_sold_delete"]
_FUNCTION = "td_places_sold_count()"

_SOLD_CHANGED = (
    "(OLD.state = 'cancelled') <> (NEW.state = 'cancelled')"
    " OR (NEW.state <> 'cancelled' AND (OLD.performance_id <> NEW.performance_id"
    " OR OLD.sales_point_id <> NEW.sales_point_id))"
)
_ADD_ONE = (
    "INSERT INTO td_places_sold (performance_id, sales_point_id, sold) {source}"
    " ON CONFLICT (performance_id, sales_point_id) DO UPDATE SET sold = td_places_sold.sold + 1;"
)
_TAKE_ONE = (
    "UPDATE td_places_sold SET sold = sold - 1"
    " WHERE performance_id = OLD.performance_id AND sales_point_id = OLD.sales_point_id;"
)
_SQLITE = (
    "CREATE TRIGGER td_tickets_sold_insert AFTER INSERT ON td_tickets"
    " FOR EACH ROW WHEN NEW.state <> 'cancelled' BEGIN "
    + _ADD_ONE.format(source="VALUES (NEW.performance_id, NEW.sales_point_id, 1)")
    + " END",
    "CREATE TRIGGER td_tickets_sold_update"
    " AFTER UPDATE OF state, performance_id, sales_point_id ON td_tickets"
    f" FOR EACH ROW WHEN {_SOLD_CHANGED} BEGIN "
    + _TAKE_ONE.replace(" WHERE ", " WHERE OLD.state <> 'cancelled' AND ")
    + " "
    + _ADD_ONE.format(
        source="SELECT NEW.performance_id, NEW.sales_point_id, 1 WHERE NEW.state <> 'cancelled'"
    )
    + " END",
    "CREATE TRIGGER td_tickets_sold_delete AFTER DELETE ON td_tickets"
    " FOR EACH ROW WHEN OLD.state <> 'cancelled' BEGIN " + _TAKE_ONE + " END",
)
_POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION td_places_sold_count() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP <> 'INSERT' THEN IF OLD.state <> 'cancelled' THEN " + _TAKE_ONE + " END IF;"
    " END IF;"
    " IF TG_OP <> 'DELETE' THEN IF NEW.state <> 'cancelled' THEN "
    + _ADD_ONE.format(source="VALUES (NEW.performance_id, NEW.sales_point_id, 1)")
    + " END IF; END IF;"
    " RETURN NULL;"
    " END $$",
    "CREATE TRIGGER td_tickets_sold_insert AFTER INSERT ON td_tickets"
    " FOR EACH ROW WHEN (NEW.state <> 'cancelled') EXECUTE FUNCTION td_places_sold_count()",
    "CREATE TRIGGER td_tickets_sold_update"
    " AFTER UPDATE OF state, performance_id, sales_point_id ON td_tickets"
    f" FOR EACH ROW WHEN ({_SOLD_CHANGED}) EXECUTE FUNCTION td_places_sold_count()",
    "CREATE TRIGGER td_tickets_sold_delete AFTER DELETE ON td_tickets"
    " FOR EACH ROW WHEN (OLD.state <> 'cancelled') EXECUTE FUNCTION td_places_sold_count()",
)
_FILL = (
    "INSERT INTO td_places_sold (performance_id, sales_point_id, sold)"
    " SELECT performance_id, sales_point_id, COUNT(*) FROM td_tickets"
    " WHERE state <> 'cancelled' GROUP BY performance_id, sales_point_id"
)


def _text() -> sa.types.TypeEngine[str]:
    # Byte order on PostgreSQL, as on SQLite, so ids and names sort the same everywhere.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("performance_id", _text(), nullable=False),
        sa.Column("sales_point_id", _text(), nullable=False),
        sa.Column("sold", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("performance_id", "sales_point_id", name=op.f("pk_td_places_sold")),
    )
    for statement in _POSTGRESQL if _postgresql() else _SQLITE:
        op.execute(statement)
    op.execute(_FILL)


def downgrade() -> None:
    postgresql = _postgresql()
    for trigger in _TRIGGERS:
        op.execute(
            f"DROP TRIGGER {trigger} ON td_tickets" if postgresql else f"DROP TRIGGER {trigger}"
        )
    if postgresql:
        op.execute(f"DROP FUNCTION {_FUNCTION}")
    op.drop_table(_TABLE)
