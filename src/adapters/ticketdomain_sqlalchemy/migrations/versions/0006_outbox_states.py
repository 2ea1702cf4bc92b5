"""The outbox's states, due times, leases and institutions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

A queued message now has a state (``queued``, ``sending``, ``sent``, ``failed``), the time it is
next due, the dispatcher claiming it and until when (its lease), and the institution it is sent
for. Existing rows become ``sent`` when they have a ``sent_at``, ``queued`` otherwise, due at
their ``queued_at``, of no institution (only the host sees such mail when it fails). The index
on ``sent_at`` gives way to those serving the claim and the listing of failed mail.

The columns are added nullable, filled, then made ``NOT NULL`` where the schema says so. On
SQLite the table is rebuilt (``recreate="always"``) rather than altered, as in ``0003``:
``ADD COLUMN`` would leave the stored ``CREATE TABLE`` unlike the one ``create_schema()``
writes; foreign keys are off meanwhile, so the attachments stay. PostgreSQL gets ``ALTER
TABLE``.

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "td_outbox"
_OLD_INDEX = ("ix_td_outbox_sent_at_queued_at_message_id", ["sent_at", "queued_at", "message_id"])
_INDEXES = (
    (
        "ix_td_outbox_state_due_at_queued_at_message_id",
        ["state", "due_at", "queued_at", "message_id"],
    ),
    ("ix_td_outbox_state_lease_until", ["state", "lease_until"]),
    ("ix_td_outbox_institution_id_state_queued_at", ["institution_id", "state", "queued_at"]),
)


def _text() -> sa.types.TypeEngine[str]:
    # Byte order on PostgreSQL, as on SQLite, so ids and names sort the same everywhere.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("state", sa.String(length=40), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", _text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("institution_id", _text(), nullable=True),
    ]


def _recreate() -> Literal["always", "auto"]:
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    op.drop_index(_OLD_INDEX[0], table_name=_TABLE)
    with op.batch_alter_table(_TABLE, schema=None, recreate=_recreate()) as batch_op:
        for column in _columns():
            batch_op.add_column(column)
    op.execute(
        f"UPDATE {_TABLE} SET due_at = queued_at, "
        "state = CASE WHEN sent_at IS NULL THEN 'queued' ELSE 'sent' END"
    )
    with op.batch_alter_table(_TABLE, schema=None, recreate=_recreate()) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("due_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    for name, columns in _INDEXES:
        op.create_index(name, _TABLE, columns, unique=False)


def downgrade() -> None:
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=_TABLE)
    # A message given up for good or being sent is pending again for the older dispatcher.
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
    op.create_index(_OLD_INDEX[0], _TABLE, _OLD_INDEX[1], unique=False)
