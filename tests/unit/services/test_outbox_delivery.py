"""Dispatching the outbox: backoff, failing mail that blocks nothing, claims, and operators
listing and re-queueing failed mail (issue 8)."""

from __future__ import annotations

import threading
from datetime import timedelta

import attrs
import pytest

from support.agency import Agency
from support.state import refused
from ticketdomain import (
    DeliveryPolicy,
    DispatchMail,
    ListFailedMail,
    MailDispatched,
    NotFoundError,
    OutboxState,
    RequeueMail,
)
from ticketdomain.core.contacts import Email
from ticketdomain.core.errors import StateTransitionError
from ticketdomain.core.mail import MailMessage
from ticketdomain.ports.mail import MailDeliveryError
from ticketdomain.services.mail import MailService
from ticketdomain.testing.domain import FakeWorld

POLICY = DeliveryPolicy(max_attempts=3, first_retry=timedelta(minutes=1), batch=4)


class ScriptedMailer:
    """Refuses some addresses for good and others for now; keeps what it delivers."""

    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.unreachable: set[str] = set()
        self.delivered: list[str] = []
        self.attempts: list[str] = []
        self.during_send: dict[str, object] = {}

    def send(self, message: MailMessage) -> None:
        self.attempts.append(message.id)
        hook = self.during_send.pop(message.id, None)
        if callable(hook):
            hook()
        if message.to.value in self.refused:
            raise MailDeliveryError("550 No such user", permanent=True, message_id=message.id)
        if message.to.value in self.unreachable:
            raise MailDeliveryError("Connection refused", message_id=message.id)
        self.delivered.append(message.id)


@attrs.define
class Outbox:
    world: FakeWorld
    agency: Agency
    mailer: ScriptedMailer
    service: MailService

    def queue(self, id: str, to: str, minutes_ago: int = 0, institution: str | None = "") -> None:
        message = MailMessage(
            id,
            Email(to),
            "Hello",
            "Text",
            institution_id=self.agency.institution_id if institution == "" else institution,
        )
        with self.world.storage.unit_of_work() as uow:
            uow.outbox.add(message, self.world.clock.now() - timedelta(minutes=minutes_ago))
            uow.commit()

    def dispatch(self, limit: int = 100) -> MailDispatched:
        return self.service.dispatch_mail(DispatchMail(self.agency.operator, limit))

    def state(self, id: str) -> OutboxState:
        with self.world.storage.unit_of_work() as uow:
            item = uow.outbox.get(id)
        assert item is not None
        return item.state


@pytest.fixture
def outbox(agency: Agency) -> Outbox:
    w = agency.world
    # Start from an empty outbox: the set-up's welcome mails go first.
    w.domain.mail.dispatch_mail(DispatchMail(agency.operator))
    mailer = ScriptedMailer()
    adapters = attrs.evolve(w.domain.adapters, mailer=mailer, delivery=POLICY)
    return Outbox(w, agency, mailer, MailService(adapters))


def test_failing_mail_at_the_head_holds_nothing_back(outbox: Outbox) -> None:
    outbox.mailer.refused.add("gone@example.org")
    outbox.mailer.unreachable.add("down@example.org")
    for n in range(6):
        outbox.queue(f"bad-{n}", "gone@example.org", minutes_ago=60 - n)
    for n in range(6):
        outbox.queue(f"slow-{n}", "down@example.org", minutes_ago=50 - n)
    outbox.queue("good", "ok@example.org")

    first = outbox.dispatch()
    assert first.sent == ("good",)
    assert first.given_up == tuple(f"bad-{n}" for n in range(6))
    assert set(first.failed) == set(first.given_up) | {f"slow-{n}" for n in range(6)}
    # Refused for good: never tried again. Temporarily failing: not before the backoff.
    assert outbox.dispatch() == MailDispatched((), ())
    outbox.world.clock.advance(timedelta(minutes=1))
    second = outbox.dispatch()
    assert second.failed == tuple(f"slow-{n}" for n in range(6)) and second.given_up == ()
    outbox.world.clock.advance(timedelta(minutes=1))
    assert outbox.dispatch() == MailDispatched((), ())
    outbox.world.clock.advance(timedelta(minutes=1))
    third = outbox.dispatch()
    # The third attempt was the last one allowed.
    assert third.given_up == tuple(f"slow-{n}" for n in range(6))
    assert outbox.mailer.attempts.count("bad-0") == 1
    assert outbox.mailer.attempts.count("slow-0") == 3
    assert outbox.mailer.delivered == ["good"]


