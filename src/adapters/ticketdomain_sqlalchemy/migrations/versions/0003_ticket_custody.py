"""Tickets of the corporate space: beneficiary, control, and indexes for custody queries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

A ticket keeps the final beneficiary's name printed on it and when and at which gate it was
controlled (three nullable columns: existing tickets have none yet). Two indexes serve the
queries of distribution: a structure's stock and what it distributed (``in_custody``,
``custody_counts``), and the individuals holding an organization's tickets
(``holder_counts``); they are named by hand, the naming convention's names would pass
PostgreSQL's 63 characters.

On SQLite the table is rebuilt (``recreate="always"``) rather than altered: ``ADD COLUMN``
would write the columns after the primary key in the stored ``CREATE TABLE``, unlike the
tables ``create_schema()`` makes. ``upgrade()`` turns foreign keys off meanwhile, so the rebuild
keeps the barcodes (``ON DELETE CASCADE``). PostgreSQL gets plain ``ALTER TABLE``.

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text() -> sa.types.TypeEngine[str]:
    # Byte order on PostgreSQL, as on SQLite, so ids and names sort the same everywhere.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


_COLUMNS = (
    ("beneficiary", _text()),
    ("controlled_at", sa.DateTime(timezone=True)),
    ("controlled_gate", _text()),
)

_INDEXES = (
    (
        "ix_td_tickets_custody",
        ["organization_id", "stock_structure_id", "state", "performance_id", "product_id"],
    ),
    ("ix_td_tickets_holders", ["organization_id", "performance_id", "holder_id"]),
)


def _recreate() -> Literal["always", "auto"]:
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table("td_tickets", schema=None, recreate=_recreate()) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    for name, columns in _INDEXES:
        op.create_index(name, "td_tickets", columns, unique=False)


def downgrade() -> None:
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name="td_tickets")
    with op.batch_alter_table("td_tickets", schema=None) as batch_op:
        for name, _type in reversed(_COLUMNS):
            batch_op.drop_column(name)
