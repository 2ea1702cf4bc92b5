"""Time zones: organizations and performances keep their IANA zone beside the UTC instants.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A performance's start stays stored in UTC; its venue's zone (``Europe/Zurich``) is kept in a
``time_zone`` column beside it, so the start reads back as the wall-clock time people were
given, on the nights the clocks change too. An organization keeps the zone its venues have by
default. Rows written before this revision were read back in UTC: they get ``UTC``, which
shows them as before.

The columns are added nullable, filled, then made ``NOT NULL``. On SQLite the tables are rebuilt
(``recreate="always"``) rather than altered, as in ``0003``: ``ADD COLUMN`` would leave the
stored ``CREATE TABLE`` unlike the one ``create_schema()`` writes. PostgreSQL gets ``ALTER
TABLE``.

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("td_organizations", "td_performances")
_COLUMN = "time_zone"


def _type() -> sa.String:
    return sa.String(length=64)


def _recreate() -> Literal["always", "auto"]:
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None, recreate=_recreate()) as batch_op:
            batch_op.add_column(sa.Column(_COLUMN, _type(), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET {_COLUMN} = 'UTC' WHERE {_COLUMN} IS NULL"))
        with op.batch_alter_table(table, schema=None, recreate=_recreate()) as batch_op:
            batch_op.alter_column(_COLUMN, existing_type=_type(), nullable=False)


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(_COLUMN)
