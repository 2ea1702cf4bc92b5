"""The card refund a cancelled order owes, stored with the cancellation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

An order cancelled after being paid by card owes its total back to the card: ``refund_state``
is ``due`` from the commit of the cancellation until the payment provider accepted the refund,
then ``refunded`` with the provider's reference and the time (``refund_reference``,
``refunded_at``); the amount and the provider's idempotency key (``cancel-<order id>``) are
kept beside them. An order that owes no refund has all of them null.

Before this revision a refund that failed after the cancellation committed was only reported to
the caller. Every cancelled card order therefore becomes ``due`` here: retrying it under the
same key returns the refund already made, when there was one (the payment port's contract: the
same key never refunds twice), and makes the one that was lost.

Downgrading drops the columns, and with them what is still due: run the refunds due before.

On SQLite the table is rebuilt (``recreate="always"``) rather than altered, as in ``0003``;
foreign keys are off meanwhile, so the order lines stay. PostgreSQL gets ``ALTER TABLE``.

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "td_orders"
_INDEX = ("ix_td_orders_refund_state_cancelled_at_id", ["refund_state", "cancelled_at", "id"])


def _text() -> sa.types.TypeEngine[str]:
    # Byte order on PostgreSQL, as on SQLite, so ids and names sort the same everywhere.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("refund_state", sa.String(length=40), nullable=True),
        sa.Column("refund_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("refund_currency", sa.String(length=3), nullable=True),
        sa.Column("refund_key", _text(), nullable=True),
        sa.Column("refund_reference", _text(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
    ]


def _recreate() -> Literal["always", "auto"]:
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


# The order's total: its lines, each a whole number of places at a price to the cent.
_TOTAL = (
    "(SELECT SUM(l.quantity * l.unit_price_amount) FROM td_order_lines l"
    f" WHERE l.order_id = {_TABLE}.id)"
)


def upgrade() -> None:
    with op.batch_alter_table(_TABLE, schema=None, recreate=_recreate()) as batch_op:
        for column in _columns():
            batch_op.add_column(column)
    op.execute(
        f"UPDATE {_TABLE} SET refund_state = 'due', refund_amount = {_TOTAL},"
        " refund_currency = currency, refund_key = 'cancel-' || id"
        " WHERE state = 'cancelled' AND payment_method = 'card'"
        f" AND payment_reference IS NOT NULL AND {_TOTAL} > 0"
    )
    op.create_index(_INDEX[0], _TABLE, _INDEX[1], unique=False)


def downgrade() -> None:
    op.drop_index(_INDEX[0], table_name=_TABLE)
    with op.batch_alter_table(_TABLE, schema=None) as batch_op:
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
