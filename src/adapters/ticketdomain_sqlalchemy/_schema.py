"""The adapter's own tables (SQLAlchemy Core, never ORM-mapped domain classes).

Conventions: every table is prefixed ``td_``; money is a ``<name>_amount`` NUMERIC(14, 2) column
beside a ``<name>_currency`` column; datetimes are stored in UTC; enums by their value; child
collections live in child tables keyed by their parent and a position. Aggregates do not
reference each other through foreign keys: the ports let a host store them in any order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    text,
)

from ticketdomain.core.money import CENT

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _text() -> String:
    # Byte order on PostgreSQL, as on SQLite, so ids and names sort the same everywhere.
    return String().with_variant(String(collation="C"), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC and read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"ticketdomain stores aware datetimes only, got {value!r}.")
        value = value.astimezone(UTC)
        if dialect.name != "postgresql":
            # SQLite has no time zone type: the naive text is UTC by convention.
            value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Amount(TypeDecorator[Decimal]):
    """A money amount: NUMERIC(14, 2), always ``Decimal`` on the Python side."""

    impl = Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | None:
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        # SQLite keeps NUMERIC as a double, which holds every amount below MAX_AMOUNT to the
        # cent; SQLAlchemy formats it back at the column's scale, and this gives a Decimal.
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


RATE_PLACES = 6


class Rate(TypeDecorator[Decimal]):
    """A VAT rate fraction with up to six decimal places."""

    impl = Numeric(RATE_PLACES + 1, RATE_PLACES, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | None:
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).normalize()


def _id(name: str = "id", **kw: Any) -> Column[str]:
    return Column(name, _text(), primary_key=True, **kw)


def _ref(name: str, nullable: bool = False, **kw: Any) -> Column[str]:
    return Column(name, _text(), nullable=nullable, **kw)


def _name(name: str = "name") -> Column[str]:
    return Column(name, _text(), nullable=False)


def _money(name: str, nullable: bool = False) -> tuple[Column[Decimal], Column[str]]:
    return (
        Column(f"{name}_amount", Amount(), nullable=nullable),
        Column(f"{name}_currency", String(3), nullable=nullable),
    )


def _enum(name: str, nullable: bool = False) -> Column[str]:
    return Column(name, String(40), nullable=nullable)


def _parent(name: str, table: str) -> Column[str]:
    return Column(name, _text(), ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=True)


def _position() -> Column[int]:
    return Column("position", Integer, primary_key=True, autoincrement=False)


def _billing_address() -> tuple[Column[str], ...]:
    # The lengths of a Swiss QR-bill's structured address (core.banking.PostalAddress).
    return (
        Column("billing_street", String(70), nullable=True),
        Column("billing_house_number", String(16), nullable=True),
        Column("billing_postal_code", String(16), nullable=True),
        Column("billing_town", String(35), nullable=True),
        Column("billing_country", String(2), nullable=True),
    )


def _party(prefix: str) -> tuple[Column[str], ...]:
    return (
        Column(f"{prefix}_name", _text(), nullable=True),
        Column(f"{prefix}_street", String(70), nullable=True),
        Column(f"{prefix}_house_number", String(16), nullable=True),
        Column(f"{prefix}_postal_code", String(16), nullable=True),
        Column(f"{prefix}_town", String(35), nullable=True),
        Column(f"{prefix}_country", String(2), nullable=True),
    )


# --- set-up ---------------------------------------------------------------------------------

institutions = Table("td_institutions", metadata, _id(), _name())

organizations = Table(
    "td_organizations",
    metadata,
    _id(),
    _ref("institution_id", index=True),
    _name(),
    Column("currency", String(3), nullable=False),
    # The IANA zone of its venues by default (``Europe/Zurich``).
    Column("time_zone", String(64), nullable=False),
    # Billing details (migration 0010): all NULL until set; set when the country is.
    *_billing_address(),
    Column("vat_number", String(40), nullable=True),
    Column("iban", String(34), nullable=True),
    Column("payment_terms_days", Integer, nullable=True),
    # The language of its mail (``fr``); migration 0011, so after the columns of 0010.
    Column("language", String(8), nullable=False, server_default="en"),
)

channels = Table(
    "td_sales_channels",
    metadata,
    _id(),
    _ref("institution_id", index=True),
    _name(),
    _enum("kind"),
)

sales_points = Table(
    "td_sales_points",
    metadata,
    _id(),
    _ref("organization_id", index=True),
    _ref("channel_id", index=True),
    _name(),
    # Policy delays in whole microseconds: exact, and portable unlike INTERVAL.
    Column("reservation_delay_us", BigInteger, nullable=False),
    Column("reservation_cutoff_us", BigInteger, nullable=False),
    Column("option_lifetime_us", BigInteger, nullable=False),
    Column("max_document_bytes", BigInteger, nullable=False),
    Column("admit_before_settlement", Boolean, nullable=False),
)

sales_point_functions = Table(
    "td_sales_point_functions",
    metadata,
    _parent("sales_point_id", "td_sales_points"),
    Column("function", String(40), primary_key=True),
)

sales_point_payment_methods = Table(
    "td_sales_point_payment_methods",
    metadata,
    _parent("sales_point_id", "td_sales_points"),
    Column("payment_method", String(40), primary_key=True),
)

sales_point_delivery_modes = Table(
    "td_sales_point_delivery_modes",
    metadata,
    _parent("sales_point_id", "td_sales_points"),
    Column("delivery_mode", String(40), primary_key=True),
)

sales_point_structures = Table(
    "td_sales_point_structures",
    metadata,
    _parent("sales_point_id", "td_sales_points"),
    Column("structure_id", _text(), primary_key=True, index=True),
)

# --- contacts -------------------------------------------------------------------------------

structures = Table(
    "td_structures",
    metadata,
    _id(),
    _ref("institution_id", index=True),
    _name(),
    _ref("parent_id", nullable=True, index=True),
    # Billing details (migration 0010): all NULL until set; set when the country is.
    *_billing_address(),
    Column("billing_email", String(254), nullable=True),
)

individuals = Table(
    "td_individuals",
    metadata,
    _id(),
    _ref("institution_id"),
    _name("first_name"),
    _name("last_name"),
    Column("email", _text(), nullable=False),
    # Lower-cased copies, computed in Python so that matching and ordering are the same on
    # every database whatever its collation and Unicode support.
    _name("first_name_key"),
    _name("last_name_key"),
    Column("email_key", _text(), nullable=False),
    _ref("structure_id", nullable=True),
    _enum("role", nullable=True),
    Column("marketing_consent", Boolean, nullable=False),
    # The language of their mail; NULL: their organization's.
    Column("language", String(8), nullable=True),
    Index(None, "institution_id", "email_key"),
    Index(None, "structure_id", "last_name_key", "first_name_key", "id"),
)

# --- catalog --------------------------------------------------------------------------------

activities = Table("td_activities", metadata, _id(), _ref("organization_id", index=True), _name())

performances = Table(
    "td_performances",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("activity_id", index=True),
    # The instant in UTC, read back in the venue's zone kept beside it.
    Column("starts_at", UtcDateTime(), nullable=False),
    _name("venue"),
    Column("capacity", Integer, nullable=False),
    Column("time_zone", String(64), nullable=False),
    Index(None, "organization_id", "starts_at", "id"),
)

products = Table(
    "td_products",
    metadata,
    _id(),
    _ref("organization_id", index=True),
    _ref("activity_id"),
    _name(),
    Column("vat_rate", Rate(), nullable=False),
)

tariffs = Table(
    "td_tariffs",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("product_id", index=True),
    _name(),
    *_money("price"),
)

profiles = Table(
    "td_profiles",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("channel_id", nullable=True),
    _ref("sales_point_id", nullable=True, index=True),
    Index(None, "organization_id", "channel_id"),
)

profile_activities = Table(
    "td_profile_activities",
    metadata,
    _parent("profile_id", "td_profiles"),
    Column("activity_id", _text(), primary_key=True),
)

profile_products = Table(
    "td_profile_products",
    metadata,
    _parent("profile_id", "td_profiles"),
    _position(),
    _ref("product_id"),
    # True when every tariff of the product is offered (``tariff_ids is None``).
    Column("all_tariffs", Boolean, nullable=False),
    Column("min_per_order", Integer, nullable=False),
    Column("max_per_order", Integer, nullable=True),
    Column("sale_opens_at", UtcDateTime(), nullable=True),
    Column("sale_closes_at", UtcDateTime(), nullable=True),
)

profile_product_tariffs = Table(
    "td_profile_product_tariffs",
    metadata,
    Column("profile_id", _text(), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("tariff_id", _text(), primary_key=True),
    ForeignKeyConstraint(
        ["profile_id", "position"],
        ["td_profile_products.profile_id", "td_profile_products.position"],
        ondelete="CASCADE",
    ),
)

# --- quotas, options, reservations ----------------------------------------------------------

quotas = Table(
    "td_quotas",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("performance_id", index=True),
    Column("capacity", Integer, nullable=False),
    _ref("channel_id", nullable=True),
    _ref("sales_point_id", nullable=True),
    Column("version", Integer, nullable=False),
)


def _line_columns() -> tuple[Column[Any], ...]:
    return (
        _position(),
        _ref("performance_id", index=True),
        _ref("tariff_id"),
        Column("quantity", Integer, nullable=False),
    )


options = Table(
    "td_options",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("sales_point_id"),
    _ref("structure_id", index=True),
    _ref("relay_id"),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    _enum("state"),
    _ref("reservation_id", nullable=True),
    Index(None, "state", "expires_at"),
)

option_lines = Table(
    "td_option_lines", metadata, _parent("option_id", "td_options"), *_line_columns()
)

reservations = Table(
    "td_reservations",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("sales_point_id"),
    _ref("structure_id", index=True),
    _ref("relay_id"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("deadline", UtcDateTime(), nullable=False),
    _enum("state"),
    _ref("order_id", nullable=True),
    _ref("option_id", nullable=True),
    Index(None, "state", "deadline"),
)

reservation_lines = Table(
    "td_reservation_lines",
    metadata,
    _parent("reservation_id", "td_reservations"),
    *_line_columns(),
)

# --- orders and tickets ---------------------------------------------------------------------

orders = Table(
    "td_orders",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("sales_point_id"),
    _ref("structure_id"),
    Column("placed_by", _text(), nullable=False),
    Column("placed_by_operator", Boolean, nullable=False),
    _ref("purchasing_contact_id", nullable=True),
    _enum("payment_method"),
    _enum("delivery_mode"),
    Column("placed_at", UtcDateTime(), nullable=False),
    Column("currency", String(3), nullable=False),
    _enum("state"),
    Column("payment_reference", _text(), nullable=True),
    _ref("document_id", nullable=True),
    _ref("invoice_id", nullable=True),
    Column("cancelled_at", UtcDateTime(), nullable=True),
    _ref("reservation_id", nullable=True),
    # the card refund owed since the cancellation (all null when none is)
    _enum("refund_state", nullable=True),
    *_money("refund", nullable=True),
    Column("refund_key", _text(), nullable=True),
    Column("refund_reference", _text(), nullable=True),
    Column("refunded_at", UtcDateTime(), nullable=True),
    Index(None, "organization_id", "structure_id", "placed_at", "id"),
    Index(None, "refund_state", "cancelled_at", "id"),
)

order_lines = Table(
    "td_order_lines",
    metadata,
    _parent("order_id", "td_orders"),
    _position(),
    _ref("id"),
    _ref("performance_id"),
    _ref("product_id"),
    _ref("tariff_id"),
    Column("quantity", Integer, nullable=False),
    *_money("unit_price"),
    Column("vat_rate", Rate(), nullable=False),
    UniqueConstraint("order_id", "id"),
)

tickets = Table(
    "td_tickets",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("order_id", index=True),
    _ref("order_line_id"),
    _ref("sales_point_id"),
    _ref("performance_id"),
    _ref("product_id"),
    _ref("tariff_id"),
    _ref("structure_id", index=True),
    _ref("stock_structure_id", index=True),
    _enum("state"),
    _ref("holder_id", nullable=True, index=True),
    Column("version", Integer, nullable=False),
    Index(None, "performance_id", "state", "sales_point_id"),
    # Revision 0003: after ``version``, where adding a column puts it on every database.
    Column("beneficiary", _text(), nullable=True),
    Column("controlled_at", UtcDateTime(), nullable=True),
    Column("controlled_gate", _text(), nullable=True),
    # Revision 0012: who will attend, when the member gave their email (and their consent).
    Column("beneficiary_email", _text(), nullable=True),
    Column("beneficiary_consent", Boolean, nullable=False, server_default=false()),
    # A structure's stock and what it distributed (in_custody, custody_counts); named by
    # hand, the convention's names would pass PostgreSQL's 63 characters. Revision 0008:
    # buyer and holder at the end, so the dashboard's GROUP BY reads this index alone, in its
    # order (no sort, no ticket row), and in_custody keeps its prefix.
    Index(
        "ix_td_tickets_custody",
        "organization_id",
        "stock_structure_id",
        "state",
        "performance_id",
        "product_id",
        "structure_id",
        "holder_id",
    ),
    # The individuals holding an organization's tickets (holder_counts).
    Index("ix_td_tickets_holders", "organization_id", "performance_id", "holder_id"),
)

barcodes = Table(
    "td_barcodes",
    metadata,
    # The value is the key: the database itself keeps a barcode on one ticket.
    Column("value", _text(), primary_key=True),
    Column(
        "ticket_id",
        _text(),
        ForeignKey("td_tickets.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("revoked", Boolean, nullable=False),
    # Issue order: revoked barcodes come back in the order they were issued.
    Column("position", Integer, nullable=False),
)
# At most one live barcode per ticket.
Index(
    "uq_td_barcodes_live_ticket_id",
    barcodes.c.ticket_id,
    unique=True,
    sqlite_where=text("NOT revoked"),
    postgresql_where=text("NOT revoked"),
)

# A performance's places sold per sales point (its tickets not cancelled): what availability
# reads (``performances.places_out``) instead of counting the tickets, which grow with history.
# Kept by triggers on td_tickets, so that no write path (the library's, a bulk copy, a host's own
# SQL) can forget it; checked against a recount by the storage contract suite and the soak
# checker. Revision 0009 (which writes the same SQL, and fills the table from the tickets).
places_sold = Table(
    "td_places_sold",
    metadata,
    _ref("performance_id", primary_key=True),
    _ref("sales_point_id", primary_key=True),
    Column("sold", Integer, nullable=False),
)

# Only a change of "counts as sold" (cancelled or not), or of the performance or sales point of a
# sold ticket, moves a counter: a print or a scan fires nothing.
_SOLD_CHANGED = (
    "(OLD.state = 'cancelled') <> (NEW.state = 'cancelled')"
    " OR (NEW.state <> 'cancelled' AND (OLD.performance_id <> NEW.performance_id"
    " OR OLD.sales_point_id <> NEW.sales_point_id))"
)
_ADD_ONE = (
    "INSERT INTO td_places_sold (performance_id, sales_point_id, sold) {source}"
    " ON CONFLICT (performance_id, sales_point_id) DO UPDATE SET sold = td_places_sold.sold + 1;"
)
_TAKE_ONE = (
    "UPDATE td_places_sold SET sold = sold - 1"
    " WHERE performance_id = OLD.performance_id AND sales_point_id = OLD.sales_point_id;"
)
#: what ``create_schema()`` runs after creating td_tickets (revision 0009 runs the same)
PLACES_SOLD_SQLITE = (
    "CREATE TRIGGER td_tickets_sold_insert AFTER INSERT ON td_tickets"
    " FOR EACH ROW WHEN NEW.state <> 'cancelled' BEGIN "
    + _ADD_ONE.format(source="VALUES (NEW.performance_id, NEW.sales_point_id, 1)")
    + " END",
    "CREATE TRIGGER td_tickets_sold_update"
    " AFTER UPDATE OF state, performance_id, sales_point_id ON td_tickets"
    f" FOR EACH ROW WHEN {_SOLD_CHANGED} BEGIN "
    + _TAKE_ONE.replace(" WHERE ", " WHERE OLD.state <> 'cancelled' AND ")
    + " "
    + _ADD_ONE.format(
        source="SELECT NEW.performance_id, NEW.sales_point_id, 1 WHERE NEW.state <> 'cancelled'"
    )
    + " END",
    "CREATE TRIGGER td_tickets_sold_delete AFTER DELETE ON td_tickets"
    " FOR EACH ROW WHEN OLD.state <> 'cancelled' BEGIN " + _TAKE_ONE + " END",
)
PLACES_SOLD_POSTGRESQL = (
    "CREATE OR REPLACE FUNCTION td_places_sold_count() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP <> 'INSERT' THEN IF OLD.state <> 'cancelled' THEN " + _TAKE_ONE + " END IF;"
    " END IF;"
    " IF TG_OP <> 'DELETE' THEN IF NEW.state <> 'cancelled' THEN "
    + _ADD_ONE.format(source="VALUES (NEW.performance_id, NEW.sales_point_id, 1)")
    + " END IF; END IF;"
    " RETURN NULL;"
    " END $$",
    "CREATE TRIGGER td_tickets_sold_insert AFTER INSERT ON td_tickets"
    " FOR EACH ROW WHEN (NEW.state <> 'cancelled') EXECUTE FUNCTION td_places_sold_count()",
    "CREATE TRIGGER td_tickets_sold_update"
    " AFTER UPDATE OF state, performance_id, sales_point_id ON td_tickets"
    f" FOR EACH ROW WHEN ({_SOLD_CHANGED}) EXECUTE FUNCTION td_places_sold_count()",
    "CREATE TRIGGER td_tickets_sold_delete AFTER DELETE ON td_tickets"
    " FOR EACH ROW WHEN (OLD.state <> 'cancelled') EXECUTE FUNCTION td_places_sold_count()",
)


def _ddl(statement: str, dialect: str) -> DDL:
    ddl: DDL = DDL(statement)  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped
    return ddl.execute_if(dialect=dialect)


for _statement in PLACES_SOLD_SQLITE:
    event.listen(tickets, "after_create", _ddl(_statement, "sqlite"))
for _statement in PLACES_SOLD_POSTGRESQL:
    event.listen(tickets, "after_create", _ddl(_statement, "postgresql"))
# Dropping td_tickets drops its triggers; on PostgreSQL the function stays unless dropped.
event.listen(
    tickets, "after_drop", _ddl("DROP FUNCTION IF EXISTS td_places_sold_count()", "postgresql")
)


# --- holding accounts and invoices ----------------------------------------------------------

accounts = Table(
    "td_holding_accounts",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("structure_id"),
    Column("currency", String(3), nullable=False),
    *_money("credit_limit", nullable=True),
    *_money("unallocated_credit"),
    Column("version", Integer, nullable=False),
    # The ledger's running total and last sequence, written with every entry appended, so that
    # loading an account never reads its ledger.
    *_money("balance"),
    Column("entry_count", Integer, nullable=False),
    UniqueConstraint("organization_id", "structure_id"),
)

ledger_entries = Table(
    "td_ledger_entries",
    metadata,
    _parent("account_id", "td_holding_accounts"),
    Column("sequence", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime(), nullable=False),
    _enum("kind"),
    *_money("amount"),
    _ref("order_id", nullable=True),
    Column("reference", _text(), nullable=True),
)

open_invoices = Table(
    "td_open_invoices",
    metadata,
    _parent("account_id", "td_holding_accounts"),
    Column("invoice_id", _text(), primary_key=True),
    Column("number", Integer, nullable=False),
    *_money("remaining"),
)

invoices = Table(
    "td_invoices",
    metadata,
    _id(),
    _ref("organization_id"),
    _ref("structure_id"),
    Column("number", Integer, nullable=False),
    _enum("kind"),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("currency", String(3), nullable=False),
    *_money("total"),
    _ref("corrects_invoice_id", nullable=True),
    # Migration 0010: the due date, and the structured reference and account it is paid with
    # (a payment by reference finds its invoice by the index).
    Column("due_on", Date, nullable=True),
    Column("reference", String(27), nullable=True, index=True),
    Column("iban", String(34), nullable=True),
    # The seller and the buyer as printed when it was issued (NULL: issued before 0010).
    *_party("seller"),
    Column("seller_vat_number", String(40), nullable=True),
    *_party("buyer"),
    # Numbers never repeat within an organization.
    UniqueConstraint("organization_id", "number"),
    Index(None, "organization_id", "structure_id", "number"),
)

invoice_lines = Table(
    "td_invoice_lines",
    metadata,
    _parent("invoice_id", "td_invoices"),
    _position(),
    _ref("order_id"),
    _ref("order_line_id"),
    Column("description", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    *_money("unit_price"),
    Column("vat_rate", Rate(), nullable=False),
    *_money("total"),
)

invoice_vat_rows = Table(
    "td_invoice_vat_rows",
    metadata,
    _parent("invoice_id", "td_invoices"),
    _position(),
    Column("vat_rate", Rate(), nullable=False),
    *_money("net"),
    *_money("vat"),
    *_money("gross"),
)

invoice_orders = Table(
    "td_invoice_orders",
    metadata,
    _parent("invoice_id", "td_invoices"),
    _position(),
    _ref("order_id", index=True),
)

invoice_sequences = Table(
    "td_invoice_sequences",
    metadata,
    _id("organization_id"),
    Column("last_number", Integer, nullable=False),
    Column("version", Integer, nullable=False),
)

# --- outbox ---------------------------------------------------------------------------------

outbox = Table(
    "td_outbox",
    metadata,
    _id("message_id"),
    Column("recipient", _text(), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("queued_at", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("sent_at", UtcDateTime(), nullable=True),
    _enum("state"),
    Column("due_at", UtcDateTime(), nullable=False),
    _ref("claimed_by", nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    _ref("institution_id", nullable=True),
    # The HTML part beside ``body``; NULL: plain text only.
    Column("html", Text, nullable=True),
    # Claiming: queued by due time, sending by lease (both lead with the state).
    Index(None, "state", "due_at", "queued_at", "message_id"),
    Index(None, "state", "lease_until"),
    # An institution's failed mail, for its operators.
    Index(None, "institution_id", "state", "queued_at"),
)

outbox_attachments = Table(
    "td_outbox_attachments",
    metadata,
    Column(
        "message_id",
        _text(),
        ForeignKey("td_outbox.message_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    _position(),
    Column("filename", _text(), nullable=False),
    Column("media_type", _text(), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

# --- identity -------------------------------------------------------------------------------

operators = Table(
    "td_operators",
    metadata,
    _id(),
    _ref("institution_id"),
    _name("first_name"),
    _name("last_name"),
    Column("email", _text(), nullable=False),
    # Lower-cased in Python, as the individuals' key: the same matching on every database.
    Column("email_key", _text(), nullable=False),
    # True when the operator acts for every organization (``organization_ids is None``).
    Column("all_organizations", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Index(None, "institution_id", "email_key"),
)

operator_permissions = Table(
    "td_operator_permissions",
    metadata,
    _parent("operator_id", "td_operators"),
    Column("permission", String(40), primary_key=True),
)

operator_organizations = Table(
    "td_operator_organizations",
    metadata,
    _parent("operator_id", "td_operators"),
    Column("organization_id", _text(), primary_key=True),
)

gates = Table(
    "td_gates",
    metadata,
    _id(),
    _ref("organization_id", index=True),
    _name(),
    # True when the gate admits to every performance (``performance_ids is None``).
    Column("all_performances", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
)

gate_performances = Table(
    "td_gate_performances",
    metadata,
    _parent("gate_id", "td_gates"),
    Column("performance_id", _text(), primary_key=True),
)

credentials = Table(
    "td_credentials",
    metadata,
    # "operator:<id>" or "individual:<id>"
    _id(),
    Column("password_hash", Text, nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", UtcDateTime(), nullable=True),
)


def _digest() -> Column[str]:
    # A token's SHA-256 digest (the token itself is never stored).
    return Column("token_digest", _text(), nullable=False)


sessions = Table(
    "td_sessions",
    metadata,
    _id(),
    _digest(),
    _enum("actor_kind"),
    _ref("actor_id"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime(), nullable=False),
    _enum("method"),
    _ref("sales_point_id", nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index(None, "token_digest", unique=True),
    Index(None, "actor_kind", "actor_id"),
)

login_links = Table(
    "td_login_links",
    metadata,
    _id(),
    _digest(),
    _enum("actor_kind"),
    _ref("individual_id"),
    _enum("purpose"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    _ref("sales_point_id", nullable=True),
    Column("used_at", UtcDateTime(), nullable=True),
    Index(None, "token_digest", unique=True),
)

api_keys = Table(
    "td_api_keys",
    metadata,
    _id(),
    _digest(),
    _enum("actor_kind"),
    _ref("actor_id"),
    Column("label", _text(), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index(None, "token_digest", unique=True),
    Index(None, "actor_kind", "actor_id", "created_at", "id"),
)
