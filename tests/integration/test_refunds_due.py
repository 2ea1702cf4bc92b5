"""A card refund owed by a cancelled order survives a crash between the cancellation's commit and
the refund: the order shows it due, and the next retry makes it exactly once, through the
sandbox gateway. On memory, a SQLite file, and PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from support.agency import Agency, chf, set_up_agency
from support.race import PG_URL, SELLERS, StorageFactory, new_storage
from ticketdomain import (
    CancelOrder,
    CardPayment,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    ProcessDueExpiries,
    RefundState,
    TicketDomain,
    ViewOrder,
)
from ticketdomain.core.errors import ConcurrencyError
from ticketdomain.core.money import Money
from ticketdomain.ports.payment import CardPayment as Card
from ticketdomain.ports.payment import PaymentReceipt
from ticketdomain.ports.storage import Storage
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_sandbox import SandboxPaymentGateway
from ticketdomain_sqlalchemy import SqlAlchemyStorage

__all__ = ["new_storage"]  # the fixture, imported for pytest


class Killed(BaseException):
    """The process dying: nothing after it runs, no handler takes it."""


class CrashingGateway:
    """The sandbox, with a process that dies at a chosen point of the next refund: ``before``
    the request leaves, or ``after`` the provider made the refund, its answer lost."""

    def __init__(self) -> None:
        self.sandbox = SandboxPaymentGateway()
        self.crash: str | None = None

    def charge(self, amount: Money, card: Card, idempotency_key: str) -> PaymentReceipt:
        return self.sandbox.charge(amount, card, idempotency_key)

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        crash, self.crash = self.crash, None
        if crash == "before":
            raise Killed
        receipt = self.sandbox.refund(reference, amount, idempotency_key)
        if crash == "after":
            raise Killed
        return receipt


def domain_on(world: FakeWorld, storage: Storage, gateway: CrashingGateway) -> TicketDomain:
    return TicketDomain(
        storage=storage,
        clock=world.clock,
        ids=world.ids,
        barcodes=world.barcodes,
        payments=gateway,
        documents=world.documents,
        renderer=world.renderer,
        mailer=world.mailer,
        passwords=world.passwords,
        tokens=world.tokens,
        security=world.domain.adapters.security,
    )


def sandbox_world(storage: Storage, gateway: CrashingGateway) -> FakeWorld:
    world = build_fake_world(storage)
    world.domain = domain_on(world, storage, gateway)
    return world


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield InMemoryStorage()
        return
    if request.param == "sqlite":
        sqlite = SqlAlchemyStorage.sqlite(tmp_path / "refunds.sqlite3")
        sqlite.upgrade()
        yield sqlite
        sqlite.close()
        return
    if not PG_URL:
        pytest.skip("set TICKETDOMAIN_TEST_PG_URL to run the refunds on PostgreSQL")
    schema = f"td_refund_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = create_engine(PG_URL, connect_args={"options": f"-c search_path={schema}"})
    try:
        postgresql = SqlAlchemyStorage(engine)
        postgresql.upgrade()
        yield postgresql
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def card_order(agency: Agency) -> str:
    return agency.world.domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
            PaymentMethod.CARD,
            card=CardPayment("tok_visa"),
        )
    ).id


@pytest.mark.parametrize("crash", ["before", "after"])
def test_a_refund_lost_to_a_crash_after_the_commit_is_due_and_made_once(
    storage: Storage, crash: str
) -> None:
    gateway = CrashingGateway()
    agency = set_up_agency(sandbox_world(storage, gateway))
    d = agency.world.domain
    order_id = card_order(agency)

    gateway.crash = crash
    with pytest.raises(Killed):
        d.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    view = d.sales.view_order(ViewOrder(agency.alice, order_id))
    assert view.refund is not None
    assert (view.refund.state, view.refund.amount, view.refund.reference) == (
        RefundState.DUE,
        chf("130.00"),
        None,
    )
    made_before = len(gateway.sandbox.refunds)
    assert made_before == (1 if crash == "after" else 0)

    processed = d.sales.process_due_expiries(ProcessDueExpiries(agency.operator))
    assert (processed.refunds_settled, processed.refunds_pending) == ((order_id,), ())
    (refund,) = gateway.sandbox.refunds
    assert (refund.amount, refund.idempotency_key) == (chf("130.00"), f"cancel-{order_id}")
    view = d.sales.view_order(ViewOrder(agency.alice, order_id))
    assert view.refund is not None
    assert (view.refund.state, view.refund.reference) == (RefundState.REFUNDED, refund.reference)
    assert view.refund.refunded_at == agency.world.clock.now()

    # nothing is left to retry, by either way
    again = d.sales.process_due_expiries(ProcessDueExpiries(agency.operator))
    assert (again.refunds_settled, again.refunds_pending) == ((), ())
    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert (cancelled.refund_reference, cancelled.refund_pending) == (refund.reference, False)
    assert len(gateway.sandbox.refunds) == 1


def test_a_refund_the_provider_refuses_stays_due_run_after_run(storage: Storage) -> None:
    gateway = CrashingGateway()
    agency = set_up_agency(sandbox_world(storage, gateway))
    d = agency.world.domain
    order_id = card_order(agency)
    # Someone refunded the whole charge by hand at the provider: ours no longer fits.
    (charge,) = gateway.sandbox.charges
    gateway.sandbox.refund(charge.reference, charge.amount, "by-hand")

    cancelled = d.accounts.cancel_order(CancelOrder(agency.operator, order_id))
    assert (cancelled.refund_pending, cancelled.refund_error) == (True, "amount_invalid")
    for _ in range(2):
        processed = d.sales.process_due_expiries(ProcessDueExpiries(agency.operator))
        assert (processed.refunds_settled, processed.refunds_pending) == ((), (order_id,))
    view = d.sales.view_order(ViewOrder(agency.alice, order_id))
    assert view.refund is not None and view.refund.state is RefundState.DUE
    assert [r.idempotency_key for r in gateway.sandbox.refunds] == ["by-hand"]


def test_retries_racing_on_one_due_refund_make_it_once(new_storage: StorageFactory) -> None:
    gateway = CrashingGateway()
    first = new_storage()
    first.create_schema()
    agency = set_up_agency(sandbox_world(first, gateway))
    order_id = card_order(agency)
    gateway.crash = "after"
    with pytest.raises(Killed):
        agency.world.domain.accounts.cancel_order(CancelOrder(agency.operator, order_id))

    # Each with an engine of its own, as processes would have.
    domains = [domain_on(agency.world, new_storage(), gateway) for _ in range(SELLERS)]
    jobs: list[Callable[[TicketDomain], object]] = [
        lambda d: d.sales.process_due_expiries(ProcessDueExpiries(agency.operator)),
        lambda d: d.accounts.cancel_order(CancelOrder(agency.operator, order_id)),
    ]
    start = threading.Barrier(len(domains))
    failures: list[BaseException] = []

    def run(domain: TicketDomain, job: Callable[[TicketDomain], object]) -> None:
        start.wait()
        try:
            while True:
                with contextlib.suppress(ConcurrencyError):
                    job(domain)
                    return
        except BaseException as error:  # surfaced below
            failures.append(error)

    threads = [
        threading.Thread(target=run, args=(domain, jobs[n % 2])) for n, domain in enumerate(domains)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    (refund,) = gateway.sandbox.refunds
    view = agency.world.domain.sales.view_order(ViewOrder(agency.alice, order_id))
    assert view.refund is not None
    assert (view.refund.state, view.refund.reference) == (RefundState.REFUNDED, refund.reference)
