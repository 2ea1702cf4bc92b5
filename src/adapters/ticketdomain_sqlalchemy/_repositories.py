"""Repositories: SQL statements, and the explicit conversion between rows and domain objects."""

from __future__ import annotations

import functools
import typing
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import (
    Boolean,
    Connection,
    CursorResult,
    Engine,
    Executable,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ticketdomain.core.access import ScannedTicket
from ticketdomain.core.accounts import EntryKind, HoldingAccount, LedgerEntry, OpenInvoice
from ticketdomain.core.banking import Iban, Party, PostalAddress, SellerBilling
from ticketdomain.core.catalog import (
    Activity,
    CatalogProfile,
    Performance,
    Product,
    ProductConditions,
    Tariff,
)
from ticketdomain.core.contacts import (
    BuyerBilling,
    ContactRole,
    Email,
    Individual,
    PersonName,
    Structure,
)
from ticketdomain.core.distribution import AttendeeCount, CustodyCount, HolderCount
from ticketdomain.core.errors import ConcurrencyError, VatRateInvalidError
from ticketdomain.core.identity import (
    ActorKind,
    ApiKey,
    AuthSession,
    Credential,
    Gate,
    LinkPurpose,
    LoginLink,
    LoginMethod,
    Operator,
    Permission,
)
from ticketdomain.core.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSequence,
    VatBreakdownRow,
)
from ticketdomain.core.mail import Attachment, MailMessage, OutboxState
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.quotas import PlacesOut, Quota
from ticketdomain.core.sales import (
    LineRequest,
    Option,
    OptionState,
    Order,
    OrderLine,
    OrderState,
    Refund,
    RefundState,
    Reservation,
    ReservationState,
    Ticket,
    TicketState,
)
from ticketdomain.core.setup import (
    ChannelKind,
    DeliveryMode,
    Function,
    Institution,
    Organization,
    PaymentMethod,
    SalesChannel,
    SalesPoint,
    SalesPointPolicy,
)
from ticketdomain.ports.storage import OutboxItem, SessionContext
from ticketdomain_sqlalchemy import _schema as s
from ticketdomain_sqlalchemy._errors import concurrency_error

T = TypeVar("T")
Values = dict[str, Any]
Rows = Sequence[RowMapping]
#: child rows per parent id (from ``Db.children`` or taken apart from a wider read)
_Children = Mapping[str, Sequence[Mapping[Any, Any]]]
Result = CursorResult[*tuple[Any, ...]]

# Parent ids per IN (...) list when loading children: far below every database's bind limit.
_CHUNK = 500


class Db:
    """The connection of one unit of work, with infrastructure errors translated.

    By default a Core ``Connection`` checked out of the engine at the first statement (an ORM
    session costs about 35 µs a unit of work and a few µs a statement on top, for nothing the
    repositories use); with a host's ``sessionmaker``, that session's connection.
    """

    def __init__(self, engine: Engine, session_factory: sessionmaker[Session] | None) -> None:
        self.dialect_name = engine.dialect.name
        self._engine = engine
        self._session_factory = session_factory
        self.active = False
        #: the host's session (with a session factory), or one joined to the connection
        self.session: Session | None = None
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        connection = self._connection
        if connection is None:
            if not self.active:
                raise RuntimeError("Use the unit of work inside a `with` block.")
            if self._session_factory is not None:
                if self.session is None:
                    self.session = self._session_factory()
                connection = self.session.connection()
            else:
                connection = self._engine.connect()
            self._connection = connection
        return connection

    def joined_session(self) -> Session:
        """The host's session, or a session joined to this unit of work's transaction (which
        it may roll back, never commit: the unit of work commits)."""
        if self.session is None:
            connection = self.connection()
            if self.session is None:
                if not connection.in_transaction():
                    connection.begin()
                self.session = Session(
                    bind=connection, autoflush=False, join_transaction_mode="rollback_only"
                )
        return self.session

    def commit(self) -> None:
        if self.session is not None:
            # The host's session commits its transaction; a joined one flushes only.
            self.session.commit()
        if self._session_factory is not None:
            # The session's next statement begins a new transaction, maybe on another connection.
            self._connection = None
        elif self._connection is not None:
            self._connection.commit()

    def rollback(self) -> None:
        if self.session is not None:
            self.session.rollback()
        if self._session_factory is not None:
            self._connection = None
        elif self._connection is not None:
            self._connection.rollback()

    def close(self) -> None:
        """Roll back whatever was not committed and return the connection to the pool."""
        session, connection = self.session, self._connection
        self.session = self._connection = None
        self.active = False
        if session is not None:
            session.close()
        if connection is not None and self._session_factory is None:
            connection.close()

    def execute(self, statement: Executable, parameters: Any = None) -> Result:
        connection = self._connection
        if connection is None:
            connection = self.connection()
        try:
            return connection.execute(statement, parameters)
        except DBAPIError as error:
            conflict = concurrency_error(error)
            if conflict is None:
                raise
            raise conflict from error

    def insert(self, table: Table, rows: Sequence[Values]) -> None:
        if rows:
            self.execute(_insert_statement(table), list(rows))

    def children(
        self, table: Table, parent: str, ids: Sequence[str], *order: str
    ) -> Mapping[str, list[RowMapping]]:
        """Rows of a child table for many parents at once, grouped by parent id."""
        found: dict[str, list[RowMapping]] = defaultdict(list)
        statement = _children_statement(table, parent, order)
        for start in range(0, len(ids), _CHUNK):
            for row in self.execute(statement, {"_ids": ids[start : start + _CHUNK]}).mappings():
                found[row[parent]].append(row)
        return found


class _Statements:
    """The generic statements of one table, built once with bind parameters, so that
    SQLAlchemy finds them compiled in its cache without rebuilding them or their cache key
    (a primary-key read built anew costs about 45 µs, built once 13 µs)."""

    def __init__(self, table: Table, key: str) -> None:
        column = table.c[key]
        self.get = select(table).where(column == bindparam("_key"))
        self.get_for_update = self.get.with_for_update()
        self.get_many = (
            select(table).where(column.in_(bindparam("_ids", expanding=True))).order_by(column)
        )
        # The SET clause is the parameters' column names ("_" names are not columns).
        self.update = update(table).where(column == bindparam("_key"))
        if "version" in table.c:
            self.update_versioned = self.update.where(table.c.version == bindparam("_version"))


_STATEMENTS: dict[tuple[str, str], _Statements] = {}
_INSERTS: dict[str, Executable] = {}
_CHILDREN: dict[tuple[str, str, tuple[str, ...]], Select[Any]] = {}


def _statements(table: Table, key: str = "id") -> _Statements:
    found = _STATEMENTS.get((table.name, key))
    if found is None:
        found = _STATEMENTS[table.name, key] = _Statements(table, key)
    return found


def _insert_statement(table: Table) -> Executable:
    # The columns inserted are the rows' keys, part of SQLAlchemy's compiled-cache key.
    found = _INSERTS.get(table.name)
    if found is None:
        found = _INSERTS[table.name] = insert(table)
    return found


def _children_statement(table: Table, parent: str, order: tuple[str, ...]) -> Select[Any]:
    found = _CHILDREN.get((table.name, parent, order))
    if found is None:
        column = table.c[parent]
        found = _CHILDREN[table.name, parent, order] = (
            select(table)
            .where(column.in_(bindparam("_ids", expanding=True)))
            .order_by(column, *(table.c[name] for name in order))
        )
    return found


# --- conversions ----------------------------------------------------------------------------


def _money(row: Mapping[Any, Any], name: str) -> Money:
    return Money(row[f"{name}_amount"], row[f"{name}_currency"])


def _money_or_none(row: Mapping[Any, Any], name: str) -> Money | None:
    return None if row[f"{name}_amount"] is None else _money(row, name)


def _money_values(name: str, money: Money | None) -> Values:
    return {
        f"{name}_amount": None if money is None else money.amount,
        f"{name}_currency": None if money is None else money.currency,
    }


def _rate(rate: VatRate) -> Decimal:
    if rate.rate != round(rate.rate, s.RATE_PLACES):
        raise VatRateInvalidError(
            f"A VAT rate is stored with at most {s.RATE_PLACES} decimal places, got {rate.rate}.",
            rate=str(rate.rate),
        )
    return rate.rate


def _micros(delay: timedelta) -> int:
    return delay // timedelta(microseconds=1)


def _ids(rows: Rows, key: str = "id") -> list[str]:
    return [row[key] for row in rows]


def _lines(rows: Sequence[RowMapping]) -> tuple[LineRequest, ...]:
    return tuple(LineRequest(r["performance_id"], r["tariff_id"], r["quantity"]) for r in rows)


def _line_values(parent: str, id: str, lines: Sequence[LineRequest]) -> list[Values]:
    return [
        {
            parent: id,
            "position": position,
            "performance_id": line.performance_id,
            "tariff_id": line.tariff_id,
            "quantity": line.quantity,
        }
        for position, line in enumerate(lines)
    ]


def _in(column: Any, ids: Collection[str]) -> Any:
    return column.in_(sorted(ids))


def _labelled(table: Any, prefix: str) -> list[Any]:
    """Every column of ``table`` labelled ``prefix`` + its name, to read several tables' rows
    from one statement (``_part`` takes them apart)."""
    return [column.label(f"{prefix}{column.name}") for column in table.c]


def _part(row: Mapping[Any, Any], prefix: str, key: str = "id") -> Rows:
    """The one row of a table read with ``_labelled(table, prefix)``, as its own columns;
    no row when its ``key`` is NULL (an outer join that found nothing)."""
    names = tuple(row)
    # Which columns carry the prefix, found once per statement's columns and prefix: a hot
    # read's row is taken apart on every call (about 9 µs for 60 columns, 3 µs this way).
    columns = _PREFIXED.get((prefix, names))
    if columns is None:
        cut = len(prefix)
        columns = _PREFIXED[prefix, names] = tuple(
            (name, name[cut:]) for name in names if name.startswith(prefix)
        )
    values = {short: row[name] for name, short in columns}
    # The conversions only index rows by column name: a plain mapping does.
    return typing.cast(Rows, [values] if values.get(key) is not None else [])


#: the columns of each prefix, per statement's column names (a few dozen statements)
_PREFIXED: dict[tuple[str, tuple[Any, ...]], tuple[tuple[str, str], ...]] = {}


# --- base classes ---------------------------------------------------------------------------


class _Store(Generic[T]):
    """Add and read: what every repository does, immutable invoices included."""

    table: ClassVar[Table]
    key: ClassVar[str] = "id"

    def __init__(self, db: Db) -> None:
        self._db = db

    def _values(self, item: T) -> Values:
        raise NotImplementedError

    def _build(self, rows: Rows) -> list[T]:
        raise NotImplementedError

    def _add_children(self, items: Sequence[T]) -> None:
        """Insert the child rows of newly added aggregates."""

    def _insert(self, items: Sequence[T]) -> None:
        if items:
            self._db.insert(self.table, [self._values(item) for item in items])
            self._add_children(items)

    def _fetch(self, statement: Executable, parameters: Values | None = None) -> list[T]:
        return self._build(self._db.execute(statement, parameters).mappings().all())

    def _fetch_one(self, statement: Executable, parameters: Values | None = None) -> T | None:
        found = self._fetch(statement, parameters)
        return found[0] if found else None

    def add(self, item: T) -> None:
        self._insert([item])

    def get(self, id: str) -> T | None:
        return self._fetch_one(_statements(self.table, self.key).get, {"_key": id})

    def get_many(self, ids: Collection[str]) -> list[T]:
        """The stored items among ``ids``, ordered by id: one read per 500 ids."""
        statement = _statements(self.table, self.key).get_many
        wanted = sorted(set(ids))
        found: list[T] = []
        for start in range(0, len(wanted), _CHUNK):
            found += self._fetch(statement, {"_ids": wanted[start : start + _CHUNK]})
        return found


