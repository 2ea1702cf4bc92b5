"""The floor: what the database itself allows for the library's hot paths.

Hand-written SQLAlchemy Core statements, built once, writing and reading the same rows of the
library's own ``td_`` tables (reflected from the database, so the floor uses none of the
adapter's Python layer) in the same transaction shape as the library: on the storage's engine,
so on SQLite it gets the same ``BEGIN IMMEDIATE``, WAL journal and pragmas.

- placing an order of n tickets on the holding account: the relay's session, sales point and
  structure in one read; the tariff and product in another; the availability check and the
  performance lock in one conditional ``UPDATE ... RETURNING`` on a counter row; the account
  charged with one conditional ``UPDATE ... RETURNING``; then the ledger entry, the order, its
  line, the tickets and their barcodes inserted;
- scanning a ticket: the gate's key, gate and performance in one read; the ticket with its
  barcode, sales point and product in one read (locked on PostgreSQL); one ``UPDATE``;
- the corporate dashboard: the best single ``GROUP BY`` over the tickets we could write with
  the custody index (the library runs the same aggregate, with the relay's authorization, the
  structures and the names around it).

The library's tables have no column for a performance's sold count yet, so the floor keeps its
own in ``bench_floor_counters`` (the design issue 10 proposes); that table is left out when the
rows written by the floor and by the library are compared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

COUNTERS = "bench_floor_counters"

#: the library's tables the floor reads or writes
TABLES = (
    "td_sessions",
    "td_individuals",
    "td_sales_points",
    "td_sales_point_structures",
    "td_sales_point_payment_methods",
    "td_tariffs",
    "td_products",
    "td_performances",
    "td_holding_accounts",
    "td_ledger_entries",
    "td_orders",
    "td_order_lines",
    "td_tickets",
    "td_barcodes",
    "td_api_keys",
    "td_gates",
    "td_gate_performances",
)


class FloorRefused(Exception):
    """The floor refused an operation (sold out, unknown token, ...): the bench is misset."""


def digest(token: str) -> str:
    # As core.identity.token_digest: a token is looked up by its SHA-256 digest.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class Floor:
    """The floor's statements on one engine; ``prefix`` keeps its ids apart from the library's
    (and from another process's floor)."""

    def __init__(
        self,
        engine: Engine,
        prefix: str = "floor",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.prefix = prefix
        self._next = 0
        self._postgresql = engine.dialect.name == "postgresql"
        meta = MetaData()
        meta.reflect(engine, only=TABLES)
        self.counters = Table(
            COUNTERS,
            meta,
            Column("performance_id", String, primary_key=True),
            Column("capacity", Integer, nullable=False),
            Column("sold", Integer, nullable=False),
        )
        self.counters.create(engine, checkfirst=True)
        t = meta.tables
        self.t = t
        sessions, individuals = t["td_sessions"], t["td_individuals"]
        sales_points, authorized = t["td_sales_points"], t["td_sales_point_structures"]
        methods = t["td_sales_point_payment_methods"]
        self._relay = (
            select(
                sessions.c.actor_id,
                sessions.c.sales_point_id,
                individuals.c.structure_id,
                sales_points.c.organization_id,
            )
            .join(individuals, individuals.c.id == sessions.c.actor_id)
            .join(sales_points, sales_points.c.id == sessions.c.sales_point_id)
            .join(
                authorized,
                and_(
                    authorized.c.sales_point_id == sales_points.c.id,
                    authorized.c.structure_id == individuals.c.structure_id,
                ),
            )
            .join(
                methods,
                and_(
                    methods.c.sales_point_id == sales_points.c.id,
                    methods.c.payment_method == "holding_account",
                ),
            )
            .where(
                sessions.c.token_digest == bindparam("digest"),
                sessions.c.actor_kind == "relay",
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > bindparam("now"),
            )
        )
        tariffs, products = t["td_tariffs"], t["td_products"]
        self._price = (
            select(
                tariffs.c.price_amount,
                tariffs.c.price_currency,
                tariffs.c.product_id,
                products.c.vat_rate,
            )
            .join(products, products.c.id == tariffs.c.product_id)
            .where(tariffs.c.id == bindparam("tariff_id"))
        )
        c = self.counters
        self._take = (
            update(c)
            .where(
                c.c.performance_id == bindparam("b_performance_id"),
                c.c.sold + bindparam("n") <= c.c.capacity,
            )
            .values(sold=c.c.sold + bindparam("n"))
            .returning(c.c.sold)
        )
        accounts = t["td_holding_accounts"]
        total = bindparam("total", type_=accounts.c.balance_amount.type)
        self._charge = (
            update(accounts)
            .where(
                accounts.c.organization_id == bindparam("b_organization_id"),
                accounts.c.structure_id == bindparam("b_structure_id"),
                or_(
                    accounts.c.credit_limit_amount.is_(None),
                    accounts.c.balance_amount + total <= accounts.c.credit_limit_amount,
                ),
            )
            .values(
                balance_amount=accounts.c.balance_amount + total,
                entry_count=accounts.c.entry_count + 1,
                version=accounts.c.version + 1,
            )
            .returning(accounts.c.id, accounts.c.entry_count)
        )
        self._ledger = insert(t["td_ledger_entries"])
        self._order = insert(t["td_orders"])
        self._line = insert(t["td_order_lines"])
        self._tickets = insert(t["td_tickets"])
        self._barcodes = insert(t["td_barcodes"])
        keys, gates, performances = t["td_api_keys"], t["td_gates"], t["td_performances"]
        limited = t["td_gate_performances"]
        self._gate = (
            select(gates.c.id, gates.c.organization_id, gates.c.name)
            .select_from(keys)
            .join(gates, gates.c.id == keys.c.actor_id)
            .join(
                performances,
                and_(
                    performances.c.id == bindparam("performance_id"),
                    performances.c.organization_id == gates.c.organization_id,
                ),
            )
            .where(
                keys.c.token_digest == bindparam("digest"),
                keys.c.actor_kind == "gate",
                keys.c.revoked_at.is_(None),
                gates.c.active,
                or_(
                    gates.c.all_performances,
                    exists().where(
                        limited.c.gate_id == gates.c.id,
                        limited.c.performance_id == performances.c.id,
                    ),
                ),
            )
        )
        tickets, barcodes = t["td_tickets"], t["td_barcodes"]
        self._ticket = (
            select(
                tickets.c.id,
                tickets.c.organization_id,
                tickets.c.performance_id,
                tickets.c.state,
                tickets.c.beneficiary,
                barcodes.c.revoked,
                sales_points.c.admit_before_settlement,
                products.c.name,
            )
            .select_from(barcodes)
            .join(tickets, tickets.c.id == barcodes.c.ticket_id)
            .join(sales_points, sales_points.c.id == tickets.c.sales_point_id)
            .join(products, products.c.id == tickets.c.product_id)
            .where(barcodes.c.value == bindparam("barcode"))
            .with_for_update(of=tickets)
        )
        self._control = (
            update(tickets)
            .where(tickets.c.id == bindparam("b_id"))
            .values(
                state="controlled",
                controlled_at=bindparam("b_now"),
                controlled_gate=bindparam("b_gate"),
                version=tickets.c.version + 1,
            )
        )
        self._dashboard = self._dashboard_statement(tickets)

    def _dashboard_statement(self, tickets: Table) -> Any:
        """The best single GROUP BY we could write with ``ix_td_tickets_custody`` (organization,
        stock structure, state, performance, product, buyer, holder): grouped in the index's
        order, the holder counted rather than grouped by, so the index alone is read, in order,
        without a sort. On PostgreSQL one grouped index scan per structure (``JOIN LATERAL``
        over an array of ids): PostgreSQL 15 takes the rows of ``= ANY(...)`` as unordered and
        hashes every ticket, about 1.6x slower at 100,000 tickets."""
        group = (
            tickets.c.stock_structure_id,
            tickets.c.state,
            tickets.c.performance_id,
            tickets.c.product_id,
            tickets.c.structure_id,
        )
        counts = (func.count().label("n"), func.count(tickets.c.holder_id).label("assigned"))
        organization = tickets.c.organization_id == bindparam("organization_id")
        if not self._postgresql:
            listed = tickets.c.stock_structure_id.in_(bindparam("structure_ids", expanding=True))
            return select(*group, *counts).where(organization, listed).group_by(*group)
        ids = bindparam("structure_ids", type_=ARRAY(tickets.c.stock_structure_id.type))
        wanted = func.unnest(ids).table_valued("id").render_derived("wanted")
        each = (
            select(*group, *counts)
            .where(organization, tickets.c.stock_structure_id == wanted.c.id)
            .group_by(*group)
            .lateral("counts")
        )
        return select(each).select_from(wanted).join(each, true())

    def _now(self) -> datetime:
        # As the library stores them: aware UTC on PostgreSQL, naive UTC text on SQLite.
        now = self.clock().astimezone(UTC)
        return now if self._postgresql else now.replace(tzinfo=None)

    def _id(self, kind: str) -> str:
        self._next += 1
        return f"{self.prefix}-{kind}-{self._next}"

    def track(self, performance_id: str, capacity: int) -> None:
        """Keep the sold count of ``performance_id`` (from its tickets, once) for the floor."""
        tickets = self.t["td_tickets"]
        with self.engine.begin() as connection:
            sold = connection.execute(
                select(func.count()).where(
                    tickets.c.performance_id == performance_id, tickets.c.state != "cancelled"
                )
            ).scalar_one()
            connection.execute(
                self.counters.delete().where(self.counters.c.performance_id == performance_id)
            )
            connection.execute(
                insert(self.counters).values(
                    performance_id=performance_id, capacity=capacity, sold=sold
                )
            )

    def place_order(self, token: str, performance_id: str, tariff_id: str, quantity: int) -> str:
        """An order of ``quantity`` tickets charged on the relay's structure's holding account
        (which must exist: the library opens it with the structure's first order)."""
        now = self._now()
        with self.engine.begin() as connection:
            relay = connection.execute(self._relay, {"digest": digest(token), "now": now}).first()
            if relay is None:
                raise FloorRefused("relay")
            price = connection.execute(self._price, {"tariff_id": tariff_id}).one()
            if (
                connection.execute(
                    self._take, {"b_performance_id": performance_id, "n": quantity}
                ).first()
                is None
            ):
                raise FloorRefused("sold out")
            amount = Decimal(str(price.price_amount))
            total = amount * quantity
            account = connection.execute(
                self._charge,
                {
                    "b_organization_id": relay.organization_id,
                    "b_structure_id": relay.structure_id,
                    "total": total,
                },
            ).first()
            if account is None:
                raise FloorRefused("no holding account, or over its credit limit")
            order_id, line_id = self._id("order"), self._id("line")
            connection.execute(
                self._ledger,
                {
                    "account_id": account.id,
                    "sequence": account.entry_count,
                    "at": now,
                    "kind": "order_charged",
                    "amount_amount": total,
                    "amount_currency": price.price_currency,
                    "order_id": order_id,
                    "reference": None,
                },
            )
            connection.execute(
                self._order,
                {
                    "id": order_id,
                    "organization_id": relay.organization_id,
                    "sales_point_id": relay.sales_point_id,
                    "structure_id": relay.structure_id,
                    "placed_by": relay.actor_id,
                    "placed_by_operator": False,
                    "purchasing_contact_id": None,
                    "payment_method": "holding_account",
                    "delivery_mode": "print_at_home",
                    "placed_at": now,
                    "currency": price.price_currency,
                    "state": "confirmed",
                    "payment_reference": None,
                    "document_id": None,
                    "invoice_id": None,
                    "cancelled_at": None,
                    "reservation_id": None,
                },
            )
            connection.execute(
                self._line,
                {
                    "order_id": order_id,
                    "position": 0,
                    "id": line_id,
                    "performance_id": performance_id,
                    "product_id": price.product_id,
                    "tariff_id": tariff_id,
                    "quantity": quantity,
                    "unit_price_amount": amount,
                    "unit_price_currency": price.price_currency,
                    "vat_rate": price.vat_rate,
                },
            )
            ticket_ids = [self._id("ticket") for _ in range(quantity)]
            connection.execute(
                self._tickets,
                [
                    {
                        "id": ticket_id,
                        "organization_id": relay.organization_id,
                        "order_id": order_id,
                        "order_line_id": line_id,
                        "sales_point_id": relay.sales_point_id,
                        "performance_id": performance_id,
                        "product_id": price.product_id,
                        "tariff_id": tariff_id,
                        "structure_id": relay.structure_id,
                        "stock_structure_id": relay.structure_id,
                        "state": "bought",
                        "holder_id": None,
                        "version": 0,
                        "beneficiary": None,
                        "controlled_at": None,
                        "controlled_gate": None,
                    }
                    for ticket_id in ticket_ids
                ],
            )
            connection.execute(
                self._barcodes,
                [
                    {
                        "value": f"{self.prefix.upper()}{ticket_id}",
                        "ticket_id": ticket_id,
                        "revoked": False,
                        "position": 0,
                    }
                    for ticket_id in ticket_ids
                ],
            )
        return order_id

    def scan(self, key: str, performance_id: str, barcode: str) -> bool:
        """Admit the printed ticket holding ``barcode`` once; ``False`` when refused."""
        now = self._now()
        with self.engine.begin() as connection:
            gate = connection.execute(
                self._gate, {"digest": digest(key), "performance_id": performance_id}
            ).first()
            if gate is None:
                raise FloorRefused("gate")
            ticket = connection.execute(self._ticket, {"barcode": barcode}).first()
            if not ticket or not ticket.admit_before_settlement:
                # The bench's sales point admits before settlement: no account to read.
                raise FloorRefused("ticket unknown, or its sales point admits settled orders")
            if (
                ticket.organization_id != gate.organization_id
                or ticket.revoked
                or ticket.performance_id != performance_id
                or ticket.state != "printed"
            ):
                return False
            connection.execute(
                self._control, {"b_id": ticket.id, "b_now": now, "b_gate": gate.name}
            )
        return True

    def dashboard(self, organization_id: str, structure_ids: Collection[str]) -> list[Any]:
        """The custody counts of the structures' stock, in one ``GROUP BY``."""
        with self.engine.begin() as connection:
            return list(
                connection.execute(
                    self._dashboard,
                    {"organization_id": organization_id, "structure_ids": sorted(structure_ids)},
                )
            )
