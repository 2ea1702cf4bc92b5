"""An SMTP server on 127.0.0.1 that counts what it receives, and a dispatcher process, for the
outbox tests against a real server (tests/integration/test_outbox_smtp.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import BytesHeaderParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import create_engine

from ticketdomain import DeliveryPolicy, DispatchMail, TicketDomain
from ticketdomain.testing.fakes import (
    FastPasswordHasher,
    InMemoryDocumentStore,
    InMemoryPaymentGateway,
    RecordingRenderer,
)
from ticketdomain_smtp import SmtpMailer
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_system import (
    SecretsBarcodeGenerator,
    SecretsTokenGenerator,
    SystemClock,
    UuidIdGenerator,
)

SENDER = "Tickets <tickets@example.org>"
#: every recipient at this domain is refused for good (550)
REFUSED_DOMAIN = "bounce.example.org"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class CountingHandler:
    """Counts each Message-ID received and each recipient refused; ``delay`` seconds per
    message make a slow server (``receiving`` is set when a message starts to arrive)."""

    def __init__(self, delay: float = 0) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()
        self.refused = 0
        self.receiving = threading.Event()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.endswith("@" + REFUSED_DOMAIN):
            with self.lock:
                self.refused += 1
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.receiving.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.original_content
        assert isinstance(content, bytes)
        message_id = BytesHeaderParser().parsebytes(content)["Message-ID"]
        with self.lock:
            self.received[str(message_id)] += 1
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int, handler: CountingHandler) -> Iterator[Controller]:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def dispatcher_domain(storage: Any, port: int, policy: DeliveryPolicy) -> TicketDomain:
    """A domain of its own over ``storage``: its own ids, a real clock, the SMTP server."""
    return TicketDomain(
        storage=storage,
        clock=SystemClock(),
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=InMemoryPaymentGateway(),
        documents=InMemoryDocumentStore(),
        renderer=RecordingRenderer(),
        mailer=SmtpMailer("127.0.0.1", port, sender=SENDER, timeout=5),
        passwords=FastPasswordHasher(),
        tokens=SecretsTokenGenerator(),
        delivery=policy,
    )


def dispatch_process(
    database: tuple[str, str, str | None], token: str, port: int, start: Any, out: Any
) -> None:
    """One dispatcher process: its own engine, runs of 5 mails claimed 2 at a time, until a
    run finds nothing due. ``database`` is ``("sqlite", path, None)`` or ``("postgresql",
    url, schema)``. Puts on ``out`` the mail ids it recorded as sent, or what went wrong."""
    kind, where, schema = database
    if kind == "sqlite":
        storage = SqlAlchemyStorage.sqlite(where)
    else:
        engine = create_engine(where, connect_args={"options": f"-c search_path={schema}"})
        storage = SqlAlchemyStorage(engine)
    domain = dispatcher_domain(storage, port, DeliveryPolicy(batch=2))
    sent: list[str] = []
    try:
        start.wait()
        while True:
            done = domain.handle(DispatchMail(token, limit=5))
            if done.failed or done.overtaken:
                raise AssertionError(f"unexpected outcome: {done}")
            sent.extend(done.sent)
            if not done.sent:
                break
    except Exception as error:  # reported to the test, which fails with it
        out.put(f"{type(error).__name__}: {error}")
    else:
        out.put(sent)
    finally:
        storage.engine.dispose()
