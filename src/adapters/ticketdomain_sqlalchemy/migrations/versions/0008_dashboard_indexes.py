"""The custody index covers the dashboard's aggregate.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

``ix_td_tickets_custody`` (organization, stock structure, state, performance, product) gains the
buying structure and the holder as its last columns. A structure's dashboard and stock view
count its tickets by stock structure, state, performance, product and buyer, and how many of
them have a holder: with these columns the count reads the index alone, in its own order (no
ticket row, no sort on SQLite), and ``in_custody`` keeps the prefix it searches by.

The index is dropped and built again under the same name; on PostgreSQL building it blocks
writes to the tickets for as long as it takes (seconds for a million tickets): upgrade outside
sales hours. Downgrading builds the earlier five-column index back.

Self-contained: explicit names, nothing imported from ``_schema`` (which describes the newest
tables, not the ones of this revision).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "td_tickets"
_INDEX = "ix_td_tickets_custody"
_BEFORE = ["organization_id", "stock_structure_id", "state", "performance_id", "product_id"]
_AFTER = [*_BEFORE, "structure_id", "holder_id"]


def upgrade() -> None:
    op.drop_index(_INDEX, table_name=_TABLE)
    op.create_index(_INDEX, _TABLE, _AFTER, unique=False)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name=_TABLE)
    op.create_index(_INDEX, _TABLE, _BEFORE, unique=False)
