"""Holding accounts keep the running total of their ledger: ``balance`` and ``entry_count``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Loading an account for an order no longer reads its whole ledger: the account row carries the
sum of its entries and the sequence of the last one, written with every entry appended. The
ledger stays append-only and authoritative; the columns are filled from it here (0 for an account
without entries), then made NOT NULL (on SQLite, batch mode rebuilds the table for that).

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("balance_amount", sa.Numeric(14, 2)),
    ("balance_currency", sa.String(length=3)),
    ("entry_count", sa.Integer()),
)

# Every account, from its own ledger rows; ROUND keeps SQLite's floating sum to the cent.
_BACKFILL = """
UPDATE td_holding_accounts SET
    balance_amount = ROUND(COALESCE((
        SELECT SUM(e.amount_amount) FROM td_ledger_entries AS e
        WHERE e.account_id = td_holding_accounts.id
    ), 0), 2),
    balance_currency = currency,
    entry_count = COALESCE((
        SELECT MAX(e.sequence) FROM td_ledger_entries AS e
        WHERE e.account_id = td_holding_accounts.id
    ), 0)
"""


def upgrade() -> None:
    with op.batch_alter_table("td_holding_accounts", schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.execute(sa.text(_BACKFILL))
    with op.batch_alter_table("td_holding_accounts", schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.alter_column(name, existing_type=type_, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("td_holding_accounts", schema=None) as batch_op:
        for name, _type in reversed(_COLUMNS):
            batch_op.drop_column(name)