class _Repo(_Store[T]):
    """A mutable aggregate: written back with ``update``, optionally version-checked."""

    versioned: ClassVar[bool] = False

    def _replace_children(self, item: T) -> None:
        """Write the child rows of an updated aggregate."""

    def get_for_update(self, id: str) -> T | None:
        return self._fetch_one(_statements(self.table, self.key).get_for_update, {"_key": id})

    def update(self, item: T) -> None:
        values = self._values(item)
        key = values.pop(self.key)
        statements = _statements(self.table, self.key)
        statement = statements.update
        version = values.get("version", 0)
        if self.versioned:
            # Optimistic check: refused if another transaction wrote a newer version.
            statement = statements.update_versioned
            values["version"] = version + 1
            values["_version"] = version
        values["_key"] = key
        if self._db.execute(statement, values).rowcount != 1:
            raise ConcurrencyError(
                f"{self.table.name} {key} was changed by another unit of work or does not exist.",
                table=self.table.name,
                id=key,
                version=version,
            )
        self._replace_children(item)
        if self.versioned:
            setattr(item, "version", version + 1)  # noqa: B010 (T is any versioned aggregate)


# --- set-up ---------------------------------------------------------------------------------


def _address_values(address: PostalAddress | None) -> Values:
    return {
        "billing_street": address.street if address else None,
        "billing_house_number": address.house_number if address else None,
        "billing_postal_code": address.postal_code if address else None,
        "billing_town": address.town if address else None,
        "billing_country": address.country if address else None,
    }


def _address(row: RowMapping) -> PostalAddress | None:
    # The country is set whenever an address is.
    if row["billing_country"] is None:
        return None
    return PostalAddress(
        row["billing_street"],
        row["billing_house_number"],
        row["billing_postal_code"],
        row["billing_town"],
        row["billing_country"],
    )


def _party_values(prefix: str, party: Party | None) -> Values:
    address = party.address if party is not None else None
    return {
        f"{prefix}_name": party.name if party is not None else None,
        **{
            f"{prefix}_{name[len('billing_') :]}": value
            for name, value in _address_values(address).items()
        },
    }


def _party(row: RowMapping, prefix: str, vat_number: str | None = None) -> Party | None:
    if row[f"{prefix}_name"] is None:
        return None
    address = None
    if row[f"{prefix}_country"] is not None:
        address = PostalAddress(
            row[f"{prefix}_street"],
            row[f"{prefix}_house_number"],
            row[f"{prefix}_postal_code"],
            row[f"{prefix}_town"],
            row[f"{prefix}_country"],
        )
    return Party(row[f"{prefix}_name"], address, vat_number)


def _seller_billing_values(billing: SellerBilling | None) -> Values:
    return {
        **_address_values(billing.address if billing else None),
        "vat_number": billing.vat_number if billing else None,
        "iban": billing.iban.value if billing and billing.iban else None,
        "payment_terms_days": billing.payment_terms_days if billing else None,
    }


def _seller_billing(row: RowMapping) -> SellerBilling | None:
    address = _address(row)
    if address is None:
        return None
    iban = Iban(row["iban"]) if row["iban"] is not None else None
    return SellerBilling(address, row["vat_number"], iban, row["payment_terms_days"])


def _buyer_billing(row: RowMapping) -> BuyerBilling | None:
    address = _address(row)
    if address is None:
        return None
    email = Email(row["billing_email"]) if row["billing_email"] is not None else None
    return BuyerBilling(address, email)


class Institutions(_Repo[Institution]):
    table = s.institutions

    def _values(self, item: Institution) -> Values:
        return {"id": item.id, "name": item.name}

    def _build(self, rows: Rows) -> list[Institution]:
        return [Institution(r["id"], r["name"]) for r in rows]


class Organizations(_Repo[Organization]):
    table = s.organizations

    def _values(self, item: Organization) -> Values:
        return {
            "id": item.id,
            "institution_id": item.institution_id,
            "name": item.name,
            "currency": item.currency,
            "time_zone": item.time_zone,
            "language": item.language,
            **_seller_billing_values(item.billing),
        }

    def _build(self, rows: Rows) -> list[Organization]:
        return [
            Organization(
                r["id"],
                r["institution_id"],
                r["name"],
                r["currency"],
                r["time_zone"],
                language=r["language"],
                billing=_seller_billing(r),
            )
            for r in rows
        ]


class Channels(_Repo[SalesChannel]):
    table = s.channels

    def _values(self, item: SalesChannel) -> Values:
        return {
            "id": item.id,
            "institution_id": item.institution_id,
            "name": item.name,
            "kind": item.kind.value,
        }

    def _build(self, rows: Rows) -> list[SalesChannel]:
        return [
            SalesChannel(r["id"], r["institution_id"], r["name"], ChannelKind(r["kind"]))
            for r in rows
        ]


class SalesPoints(_Repo[SalesPoint]):
    table = s.sales_points
    _sets = (
        s.sales_point_functions,
        s.sales_point_payment_methods,
        s.sales_point_delivery_modes,
        s.sales_point_structures,
    )

    def _values(self, item: SalesPoint) -> Values:
        policy = item.policy
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "channel_id": item.channel_id,
            "name": item.name,
            "reservation_delay_us": _micros(policy.reservation_delay),
            "reservation_cutoff_us": _micros(policy.reservation_cutoff),
            "option_lifetime_us": _micros(policy.option_lifetime),
            "max_document_bytes": policy.max_document_bytes,
            "admit_before_settlement": policy.admit_before_settlement,
        }

    def _add_children(self, items: Sequence[SalesPoint]) -> None:
        def rows(column: str, values: Any) -> list[Values]:
            return [
                {"sales_point_id": sp.id, column: value}
                for sp in items
                for value in sorted(values(sp))
            ]

        self._db.insert(
            s.sales_point_functions,
            rows("function", lambda sp: {f.value for f in sp.functions}),
        )
        self._db.insert(
            s.sales_point_payment_methods,
            rows("payment_method", lambda sp: {m.value for m in sp.payment_methods}),
        )
        self._db.insert(
            s.sales_point_delivery_modes,
            rows("delivery_mode", lambda sp: {m.value for m in sp.delivery_modes}),
        )
        self._db.insert(
            s.sales_point_structures, rows("structure_id", lambda sp: sp.authorized_structure_ids)
        )

    def _replace_children(self, item: SalesPoint) -> None:
        for table in self._sets:
            self._db.execute(delete(table).where(table.c.sales_point_id == item.id))
        self._add_children([item])

    def _build(self, rows: Rows) -> list[SalesPoint]:
        ids = _ids(rows)
        functions, methods, modes, structures = (
            self._db.children(table, "sales_point_id", ids) for table in self._sets
        )
        return self._assemble(rows, functions, methods, modes, structures)

    @staticmethod
    def _assemble(
        rows: Rows,
        functions: _Children,
        methods: _Children,
        modes: _Children,
        structures: _Children,
    ) -> list[SalesPoint]:
        return [
            SalesPoint(
                id=r["id"],
                organization_id=r["organization_id"],
                channel_id=r["channel_id"],
                name=r["name"],
                functions=frozenset(Function(c["function"]) for c in functions[r["id"]]),
                payment_methods=frozenset(
                    PaymentMethod(c["payment_method"]) for c in methods[r["id"]]
                ),
                delivery_modes=frozenset(DeliveryMode(c["delivery_mode"]) for c in modes[r["id"]]),
                authorized_structure_ids={c["structure_id"] for c in structures[r["id"]]},
                policy=SalesPointPolicy(
                    reservation_delay=timedelta(microseconds=r["reservation_delay_us"]),
                    reservation_cutoff=timedelta(microseconds=r["reservation_cutoff_us"]),
                    option_lifetime=timedelta(microseconds=r["option_lifetime_us"]),
                    max_document_bytes=r["max_document_bytes"],
                    admit_before_settlement=r["admit_before_settlement"],
                ),
            )
            for r in rows
        ]

    def ids_on_channel(self, channel_id: str) -> list[str]:
        t = self.table
        statement = select(t.c.id).where(t.c.channel_id == channel_id).order_by(t.c.id)
        return list(self._db.execute(statement).scalars())


# --- contacts -------------------------------------------------------------------------------


def _family() -> Select[Any]:
    """A structure, its ancestors and every structure below it: two recursive walks in one
    read (``UNION`` drops a row seen twice, so a cycle, which set-up never makes, ends)."""
    t = s.structures
    start: Any = bindparam("structure_id")
    up = select(t.c.id, t.c.parent_id).where(t.c.id == start).cte("up", recursive=True)
    up = up.union(select(t.c.id, t.c.parent_id).select_from(t.join(up, t.c.id == up.c.parent_id)))
    down = select(t.c.id).where(t.c.id == start).cte("down", recursive=True)
    down = down.union(select(t.c.id).select_from(t.join(down, t.c.parent_id == down.c.id)))
    return select(t).where(t.c.id.in_(select(up.c.id).union(select(down.c.id)))).order_by(t.c.id)


_FAMILY = _family()


class Structures(_Repo[Structure]):
    table = s.structures

    def _values(self, item: Structure) -> Values:
        return {
            "id": item.id,
            "institution_id": item.institution_id,
            "name": item.name,
            "parent_id": item.parent_id,
            **_address_values(item.billing.address if item.billing is not None else None),
            "billing_email": (
                item.billing.email.value
                if item.billing is not None and item.billing.email is not None
                else None
            ),
        }

    def _build(self, rows: Rows) -> list[Structure]:
        return [
            Structure(r["id"], r["institution_id"], r["name"], r["parent_id"], _buyer_billing(r))
            for r in rows
        ]

    def children(self, structure_id: str) -> list[Structure]:
        t = self.table
        return self._fetch(
            select(t).where(t.c.parent_id == structure_id).order_by(t.c.name, t.c.id)
        )

    def family(self, structure_id: str) -> list[Structure]:
        rows = self._db.execute(_FAMILY, {"structure_id": structure_id}).mappings().all()
        return self._build(rows)


class Individuals(_Repo[Individual]):
    table = s.individuals

    def _values(self, item: Individual) -> Values:
        return {
            "id": item.id,
            "institution_id": item.institution_id,
            "first_name": item.name.first,
            "last_name": item.name.last,
            "email": item.email.value,
            "first_name_key": item.name.first.lower(),
            "last_name_key": item.name.last.lower(),
            "email_key": item.email.value.lower(),
            "structure_id": item.structure_id,
            "role": None if item.role is None else item.role.value,
            "marketing_consent": item.marketing_consent,
            "language": item.language,
        }

    def _build(self, rows: Rows) -> list[Individual]:
        return [
            Individual(
                id=r["id"],
                institution_id=r["institution_id"],
                name=PersonName(r["first_name"], r["last_name"]),
                email=Email(r["email"]),
                structure_id=r["structure_id"],
                role=None if r["role"] is None else ContactRole(r["role"]),
                marketing_consent=r["marketing_consent"],
                language=r["language"],
            )
            for r in rows
        ]

    def find_by_email(self, institution_id: str, email: str) -> Individual | None:
        t = self.table
        return self._fetch_one(
            select(t)
            .where(t.c.institution_id == institution_id, t.c.email_key == email.lower())
            .order_by(t.c.id)
            .limit(1)
        )

    def search(self, structure_id: str, text: str, limit: int) -> list[Individual]:
        t = self.table
        needle = text.lower()
        return self._fetch(
            select(t)
            .where(
                t.c.structure_id == structure_id,
                or_(
                    *(
                        column.contains(needle, autoescape=True)
                        for column in (t.c.first_name_key, t.c.last_name_key, t.c.email_key)
                    )
                ),
            )
            .order_by(t.c.last_name_key, t.c.first_name_key, t.c.id)
            .limit(max(limit, 0))
        )


