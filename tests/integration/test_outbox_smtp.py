"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1, started by each test): the
server down then up, 100 permanently refused mails at the head, 8 dispatcher processes on one
database, and an order placed while a slow server is being talked to (issue 8)."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from sqlalchemy import create_engine

from support.agency import Agency, set_up_agency
from support.outbox_smtp import (
    REFUSED_DOMAIN,
    SENDER,
    CountingHandler,
    dispatch_process,
    free_port,
    smtp_server,
)
from support.race import seller
from ticketdomain import (
    CreateApiKey,
    DeliveryPolicy,
    DispatchMail,
    LineRequest,
    MailDispatched,
    OutboxState,
    PaymentMethod,
    PlaceOrder,
)
from ticketdomain.core.contacts import Email
from ticketdomain.core.mail import MailMessage
from ticketdomain.ports.storage import Storage
from ticketdomain.services.mail import MailService
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_smtp import SmtpMailer
from ticketdomain_sqlalchemy import SqlAlchemyStorage

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")


def message_id(mail_id: str) -> str:
    """The Message-ID the SMTP mailer gives a mail (its domain is the sender's)."""
    return f"<{mail_id}@example.org>"


def queue(storage: Storage, world: FakeWorld, ids: list[str], domain: str, ago: int = 0) -> None:
    """Queue mails in one go, ``ago`` minutes before now (earlier ones first)."""
    with storage.unit_of_work() as uow:
        for n, id in enumerate(ids):
            at = world.clock.now() - timedelta(minutes=ago, seconds=len(ids) - n)
            uow.outbox.add(MailMessage(id, Email(f"{id}@{domain}"), "Hello", "Text"), at)
        uow.commit()


@attrs.define
class Setup:
    world: FakeWorld
    agency: Agency
    port: int

    def dispatch(self, limit: int = 100) -> MailDispatched:
        mailer = SmtpMailer("127.0.0.1", self.port, sender=SENDER, timeout=2)
        service = MailService(attrs.evolve(self.world.domain.adapters, mailer=mailer))
        return service.dispatch_mail(DispatchMail(self.agency.operator, limit))


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    storage = SqlAlchemyStorage.sqlite(tmp_path / "outbox.sqlite3")
    storage.create_schema()
    world = build_fake_world(storage)
    agency = set_up_agency(world)
    world.domain.mail.dispatch_mail(DispatchMail(agency.operator))  # the welcome mails
    try:
        yield Setup(world, agency, free_port())
    finally:
        storage.close()


def test_mail_queued_while_the_server_is_down_arrives_once_it_is_up(setup: Setup) -> None:
    ids = [f"queued-{n}" for n in range(5)]
    queue(setup.world.storage, setup.world, ids, "example.net")

    down = setup.dispatch()
    assert down.sent == () and down.failed == tuple(ids) and down.given_up == ()
    handler = CountingHandler()
    with smtp_server(setup.port, handler):
        # Not due yet: the backoff holds them until the first retry delay has passed.
        assert setup.dispatch() == MailDispatched((), ())
        setup.world.clock.advance(DeliveryPolicy().first_retry)
        assert setup.dispatch().sent == tuple(ids)
        assert setup.dispatch() == MailDispatched((), ())
    assert handler.received == {message_id(id): 1 for id in ids}


def test_a_hundred_refused_mails_at_the_head_hold_nothing_back(setup: Setup) -> None:
    bad = [f"bad-{n:03}" for n in range(100)]
    good = [f"good-{n}" for n in range(10)]
    queue(setup.world.storage, setup.world, bad, REFUSED_DOMAIN, ago=60)
    queue(setup.world.storage, setup.world, good, "example.net")
    handler = CountingHandler()
    with smtp_server(setup.port, handler):
        runs = [setup.dispatch(limit=50) for _ in range(4)]
    # Each refused mail is tried once and given up; the others leave as soon as the run
    # reaches them, and nothing is tried again afterwards.
    assert [len(run.given_up) for run in runs] == [50, 50, 0, 0]
    assert [run.sent for run in runs] == [(), (), tuple(good), ()]
    assert handler.refused == 100
    assert handler.received == {message_id(id): 1 for id in good}
    with setup.world.storage.unit_of_work() as uow:
        failed = uow.outbox.failed(None, 1000)
    assert [item.message.id for item in failed] == bad
    assert {item.state for item in failed} == {OutboxState.FAILED}
    assert "550" in (failed[0].last_error or "")


