"""A TicketDomain wired to the shipped fakes, for tests of hosts and of the library itself."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from ticketdomain.ports.storage import Storage
from ticketdomain.services.app import TicketDomain
from ticketdomain.testing.fakes import (
    FixedClock,
    InMemoryDocumentStore,
    InMemoryMailer,
    InMemoryPaymentGateway,
    RecordingRenderer,
    SequentialBarcodes,
    SequentialIds,
)
from ticketdomain.testing.memory import InMemoryStorage

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@attrs.define
class FakeWorld:
    """A domain and the fakes behind it, so a test can move the clock or read the mails."""

    domain: TicketDomain
    storage: Storage
    clock: FixedClock
    ids: SequentialIds
    barcodes: SequentialBarcodes
    payments: InMemoryPaymentGateway
    documents: InMemoryDocumentStore
    renderer: RecordingRenderer
    mailer: InMemoryMailer


def build_fake_world(storage: Storage | None = None, start: datetime = DEFAULT_START) -> FakeWorld:
    """A domain over ``storage`` (in memory by default) and fresh fakes for everything else."""
    store: Storage = storage if storage is not None else InMemoryStorage()
    clock = FixedClock(start)
    ids = SequentialIds()
    barcodes = SequentialBarcodes()
    payments = InMemoryPaymentGateway()
    documents = InMemoryDocumentStore()
    renderer = RecordingRenderer()
    mailer = InMemoryMailer()
    domain = TicketDomain(
        storage=store,
        clock=clock,
        ids=ids,
        barcodes=barcodes,
        payments=payments,
        documents=documents,
        renderer=renderer,
        mailer=mailer,
    )
    return FakeWorld(domain, store, clock, ids, barcodes, payments, documents, renderer, mailer)