# --- catalog --------------------------------------------------------------------------------


class Activities(_Repo[Activity]):
    table = s.activities

    def _values(self, item: Activity) -> Values:
        return {"id": item.id, "organization_id": item.organization_id, "name": item.name}

    def _build(self, rows: Rows) -> list[Activity]:
        return [Activity(r["id"], r["organization_id"], r["name"]) for r in rows]


class Performances(_Repo[Performance]):
    table = s.performances

    def _values(self, item: Performance) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "activity_id": item.activity_id,
            "starts_at": item.starts_at,
            "venue": item.venue,
            "capacity": item.capacity,
            "time_zone": item.time_zone,
        }

    def _build(self, rows: Rows) -> list[Performance]:
        return [
            Performance(
                id=r["id"],
                organization_id=r["organization_id"],
                activity_id=r["activity_id"],
                # Stored in UTC; Performance converts it into its zone (fold and all).
                starts_at=r["starts_at"],
                venue=r["venue"],
                capacity=r["capacity"],
                time_zone=r["time_zone"],
            )
            for r in rows
        ]

    def for_organization(self, organization_id: str) -> list[Performance]:
        t = self.table
        return self._fetch(
            select(t).where(t.c.organization_id == organization_id).order_by(t.c.starts_at, t.c.id)
        )

    def get_for_update_with_quotas(
        self, performance_id: str
    ) -> tuple[Performance, list[Quota]] | None:
        rows = self._db.execute(_WITH_QUOTAS, {"id": performance_id}).mappings().all()
        if not rows:
            return None
        (performance,) = self._build(_part(rows[0], "pe_"))
        quotas = Quotas(self._db)._build([part for row in rows for part in _part(row, "qu_")])
        return performance, quotas

    def places_out(self, performance_id: str, now: datetime) -> list[PlacesOut]:
        found = self._db.execute(_PLACES_OUT, {"performance": performance_id, "now": now})
        return [PlacesOut(r.sales_point_id, r.channel_id, int(r.places)) for r in found]


def _with_quotas() -> Executable:
    performances, quotas = s.performances, s.quotas
    return (
        select(*_labelled(performances, "pe_"), *_labelled(quotas, "qu_"))
        .select_from(performances.outerjoin(quotas, quotas.c.performance_id == performances.c.id))
        .where(performances.c.id == bindparam("id"))
        .order_by(quotas.c.id)
        # Only the performance: PostgreSQL locks no row of an outer join's nullable side.
        .with_for_update(of=performances)
    )


def _places_out() -> Executable:
    counters, lines, reservations = s.places_sold, s.reservation_lines, s.reservations
    points = s.sales_points
    performance: Any = bindparam("performance")
    # Sold: the counters td_tickets' triggers keep (a few rows per performance), not a count
    # of its tickets, which grows with history. Zero rows are left out as no ticket would be.
    sold = select(counters.c.sales_point_id, counters.c.sold.label("places")).where(
        counters.c.performance_id == performance, counters.c.sold != 0
    )
    held = (
        select(reservations.c.sales_point_id, func.sum(lines.c.quantity).label("places"))
        .select_from(lines.join(reservations, lines.c.reservation_id == reservations.c.id))
        .where(
            lines.c.performance_id == performance,
            reservations.c.state == ReservationState.HELD.value,
            reservations.c.deadline > bindparam("now", type_=s.UtcDateTime()),
        )
        .group_by(reservations.c.sales_point_id)
    )
    out = union_all(sold, held).subquery()
    return (
        select(out.c.sales_point_id, points.c.channel_id, func.sum(out.c.places).label("places"))
        .join(points, points.c.id == out.c.sales_point_id)
        .group_by(out.c.sales_point_id, points.c.channel_id)
    )


_WITH_QUOTAS = _with_quotas()
_PLACES_OUT = _places_out()


class Products(_Repo[Product]):
    table = s.products

    def _values(self, item: Product) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "activity_id": item.activity_id,
            "name": item.name,
            "vat_rate": _rate(item.vat_rate),
        }

    def _build(self, rows: Rows) -> list[Product]:
        return [
            Product(
                id=r["id"],
                organization_id=r["organization_id"],
                activity_id=r["activity_id"],
                name=r["name"],
                vat_rate=VatRate(r["vat_rate"]),
            )
            for r in rows
        ]

    def for_organization(self, organization_id: str) -> list[Product]:
        t = self.table
        return self._fetch(select(t).where(t.c.organization_id == organization_id).order_by(t.c.id))


class Tariffs(_Repo[Tariff]):
    table = s.tariffs

    def _values(self, item: Tariff) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "product_id": item.product_id,
            "name": item.name,
            **_money_values("price", item.price),
        }

    def _build(self, rows: Rows) -> list[Tariff]:
        return [
            Tariff(
                id=r["id"],
                organization_id=r["organization_id"],
                product_id=r["product_id"],
                name=r["name"],
                price=_money(r, "price"),
            )
            for r in rows
        ]

    def for_product(self, product_id: str) -> list[Tariff]:
        t = self.table
        return self._fetch(select(t).where(t.c.product_id == product_id).order_by(t.c.id))

    def get_with_product(self, id: str) -> tuple[Tariff, Product | None] | None:
        row = self._db.execute(_TARIFF_WITH_PRODUCT, {"id": id}).mappings().first()
        if row is None:
            return None
        (tariff,) = self._build(_part(row, "ta_"))
        found = Products(self._db)._build(_part(row, "pr_"))
        return tariff, found[0] if found else None


def _tariff_with_product() -> Executable:
    tariffs, products = s.tariffs, s.products
    return (
        select(*_labelled(tariffs, "ta_"), *_labelled(products, "pr_"))
        .select_from(tariffs.outerjoin(products, products.c.id == tariffs.c.product_id))
        .where(tariffs.c.id == bindparam("id"))
    )


#: built once: every order line reads its tariff with its product
_TARIFF_WITH_PRODUCT = _tariff_with_product()


class Profiles(_Repo[CatalogProfile]):
    table = s.profiles

    def _values(self, item: CatalogProfile) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "channel_id": item.channel_id,
            "sales_point_id": item.sales_point_id,
        }

    def _add_children(self, items: Sequence[CatalogProfile]) -> None:
        self._db.insert(
            s.profile_activities,
            [
                {"profile_id": p.id, "activity_id": activity_id}
                for p in items
                for activity_id in sorted(p.activity_ids)
            ],
        )
        self._db.insert(
            s.profile_products,
            [
                {
                    "profile_id": p.id,
                    "position": position,
                    "product_id": c.product_id,
                    "all_tariffs": c.tariff_ids is None,
                    "min_per_order": c.min_per_order,
                    "max_per_order": c.max_per_order,
                    "sale_opens_at": c.sale_opens_at,
                    "sale_closes_at": c.sale_closes_at,
                }
                for p in items
                for position, c in enumerate(p.products)
            ],
        )
        self._db.insert(
            s.profile_product_tariffs,
            [
                {"profile_id": p.id, "position": position, "tariff_id": tariff_id}
                for p in items
                for position, c in enumerate(p.products)
                for tariff_id in sorted(c.tariff_ids or ())
            ],
        )

    def _replace_children(self, item: CatalogProfile) -> None:
        for table in (s.profile_product_tariffs, s.profile_products, s.profile_activities):
            self._db.execute(delete(table).where(table.c.profile_id == item.id))
        self._add_children([item])

    def _build(self, rows: Rows) -> list[CatalogProfile]:
        ids = _ids(rows)
        activities = self._db.children(s.profile_activities, "profile_id", ids)
        products = self._db.children(s.profile_products, "profile_id", ids, "position")
        offered = self._db.children(s.profile_product_tariffs, "profile_id", ids)
        return self._assemble(rows, activities, products, offered)

    @staticmethod
    def _assemble(
        rows: Rows,
        activities: _Children,
        products: _Children,
        offered: _Children,
    ) -> list[CatalogProfile]:
        """Profiles from their rows and their children's, grouped by profile id (products in
        position order)."""
        tariffs: dict[tuple[str, int], set[str]] = defaultdict(set)
        for t in (t for rows_of_profile in offered.values() for t in rows_of_profile):
            tariffs[(t["profile_id"], t["position"])].add(t["tariff_id"])
        return [
            CatalogProfile(
                id=r["id"],
                organization_id=r["organization_id"],
                channel_id=r["channel_id"],
                sales_point_id=r["sales_point_id"],
                activity_ids=frozenset(a["activity_id"] for a in activities[r["id"]]),
                products=tuple(
                    ProductConditions(
                        product_id=p["product_id"],
                        tariff_ids=None
                        if p["all_tariffs"]
                        else frozenset(tariffs[(r["id"], p["position"])]),
                        min_per_order=p["min_per_order"],
                        max_per_order=p["max_per_order"],
                        sale_opens_at=p["sale_opens_at"],
                        sale_closes_at=p["sale_closes_at"],
                    )
                    for p in products[r["id"]]
                ),
            )
            for r in rows
        ]

    def for_sales_point(self, sales_point_id: str) -> CatalogProfile | None:
        t = self.table
        return self._fetch_one(
            select(t).where(t.c.sales_point_id == sales_point_id).order_by(t.c.id).limit(1)
        )

    def for_channel(self, organization_id: str, channel_id: str) -> CatalogProfile | None:
        t = self.table
        return self._fetch_one(
            select(t)
            .where(t.c.organization_id == organization_id, t.c.channel_id == channel_id)
            .order_by(t.c.id)
            .limit(1)
        )


# --- quotas, options, reservations ----------------------------------------------------------


class Quotas(_Repo[Quota]):
    table = s.quotas
    versioned = True

    def _values(self, item: Quota) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "performance_id": item.performance_id,
            "capacity": item.capacity,
            "channel_id": item.channel_id,
            "sales_point_id": item.sales_point_id,
            "version": item.version,
        }

    def _build(self, rows: Rows) -> list[Quota]:
        return [
            Quota(
                id=r["id"],
                organization_id=r["organization_id"],
                performance_id=r["performance_id"],
                capacity=r["capacity"],
                channel_id=r["channel_id"],
                sales_point_id=r["sales_point_id"],
                version=r["version"],
            )
            for r in rows
        ]

    def for_performance(self, performance_id: str) -> list[Quota]:
        t = self.table
        return self._fetch(select(t).where(t.c.performance_id == performance_id).order_by(t.c.id))


class Options(_Repo[Option]):
    table = s.options

    def _values(self, item: Option) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "sales_point_id": item.sales_point_id,
            "structure_id": item.structure_id,
            "relay_id": item.relay_id,
            "requested_at": item.requested_at,
            "expires_at": item.expires_at,
            "state": item.state.value,
            "reservation_id": item.reservation_id,
        }

    def _add_children(self, items: Sequence[Option]) -> None:
        self._db.insert(
            s.option_lines,
            [row for o in items for row in _line_values("option_id", o.id, o.lines)],
        )

    def _replace_children(self, item: Option) -> None:
        self._db.execute(delete(s.option_lines).where(s.option_lines.c.option_id == item.id))
        self._add_children([item])

    def _build(self, rows: Rows) -> list[Option]:
        lines = self._db.children(s.option_lines, "option_id", _ids(rows), "position")
        return [
            Option(
                id=r["id"],
                organization_id=r["organization_id"],
                sales_point_id=r["sales_point_id"],
                structure_id=r["structure_id"],
                relay_id=r["relay_id"],
                lines=_lines(lines[r["id"]]),
                requested_at=r["requested_at"],
                expires_at=r["expires_at"],
                state=OptionState(r["state"]),
                reservation_id=r["reservation_id"],
            )
            for r in rows
        ]

    def due(self, now: datetime, limit: int) -> list[Option]:
        t = self.table
        return self._fetch(
            select(t)
            .where(t.c.state == OptionState.REQUESTED.value, t.c.expires_at <= now)
            .order_by(t.c.expires_at, t.c.id)
            .limit(max(limit, 0))
        )

    def for_structure(self, structure_id: str) -> list[Option]:
        t = self.table
        return self._fetch(
            select(t).where(t.c.structure_id == structure_id).order_by(t.c.requested_at, t.c.id)
        )