# --- 8 dispatcher processes on one database ---------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str, str | None]]:
    if request.param == "sqlite":
        yield ("sqlite", str(tmp_path / "dispatchers.sqlite3"), None)
        return
    if not PG_URL:
        pytest.skip("set TICKETDOMAIN_TEST_PG_URL to run the PostgreSQL dispatchers")
    schema = f"td_outbox_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield ("postgresql", PG_URL, schema)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def open_storage(database: tuple[str, str, str | None]) -> SqlAlchemyStorage:
    kind, where, schema = database
    if kind == "sqlite":
        return SqlAlchemyStorage.sqlite(where)
    engine = create_engine(where, connect_args={"options": f"-c search_path={schema}"})
    return SqlAlchemyStorage(engine)


def test_eight_dispatcher_processes_deliver_every_mail_exactly_once(
    database: tuple[str, str, str | None],
) -> None:
    storage = open_storage(database)
    try:
        storage.create_schema()
        world = build_fake_world(storage)
        agency = set_up_agency(world)
        token = world.domain.handle(
            CreateApiKey(agency.operator, agency.operator_id, "dispatchers")
        ).token
        with storage.unit_of_work() as uow:
            welcomes = [item.message.id for item in uow.outbox.pending(100)]
        ids = [f"queued-{n:03}" for n in range(60)]
        queue(storage, world, ids, "example.net")
    finally:
        storage.engine.dispose()
    everything = welcomes + ids

    handler = CountingHandler()
    port = free_port()
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(8), context.Queue()
    processes = [
        context.Process(target=dispatch_process, args=(database, token, port, start, out))
        for _ in range(8)
    ]
    with smtp_server(port, handler):
        for process in processes:
            process.start()
        outcomes = [out.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=30)
    problems = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert problems == []
    sent = [id for outcome in outcomes for id in outcome]
    assert sorted(sent) == sorted(everything)
    assert handler.received == {message_id(id): 1 for id in everything}
    # The work was shared, not done by one process while the others waited.
    assert sum(1 for outcome in outcomes if outcome) >= 2


# --- an order placed while a slow server is being talked to -----------------------------------


def test_an_order_is_not_delayed_by_a_slow_smtp_server(setup: Setup, tmp_path: Path) -> None:
    queue(setup.world.storage, setup.world, ["slow-1", "slow-2"], "example.net")
    handler = CountingHandler(delay=1.0)
    # A second process's storage, with a busy timeout far below the server's delay: were the
    # dispatcher holding SQLite's write lock while it sends, the order would wait or fail.
    other = SqlAlchemyStorage.sqlite(tmp_path / "outbox.sqlite3", busy_timeout=0.5)
    seller_domain = seller(setup.world, other)
    outcome: list[MailDispatched] = []
    try:
        with smtp_server(setup.port, handler):
            dispatcher = threading.Thread(target=lambda: outcome.append(setup.dispatch()))
            dispatcher.start()
            assert handler.receiving.wait(timeout=10)
            began = time.monotonic()
            order = seller_domain.handle(
                PlaceOrder(
                    setup.agency.alice,
                    (LineRequest(setup.agency.performance_id, setup.agency.agency_tariff_id, 1),),
                    PaymentMethod.HOLDING_ACCOUNT,
                )
            )
            took = time.monotonic() - began
            dispatcher.join(timeout=30)
    finally:
        other.close()
    assert order.id
    assert took < 0.8, f"the order took {took:.2f} s while the SMTP server was slow"
    assert outcome == [MailDispatched(("slow-1", "slow-2"), ())]
    assert handler.received == {message_id("slow-1"): 1, message_id("slow-2"): 1}