def test_a_temporary_failure_is_delivered_once_the_server_is_back(outbox: Outbox) -> None:
    outbox.mailer.unreachable.add("down@example.org")
    outbox.queue("m", "down@example.org")
    assert outbox.dispatch().failed == ("m",)
    assert outbox.state("m") is OutboxState.QUEUED
    outbox.mailer.unreachable.clear()
    outbox.world.clock.advance(POLICY.retry_delay(1))
    assert outbox.dispatch().sent == ("m",)
    assert outbox.state("m") is OutboxState.SENT
    assert outbox.mailer.delivered == ["m"]


def test_the_limit_counts_mails_across_batches(outbox: Outbox) -> None:
    for n in range(10):
        outbox.queue(f"m-{n}", "ok@example.org", minutes_ago=10 - n)
    assert outbox.dispatch(limit=6).sent == tuple(f"m-{n}" for n in range(6))
    assert outbox.dispatch(limit=6).sent == tuple(f"m-{n}" for n in range(6, 10))


def test_a_dispatcher_whose_claim_was_taken_over_does_not_mark_the_mail(outbox: Outbox) -> None:
    outbox.queue("m", "ok@example.org")
    inner: list[MailDispatched] = []

    def lease_runs_out_while_sending() -> None:
        # The first dispatcher hangs past its lease; a second one takes the mail over.
        outbox.world.clock.advance(POLICY.lease + timedelta(seconds=1))
        inner.append(outbox.dispatch())

    outbox.mailer.during_send["m"] = lease_runs_out_while_sending
    outer = outbox.dispatch()
    assert inner == [MailDispatched(("m",), ())]
    assert outer == MailDispatched((), (), (), ("m",))
    # At least once: both handed it over, with the same id (the Message-ID's source).
    assert outbox.mailer.delivered == ["m", "m"]
    assert outbox.state("m") is OutboxState.SENT


def test_mail_whose_sends_keep_dying_is_given_up(outbox: Outbox) -> None:
    outbox.queue("m", "ok@example.org")
    storage, clock = outbox.world.storage, outbox.world.clock
    # Dispatchers that claimed the mail and died before marking, once per allowed attempt.
    for n in range(POLICY.max_attempts):
        with storage.unit_of_work() as uow:
            uow.outbox.claim(f"dead-{n}", clock.now(), clock.now() + POLICY.lease, 5)
            uow.commit()
        clock.advance(POLICY.lease)
    assert outbox.dispatch() == MailDispatched((), (), ("m",))
    assert outbox.state("m") is OutboxState.FAILED
    assert outbox.mailer.attempts == []


def test_operators_list_and_requeue_their_institutions_failed_mail(outbox: Outbox) -> None:
    w, op = outbox.world, outbox.agency.operator
    outbox.mailer.refused.add("gone@example.org")
    outbox.queue("gone-2", "gone@example.org", minutes_ago=1)
    outbox.queue("gone-1", "gone@example.org", minutes_ago=2)
    outbox.queue("foreign", "gone@example.org", institution="inst-elsewhere")
    outbox.queue("queued", "later@example.org", minutes_ago=-60)
    outbox.dispatch()

    listed = w.domain.handle(ListFailedMail(op))
    assert [(m.mail_id, m.to, m.attempts, m.last_error) for m in listed.mails] == [
        ("gone-1", "gone@example.org", 1, "550 No such user"),
        ("gone-2", "gone@example.org", 1, "550 No such user"),
    ]
    assert [m.mail_id for m in w.domain.handle(ListFailedMail(op, limit=1)).mails] == ["gone-1"]
    with refused(w, NotFoundError):
        w.domain.handle(RequeueMail(op, "foreign"))
    with refused(w, NotFoundError):
        w.domain.handle(RequeueMail(op, "mail-404"))
    with refused(w, StateTransitionError):
        w.domain.handle(RequeueMail(op, "queued"))

    outbox.mailer.refused.clear()  # the address was fixed
    requeued = w.domain.handle(RequeueMail(op, "gone-1"))
    assert (requeued.mail_id, requeued.due_at) == ("gone-1", w.clock.now())
    assert outbox.dispatch().sent == ("gone-1",)
    assert [m.mail_id for m in w.domain.handle(ListFailedMail(op)).mails] == ["gone-2"]


def test_dispatchers_in_threads_send_each_mail_once(outbox: Outbox) -> None:
    for n in range(40):
        outbox.queue(f"m-{n:02}", "ok@example.org", minutes_ago=40 - n)
    results: list[MailDispatched] = []
    lock = threading.Lock()

    def run() -> None:
        while True:
            done = outbox.dispatch(limit=5)
            with lock:
                results.append(done)
            if not done.sent:
                return

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [id for done in results for id in done.sent]
    assert sorted(sent) == [f"m-{n:02}" for n in range(40)]
    assert sorted(outbox.mailer.delivered) == sorted(sent)