class Reservations(_Repo[Reservation]):
    table = s.reservations

    def _values(self, item: Reservation) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "sales_point_id": item.sales_point_id,
            "structure_id": item.structure_id,
            "relay_id": item.relay_id,
            "created_at": item.created_at,
            "deadline": item.deadline,
            "state": item.state.value,
            "order_id": item.order_id,
            "option_id": item.option_id,
        }

    def _add_children(self, items: Sequence[Reservation]) -> None:
        self._db.insert(
            s.reservation_lines,
            [row for r in items for row in _line_values("reservation_id", r.id, r.lines)],
        )

    def _replace_children(self, item: Reservation) -> None:
        lines = s.reservation_lines
        self._db.execute(delete(lines).where(lines.c.reservation_id == item.id))
        self._add_children([item])

    def _build(self, rows: Rows) -> list[Reservation]:
        lines = self._db.children(s.reservation_lines, "reservation_id", _ids(rows), "position")
        return [
            Reservation(
                id=r["id"],
                organization_id=r["organization_id"],
                sales_point_id=r["sales_point_id"],
                structure_id=r["structure_id"],
                relay_id=r["relay_id"],
                lines=_lines(lines[r["id"]]),
                created_at=r["created_at"],
                deadline=r["deadline"],
                state=ReservationState(r["state"]),
                order_id=r["order_id"],
                option_id=r["option_id"],
            )
            for r in rows
        ]

    def held_places(
        self, performance_id: str, sales_point_ids: Collection[str] | None, now: datetime
    ) -> int:
        r, lines = self.table, s.reservation_lines
        statement = (
            select(func.coalesce(func.sum(lines.c.quantity), 0))
            .select_from(lines.join(r, lines.c.reservation_id == r.c.id))
            .where(
                lines.c.performance_id == performance_id,
                r.c.state == ReservationState.HELD.value,
                r.c.deadline > now,
            )
        )
        if sales_point_ids is not None:
            statement = statement.where(_in(r.c.sales_point_id, sales_point_ids))
        return int(self._db.execute(statement).scalar_one())

    def due(self, now: datetime, limit: int) -> list[Reservation]:
        t = self.table
        return self._fetch(
            select(t)
            .where(t.c.state == ReservationState.HELD.value, t.c.deadline <= now)
            .order_by(t.c.deadline, t.c.id)
            .limit(max(limit, 0))
        )

    def for_structure(self, structure_id: str) -> list[Reservation]:
        t = self.table
        return self._fetch(
            select(t).where(t.c.structure_id == structure_id).order_by(t.c.created_at, t.c.id)
        )


# --- orders and tickets ---------------------------------------------------------------------


class Orders(_Repo[Order]):
    table = s.orders

    def _values(self, item: Order) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "sales_point_id": item.sales_point_id,
            "structure_id": item.structure_id,
            "placed_by": item.placed_by,
            "placed_by_operator": item.placed_by_operator,
            "purchasing_contact_id": item.purchasing_contact_id,
            "payment_method": item.payment_method.value,
            "delivery_mode": item.delivery_mode.value,
            "placed_at": item.placed_at,
            "currency": item.currency,
            "state": item.state.value,
            "payment_reference": item.payment_reference,
            "document_id": item.document_id,
            "invoice_id": item.invoice_id,
            "cancelled_at": item.cancelled_at,
            "reservation_id": item.reservation_id,
            **_refund_values(item.refund),
        }

    def _add_children(self, items: Sequence[Order]) -> None:
        self._db.insert(
            s.order_lines,
            [
                {
                    "order_id": o.id,
                    "position": position,
                    "id": line.id,
                    "performance_id": line.performance_id,
                    "product_id": line.product_id,
                    "tariff_id": line.tariff_id,
                    "quantity": line.quantity,
                    **_money_values("unit_price", line.unit_price),
                    "vat_rate": _rate(line.vat_rate),
                }
                for o in items
                for position, line in enumerate(o.lines)
            ],
        )

    def _replace_children(self, item: Order) -> None:
        self._db.execute(delete(s.order_lines).where(s.order_lines.c.order_id == item.id))
        self._add_children([item])

    def _build(self, rows: Rows) -> list[Order]:
        lines = self._db.children(s.order_lines, "order_id", _ids(rows), "position")
        return [
            Order(
                id=r["id"],
                organization_id=r["organization_id"],
                sales_point_id=r["sales_point_id"],
                structure_id=r["structure_id"],
                placed_by=r["placed_by"],
                placed_by_operator=r["placed_by_operator"],
                purchasing_contact_id=r["purchasing_contact_id"],
                lines=tuple(
                    OrderLine(
                        id=line["id"],
                        performance_id=line["performance_id"],
                        product_id=line["product_id"],
                        tariff_id=line["tariff_id"],
                        quantity=line["quantity"],
                        unit_price=_money(line, "unit_price"),
                        vat_rate=VatRate(line["vat_rate"]),
                    )
                    for line in lines[r["id"]]
                ),
                payment_method=PaymentMethod(r["payment_method"]),
                delivery_mode=DeliveryMode(r["delivery_mode"]),
                placed_at=r["placed_at"],
                currency=r["currency"],
                state=OrderState(r["state"]),
                payment_reference=r["payment_reference"],
                document_id=r["document_id"],
                invoice_id=r["invoice_id"],
                cancelled_at=r["cancelled_at"],
                reservation_id=r["reservation_id"],
                refund=_refund(r),
            )
            for r in rows
        ]

    def for_structure(
        self,
        organization_id: str,
        structure_id: str,
        placed_from: datetime | None = None,
        placed_until: datetime | None = None,
    ) -> list[Order]:
        t = self.table
        statement = select(t).where(
            t.c.organization_id == organization_id, t.c.structure_id == structure_id
        )
        if placed_from is not None:
            statement = statement.where(t.c.placed_at >= placed_from)
        if placed_until is not None:
            statement = statement.where(t.c.placed_at < placed_until)
        return self._fetch(statement.order_by(t.c.placed_at, t.c.id))

    def uninvoiced_on_account(self, organization_id: str, structure_id: str) -> list[Order]:
        t = self.table
        return self._fetch(
            select(t)
            .where(
                t.c.organization_id == organization_id,
                t.c.structure_id == structure_id,
                t.c.payment_method == PaymentMethod.HOLDING_ACCOUNT.value,
                t.c.state == OrderState.CONFIRMED.value,
                t.c.invoice_id.is_(None),
            )
            .order_by(t.c.placed_at, t.c.id)
        )

    def refunds_due(self, limit: int) -> list[Order]:
        t = self.table
        return self._fetch(
            select(t)
            .where(t.c.refund_state == RefundState.DUE.value)
            .order_by(t.c.cancelled_at, t.c.id)
            .limit(max(limit, 0))
        )


def _refund_values(refund: Refund | None) -> Values:
    return {
        "refund_state": None if refund is None else refund.state.value,
        **_money_values("refund", None if refund is None else refund.amount),
        "refund_key": None if refund is None else refund.idempotency_key,
        "refund_reference": None if refund is None else refund.reference,
        "refunded_at": None if refund is None else refund.refunded_at,
    }


def _refund(row: RowMapping) -> Refund | None:
    if row["refund_state"] is None:
        return None
    return Refund(
        _money(row, "refund"), row["refund_key"], row["refund_reference"], row["refunded_at"]
    )


def _barcode_rows(ticket: Ticket) -> dict[str, tuple[bool, int]]:
    """Every barcode of the ticket: value -> (revoked, position in issue order)."""
    rows = {value: (True, n) for n, value in enumerate(ticket.revoked_barcodes)}
    if ticket.barcode is not None:
        rows[ticket.barcode] = (False, len(ticket.revoked_barcodes))
    return rows


def _ticket(r: RowMapping, issued: Sequence[Mapping[Any, Any]]) -> Ticket:
    """A ticket from its row and its barcodes' rows in issue order."""
    live = [b["value"] for b in issued if not b["revoked"]]
    return Ticket(
        id=r["id"],
        organization_id=r["organization_id"],
        order_id=r["order_id"],
        order_line_id=r["order_line_id"],
        sales_point_id=r["sales_point_id"],
        performance_id=r["performance_id"],
        product_id=r["product_id"],
        tariff_id=r["tariff_id"],
        structure_id=r["structure_id"],
        stock_structure_id=r["stock_structure_id"],
        barcode=live[0] if live else None,
        state=TicketState(r["state"]),
        holder_id=r["holder_id"],
        revoked_barcodes=tuple(b["value"] for b in issued if b["revoked"]),
        beneficiary=r["beneficiary"],
        controlled_at=r["controlled_at"],
        controlled_gate=r["controlled_gate"],
        version=r["version"],
        beneficiary_email=r["beneficiary_email"],
        beneficiary_consent=bool(r["beneficiary_consent"]),
    )


def _scan_statement() -> Executable:
    """The ticket holding or once holding a barcode, one row per barcode it was given, with
    what a gate needs beside it; built once, as a gate runs it on every scan."""
    t, o, sp, p = s.tickets, s.orders, s.sales_points, s.products
    scanned, issued = s.barcodes.alias("scanned"), s.barcodes.alias("issued")
    return (
        select(
            t,
            issued.c.value.label("issued_value"),
            issued.c.revoked.label("issued_revoked"),
            issued.c.position.label("issued_position"),
            p.c.name.label("product_name"),
            sp.c.admit_before_settlement,
            o.c.payment_method.label("order_payment_method"),
            o.c.invoice_id.label("order_invoice_id"),
        )
        .select_from(scanned)
        .join(t, t.c.id == scanned.c.ticket_id)
        # One row per barcode the ticket was ever given, in issue order.
        .join(issued, issued.c.ticket_id == t.c.id)
        .join(o, o.c.id == t.c.order_id)
        .join(sp, sp.c.id == t.c.sales_point_id)
        .join(p, p.c.id == t.c.product_id)
        .where(scanned.c.value == bindparam("barcode"))
        .order_by(issued.c.position)
        .with_for_update(of=t)
    )


_SCAN = _scan_statement()


def _ticket_update() -> Executable:
    """A ticket written back, version-checked; built once, as every scan and distribution
    writes tickets (``w_`` bind names: a column's own name is SQLAlchemy's in ``values``)."""
    t = s.tickets
    return (
        update(t)
        .where(t.c.id == bindparam("w_key"), t.c.version == bindparam("w_expected"))
        .values({c.name: bindparam(f"w_{c.name}", type_=c.type) for c in t.c if c.name != "id"})
    )


_TICKET_UPDATE = _ticket_update()

#: the ticket columns ``Tickets.update_many`` may leave out when unchanged
_TICKET_COLUMNS = tuple(c.name for c in s.tickets.c if c.name not in ("id", "version"))


