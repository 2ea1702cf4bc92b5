"""Who acts: operators, gates, credentials, sessions, login links and API keys.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

Nine new tables and no change to the existing ones, so no existing row is touched. Operators
keep their permissions and organizations, gates their performances, in child tables (as sales
points keep their functions); ``all_organizations`` / ``all_performances`` say "every one" (the
domain's ``None``), which an empty child set cannot. An operator's email has a lower-cased key
computed in Python, as the individuals' has. Tokens are stored as their SHA-256 digest only,
under a unique index: a digest opens one session, link or key.

New tables need no batch mode on SQLite: ``CREATE TABLE`` writes them exactly as
``create_schema()`` does, on both databases. Dropping a table drops its indexes, so
``downgrade`` drops the tables only, children first.

Self-contained: plain SQLAlchemy types and explicit names, nothing imported from ``_schema``
(which describes the newest tables, not the ones of this revision).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text() -> sa.types.TypeEngine[str]:
    # Byte order on PostgreSQL, as on SQLite, so ids and names sort the same everywhere.
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _child(table: str, parent: str, parent_table: str, column: sa.Column[str]) -> None:
    """A set of values of a parent row: both columns are the key."""
    op.create_table(
        table,
        sa.Column(parent, _text(), nullable=False),
        column,
        sa.ForeignKeyConstraint(
            [parent],
            [f"{parent_table}.id"],
            name=op.f(f"fk_{table}_{parent}_{parent_table}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(parent, column.name, name=op.f(f"pk_{table}")),
    )


def upgrade() -> None:
    op.create_table(
        "td_operators",
        sa.Column("id", _text(), nullable=False),
        sa.Column("institution_id", _text(), nullable=False),
        sa.Column("first_name", _text(), nullable=False),
        sa.Column("last_name", _text(), nullable=False),
        sa.Column("email", _text(), nullable=False),
        sa.Column("email_key", _text(), nullable=False),
        sa.Column("all_organizations", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_td_operators")),
    )
    op.create_index(
        op.f("ix_td_operators_institution_id_email_key"),
        "td_operators",
        ["institution_id", "email_key"],
        unique=False,
    )
    _child(
        "td_operator_permissions",
        "operator_id",
        "td_operators",
        sa.Column("permission", sa.String(length=40), nullable=False),
    )
    _child(
        "td_operator_organizations",
        "operator_id",
        "td_operators",
        sa.Column("organization_id", _text(), nullable=False),
    )
    op.create_table(
        "td_gates",
        sa.Column("id", _text(), nullable=False),
        sa.Column("organization_id", _text(), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("all_performances", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_td_gates")),
    )
    op.create_index(
        op.f("ix_td_gates_organization_id"), "td_gates", ["organization_id"], unique=False
    )
    _child(
        "td_gate_performances",
        "gate_id",
        "td_gates",
        sa.Column("performance_id", _text(), nullable=False),
    )
    op.create_table(
        "td_credentials",
        sa.Column("id", _text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_td_credentials")),
    )
    op.create_table(
        "td_sessions",
        sa.Column("id", _text(), nullable=False),
        sa.Column("token_digest", _text(), nullable=False),
        sa.Column("actor_kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", _text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("sales_point_id", _text(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_td_sessions")),
    )
    op.create_index(
        op.f("ix_td_sessions_token_digest"), "td_sessions", ["token_digest"], unique=True
    )
    op.create_index(
        op.f("ix_td_sessions_actor_kind_actor_id"),
        "td_sessions",
        ["actor_kind", "actor_id"],
        unique=False,
    )
    op.create_table(
        "td_login_links",
        sa.Column("id", _text(), nullable=False),
        sa.Column("token_digest", _text(), nullable=False),
        sa.Column("actor_kind", sa.String(length=40), nullable=False),
        sa.Column("individual_id", _text(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sales_point_id", _text(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_td_login_links")),
    )
    op.create_index(
        op.f("ix_td_login_links_token_digest"), "td_login_links", ["token_digest"], unique=True
    )
    op.create_table(
        "td_api_keys",
        sa.Column("id", _text(), nullable=False),
        sa.Column("token_digest", _text(), nullable=False),
        sa.Column("actor_kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", _text(), nullable=False),
        sa.Column("label", _text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_td_api_keys")),
    )
    op.create_index(
        op.f("ix_td_api_keys_token_digest"), "td_api_keys", ["token_digest"], unique=True
    )
    op.create_index(
        op.f("ix_td_api_keys_actor_kind_actor_id_created_at_id"),
        "td_api_keys",
        ["actor_kind", "actor_id", "created_at", "id"],
        unique=False,
    )


#: every table of this revision, children before their parents
_TABLES = (
    "td_api_keys",
    "td_login_links",
    "td_sessions",
    "td_credentials",
    "td_gate_performances",
    "td_gates",
    "td_operator_organizations",
    "td_operator_permissions",
    "td_operators",
)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
