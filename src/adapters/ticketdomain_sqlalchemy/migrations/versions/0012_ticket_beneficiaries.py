"""Who will attend: a printed ticket's beneficiary email and consent.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

A member printing a ticket for someone else may give that person's email and whether they
agree to hear from the organization (asked apart from the member's own consent): two columns
of ``td_tickets``, ``beneficiary_email`` (nullable: tickets printed before have none) and
``beneficiary_consent`` (false for every ticket printed before, a server default).

On SQLite the table is rebuilt (``recreate="always"``) rather than altered, as in ``0003``.
Rebuilding drops the table's triggers (revision ``0009``'s counters of places sold): their SQL
is read from ``sqlite_master`` before and run again after, unchanged, so they stay exactly as
``create_schema()`` makes them. PostgreSQL gets plain ``ALTER TABLE`` (its triggers stay).

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``.
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "td_tickets"


def _text() -> sa.types.TypeEngine[str]:
    # Byte order on PostgreSQL, as on SQLite, so ids and names sort the same everywhere.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _recreate() -> Literal["always", "auto"]:
    return "always" if _sqlite() else "auto"


def _sqlite_triggers() -> list[str]:
    """The SQL of the table's triggers on SQLite (none elsewhere: PostgreSQL keeps them)."""
    if not _sqlite():
        return []
    rows = op.get_bind().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY name",
        (_TABLE,),
    )
    return [row[0] for row in rows]


def upgrade() -> None:
    triggers = _sqlite_triggers()
    with op.batch_alter_table(_TABLE, schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(sa.Column("beneficiary_email", _text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "beneficiary_consent", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    triggers = _sqlite_triggers()
    with op.batch_alter_table(_TABLE, schema=None, recreate=_recreate()) as batch_op:
        batch_op.drop_column("beneficiary_consent")
        batch_op.drop_column("beneficiary_email")
    for statement in triggers:
        op.execute(statement)