@functools.lru_cache(maxsize=64)
def _ticket_update_of(columns: tuple[str, ...]) -> Executable:
    """As ``_TICKET_UPDATE``, setting only ``columns`` (and the version); built once per set."""
    t = s.tickets
    return (
        update(t)
        .where(t.c.id == bindparam("w_key"), t.c.version == bindparam("w_expected"))
        .values(
            {name: bindparam(f"w_{name}", type_=t.c[name].type) for name in (*columns, "version")}
        )
    )


def _custody_counts() -> tuple[Select[Any], Select[Any]]:
    """The dashboard's aggregate, built once: tickets of an organization held by the given
    structures, counted per stock structure, state, performance, product and buyer, with how
    many have a holder (counted rather than grouped by, so that the groups follow
    ``ix_td_tickets_custody``: the count reads that index alone, in its order, no sort).

    SQLite walks the index once per structure of the ``IN`` list, in order. PostgreSQL 15 does
    not take the rows of ``= ANY(...)`` as ordered and would hash every ticket: one ordered
    index scan per structure (``JOIN LATERAL`` over the ids) aggregates as it reads instead.
    """
    t = s.tickets
    keys = (
        t.c.stock_structure_id,
        t.c.state,
        t.c.performance_id,
        t.c.product_id,
        t.c.structure_id,
    )
    counts = (func.count().label("n"), func.count(t.c.holder_id).label("assigned"))
    organization = t.c.organization_id == bindparam("organization_id")
    listed = t.c.stock_structure_id.in_(bindparam("structure_ids", expanding=True))
    in_list = select(*keys, *counts).where(organization, listed).group_by(*keys)
    ids = bindparam("structure_ids", type_=postgresql.ARRAY(t.c.stock_structure_id.type))
    wanted = func.unnest(ids).table_valued("id").render_derived("wanted")
    each = (
        select(*keys, *counts)
        .where(organization, t.c.stock_structure_id == wanted.c.id)
        .group_by(*keys)
        .lateral("counts")
    )
    return in_list, select(each).select_from(wanted).join(each, true())


_CUSTODY_COUNTS, _CUSTODY_COUNTS_POSTGRESQL = _custody_counts()


class Tickets(_Repo[Ticket]):
    table = s.tickets
    versioned = True

    def __init__(self, db: Db) -> None:
        super().__init__(db)
        # The barcode rows of each ticket as this unit of work last read or wrote them, with
        # the ticket's version then: writing back a ticket at that version (the version check
        # proves nobody changed it since) needs no read of its barcodes.
        self._known: dict[str, tuple[int, dict[str, tuple[bool, int]]]] = {}
        # Each ticket's columns as this unit of work last read or wrote them, at that version:
        # ``update_many`` sets only the columns that changed since.
        self._loaded: dict[str, tuple[int, Mapping[Any, Any]]] = {}

    def _values(self, item: Ticket) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "order_id": item.order_id,
            "order_line_id": item.order_line_id,
            "sales_point_id": item.sales_point_id,
            "performance_id": item.performance_id,
            "product_id": item.product_id,
            "tariff_id": item.tariff_id,
            "structure_id": item.structure_id,
            "stock_structure_id": item.stock_structure_id,
            "state": item.state.value,
            "holder_id": item.holder_id,
            "beneficiary": item.beneficiary,
            "controlled_at": item.controlled_at,
            "controlled_gate": item.controlled_gate,
            "version": item.version,
            "beneficiary_email": item.beneficiary_email,
            "beneficiary_consent": item.beneficiary_consent,
        }

    def update(self, item: Ticket) -> None:
        # As ``_Repo.update``, with the statement built once.
        values = {f"w_{name}": value for name, value in self._values(item).items()}
        version = item.version
        values.update(w_key=values.pop("w_id"), w_expected=version, w_version=version + 1)
        if self._db.execute(_TICKET_UPDATE, values).rowcount != 1:
            raise ConcurrencyError(
                f"td_tickets {item.id} was changed by another unit of work or does not exist.",
                table=self.table.name,
                id=item.id,
                version=version,
            )
        self._replace_children(item)
        item.version = version + 1

    def update_many(self, items: Sequence[Ticket]) -> None:
        # One executemany per set of changed columns (a bulk distribution writes thousands of
        # tickets, each its state and holder): columns left alone keep their index entries.
        # A column is left out only against what this unit of work read at the version the
        # check proves current.
        if not items:
            return
        # In id order: the rows and index entries are visited in order, and PostgreSQL takes
        # the row locks in the documented (id) order.
        items = sorted(items, key=lambda item: item.id)
        written: list[Values] = []
        groups: dict[tuple[str, ...], list[Values]] = {}
        for item in items:
            values = self._values(item)
            written.append(values)
            loaded = self._loaded.get(item.id)
            if loaded is not None and loaded[0] == item.version:
                row = loaded[1]
                changed = tuple(name for name in _TICKET_COLUMNS if values[name] != row[name])
            else:
                changed = _TICKET_COLUMNS
            params = {f"w_{name}": values[name] for name in changed}
            params.update(w_key=item.id, w_expected=item.version, w_version=item.version + 1)
            groups.setdefault(changed, []).append(params)
        count = sum(
            self._db.execute(_ticket_update_of(changed), rows).rowcount
            for changed, rows in groups.items()
        )
        if count != len(items):
            raise ConcurrencyError(
                "td_tickets: one of the tickets was changed by another unit of work or does "
                "not exist.",
                table=self.table.name,
                ids=[item.id for item in items],
            )
        for item, values in zip(items, written, strict=True):
            # Barcodes are rewritten only where they changed (none for an assignment).
            self._replace_children(item)
            item.version += 1
            self._loaded[item.id] = (item.version, values)

    def _add_children(self, items: Sequence[Ticket]) -> None:
        self._db.insert(
            s.barcodes,
            [
                {"value": value, "ticket_id": t.id, "revoked": revoked, "position": position}
                for t in items
                for value, (revoked, position) in _barcode_rows(t).items()
            ],
        )

    def _replace_children(self, item: Ticket) -> None:
        b = s.barcodes
        wanted = _barcode_rows(item)
        known = self._known.get(item.id)
        if known is not None and known[0] == item.version:
            stored = known[1]
        else:
            stored = {
                row["value"]: (row["revoked"], row["position"])
                for row in self._db.execute(select(b).where(b.c.ticket_id == item.id)).mappings()
            }
        gone = [value for value in stored if value not in wanted]
        if gone:
            self._db.execute(delete(b).where(b.c.ticket_id == item.id, b.c.value.in_(gone)))
        # Revocations first, so that the new live barcode never meets the old one.
        changed = sorted(
            (value for value in wanted if value in stored and stored[value] != wanted[value]),
            key=lambda value: not wanted[value][0],
        )
        for value in changed:
            revoked, position = wanted[value]
            self._db.execute(
                update(b).where(b.c.value == value).values(revoked=revoked, position=position)
            )
        self._db.insert(
            b,
            [
                {"value": value, "ticket_id": item.id, "revoked": revoked, "position": position}
                for value, (revoked, position) in wanted.items()
                if value not in stored
            ],
        )
        # ``update`` calls this before it sets the version it wrote on ``item``.
        self._known[item.id] = (item.version + 1, wanted)

    def _build(self, rows: Rows) -> list[Ticket]:
        barcodes = self._db.children(s.barcodes, "ticket_id", _ids(rows), "position")
        for r in rows:
            self._remember(r, barcodes[r["id"]])
        return [_ticket(r, barcodes[r["id"]]) for r in rows]

    def _remember(self, row: RowMapping, issued: Sequence[Mapping[Any, Any]]) -> None:
        self._loaded[row["id"]] = (row["version"], row)
        self._known[row["id"]] = (
            row["version"],
            {b["value"]: (b["revoked"], b["position"]) for b in issued},
        )

    def add_many(self, tickets: Sequence[Ticket]) -> None:
        self._insert(list(tickets))

    def for_order(self, order_id: str) -> list[Ticket]:
        t = self.table
        return self._fetch(select(t).where(t.c.order_id == order_id).order_by(t.c.id))

    def for_order_for_update(self, order_id: str) -> list[Ticket]:
        t = self.table
        # Ordered by id: rows are locked in that order, as the port asks to avoid deadlocks.
        return self._fetch(
            select(t).where(t.c.order_id == order_id).order_by(t.c.id).with_for_update()
        )

    def sold_places(self, performance_id: str, sales_point_ids: Collection[str] | None) -> int:
        t = self.table
        statement = select(func.count()).where(
            t.c.performance_id == performance_id, t.c.state != TicketState.CANCELLED.value
        )
        if sales_point_ids is not None:
            statement = statement.where(_in(t.c.sales_point_id, sales_point_ids))
        return int(self._db.execute(statement.select_from(t)).scalar_one())

    def by_barcode(self, barcode: str) -> Ticket | None:
        t, b = self.table, s.barcodes
        owner = select(b.c.ticket_id).where(b.c.value == barcode).scalar_subquery()
        return self._fetch_one(select(t).where(t.c.id == owner))

    def for_scan(self, barcode: str) -> ScannedTicket | None:
        rows = self._db.execute(_SCAN, {"barcode": barcode}).mappings().all()
        if not rows:
            return None
        first = rows[0]
        issued = [
            {
                "value": r["issued_value"],
                "revoked": r["issued_revoked"],
                "position": r["issued_position"],
            }
            for r in rows
        ]
        self._remember(first, issued)
        return ScannedTicket(
            _ticket(first, issued),
            first["product_name"],
            first["admit_before_settlement"],
            PaymentMethod(first["order_payment_method"]) is PaymentMethod.HOLDING_ACCOUNT,
            first["order_invoice_id"],
        )

    def for_holder(self, individual_id: str) -> list[Ticket]:
        t = self.table
        return self._fetch(select(t).where(t.c.holder_id == individual_id).order_by(t.c.id))

    def get_many_for_update(self, ids: Collection[str]) -> list[Ticket]:
        t = self.table
        wanted = sorted(set(ids))
        found: list[Ticket] = []
        # Chunks in id order: the rows are locked in id order across chunks too.
        for start in range(0, len(wanted), _CHUNK):
            found += self._fetch(
                select(t)
                .where(t.c.id.in_(wanted[start : start + _CHUNK]))
                .order_by(t.c.id)
                .with_for_update()
            )
        return found

    def in_custody(
        self,
        organization_id: str,
        structure_id: str,
        states: Collection[TicketState],
        performance_id: str | None = None,
        product_id: str | None = None,
        limit: int | None = None,
        for_update: bool = False,
        received_only: bool = False,
    ) -> list[Ticket]:
        t = self.table
        statement = (
            select(t)
            .where(
                t.c.organization_id == organization_id,
                t.c.stock_structure_id == structure_id,
                _in(t.c.state, {state.value for state in states}),
            )
            .order_by(t.c.id)
        )
        if performance_id is not None:
            statement = statement.where(t.c.performance_id == performance_id)
        if product_id is not None:
            statement = statement.where(t.c.product_id == product_id)
        if received_only:
            statement = statement.where(t.c.structure_id != structure_id)
        if limit is not None:
            statement = statement.limit(max(limit, 0))
        if for_update:
            # PostgreSQL locks row by row below the LIMIT: a row another unit of work took out
            # of ``states`` meanwhile is skipped and the next one locked in its place.
            statement = statement.with_for_update()
        return self._fetch(statement)

    def custody_counts(
        self, organization_id: str, stock_structure_ids: Collection[str]
    ) -> list[CustodyCount]:
        if not stock_structure_ids:
            return []
        statement = (
            _CUSTODY_COUNTS_POSTGRESQL if self._db.dialect_name == "postgresql" else _CUSTODY_COUNTS
        )
        parameters = {
            "organization_id": organization_id,
            "structure_ids": sorted(set(stock_structure_ids)),
        }
        found: list[CustodyCount] = []
        for stock, state, performance_id, product_id, buyer, n, assigned in self._db.execute(
            statement, parameters
        ):
            # One row per custody: the tickets with a holder and those without.
            for is_assigned, count in ((True, assigned), (False, n - assigned)):
                if count:
                    found.append(
                        CustodyCount(
                            buyer_structure_id=buyer,
                            stock_structure_id=stock,
                            performance_id=performance_id,
                            product_id=product_id,
                            state=TicketState(state),
                            assigned=is_assigned,
                            count=int(count),
                        )
                    )
        return found

    def holder_counts(
        self, organization_id: str, performance_id: str | None = None
    ) -> list[HolderCount]:
        t = self.table
        keys = (t.c.holder_id, t.c.stock_structure_id, t.c.performance_id)
        statement = select(*keys, func.count().label("n")).where(
            t.c.organization_id == organization_id,
            t.c.holder_id.is_not(None),
            t.c.state != TicketState.CANCELLED.value,
        )
        if performance_id is not None:
            statement = statement.where(t.c.performance_id == performance_id)
        return [
            HolderCount(row[0], row[1], row[2], int(row[3]))
            for row in self._db.execute(statement.group_by(*keys))
        ]

    def attendee_counts(
        self, organization_id: str, performance_id: str | None = None
    ) -> list[AttendeeCount]:
        t = self.table
        keys = (
            t.c.holder_id,
            t.c.stock_structure_id,
            t.c.performance_id,
            t.c.beneficiary,
            t.c.beneficiary_email,
            t.c.beneficiary_consent,
        )
        statement = select(*keys, func.count().label("n")).where(
            t.c.organization_id == organization_id,
            t.c.holder_id.is_not(None),
            t.c.beneficiary.is_not(None),
            t.c.state.in_([TicketState.PRINTED.value, TicketState.CONTROLLED.value]),
        )
        if performance_id is not None:
            statement = statement.where(t.c.performance_id == performance_id)
        return [
            AttendeeCount(row[0], row[1], row[2], row[3], row[4], bool(row[5]), int(row[6]))
            for row in self._db.execute(statement.group_by(*keys))
        ]


