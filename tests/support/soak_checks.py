"""The crash test's checker: every rule of the domain, read straight from the database.

Each rule is one function ``(db, observed) -> list[Violation]`` reading the SQLAlchemy adapter's
tables with SQLAlchemy Core (never through the library, whose code is what is under test), so a
rule broken by a crashed process, whatever wrote it, is seen as it is stored. ``snapshot``
opens one consistent read (a repeatable-read transaction on PostgreSQL, a WAL read transaction
on SQLite) so the rules can be checked while the workers keep writing. ``observed`` carries what
the database cannot tell: the time of the check, the mails the SMTP server received (by
Message-ID) and the messages a killed dispatcher was sending when it died (the documented crash
window, where one resend is allowed).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import Connection, Engine, create_engine, event, func, select

from ticketdomain_sqlalchemy import _schema as s

CANCELLED = "cancelled"
HELD = "held"
SENT = "sent"
SENDING = "sending"
ORDER_CHARGED = "order_charged"


@attrs.frozen
class Violation:
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@attrs.frozen
class Observed:
    """What the rules need beside the database."""

    #: the time of the check (reservations past their deadline no longer hold places)
    now: datetime = attrs.field(factory=lambda: datetime.now(UTC))
    #: Message-ID (the outbox message id) -> how many times the SMTP server received it; read
    #: before the snapshot (for rules about what was delivered) ...
    delivered_before: Mapping[str, int] = attrs.field(factory=dict)
    #: ... and after it (for rules about what the snapshot says was sent)
    delivered_after: Mapping[str, int] = attrs.field(factory=dict)
    #: message id -> how many dispatchers were killed while sending it (each allows one resend)
    crash_window: Mapping[str, int] = attrs.field(factory=dict)
    #: every worker stopped and the outbox drained: every queued message must have arrived
    drained: bool = False
    #: references of the card charges the gateway refunded (read before the snapshot)
    refunded_charges: frozenset[str] = frozenset()


Rule = Callable[[Connection, Observed], list[Violation]]


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read of the whole database, rolled back at the end."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield connection
            finally:
                connection.rollback()
        return
    reader = sqlite_reader(engine)
    try:
        with reader.connect() as connection:
            # A deferred transaction reads one WAL snapshot from its first SELECT on, and takes
            # no write lock (the adapter's engine begins IMMEDIATE: it would stop the writers).
            connection.exec_driver_sql("BEGIN")
            try:
                yield connection
            finally:
                connection.rollback()
    finally:
        reader.dispose()


def sqlite_reader(engine: Engine) -> Engine:
    """An engine on the same SQLite file whose connections start no transaction by
    themselves (each SELECT reads the latest commit, unless the caller says BEGIN)."""
    reader = create_engine(engine.url)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    event.listen(reader, "connect", on_connect)
    return reader


def quota_never_oversold(db: Connection, observed: Observed) -> list[Violation]:
    """Places sold (tickets not cancelled) plus live reservations stay within every level:
    the performance's capacity, each channel quota, each sales point quota."""
    t, r, lines = s.tickets, s.reservations, s.reservation_lines
    sold: Counter[tuple[str, str]] = Counter()
    for row in db.execute(
        select(t.c.performance_id, t.c.sales_point_id, func.count())
        .where(t.c.state != CANCELLED)
        .group_by(t.c.performance_id, t.c.sales_point_id)
    ):
        sold[(row[0], row[1])] += row[2]
    for row in db.execute(
        select(lines.c.performance_id, r.c.sales_point_id, func.sum(lines.c.quantity))
        .select_from(lines.join(r, lines.c.reservation_id == r.c.id))
        .where(r.c.state == HELD, r.c.deadline > observed.now)
        .group_by(lines.c.performance_id, r.c.sales_point_id)
    ):
        sold[(row[0], row[1])] += int(row[2])
    channel_of = dict(db.execute(select(s.sales_points.c.id, s.sales_points.c.channel_id)).all())

    def used(performance_id: str, scope: set[str] | None) -> int:
        return sum(
            n
            for (p, sales_point_id), n in sold.items()
            if p == performance_id and (scope is None or sales_point_id in scope)
        )

    found: list[Violation] = []
    for performance_id, capacity in db.execute(
        select(s.performances.c.id, s.performances.c.capacity)
    ):
        out = used(performance_id, None)
        if out > capacity:
            found.append(
                Violation(
                    "quota_never_oversold",
                    f"performance {performance_id}: {out} places out of {capacity}",
                )
            )
    q = s.quotas
    for quota in db.execute(select(q)).mappings():
        if quota["sales_point_id"] is not None:
            scope = {quota["sales_point_id"]}
        else:
            scope = {sp for sp, channel in channel_of.items() if channel == quota["channel_id"]}
        out = used(quota["performance_id"], scope)
        if out > quota["capacity"]:
            found.append(
                Violation(
                    "quota_never_oversold",
                    f"quota {quota['id']}: {out} places out of {quota['capacity']}",
                )
            )
    return found


