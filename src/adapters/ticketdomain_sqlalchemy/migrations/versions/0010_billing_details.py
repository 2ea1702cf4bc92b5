"""Billing details: what an invoice PDF and its Swiss QR-bill print.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

An organization keeps its postal address, VAT number, IBAN and payment terms; a structure its
billing address and the email its invoices go to. An invoice keeps its due date, the
structured reference and IBAN it is paid with (a QR reference or a Creditor Reference), indexed
so that a payment made with the reference finds its invoice, and its seller and buyer as printed
when it was issued (an invoice never changes). Every column is nullable: rows
written before this revision have no billing details, and their invoices no due date or
reference, which is what they had.

On SQLite the tables are rebuilt (``recreate="always"``) rather than altered, as in ``0003``
and ``0005``: ``ADD COLUMN`` would leave the stored ``CREATE TABLE`` unlike the one
``create_schema()`` writes; the migration runner turns foreign keys off meanwhile, so the
invoices' lines survive the rebuild. PostgreSQL gets ``ALTER TABLE``.

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _address() -> list[sa.Column[Any]]:
    return [
        sa.Column("billing_street", sa.String(length=70), nullable=True),
        sa.Column("billing_house_number", sa.String(length=16), nullable=True),
        sa.Column("billing_postal_code", sa.String(length=16), nullable=True),
        sa.Column("billing_town", sa.String(length=35), nullable=True),
        sa.Column("billing_country", sa.String(length=2), nullable=True),
    ]


def _text() -> sa.types.TypeEngine[str]:
    # Byte order on PostgreSQL, as on SQLite, so names sort the same everywhere.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _party(prefix: str) -> list[sa.Column[Any]]:
    return [
        sa.Column(f"{prefix}_name", _text(), nullable=True),
        sa.Column(f"{prefix}_street", sa.String(length=70), nullable=True),
        sa.Column(f"{prefix}_house_number", sa.String(length=16), nullable=True),
        sa.Column(f"{prefix}_postal_code", sa.String(length=16), nullable=True),
        sa.Column(f"{prefix}_town", sa.String(length=35), nullable=True),
        sa.Column(f"{prefix}_country", sa.String(length=2), nullable=True),
    ]


def _columns() -> dict[str, list[sa.Column[Any]]]:
    return {
        "td_organizations": [
            *_address(),
            sa.Column("vat_number", sa.String(length=40), nullable=True),
            sa.Column("iban", sa.String(length=34), nullable=True),
            sa.Column("payment_terms_days", sa.Integer(), nullable=True),
        ],
        "td_structures": [
            *_address(),
            sa.Column("billing_email", sa.String(length=254), nullable=True),
        ],
        "td_invoices": [
            sa.Column("due_on", sa.Date(), nullable=True),
            sa.Column("reference", sa.String(length=27), nullable=True),
            sa.Column("iban", sa.String(length=34), nullable=True),
            *_party("seller"),
            sa.Column("seller_vat_number", sa.String(length=40), nullable=True),
            *_party("buyer"),
        ],
    }


_INDEX = "ix_td_invoices_reference"


def _recreate() -> Literal["always", "auto"]:
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    for table, columns in _columns().items():
        with op.batch_alter_table(table, schema=None, recreate=_recreate()) as batch_op:
            for column in columns:
                batch_op.add_column(column)
    op.create_index(_INDEX, "td_invoices", ["reference"], unique=False)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="td_invoices")
    for table, columns in reversed(_columns().items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_column(column.name)