# --- holding accounts and invoices ----------------------------------------------------------


class Accounts(_Repo[HoldingAccount]):
    """Accounts are loaded without their ledger: the row carries its running total."""

    table = s.accounts
    versioned = True

    def _values(self, item: HoldingAccount) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "structure_id": item.structure_id,
            "currency": item.currency,
            **_money_values("credit_limit", item.credit_limit),
            **_money_values("unallocated_credit", item.credit),
            **_money_values("balance", item.outstanding),
            "entry_count": item.entry_count,
            "version": item.version,
        }

    def _append_entries(self, items: Sequence[HoldingAccount]) -> None:
        # Append-only: new entries are inserted, stored ones never rewritten; a sequence
        # already stored is a duplicate key, hence a ConcurrencyError.
        self._db.insert(
            s.ledger_entries,
            [
                {
                    "account_id": a.id,
                    "sequence": e.sequence,
                    "at": e.at,
                    "kind": e.kind.value,
                    **_money_values("amount", e.amount),
                    "order_id": e.order_id,
                    "reference": e.reference,
                }
                for a in items
                for e in a.new_entries
            ],
        )
        for a in items:
            a.new_entries.clear()

    def _open_invoices(self, items: Sequence[HoldingAccount]) -> None:
        self._db.insert(
            s.open_invoices,
            [
                {
                    "account_id": a.id,
                    "invoice_id": o.invoice_id,
                    "number": o.number,
                    **_money_values("remaining", o.remaining),
                }
                for a in items
                for o in a.open_invoices
            ],
        )

    def _add_children(self, items: Sequence[HoldingAccount]) -> None:
        self._append_entries(items)
        self._open_invoices(items)

    def __init__(self, db: Db) -> None:
        super().__init__(db)
        #: the open invoices of each account as loaded, by the version loaded: an update
        #: writes only the ones that changed (a charge changes none)
        self._loaded: dict[str, tuple[int, dict[str, OpenInvoice]]] = {}

    def _replace_children(self, item: HoldingAccount) -> None:
        opened = s.open_invoices
        self._append_entries([item])
        now = {o.invoice_id: o for o in item.open_invoices}
        version, before = self._loaded.get(item.id, (None, None))
        if before is None or version != item.version:
            # Not loaded in this unit of work at this version: rewrite them all.
            self._db.execute(delete(opened).where(opened.c.account_id == item.id))
            written = list(now.values())
        else:
            gone = [id for id, o in before.items() if now.get(id) != o]
            if gone:
                self._db.execute(
                    delete(opened).where(
                        opened.c.account_id == item.id, _in(opened.c.invoice_id, gone)
                    )
                )
            written = [o for id, o in now.items() if before.get(id) != o]
        self._insert_open(item.id, written)
        # The version the row now has (``update`` raises it after this).
        self._loaded[item.id] = (item.version + 1, now)

    def _insert_open(self, account_id: str, items: Sequence[OpenInvoice]) -> None:
        self._db.insert(
            s.open_invoices,
            [
                {
                    "account_id": account_id,
                    "invoice_id": o.invoice_id,
                    "number": o.number,
                    **_money_values("remaining", o.remaining),
                }
                for o in items
            ],
        )

    def _build(self, rows: Rows) -> list[HoldingAccount]:
        opened = self._db.children(
            s.open_invoices, "account_id", _ids(rows), "number", "invoice_id"
        )
        return self._assemble(rows, opened)

    def _assemble(self, rows: Rows, opened: _Children) -> list[HoldingAccount]:
        accounts = self._assembled(rows, opened)
        for account in accounts:
            self._loaded[account.id] = (
                account.version,
                {o.invoice_id: o for o in account.open_invoices},
            )
        return accounts

    @staticmethod
    def _assembled(rows: Rows, opened: _Children) -> list[HoldingAccount]:
        return [
            HoldingAccount(
                id=r["id"],
                organization_id=r["organization_id"],
                structure_id=r["structure_id"],
                currency=r["currency"],
                credit_limit=_money_or_none(r, "credit_limit"),
                balance=_money(r, "balance"),
                entry_count=r["entry_count"],
                open_invoices=[
                    OpenInvoice(o["invoice_id"], o["number"], _money(o, "remaining"))
                    for o in opened[r["id"]]
                ],
                unallocated_credit=_money(r, "unallocated_credit"),
                version=r["version"],
            )
            for r in rows
        ]

    def ledger(self, account_id: str) -> list[LedgerEntry]:
        e = s.ledger_entries
        rows = self._db.execute(
            select(e).where(e.c.account_id == account_id).order_by(e.c.sequence)
        ).mappings()
        return [
            LedgerEntry(
                sequence=row["sequence"],
                at=row["at"],
                kind=EntryKind(row["kind"]),
                amount=_money(row, "amount"),
                order_id=row["order_id"],
                reference=row["reference"],
            )
            for row in rows
        ]

    def for_structure(self, organization_id: str, structure_id: str) -> HoldingAccount | None:
        t = self.table
        return self._fetch_one(
            select(t).where(
                t.c.organization_id == organization_id, t.c.structure_id == structure_id
            )
        )

    def for_structure_for_update(
        self, organization_id: str, structure_id: str
    ) -> HoldingAccount | None:
        # One read: the account locked, with its open invoices (an outer join).
        rows = (
            self._db.execute(
                _ACCOUNT_LOCKED, {"organization": organization_id, "structure": structure_id}
            )
            .mappings()
            .all()
        )
        if not rows:
            return None
        account = _part(rows[0], "ac_")
        opened = [o for row in rows for o in _part(row, "oi_", key="invoice_id")]
        (found,) = self._assemble(account, {account[0]["id"]: opened})
        return found


def _account_locked() -> Executable:
    accounts, opened = s.accounts, s.open_invoices
    return (
        select(*_labelled(accounts, "ac_"), *_labelled(opened, "oi_"))
        .select_from(accounts.outerjoin(opened, opened.c.account_id == accounts.c.id))
        .where(
            accounts.c.organization_id == bindparam("organization"),
            accounts.c.structure_id == bindparam("structure"),
        )
        .order_by(opened.c.number, opened.c.invoice_id)
        .with_for_update(of=accounts)
    )


_ACCOUNT_LOCKED = _account_locked()


class Invoices(_Store[Invoice]):
    table = s.invoices

    def _values(self, item: Invoice) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "structure_id": item.structure_id,
            "number": item.number,
            "kind": item.kind.value,
            "issued_at": item.issued_at,
            "currency": item.currency,
            **_money_values("total", item.total),
            "corrects_invoice_id": item.corrects_invoice_id,
            "due_on": item.due_on,
            "reference": item.reference,
            "iban": item.iban,
            **_party_values("seller", item.seller),
            "seller_vat_number": item.seller.vat_number if item.seller else None,
            **_party_values("buyer", item.buyer),
        }

    def _add_children(self, items: Sequence[Invoice]) -> None:
        self._db.insert(
            s.invoice_lines,
            [
                {
                    "invoice_id": i.id,
                    "position": position,
                    "order_id": line.order_id,
                    "order_line_id": line.order_line_id,
                    "description": line.description,
                    "quantity": line.quantity,
                    **_money_values("unit_price", line.unit_price),
                    "vat_rate": _rate(line.vat_rate),
                    **_money_values("total", line.total),
                }
                for i in items
                for position, line in enumerate(i.lines)
            ],
        )
        self._db.insert(
            s.invoice_vat_rows,
            [
                {
                    "invoice_id": i.id,
                    "position": position,
                    "vat_rate": _rate(row.vat_rate),
                    **_money_values("net", row.net),
                    **_money_values("vat", row.vat),
                    **_money_values("gross", row.gross),
                }
                for i in items
                for position, row in enumerate(i.vat_breakdown)
            ],
        )
        self._db.insert(
            s.invoice_orders,
            [
                {"invoice_id": i.id, "position": position, "order_id": order_id}
                for i in items
                for position, order_id in enumerate(i.order_ids)
            ],
        )

    def _build(self, rows: Rows) -> list[Invoice]:
        ids = _ids(rows)
        lines = self._db.children(s.invoice_lines, "invoice_id", ids, "position")
        vat_rows = self._db.children(s.invoice_vat_rows, "invoice_id", ids, "position")
        orders = self._db.children(s.invoice_orders, "invoice_id", ids, "position")
        return [
            Invoice(
                id=r["id"],
                organization_id=r["organization_id"],
                structure_id=r["structure_id"],
                number=r["number"],
                kind=InvoiceKind(r["kind"]),
                issued_at=r["issued_at"],
                currency=r["currency"],
                lines=tuple(
                    InvoiceLine(
                        order_id=line["order_id"],
                        order_line_id=line["order_line_id"],
                        description=line["description"],
                        quantity=line["quantity"],
                        unit_price=_money(line, "unit_price"),
                        vat_rate=VatRate(line["vat_rate"]),
                        total=_money(line, "total"),
                    )
                    for line in lines[r["id"]]
                ),
                vat_breakdown=tuple(
                    VatBreakdownRow(
                        vat_rate=VatRate(v["vat_rate"]),
                        net=_money(v, "net"),
                        vat=_money(v, "vat"),
                        gross=_money(v, "gross"),
                    )
                    for v in vat_rows[r["id"]]
                ),
                total=_money(r, "total"),
                order_ids=tuple(o["order_id"] for o in orders[r["id"]]),
                corrects_invoice_id=r["corrects_invoice_id"],
                due_on=r["due_on"],
                reference=r["reference"],
                iban=r["iban"],
                seller=_party(r, "seller", r["seller_vat_number"]),
                buyer=_party(r, "buyer"),
            )
            for r in rows
        ]

    def with_reference(self, reference: str) -> list[Invoice]:
        t = self.table
        return self._fetch(
            select(t).where(t.c.reference == reference).order_by(t.c.organization_id, t.c.number)
        )

    def for_structure(self, organization_id: str, structure_id: str) -> list[Invoice]:
        t = self.table
        return self._fetch(
            select(t)
            .where(t.c.organization_id == organization_id, t.c.structure_id == structure_id)
            .order_by(t.c.number)
        )

    def numbers(self, organization_id: str) -> list[int]:
        t = self.table
        statement = (
            select(t.c.number).where(t.c.organization_id == organization_id).order_by(t.c.number)
        )
        return list(self._db.execute(statement).scalars())