def places_sold_counted(db: Connection, observed: Observed) -> list[Violation]:
    """The places sold kept per performance and sales point (``td_places_sold``, which
    availability reads, kept by triggers on the tickets) equal a recount of the tickets not
    cancelled."""
    t, p = s.tickets, s.places_sold
    recount: Counter[tuple[str, str]] = Counter(
        {
            (row[0], row[1]): int(row[2])
            for row in db.execute(
                select(t.c.performance_id, t.c.sales_point_id, func.count())
                .where(t.c.state != CANCELLED)
                .group_by(t.c.performance_id, t.c.sales_point_id)
            )
        }
    )
    kept = {
        (row[0], row[1]): int(row[2])
        for row in db.execute(select(p.c.performance_id, p.c.sales_point_id, p.c.sold))
    }
    return [
        Violation(
            "places_sold_counted",
            f"performance {performance_id}, sales point {sales_point_id}: "
            f"{kept.get((performance_id, sales_point_id), 0)} places sold kept, "
            f"{recount[performance_id, sales_point_id]} ticket(s) not cancelled",
        )
        for performance_id, sales_point_id in sorted(set(recount) | set(kept))
        if kept.get((performance_id, sales_point_id), 0) != recount[performance_id, sales_point_id]
    ]


def outstanding_equals_ledger(db: Connection, observed: Observed) -> list[Violation]:
    """An account's running total is the sum of its ledger, whose entries are numbered 1 to
    ``entry_count`` without gaps."""
    a, e = s.accounts, s.ledger_entries
    totals = {
        row[0]: (Decimal(row[1] or 0), int(row[2]), int(row[3] or 0))
        for row in db.execute(
            select(
                e.c.account_id, func.sum(e.c.amount_amount), func.count(), func.max(e.c.sequence)
            ).group_by(e.c.account_id)
        )
    }
    found: list[Violation] = []
    for account in db.execute(select(a.c.id, a.c.balance_amount, a.c.entry_count)):
        total, count, last = totals.get(account.id, (Decimal(0), 0, 0))
        balance = Decimal(account.balance_amount)
        if balance != total:
            found.append(
                Violation(
                    "outstanding_equals_ledger",
                    f"account {account.id}: outstanding {balance}, ledger sums to {total}",
                )
            )
        if not count == last == account.entry_count:
            found.append(
                Violation(
                    "outstanding_equals_ledger",
                    f"account {account.id}: entry_count {account.entry_count}, "
                    f"{count} entries numbered up to {last}",
                )
            )
    return found


def credit_limit_respected(db: Connection, observed: Observed) -> list[Violation]:
    """After every accepted order on a capped account, the ledger's running sum is within the
    limit (payments and cancellations may only bring it down)."""
    a, e = s.accounts, s.ledger_entries
    limits = {
        row.id: Decimal(row.credit_limit_amount)
        for row in db.execute(select(a.c.id, a.c.credit_limit_amount))
        if row.credit_limit_amount is not None
    }
    found: list[Violation] = []
    running: dict[str, Decimal] = defaultdict(Decimal)
    for entry in db.execute(
        select(e.c.account_id, e.c.sequence, e.c.kind, e.c.amount_amount, e.c.order_id).order_by(
            e.c.account_id, e.c.sequence
        )
    ):
        running[entry.account_id] += Decimal(entry.amount_amount)
        limit = limits.get(entry.account_id)
        if entry.kind == ORDER_CHARGED and limit is not None and running[entry.account_id] > limit:
            found.append(
                Violation(
                    "credit_limit_respected",
                    f"account {entry.account_id}: order {entry.order_id} took the outstanding "
                    f"amount to {running[entry.account_id]} over the limit {limit}",
                )
            )
    return found


def invoice_numbers_gapless(db: Connection, observed: Observed) -> list[Violation]:
    """Per organization, invoice numbers run 1 to n without gap or repeat, and the sequence's
    last number is n."""
    i, seq = s.invoices, s.invoice_sequences
    numbers: dict[str, list[int]] = defaultdict(list)
    for row in db.execute(select(i.c.organization_id, i.c.number)):
        numbers[row.organization_id].append(row.number)
    last = dict(db.execute(select(seq.c.organization_id, seq.c.last_number)).all())
    found: list[Violation] = []
    for organization_id in sorted(set(numbers) | set(last)):
        issued = sorted(numbers.get(organization_id, []))
        expected = list(range(1, len(issued) + 1))
        if issued != expected:
            found.append(
                Violation(
                    "invoice_numbers_gapless",
                    f"organization {organization_id}: numbers {_runs(issued)}",
                )
            )
        if last.get(organization_id, 0) != len(issued):
            found.append(
                Violation(
                    "invoice_numbers_gapless",
                    f"organization {organization_id}: sequence at {last.get(organization_id)}, "
                    f"{len(issued)} invoice(s) issued",
                )
            )
    return found


