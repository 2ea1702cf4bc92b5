"""Repositories: SQL statements, and the explicit conversion between rows and domain objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import (
    CursorResult,
    Executable,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from ticketdomain.core.accounts import EntryKind, HoldingAccount, LedgerEntry, OpenInvoice
from ticketdomain.core.catalog import (
    Activity,
    CatalogProfile,
    Performance,
    Product,
    ProductConditions,
    Tariff,
)
from ticketdomain.core.contacts import ContactRole, Email, Individual, PersonName, Structure
from ticketdomain.core.distribution import CustodyCount, HolderCount
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
from ticketdomain.core.quotas import Quota
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
from ticketdomain.ports.storage import OutboxItem
from ticketdomain_sqlalchemy import _schema as s
from ticketdomain_sqlalchemy._errors import translated

T = TypeVar("T")
Values = dict[str, Any]
Rows = Sequence[RowMapping]
Result = CursorResult[*tuple[Any, ...]]

# Parent ids per IN (...) list when loading children: far below every database's bind limit.
_CHUNK = 500


class Db:
    """The session of one unit of work, with infrastructure errors translated."""

    def __init__(self) -> None:
        self.session: Session | None = None

    def _session(self) -> Session:
        if self.session is None:
            raise RuntimeError("Use the unit of work inside a `with` block.")
        return self.session

    @property
    def dialect_name(self) -> str:
        return self._session().get_bind().dialect.name

    def execute(self, statement: Executable, parameters: Any = None) -> Result:
        with translated():
            return self._session().connection().execute(statement, parameters)

    def insert(self, table: Table, rows: Sequence[Values]) -> None:
        if rows:
            self.execute(insert(table), list(rows))

    def children(
        self, table: Table, parent: str, ids: Sequence[str], *order: str
    ) -> Mapping[str, list[RowMapping]]:
        """Rows of a child table for many parents at once, grouped by parent id."""
        found: dict[str, list[RowMapping]] = defaultdict(list)
        column = table.c[parent]
        for start in range(0, len(ids), _CHUNK):
            statement = (
                select(table)
                .where(column.in_(ids[start : start + _CHUNK]))
                .order_by(column, *(table.c[name] for name in order))
            )
            for row in self.execute(statement).mappings():
                found[row[parent]].append(row)
        return found


# --- conversions ----------------------------------------------------------------------------


def _money(row: RowMapping, name: str) -> Money:
    return Money(row[f"{name}_amount"], row[f"{name}_currency"])


def _money_or_none(row: RowMapping, name: str) -> Money | None:
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

    def _fetch(self, statement: Executable) -> list[T]:
        return self._build(self._db.execute(statement).mappings().all())

    def _fetch_one(self, statement: Executable) -> T | None:
        found = self._fetch(statement)
        return found[0] if found else None

    def add(self, item: T) -> None:
        self._insert([item])

    def get(self, id: str) -> T | None:
        return self._fetch_one(select(self.table).where(self.table.c[self.key] == id))


class _Repo(_Store[T]):
    """A mutable aggregate: written back with ``update``, optionally version-checked."""

    versioned: ClassVar[bool] = False

    def _replace_children(self, item: T) -> None:
        """Write the child rows of an updated aggregate."""

    def get_for_update(self, id: str) -> T | None:
        return self._fetch_one(
            select(self.table).where(self.table.c[self.key] == id).with_for_update()
        )

    def update(self, item: T) -> None:
        values = self._values(item)
        key = values.pop(self.key)
        statement = update(self.table).where(self.table.c[self.key] == key)
        version = values.get("version", 0)
        if self.versioned:
            # Optimistic check: refused if another transaction wrote a newer version.
            statement = statement.where(self.table.c.version == version)
            values["version"] = version + 1
        if self._db.execute(statement.values(values)).rowcount != 1:
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
        }

    def _build(self, rows: Rows) -> list[Organization]:
        return [
            Organization(r["id"], r["institution_id"], r["name"], r["currency"], r["time_zone"])
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


class Structures(_Repo[Structure]):
    table = s.structures

    def _values(self, item: Structure) -> Values:
        return {
            "id": item.id,
            "institution_id": item.institution_id,
            "name": item.name,
            "parent_id": item.parent_id,
        }

    def _build(self, rows: Rows) -> list[Structure]:
        return [Structure(r["id"], r["institution_id"], r["name"], r["parent_id"]) for r in rows]

    def children(self, structure_id: str) -> list[Structure]:
        t = self.table
        return self._fetch(
            select(t).where(t.c.parent_id == structure_id).order_by(t.c.name, t.c.id)
        )


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
        tariffs: dict[tuple[str, int], set[str]] = defaultdict(set)
        offered = self._db.children(s.profile_product_tariffs, "profile_id", ids)
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


class Tickets(_Repo[Ticket]):
    table = s.tickets
    versioned = True

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
        }

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

    def _build(self, rows: Rows) -> list[Ticket]:
        barcodes = self._db.children(s.barcodes, "ticket_id", _ids(rows), "position")
        tickets = []
        for r in rows:
            issued = barcodes[r["id"]]
            live = [b["value"] for b in issued if not b["revoked"]]
            tickets.append(
                Ticket(
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
                )
            )
        return tickets

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
        t = self.table
        assigned = t.c.holder_id.is_not(None)
        keys = (
            t.c.structure_id,
            t.c.stock_structure_id,
            t.c.performance_id,
            t.c.product_id,
            t.c.state,
            assigned,
        )
        statement = (
            select(*keys, func.count().label("n"))
            .where(
                t.c.organization_id == organization_id,
                _in(t.c.stock_structure_id, stock_structure_ids),
            )
            .group_by(*keys)
        )
        return [
            CustodyCount(
                buyer_structure_id=row[0],
                stock_structure_id=row[1],
                performance_id=row[2],
                product_id=row[3],
                state=TicketState(row[4]),
                assigned=bool(row[5]),
                count=int(row[6]),
            )
            for row in self._db.execute(statement)
        ]

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

    def _replace_children(self, item: HoldingAccount) -> None:
        opened = s.open_invoices
        self._append_entries([item])
        self._db.execute(delete(opened).where(opened.c.account_id == item.id))
        self._open_invoices([item])

    def _build(self, rows: Rows) -> list[HoldingAccount]:
        opened = self._db.children(
            s.open_invoices, "account_id", _ids(rows), "number", "invoice_id"
        )
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
        t = self.table
        return self._fetch_one(
            select(t)
            .where(t.c.organization_id == organization_id, t.c.structure_id == structure_id)
            .with_for_update()
        )


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
            )
            for r in rows
        ]

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
        self, message_id: str, dispatcher: str, at: datetime, body: str | None = None
    ) -> bool:
        values: dict[str, Any] = {"sent_at": at, "state": OutboxState.SENT.value}
        if body is not None:
            values["body"] = body
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
        performances = self._db.children(s.gate_performances, "gate_id", _ids(rows))
        return [
            Gate(
                id=r["id"],
                organization_id=r["organization_id"],
                name=r["name"],
                performance_ids=_subset(
                    r["all_performances"], performances[r["id"]], "performance_id"
                ),
                active=r["active"],
            )
            for r in rows
        ]

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


class ApiKeys(_Tokens[ApiKey]):
    table = s.api_keys

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