class InvoiceSequences:
    def __init__(self, db: Db) -> None:
        self._db = db

    def _locked(self, organization_id: str) -> RowMapping | None:
        t = s.invoice_sequences
        statement = select(t).where(t.c.organization_id == organization_id).with_for_update()
        return self._db.execute(statement).mappings().first()

    def get_for_update(self, organization_id: str) -> InvoiceSequence:
        row = self._locked(organization_id)
        if row is None:
            # Two first invoices may race to create the row: the loser waits, inserts nothing,
            # then locks the winner's row.
            values = {"organization_id": organization_id, "last_number": 0, "version": 0}
            dialect = self._db.dialect_name
            if dialect == "postgresql":
                self._db.execute(
                    postgresql.insert(s.invoice_sequences).values(values).on_conflict_do_nothing()
                )
            elif dialect == "sqlite":
                self._db.execute(
                    sqlite.insert(s.invoice_sequences).values(values).on_conflict_do_nothing()
                )
            else:
                self._db.insert(s.invoice_sequences, [values])
            row = self._locked(organization_id)
            assert row is not None
        return InvoiceSequence(organization_id, row["last_number"], row["version"])

    def update(self, sequence: InvoiceSequence) -> None:
        t = s.invoice_sequences
        statement = (
            update(t)
            .where(t.c.organization_id == sequence.organization_id, t.c.version == sequence.version)
            .values(last_number=sequence.last_number, version=sequence.version + 1)
        )
        if self._db.execute(statement).rowcount != 1:
            raise ConcurrencyError(
                f"The invoice sequence of {sequence.organization_id} was changed by another "
                "unit of work.",
                organization_id=sequence.organization_id,
                version=sequence.version,
            )
        sequence.version += 1


# --- outbox ---------------------------------------------------------------------------------


class Outbox:
    def __init__(self, db: Db) -> None:
        self._db = db

    def _build(self, rows: Rows) -> list[OutboxItem]:
        attachments = self._db.children(
            s.outbox_attachments, "message_id", _ids(rows, "message_id"), "position"
        )
        return [
            OutboxItem(
                message=MailMessage(
                    id=r["message_id"],
                    to=Email(r["recipient"]),
                    subject=r["subject"],
                    body=r["body"],
                    attachments=tuple(
                        Attachment(a["filename"], a["media_type"], bytes(a["content"]))
                        for a in attachments[r["message_id"]]
                    ),
                    institution_id=r["institution_id"],
                    html=r["html"],
                ),
                queued_at=r["queued_at"],
                attempts=r["attempts"],
                last_error=r["last_error"],
                sent_at=r["sent_at"],
                state=OutboxState(r["state"]),
                due_at=r["due_at"],
                claimed_by=r["claimed_by"],
                lease_until=r["lease_until"],
            )
            for r in rows
        ]

    def add(self, message: MailMessage, queued_at: datetime) -> None:
        self._db.insert(
            s.outbox,
            [
                {
                    "message_id": message.id,
                    "recipient": message.to.value,
                    "subject": message.subject,
                    "body": message.body,
                    "queued_at": queued_at,
                    "attempts": 0,
                    "last_error": None,
                    "sent_at": None,
                    "state": OutboxState.QUEUED.value,
                    "due_at": queued_at,
                    "claimed_by": None,
                    "lease_until": None,
                    "institution_id": message.institution_id,
                    "html": message.html,
                }
            ],
        )
        self._db.insert(
            s.outbox_attachments,
            [
                {
                    "message_id": message.id,
                    "position": position,
                    "filename": a.filename,
                    "media_type": a.media_type,
                    "content": a.content,
                }
                for position, a in enumerate(message.attachments)
            ],
        )

    def pending(self, limit: int) -> list[OutboxItem]:
        t = s.outbox
        statement = (
            select(t)
            .where(t.c.state.in_([OutboxState.QUEUED.value, OutboxState.SENDING.value]))
            .order_by(t.c.queued_at, t.c.message_id)
            .limit(max(limit, 0))
        )
        return self._build(self._db.execute(statement).mappings().all())

    def claim(
        self, dispatcher: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxItem]:
        t = s.outbox
        # SKIP LOCKED (PostgreSQL): a second dispatcher claims the next messages instead of
        # waiting; re-checked after the wait, a row another claim took is no longer due. SQLite
        # has no row locks: its units of work begin IMMEDIATE, so claims run one at a time.
        due = (
            select(t.c.message_id)
            .where(
                or_(
                    and_(t.c.state == OutboxState.QUEUED.value, t.c.due_at <= now),
                    and_(t.c.state == OutboxState.SENDING.value, t.c.lease_until <= now),
                )
            )
            .order_by(t.c.due_at, t.c.queued_at, t.c.message_id)
            .limit(max(limit, 0))
            .with_for_update(skip_locked=True)
        )
        ids = list(self._db.execute(due).scalars().all())
        if not ids:
            return []
        self._db.execute(
            update(t)
            .where(t.c.message_id.in_(ids))
            .values(
                state=OutboxState.SENDING.value,
                claimed_by=dispatcher,
                lease_until=lease_until,
                attempts=t.c.attempts + 1,
            )
        )
        rows = self._db.execute(select(t).where(t.c.message_id.in_(ids))).mappings().all()
        order = {id: n for n, id in enumerate(ids)}
        return self._build(sorted(rows, key=lambda r: order[r["message_id"]]))

    def _mark(self, message_id: str, dispatcher: str, **values: Any) -> bool:
        t = s.outbox
        result = self._db.execute(
            update(t)
            .where(
                t.c.message_id == message_id,
                t.c.state == OutboxState.SENDING.value,
                t.c.claimed_by == dispatcher,
            )
            .values(claimed_by=None, lease_until=None, **values)
        )
        return result.rowcount == 1

    def mark_sent(
        self,
        message_id: str,
        dispatcher: str,
        at: datetime,
        body: str | None = None,
        html: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"sent_at": at, "state": OutboxState.SENT.value}
        if body is not None:
            values["body"] = body
        if html is not None:
            values["html"] = html
        return self._mark(message_id, dispatcher, **values)

    def mark_retry(self, message_id: str, dispatcher: str, error: str, due_at: datetime) -> bool:
        return self._mark(
            message_id,
            dispatcher,
            state=OutboxState.QUEUED.value,
            due_at=due_at,
            last_error=error,
        )

    def mark_failed(self, message_id: str, dispatcher: str, error: str) -> bool:
        return self._mark(message_id, dispatcher, state=OutboxState.FAILED.value, last_error=error)

    def failed(self, institution_id: str | None, limit: int) -> list[OutboxItem]:
        t = s.outbox
        whose = (
            t.c.institution_id.is_(None)
            if institution_id is None
            else t.c.institution_id == institution_id
        )
        statement = (
            select(t)
            .where(whose, t.c.state == OutboxState.FAILED.value)
            .order_by(t.c.queued_at, t.c.message_id)
            .limit(max(limit, 0))
        )
        return self._build(self._db.execute(statement).mappings().all())

    def requeue(self, message_id: str, now: datetime) -> bool:
        t = s.outbox
        result = self._db.execute(
            update(t)
            .where(t.c.message_id == message_id, t.c.state == OutboxState.FAILED.value)
            .values(state=OutboxState.QUEUED.value, due_at=now, attempts=0)
        )
        return result.rowcount == 1

    def get(self, message_id: str) -> OutboxItem | None:
        t = s.outbox
        found = self._build(
            self._db.execute(select(t).where(t.c.message_id == message_id)).mappings().all()
        )
        return found[0] if found else None


# --- identity -------------------------------------------------------------------------------


def _subset(every: bool, rows: Sequence[RowMapping], column: str) -> frozenset[str] | None:
    """A ``frozenset | None`` stored as a flag (``None``: every one) and child rows."""
    return None if every else frozenset(row[column] for row in rows)


class Operators(_Repo[Operator]):
    table = s.operators
    _sets = (s.operator_permissions, s.operator_organizations)

    def _values(self, item: Operator) -> Values:
        return {
            "id": item.id,
            "institution_id": item.institution_id,
            "first_name": item.name.first,
            "last_name": item.name.last,
            "email": item.email.value,
            "email_key": item.email.value.lower(),
            "all_organizations": item.organization_ids is None,
            "active": item.active,
        }

    def _add_children(self, items: Sequence[Operator]) -> None:
        self._db.insert(
            s.operator_permissions,
            [
                {"operator_id": o.id, "permission": permission}
                for o in items
                for permission in sorted(p.value for p in o.permissions)
            ],
        )
        self._db.insert(
            s.operator_organizations,
            [
                {"operator_id": o.id, "organization_id": organization_id}
                for o in items
                for organization_id in sorted(o.organization_ids or ())
            ],
        )

    def _replace_children(self, item: Operator) -> None:
        for table in self._sets:
            self._db.execute(delete(table).where(table.c.operator_id == item.id))
        self._add_children([item])

    def _build(self, rows: Rows) -> list[Operator]:
        ids = _ids(rows)
        permissions, organizations = (
            self._db.children(table, "operator_id", ids) for table in self._sets
        )
        return [
            Operator(
                id=r["id"],
                institution_id=r["institution_id"],
                name=PersonName(r["first_name"], r["last_name"]),
                email=Email(r["email"]),
                permissions=frozenset(Permission(p["permission"]) for p in permissions[r["id"]]),
                organization_ids=_subset(
                    r["all_organizations"], organizations[r["id"]], "organization_id"
                ),
                active=r["active"],
            )
            for r in rows
        ]

    def find_by_email(self, institution_id: str, email: str) -> Operator | None:
        t = self.table
        return self._fetch_one(
            select(t)
            .where(t.c.institution_id == institution_id, t.c.email_key == email.lower())
            .order_by(t.c.id)
            .limit(1)
        )

    def for_institution(self, institution_id: str) -> list[Operator]:
        t = self.table
        return self._fetch(select(t).where(t.c.institution_id == institution_id).order_by(t.c.id))


def _gate(r: RowMapping, performances: Sequence[RowMapping]) -> Gate:
    return Gate(
        id=r["id"],
        organization_id=r["organization_id"],
        name=r["name"],
        performance_ids=_subset(r["all_performances"], performances, "performance_id"),
        active=r["active"],
    )


_GATE = (
    select(s.gates, s.gate_performances.c.performance_id)
    .outerjoin(s.gate_performances, s.gate_performances.c.gate_id == s.gates.c.id)
    .where(s.gates.c.id == bindparam("id"))
)