def orders_invoiced_once(db: Connection, observed: Observed) -> list[Violation]:
    """Every order is on at most one invoice, the one its row names; an invoice's total is the
    sum of its lines."""
    io, o, il, i = s.invoice_orders, s.orders, s.invoice_lines, s.invoices
    on: dict[str, list[str]] = defaultdict(list)
    for row in db.execute(
        select(io.c.order_id, io.c.invoice_id)
        .select_from(io.join(i, i.c.id == io.c.invoice_id))
        .where(i.c.kind == "invoice")
    ):
        on[row.order_id].append(row.invoice_id)
    found: list[Violation] = []
    for order_id, invoice_ids in on.items():
        if len(invoice_ids) > 1:
            found.append(
                Violation(
                    "orders_invoiced_once", f"order {order_id} on invoices {sorted(invoice_ids)}"
                )
            )
    for row in db.execute(select(o.c.id, o.c.invoice_id).where(o.c.invoice_id.is_not(None))):
        if row.invoice_id not in on.get(row.id, []):
            found.append(
                Violation(
                    "orders_invoiced_once",
                    f"order {row.id} names invoice {row.invoice_id}, which does not list it",
                )
            )
    sums = dict(
        db.execute(
            select(il.c.invoice_id, func.sum(il.c.total_amount)).group_by(il.c.invoice_id)
        ).all()
    )
    for row in db.execute(select(i.c.id, i.c.total_amount)):
        lines = Decimal(sums.get(row.id) or 0).quantize(Decimal("0.01"))
        if lines != Decimal(row.total_amount):
            found.append(
                Violation(
                    "orders_invoiced_once",
                    f"invoice {row.id}: total {row.total_amount}, lines sum to {lines}",
                )
            )
    return found


def one_live_barcode_per_ticket(db: Connection, observed: Observed) -> list[Violation]:
    """A ticket has at most one live barcode, and a cancelled ticket none."""
    b, t = s.barcodes, s.tickets
    found = [
        Violation("one_live_barcode_per_ticket", f"ticket {row[0]}: {row[1]} live barcodes")
        for row in db.execute(
            select(b.c.ticket_id, func.count())
            .where(b.c.revoked.is_(False))
            .group_by(b.c.ticket_id)
            .having(func.count() > 1)
        )
    ]
    found += [
        Violation("one_live_barcode_per_ticket", f"cancelled ticket {row[0]} has a live barcode")
        for row in db.execute(
            select(t.c.id)
            .select_from(t.join(b, b.c.ticket_id == t.c.id))
            .where(t.c.state == CANCELLED, b.c.revoked.is_(False))
        )
    ]
    return found


def orders_have_their_tickets(db: Connection, observed: Observed) -> list[Violation]:
    """Every order line has exactly its quantity of tickets, of its performance, product and
    tariff; every ticket belongs to an order; a cancelled order's tickets are all cancelled and
    a confirmed order's tickets none."""
    o, ol, t = s.orders, s.order_lines, s.tickets
    order_state = dict(db.execute(select(o.c.id, o.c.state)).all())
    lines = {
        (row.order_id, row.id): row
        for row in db.execute(
            select(ol.c.order_id, ol.c.id, ol.c.quantity, ol.c.performance_id, ol.c.tariff_id)
        )
    }
    counts: Counter[tuple[str, str]] = Counter()
    found: list[Violation] = []
    for ticket in db.execute(
        select(
            t.c.id, t.c.order_id, t.c.order_line_id, t.c.state, t.c.performance_id, t.c.tariff_id
        )
    ):
        key = (ticket.order_id, ticket.order_line_id)
        line = lines.get(key)
        if ticket.order_id not in order_state or line is None:
            found.append(
                Violation(
                    "orders_have_their_tickets",
                    f"ticket {ticket.id} belongs to no order line ({ticket.order_id})",
                )
            )
            continue
        counts[key] += 1
        if (ticket.performance_id, ticket.tariff_id) != (line.performance_id, line.tariff_id):
            found.append(
                Violation(
                    "orders_have_their_tickets",
                    f"ticket {ticket.id} is not for its order line's performance and tariff",
                )
            )
        if (order_state[ticket.order_id] == CANCELLED) != (ticket.state == CANCELLED):
            found.append(
                Violation(
                    "orders_have_their_tickets",
                    f"ticket {ticket.id} is {ticket.state}, its order "
                    f"{ticket.order_id} {order_state[ticket.order_id]}",
                )
            )
    for key, line in lines.items():
        if counts[key] != line.quantity:
            found.append(
                Violation(
                    "orders_have_their_tickets",
                    f"order {key[0]} line {key[1]}: {counts[key]} ticket(s) for {line.quantity}",
                )
            )
    return found


