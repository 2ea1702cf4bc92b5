"""Languages of contacts and organizations, and the HTML part of queued mail.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

Mail is written in the contact's language, else the organization's: ``td_individuals`` gets a
nullable ``language`` (NULL: the organization's), ``td_organizations`` a ``language`` that is
``en`` for the rows written before (what their mail was written in) and by default. The outbox
keeps a message's HTML part beside its text in a nullable ``html`` (NULL: plain text only, as
every mail queued before).

On SQLite the tables are rebuilt (``recreate="always"``) rather than altered, as in ``0005``:
``ADD COLUMN`` would leave the stored ``CREATE TABLE`` unlike the one ``create_schema()``
writes. PostgreSQL gets ``ALTER TABLE``.

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate() -> Literal["always", "auto"]:
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    with op.batch_alter_table("td_organizations", schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="en")
        )
    with op.batch_alter_table("td_individuals", schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("td_outbox", schema=None, recreate=_recreate()) as batch_op:
        batch_op.add_column(sa.Column("html", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("td_outbox", schema=None) as batch_op:
        batch_op.drop_column("html")
    with op.batch_alter_table("td_individuals", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("td_organizations", schema=None) as batch_op:
        batch_op.drop_column("language")
