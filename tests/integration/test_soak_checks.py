"""The crash test's checker can fail: each rule, broken on purpose by a bad row written straight
into the database, is reported (and nothing is reported before). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from sqlalchemy import delete, insert, select, update

from support.race import StorageFactory, new_storage
from support.soak import Scene, build_domain, set_up
from support.soak_checks import (
    RULES,
    Observed,
    Rule,
    credit_limit_respected,
    invoice_numbers_gapless,
    mail_not_lost,
    mail_sent_at_most_once,
    one_live_barcode_per_ticket,
    orders_have_their_tickets,
    orders_invoiced_once,
    outstanding_equals_ledger,
    places_sold_counted,
    quota_never_oversold,
    refunds_only_for_cancelled_orders,
    snapshot,
)
from ticketdomain import (
    CardPayment,
    DeliveryMode,
    DispatchMail,
    DistributeToMember,
    IssueInvoice,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    PrintTickets,
)
from ticketdomain.services.commands import ContactDetails
from ticketdomain.testing import InMemoryMailer
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_sqlalchemy import _schema as s

__all__ = ["new_storage"]  # the fixture, imported for pytest


@attrs.frozen
class Shop:
    storage: SqlAlchemyStorage
    scene: Scene
    invoiced_order_id: str
    open_order_id: str
    printed_ticket_id: str
    invoice_id: str
    sent_mail_id: str
    queued_mail_id: str
    #: every mail sent (the set-up's and the sent one's), each delivered once
    sent_mail_ids: tuple[str, ...]
    card_order_id: str
    card_charge: str

    @property
    def delivered(self) -> dict[str, int]:
        return dict.fromkeys(self.sent_mail_ids, 1)

    def observed(self, **changes: Any) -> Observed:
        values: dict[str, Any] = {
            "delivered_before": self.delivered,
            "delivered_after": self.delivered,
        }
        return Observed(**(values | changes))

    def violations(self, rule: Rule, observed: Observed | None = None) -> list[str]:
        with snapshot(self.storage.engine) as db:
            return [str(v) for v in rule(db, observed or self.observed())]

    def write(self, *statements: Any) -> None:
        with self.storage.engine.begin() as connection:
            for statement in statements:
                if isinstance(statement, str):
                    connection.exec_driver_sql(statement)
                else:
                    connection.execute(statement)


@pytest.fixture
def shop(new_storage: StorageFactory) -> Shop:
    """Orders on account (one invoiced, one printed), tickets distributed to a member, one mail
    sent and one still queued: a database every rule holds on."""
    storage = new_storage()
    storage.create_schema()
    d = build_domain(storage, InMemoryMailer())
    scene = set_up(d)

    def order(quantity: int) -> str:
        return d.sales.place_order(
            PlaceOrder(
                scene.alice,
                (LineRequest(scene.performance_ids[0], scene.agency_tariff_id, quantity),),
                PaymentMethod.HOLDING_ACCOUNT,
                delivery_mode=DeliveryMode.PRINT_AT_HOME,
            )
        ).id

    invoiced = order(2)
    printed = d.sales.print_tickets(PrintTickets(scene.alice, invoiced))
    invoice = d.accounts.issue_invoice(
        IssueInvoice(scene.operator, scene.organization_id, scene.hotel_id)
    )
    still_open = order(1)
    d.sales.place_order_for_structure(
        PlaceOrderForStructure(
            scene.operator,
            scene.phone_sales_point_id,
            scene.council_id,
            (LineRequest(scene.corporate_performance_id, scene.corporate_tariff_id, 4),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )

    def distribute(email: str) -> str:
        return d.distribution.distribute_to_member(
            DistributeToMember(
                scene.nina,
                scene.corporate_performance_id,
                scene.corporate_product_id,
                1,
                member=ContactDetails("Marc", "Dupont", email),
            )
        ).mail_id

    sent = distribute("marc@soak.invalid")
    dispatched = d.mail.dispatch_mail(DispatchMail(scene.operator, limit=1000)).sent
    assert sent in dispatched
    queued = distribute("lea@soak.invalid")
    by_card = d.sales.place_order(
        PlaceOrder(
            scene.alice,
            (LineRequest(scene.performance_ids[1], scene.agency_tariff_id, 1),),
            PaymentMethod.CARD,
            card=CardPayment("tok_visa"),
            idempotency_key="card-order",
        )
    )
    assert by_card.payment_reference is not None
    return Shop(
        storage,
        scene,
        invoiced,
        still_open,
        printed.ticket_ids[0],
        invoice.id,
        sent,
        queued,
        dispatched,
        by_card.id,
        by_card.payment_reference,
    )


def test_every_rule_holds_on_a_sound_database(shop: Shop) -> None:
    for rule in RULES:
        assert shop.violations(rule) == [], rule.__name__


def test_a_reservation_past_a_quota_is_reported(shop: Shop) -> None:
    now = datetime.now(UTC)
    shop.write(
        insert(s.reservations).values(
            id="reservation-bad",
            organization_id=shop.scene.organization_id,
            sales_point_id=shop.scene.agency_sales_point_id,
            structure_id=shop.scene.hotel_id,
            relay_id="relay",
            created_at=now,
            deadline=now + timedelta(days=1),
            state="held",
        ),
        insert(s.reservation_lines).values(
            reservation_id="reservation-bad",
            position=0,
            performance_id=shop.scene.performance_ids[0],
            tariff_id=shop.scene.agency_tariff_id,
            quantity=28,
        ),
    )
    # 3 sold + 28 held: over the sales point's 30 (within the channel's 40 and the 60 seats).
    assert shop.violations(quota_never_oversold) == [
        f"quota_never_oversold: quota {quota}: 31 places out of 30"
        for quota in _quota_ids(shop, shop.scene.performance_ids[0], sales_point=True)
    ]
    # Once its deadline has passed, a reservation holds nothing.
    later = shop.observed(now=now + timedelta(days=2))
    assert shop.violations(quota_never_oversold, later) == []


def test_places_sold_kept_apart_from_the_tickets_are_reported(shop: Shop) -> None:
    p = s.places_sold
    performance_id = shop.scene.performance_ids[0]
    sales_point_id = shop.scene.agency_sales_point_id
    shop.write(
        update(p)
        .where(p.c.performance_id == performance_id, p.c.sales_point_id == sales_point_id)
        .values(sold=p.c.sold + 1),
        insert(p).values(performance_id="perf-none", sales_point_id=sales_point_id, sold=2),
    )
    assert sorted(shop.violations(places_sold_counted)) == sorted(
        [
            f"places_sold_counted: performance {performance_id}, sales point {sales_point_id}: "
            "4 places sold kept, 3 ticket(s) not cancelled",
            f"places_sold_counted: performance perf-none, sales point {sales_point_id}: "
            "2 places sold kept, 0 ticket(s) not cancelled",
        ]
    )


def test_an_outstanding_amount_apart_from_the_ledger_is_reported(shop: Shop) -> None:
    a = s.accounts
    shop.write(
        update(a)
        .where(a.c.structure_id == shop.scene.hotel_id)
        .values(balance_amount=a.c.balance_amount + 1)
    )
    (violation,) = shop.violations(outstanding_equals_ledger)
    assert "outstanding 196.00, ledger sums to 195.00" in violation


def test_a_gap_in_the_ledger_is_reported(shop: Shop) -> None:
    a = s.accounts
    shop.write(
        update(a)
        .where(a.c.structure_id == shop.scene.hotel_id)
        .values(entry_count=a.c.entry_count + 1)
    )
    (violation,) = shop.violations(outstanding_equals_ledger)
    assert "entry_count 3, 2 entries numbered up to 2" in violation


def test_an_order_past_the_credit_limit_is_reported(shop: Shop) -> None:
    a = s.accounts
    shop.write(
        update(a).where(a.c.structure_id == shop.scene.hotel_id).values(credit_limit_amount=150)
    )
    # The second order took the outstanding amount to 195.00; the first, at 130.00, was within.
    (violation,) = shop.violations(credit_limit_respected)
    assert f"order {shop.open_order_id} took the outstanding amount to 195.00" in violation


def test_a_gap_in_the_invoice_numbers_is_reported(shop: Shop) -> None:
    i = s.invoices
    shop.write(update(i).where(i.c.id == shop.invoice_id).values(number=2))
    assert shop.violations(invoice_numbers_gapless) == [
        f"invoice_numbers_gapless: organization {shop.scene.organization_id}: numbers [2]"
    ]


def test_a_sequence_behind_its_invoices_is_reported(shop: Shop) -> None:
    q = s.invoice_sequences
    shop.write(update(q).values(last_number=q.c.last_number + 1))
    (violation,) = shop.violations(invoice_numbers_gapless)
    assert "sequence at 2, 1 invoice(s) issued" in violation


def test_an_order_on_two_invoices_is_reported(shop: Shop) -> None:
    io = s.invoice_orders
    shop.write(
        insert(s.invoices).values(
            id="invoice-bad",
            organization_id=shop.scene.organization_id,
            structure_id=shop.scene.hotel_id,
            number=2,
            kind="invoice",
            issued_at=datetime.now(UTC),
            currency="CHF",
            total_amount=0,
            total_currency="CHF",
        ),
        insert(io).values(invoice_id="invoice-bad", position=0, order_id=shop.invoiced_order_id),
        update(s.invoice_sequences).values(last_number=2),
    )
    (violation,) = shop.violations(orders_invoiced_once)
    assert f"order {shop.invoiced_order_id} on invoices" in violation
    assert shop.violations(invoice_numbers_gapless) == []


def test_a_second_live_barcode_is_reported(shop: Shop) -> None:
    # The database itself refuses it (a partial unique index): take that away first.
    shop.write(
        "DROP INDEX uq_td_barcodes_live_ticket_id",
        insert(s.barcodes).values(
            value="SECOND", ticket_id=shop.printed_ticket_id, revoked=False, position=99
        ),
    )
    assert shop.violations(one_live_barcode_per_ticket) == [
        f"one_live_barcode_per_ticket: ticket {shop.printed_ticket_id}: 2 live barcodes"
    ]


def test_a_cancelled_ticket_with_a_live_barcode_is_reported(shop: Shop) -> None:
    t = s.tickets
    shop.write(update(t).where(t.c.id == shop.printed_ticket_id).values(state="cancelled"))
    assert shop.violations(one_live_barcode_per_ticket) == [
        f"one_live_barcode_per_ticket: cancelled ticket {shop.printed_ticket_id} has a live barcode"
    ]


def test_an_order_missing_a_ticket_is_reported(shop: Shop) -> None:
    t = s.tickets
    shop.write(delete(t).where(t.c.id == shop.printed_ticket_id))
    (violation,) = shop.violations(orders_have_their_tickets)
    assert f"order {shop.invoiced_order_id} line" in violation
    assert violation.endswith("1 ticket(s) for 2")


def test_a_cancelled_order_with_live_tickets_is_reported(shop: Shop) -> None:
    o = s.orders
    shop.write(update(o).where(o.c.id == shop.open_order_id).values(state="cancelled"))
    (violation,) = shop.violations(orders_have_their_tickets)
    assert f"its order {shop.open_order_id} cancelled" in violation


def test_a_mail_delivered_twice_is_reported_outside_the_crash_window(shop: Shop) -> None:
    twice = shop.delivered | {shop.sent_mail_id: 2}
    assert shop.violations(mail_sent_at_most_once, shop.observed(delivered_before=twice)) == [
        f"mail_sent_at_most_once: {shop.sent_mail_id} delivered 2 times (1 allowed)"
    ]
    # A dispatcher killed while sending it allows one resend.
    in_window = shop.observed(delivered_before=twice, crash_window={shop.sent_mail_id: 1})
    assert shop.violations(mail_sent_at_most_once, in_window) == []


def test_a_mail_never_queued_is_reported(shop: Shop) -> None:
    stray = shop.observed(delivered_before=shop.delivered | {"mail-stray": 1})
    assert shop.violations(mail_sent_at_most_once, stray) == [
        "mail_sent_at_most_once: mail-stray was never queued"
    ]


def test_a_mail_marked_sent_but_never_delivered_is_reported(shop: Shop) -> None:
    o = s.outbox
    now = datetime.now(UTC)
    shop.write(
        update(o).where(o.c.message_id == shop.queued_mail_id).values(state="sent", sent_at=now)
    )
    assert shop.violations(mail_not_lost) == [
        f"mail_not_lost: {shop.queued_mail_id} is marked sent, never delivered"
    ]


def test_a_mail_left_after_draining_is_reported(shop: Shop) -> None:
    assert shop.violations(mail_not_lost, shop.observed(drained=True)) == [
        f"mail_not_lost: {shop.queued_mail_id} still queued after draining"
    ]


def test_a_mail_whose_state_contradicts_its_columns_is_reported(shop: Shop) -> None:
    o = s.outbox
    shop.write(update(o).where(o.c.message_id == shop.sent_mail_id).values(sent_at=None))
    assert f"mail_not_lost: {shop.sent_mail_id} is sent, sent at None" in shop.violations(
        mail_not_lost
    )


def test_a_refund_for_an_order_that_stands_is_reported(shop: Shop) -> None:
    refunded = shop.observed(refunded_charges=frozenset({shop.card_charge}))
    assert shop.violations(refunds_only_for_cancelled_orders, refunded) == [
        f"refunds_only_for_cancelled_orders: order {shop.card_order_id} is confirmed, its "
        f"charge {shop.card_charge} was refunded"
    ]
    o, t = s.orders, s.tickets
    shop.write(
        update(o).where(o.c.id == shop.card_order_id).values(state="cancelled"),
        update(t).where(t.c.order_id == shop.card_order_id).values(state="cancelled"),
    )
    assert shop.violations(refunds_only_for_cancelled_orders, refunded) == []


def _quota_ids(shop: Shop, performance_id: str, *, sales_point: bool) -> list[str]:
    q = s.quotas
    with shop.storage.engine.connect() as connection:
        return [
            row.id
            for row in connection.execute(
                select(q.c.id).where(
                    q.c.performance_id == performance_id,
                    q.c.sales_point_id.is_not(None) if sales_point else q.c.channel_id.is_not(None),
                )
            )
        ]