class Gates(_Repo[Gate]):
    table = s.gates

    def _values(self, item: Gate) -> Values:
        return {
            "id": item.id,
            "organization_id": item.organization_id,
            "name": item.name,
            "all_performances": item.performance_ids is None,
            "active": item.active,
        }

    def _add_children(self, items: Sequence[Gate]) -> None:
        self._db.insert(
            s.gate_performances,
            [
                {"gate_id": g.id, "performance_id": performance_id}
                for g in items
                for performance_id in sorted(g.performance_ids or ())
            ],
        )

    def _replace_children(self, item: Gate) -> None:
        performances = s.gate_performances
        self._db.execute(delete(performances).where(performances.c.gate_id == item.id))
        self._add_children([item])

    def _build(self, rows: Rows) -> list[Gate]:
        # A gate of every performance has no child rows to read.
        limited = [r["id"] for r in rows if not r["all_performances"]]
        performances = self._db.children(s.gate_performances, "gate_id", limited)
        return [_gate(r, performances[r["id"]]) for r in rows]

    def get(self, id: str) -> Gate | None:
        # One read, with the performances it is limited to: a gate is loaded on every scan.
        rows = self._db.execute(_GATE, {"id": id}).mappings().all()
        if not rows:
            return None
        return _gate(rows[0], [r for r in rows if r["performance_id"] is not None])

    def for_organization(self, organization_id: str) -> list[Gate]:
        t = self.table
        return self._fetch(select(t).where(t.c.organization_id == organization_id).order_by(t.c.id))


class Credentials(_Repo[Credential]):
    table = s.credentials

    def _values(self, item: Credential) -> Values:
        return {
            "id": item.id,
            "password_hash": item.password_hash,
            "changed_at": item.changed_at,
            "failed_attempts": item.failed_attempts,
            "locked_until": item.locked_until,
        }

    def _build(self, rows: Rows) -> list[Credential]:
        return [
            Credential(
                id=r["id"],
                password_hash=r["password_hash"],
                changed_at=r["changed_at"],
                failed_attempts=r["failed_attempts"],
                locked_until=r["locked_until"],
            )
            for r in rows
        ]


class _Tokens(_Repo[T]):
    """Records kept under the digest of their token (unique)."""

    def find_by_digest(self, token_digest: str) -> T | None:
        t = self.table
        return self._fetch_one(select(t).where(t.c.token_digest == token_digest))


class Sessions(_Tokens[AuthSession]):
    table = s.sessions

    def _values(self, item: AuthSession) -> Values:
        return {
            "id": item.id,
            "token_digest": item.token_digest,
            "actor_kind": item.actor_kind.value,
            "actor_id": item.actor_id,
            "created_at": item.created_at,
            "expires_at": item.expires_at,
            "last_used_at": item.last_used_at,
            "method": item.method.value,
            "sales_point_id": item.sales_point_id,
            "revoked_at": item.revoked_at,
        }

    def _build(self, rows: Rows) -> list[AuthSession]:
        return [
            AuthSession(
                id=r["id"],
                token_digest=r["token_digest"],
                actor_kind=ActorKind(r["actor_kind"]),
                actor_id=r["actor_id"],
                created_at=r["created_at"],
                expires_at=r["expires_at"],
                last_used_at=r["last_used_at"],
                method=LoginMethod(r["method"]),
                sales_point_id=r["sales_point_id"],
                revoked_at=r["revoked_at"],
            )
            for r in rows
        ]

    def find_with_context(self, token_digest: str) -> SessionContext | None:
        # Two reads: the session with its individual, sales point, organization and profile
        # (outer joins), then every set of the sales point and of the profile in one UNION.
        row = self._db.execute(_CONTEXT, {"digest": token_digest}).mappings().first()
        if row is None:
            return None
        (session,) = self._build(_part(row, "se_"))
        point_rows, profile_rows = _part(row, "sp_"), _part(row, "pr_")
        sets: dict[str, dict[str, list[Mapping[Any, Any]]]] = defaultdict(lambda: defaultdict(list))
        if point_rows:
            point_id = point_rows[0]["id"]
            profile_id = profile_rows[0]["id"] if profile_rows else None
            found = self._db.execute(_CONTEXT_SETS, {"point": point_id, "profile": profile_id})
            for child in found.mappings():
                kind, value = child["kind"], child["value"]
                parent = point_id if kind in _POINT_SETS else str(profile_id)
                sets[kind][parent].append(
                    {
                        _SET_COLUMN[kind]: value,
                        "profile_id": profile_id,
                        "position": child["position"],
                        "all_tariffs": child["all_tariffs"],
                        "min_per_order": child["min_per_order"],
                        "max_per_order": child["max_per_order"],
                        "sale_opens_at": child["sale_opens_at"],
                        "sale_closes_at": child["sale_closes_at"],
                    }
                )
        points = SalesPoints._assemble(point_rows, *(sets[kind] for kind in _POINT_SETS))
        products = {
            id: sorted(rows, key=lambda r: r["position"]) for id, rows in sets["product"].items()
        }
        profiles = Profiles._assemble(profile_rows, sets["activity"], products, sets["tariff"])
        individuals = Individuals(self._db)._build(_part(row, "in_"))
        organizations = Organizations(self._db)._build(_part(row, "or_"))
        return SessionContext(
            session,
            individuals[0] if individuals else None,
            points[0] if points else None,
            organizations[0] if organizations else None,
            profiles[0] if profiles else None,
        )

    def _revoke(self, at: datetime, *conditions: Any) -> int:
        t = self.table
        statement = update(t).where(t.c.revoked_at.is_(None), *conditions).values(revoked_at=at)
        return self._db.execute(statement).rowcount

    def revoke_for_actor(
        self, kind: ActorKind, actor_id: str, at: datetime, except_id: str | None = None
    ) -> int:
        t = self.table
        but = () if except_id is None else (t.c.id != except_id,)
        return self._revoke(at, t.c.actor_kind == kind.value, t.c.actor_id == actor_id, *but)

    def revoke_for_relays(
        self, relay_ids: Collection[str], sales_point_id: str, at: datetime
    ) -> int:
        t = self.table
        ids = sorted(set(relay_ids))
        return sum(
            self._revoke(
                at,
                t.c.actor_kind == ActorKind.RELAY.value,
                t.c.actor_id.in_(ids[start : start + _CHUNK]),
                t.c.sales_point_id == sales_point_id,
            )
            for start in range(0, len(ids), _CHUNK)
        )


def _context() -> Executable:
    sessions, individuals, points = s.sessions, s.individuals, s.sales_points
    profiles = s.profiles
    chosen = profiles.alias("chosen")
    own = (
        select(profiles.c.id)
        .where(profiles.c.sales_point_id == points.c.id)
        .order_by(profiles.c.id)
        .limit(1)
        .scalar_subquery()
    )
    channels = (
        select(profiles.c.id)
        .where(
            profiles.c.organization_id == points.c.organization_id,
            profiles.c.channel_id == points.c.channel_id,
        )
        .order_by(profiles.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            *_labelled(sessions, "se_"),
            *_labelled(individuals, "in_"),
            *_labelled(points, "sp_"),
            *_labelled(s.organizations, "or_"),
            *_labelled(chosen, "pr_"),
        )
        .select_from(
            sessions.outerjoin(individuals, individuals.c.id == sessions.c.actor_id)
            .outerjoin(points, points.c.id == sessions.c.sales_point_id)
            .outerjoin(s.organizations, s.organizations.c.id == points.c.organization_id)
            # The sales point's own profile, else its channel's (ProfileRepository's order).
            .outerjoin(chosen, chosen.c.id == func.coalesce(own, channels))
        )
        .where(sessions.c.token_digest == bindparam("digest"))
    )


#: the sets read with a session's context: the sales point's, then the profile's
_POINT_SETS = ("function", "payment_method", "delivery_mode", "structure")
_SET_COLUMN = {
    "function": "function",
    "payment_method": "payment_method",
    "delivery_mode": "delivery_mode",
    "structure": "structure_id",
    "activity": "activity_id",
    "product": "product_id",
    "tariff": "tariff_id",
}


def _context_sets() -> Executable:
    products = s.profile_products
    point: Any = bindparam("point")
    profile: Any = bindparam("profile")
    # The profile's products come first: their columns give the UNION its types.
    branches = [
        select(
            literal("product").label("kind"),
            products.c.product_id.label("value"),
            products.c.position,
            products.c.all_tariffs,
            products.c.min_per_order,
            products.c.max_per_order,
            products.c.sale_opens_at,
            products.c.sale_closes_at,
        ).where(products.c.profile_id == profile)
    ]
    padding = (
        cast(null(), Boolean).label("all_tariffs"),
        cast(null(), Integer).label("min_per_order"),
        cast(null(), Integer).label("max_per_order"),
        cast(null(), s.UtcDateTime()).label("sale_opens_at"),
        cast(null(), s.UtcDateTime()).label("sale_closes_at"),
    )
    for kind, table, column, parent in (
        ("function", s.sales_point_functions, "function", point),
        ("payment_method", s.sales_point_payment_methods, "payment_method", point),
        ("delivery_mode", s.sales_point_delivery_modes, "delivery_mode", point),
        ("structure", s.sales_point_structures, "structure_id", point),
        ("activity", s.profile_activities, "activity_id", profile),
        ("tariff", s.profile_product_tariffs, "tariff_id", profile),
    ):
        key = table.c.sales_point_id if parent is point else table.c.profile_id
        position = (
            table.c.position if "position" in table.c else cast(null(), Integer).label("position")
        )
        branches.append(
            select(
                literal(kind).label("kind"), table.c[column].label("value"), position, *padding
            ).where(key == parent)
        )
    return union_all(*branches)


_CONTEXT = _context()
_CONTEXT_SETS = _context_sets()


class LoginLinks(_Tokens[LoginLink]):
    table = s.login_links

    def _values(self, item: LoginLink) -> Values:
        return {
            "id": item.id,
            "token_digest": item.token_digest,
            "actor_kind": item.actor_kind.value,
            "individual_id": item.individual_id,
            "purpose": item.purpose.value,
            "created_at": item.created_at,
            "expires_at": item.expires_at,
            "sales_point_id": item.sales_point_id,
            "used_at": item.used_at,
        }

    def _build(self, rows: Rows) -> list[LoginLink]:
        return [
            LoginLink(
                id=r["id"],
                token_digest=r["token_digest"],
                actor_kind=ActorKind(r["actor_kind"]),
                individual_id=r["individual_id"],
                purpose=LinkPurpose(r["purpose"]),
                created_at=r["created_at"],
                expires_at=r["expires_at"],
                sales_point_id=r["sales_point_id"],
                used_at=r["used_at"],
            )
            for r in rows
        ]


_API_KEY = select(s.api_keys).where(s.api_keys.c.token_digest == bindparam("digest"))


class ApiKeys(_Tokens[ApiKey]):
    table = s.api_keys

    def find_by_digest(self, token_digest: str) -> ApiKey | None:
        # Built once: a gate's key is looked up on every scan.
        found = self._build(self._db.execute(_API_KEY, {"digest": token_digest}).mappings().all())
        return found[0] if found else None

    def _values(self, item: ApiKey) -> Values:
        return {
            "id": item.id,
            "token_digest": item.token_digest,
            "actor_kind": item.actor_kind.value,
            "actor_id": item.actor_id,
            "label": item.label,
            "created_at": item.created_at,
            "revoked_at": item.revoked_at,
        }

    def _build(self, rows: Rows) -> list[ApiKey]:
        return [
            ApiKey(
                id=r["id"],
                token_digest=r["token_digest"],
                actor_kind=ActorKind(r["actor_kind"]),
                actor_id=r["actor_id"],
                label=r["label"],
                created_at=r["created_at"],
                revoked_at=r["revoked_at"],
            )
            for r in rows
        ]

    def for_actor(self, kind: ActorKind, actor_id: str) -> list[ApiKey]:
        t = self.table
        return self._fetch(
            select(t)
            .where(t.c.actor_kind == kind.value, t.c.actor_id == actor_id)
            .order_by(t.c.created_at, t.c.id)
        )
