"""A TicketDomain wired to the shipped fakes, for tests of hosts and of the library itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from ticketdomain.core.identity import SecurityPolicy
from ticketdomain.core.mail import DeliveryPolicy
from ticketdomain.ports.documents import DocumentRenderer
from ticketdomain.ports.mail import MailTemplates
from ticketdomain.ports.spreadsheets import SpreadsheetCodec
from ticketdomain.ports.storage import Storage
from ticketdomain.services.app import TicketDomain
from ticketdomain.testing.fakes import (
    FastPasswordHasher,
    FixedClock,
    InMemoryDocumentStore,
    InMemoryMailer,
    InMemoryPaymentGateway,
    RecordingRenderer,
    SequentialBarcodes,
    SequentialIds,
    SequentialTokens,
)
from ticketdomain.testing.memory import InMemoryStorage

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

#: sessions that outlive any clock a test moves (by days, to expire reservations); tests of
#: session lifetimes pass their own policy
LONG_SESSIONS = SecurityPolicy(
    session_lifetime=timedelta(days=3650),
    session_idle=timedelta(days=3650),
    invitation_link_lifetime=timedelta(days=3650),
)


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
    passwords: FastPasswordHasher
    tokens: SequentialTokens
    #: the invoice and report renderer, when the world was built with one
    document_renderer: DocumentRenderer | None = None


def build_fake_world(
    storage: Storage | None = None,
    start: datetime = DEFAULT_START,
    security: SecurityPolicy | None = None,
    delivery: DeliveryPolicy | None = None,
    document_renderer: DocumentRenderer | None = None,
    spreadsheets: SpreadsheetCodec | None = None,
    mail_templates: MailTemplates | None = None,
) -> FakeWorld:
    """A domain over ``storage`` (in memory by default) and fresh fakes for everything else;
    sessions last for years unless ``security`` says otherwise (``LONG_SESSIONS``)."""
    store: Storage = storage if storage is not None else InMemoryStorage()
    clock = FixedClock(start)
    ids = SequentialIds()
    barcodes = SequentialBarcodes()
    payments = InMemoryPaymentGateway()
    documents = InMemoryDocumentStore()
    renderer = RecordingRenderer()
    mailer = InMemoryMailer()
    passwords = FastPasswordHasher()
    tokens = SequentialTokens()
    domain = TicketDomain(
        storage=store,
        clock=clock,
        ids=ids,
        barcodes=barcodes,
        payments=payments,
        documents=documents,
        renderer=renderer,
        mailer=mailer,
        passwords=passwords,
        tokens=tokens,
        security=security if security is not None else LONG_SESSIONS,
        delivery=delivery,
        document_renderer=document_renderer,
        spreadsheets=spreadsheets,
        mail_templates=mail_templates,
    )
    return FakeWorld(
        domain,
        store,
        clock,
        ids,
        barcodes,
        payments,
        documents,
        renderer,
        mailer,
        passwords,
        tokens,
        document_renderer,
    )