def mail_sent_at_most_once(db: Connection, observed: Observed) -> list[Violation]:
    """The SMTP server received each message at most once, plus one resend for each time a
    dispatcher was killed while sending it; and only messages the outbox queued."""
    queued = {row[0] for row in db.execute(select(s.outbox.c.message_id))}
    found: list[Violation] = []
    for message_id, times in sorted(observed.delivered_before.items()):
        if message_id not in queued:
            found.append(Violation("mail_sent_at_most_once", f"{message_id} was never queued"))
        allowed = 1 + observed.crash_window.get(message_id, 0)
        if times > allowed:
            found.append(
                Violation(
                    "mail_sent_at_most_once",
                    f"{message_id} delivered {times} times ({allowed} allowed)",
                )
            )
    return found


def mail_not_lost(db: Connection, observed: Observed) -> list[Violation]:
    """A message the outbox marks sent reached the server, and its state agrees with its
    columns; once drained, every message arrived (none is left queued, sending or failed: every
    address of the soak is valid)."""
    o = s.outbox
    found: list[Violation] = []
    for row in db.execute(
        select(o.c.message_id, o.c.state, o.c.sent_at, o.c.claimed_by, o.c.lease_until)
    ):
        if (row.state == SENT) != (row.sent_at is not None):
            found.append(
                Violation(
                    "mail_not_lost", f"{row.message_id} is {row.state}, sent at {row.sent_at}"
                )
            )
        if row.state == SENDING and (row.claimed_by is None or row.lease_until is None):
            found.append(
                Violation("mail_not_lost", f"{row.message_id} is sending, claimed by nobody")
            )
        if observed.delivered_after.get(row.message_id, 0) > 0:
            continue
        if row.state == SENT:
            found.append(
                Violation("mail_not_lost", f"{row.message_id} is marked sent, never delivered")
            )
        elif observed.drained:
            found.append(
                Violation("mail_not_lost", f"{row.message_id} still {row.state} after draining")
            )
    return found


def refunds_only_for_cancelled_orders(db: Connection, observed: Observed) -> list[Violation]:
    """Money leaves only after the change that justifies it committed: a refunded card charge
    belongs to a cancelled order."""
    o = s.orders
    return [
        Violation(
            "refunds_only_for_cancelled_orders",
            f"order {row.id} is {row.state}, its charge {row.payment_reference} was refunded",
        )
        for row in db.execute(
            select(o.c.id, o.c.state, o.c.payment_reference).where(
                o.c.payment_reference.is_not(None)
            )
        )
        if row.payment_reference in observed.refunded_charges and row.state != CANCELLED
    ]


RULES: tuple[Rule, ...] = (
    quota_never_oversold,
    places_sold_counted,
    outstanding_equals_ledger,
    credit_limit_respected,
    invoice_numbers_gapless,
    orders_invoiced_once,
    one_live_barcode_per_ticket,
    orders_have_their_tickets,
    mail_sent_at_most_once,
    mail_not_lost,
    refunds_only_for_cancelled_orders,
)


def check(
    engine: Engine,
    deliveries: Callable[[], Mapping[str, int]] | None = None,
    crash_window: Mapping[str, int] | None = None,
    *,
    drained: bool = False,
    refunds: Callable[[], Collection[str]] | None = None,
) -> list[Violation]:
    """Every rule on one snapshot; ``deliveries`` reads the SMTP server's count by message id
    (called just before and just after the snapshot is taken), ``refunds`` the references of
    the charges the card gateway refunded (called just before)."""
    read = deliveries or dict
    refunded = frozenset(refunds() if refunds is not None else ())
    before = dict(read())
    with snapshot(engine) as db:
        # The first read fixes the snapshot; deliveries read after it cover every mail the
        # snapshot can show as sent.
        db.execute(select(func.count()).select_from(s.outbox)).scalar_one()
        observed = Observed(
            now=datetime.now(UTC),
            delivered_before=before,
            delivered_after=dict(read()),
            crash_window=dict(crash_window or {}),
            drained=drained,
            refunded_charges=refunded,
        )
        return [violation for rule in RULES for violation in rule(db, observed)]


def _runs(numbers: list[int]) -> str:
    if len(numbers) <= 12:
        return str(numbers)
    return f"{numbers[:6]} ... {numbers[-6:]} ({len(numbers)} in all)"
