"""The crash test: worker processes run a random mix of operations on one database, are killed
with SIGKILL at random and restarted, and every rule is checked after each round.

``run_soak`` sets up an agency and a works council through the public API (tokens opened by
the host's trusted call), starts an SMTP server on 127.0.0.1 that counts what it receives by
Message-ID, a card gateway shared by every worker (the sandbox gateway, served from one process
so that a refund finds the charge another worker made), and ``workers`` processes. Each worker
loops over orders on account and by card, operators' orders, reservations, payments, invoices,
cancellations, printing, transfers, distributions, reclaims, gate scans and mail dispatch,
logging each outcome (and each mail it hands to the SMTP server) to its own file with unbuffered
appends that survive the kill. At the end the workers are killed too, the outbox is drained and
the rules are checked once more, now requiring every queued mail to have arrived.

``python -m bench.soak --minutes 3`` runs it on a SQLite file and on PostgreSQL
(``TICKETDOMAIN_TEST_PG_URL``); ``tests/integration/test_soak.py`` runs a short one.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import secrets
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.parser import BytesHeaderParser
from multiprocessing.managers import BaseManager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import attrs
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, func, select

from support.soak_checks import Violation, check, sqlite_reader
from ticketdomain import (
    ActorKind,
    AuthorizeStructure,
    CancelOrder,
    CardPayment,
    ChannelKind,
    ConfirmReservation,
    ContactRole,
    CreateActivity,
    CreateIndividual,
    CreateOrganization,
    CreatePerformance,
    CreateProduct,
    CreateQuota,
    CreateSalesChannel,
    CreateSalesPoint,
    CreateStructure,
    CreateTariff,
    DeliveryMode,
    DispatchMail,
    DistributeToMember,
    DistributeToSubStructure,
    Function,
    IssueInvoice,
    LineRequest,
    Money,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    PlaceReservation,
    PrintAtOnce,
    PrintTickets,
    ProcessDueExpiries,
    ProductConditions,
    ReclaimTickets,
    RecordPayment,
    RegisterGate,
    ReleaseReservation,
    ScanTicket,
    SetCatalogProfile,
    SetCreditLimit,
    TicketDomain,
    TransferTickets,
)
from ticketdomain.core.errors import TicketDomainError, rebuild_error
from ticketdomain.core.mail import DeliveryPolicy, MailMessage
from ticketdomain.ports.payment import PaymentReceipt
from ticketdomain.services.commands import ContactDetails
from ticketdomain.testing import FastPasswordHasher, InMemoryDocumentStore, RecordingRenderer
from ticketdomain_sandbox import SandboxPaymentGateway
from ticketdomain_smtp import SmtpMailer
from ticketdomain_sqlalchemy import SqlAlchemyStorage
from ticketdomain_sqlalchemy import _schema as s
from ticketdomain_system import (
    SecretsBarcodeGenerator,
    SecretsTokenGenerator,
    SystemClock,
    UuidIdGenerator,
)

SENDER = "tickets@soak.invalid"
#: Short leases and retries, so that what a killed dispatcher had claimed comes back within
#: the run; the lease stays far above a batch's sending time to the local server, lest a live
#: dispatcher be overtaken (which would send a message twice outside the crash window).
DELIVERY = DeliveryPolicy(
    first_retry=timedelta(seconds=1),
    cap=timedelta(seconds=5),
    lease=timedelta(seconds=10),
    batch=5,
)

# --- where a soak runs ----------------------------------------------------------------------


@attrs.frozen
class Target:
    """A database every process opens on its own: a SQLite file, or a PostgreSQL schema."""

    name: str
    url: str
    schema: str | None = None

    @classmethod
    def sqlite(cls, path: Path) -> Target:
        return cls("sqlite", str(path))

    def storage(self) -> SqlAlchemyStorage:
        if self.name == "sqlite":
            return SqlAlchemyStorage.sqlite(self.url)
        return SqlAlchemyStorage(self.engine())

    def engine(self) -> Engine:
        if self.schema is None:
            return create_engine(self.url)
        return create_engine(self.url, connect_args={"options": f"-c search_path={self.schema}"})


@contextlib.contextmanager
def postgresql_target(url: str) -> Iterator[Target]:
    """A fresh schema on the PostgreSQL server at ``url``, dropped afterwards."""
    schema = f"td_soak_{secrets.token_hex(6)}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield Target("postgresql", url, schema)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


# --- the SMTP server that counts deliveries -------------------------------------------------


class RecordingSmtpServer:
    """An SMTP server on 127.0.0.1 counting the messages it receives by Message-ID (the
    outbox message id, as the SMTP and maildir adapters derive it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self.port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        local = str(headers.get("Message-ID", "")).strip().strip("<>").rpartition("@")[0]
        with self._lock:
            self._counts[unquote(local)] += 1
        return "250 OK"

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def __enter__(self) -> RecordingSmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- one card gateway for every worker ------------------------------------------------------


class _GatewayServer:
    """The sandbox gateway as the manager process serves it: answers as plain tuples, since the
    library's errors carry keyword details that pickling would drop."""

    def __init__(self) -> None:
        self._gateway = SandboxPaymentGateway()

    def charge(self, amount: Money, card: CardPayment, key: str) -> tuple[Any, ...]:
        return self._call(lambda: self._gateway.charge(amount, card, key))

    def refund(self, reference: str, amount: Money, key: str) -> tuple[Any, ...]:
        return self._call(lambda: self._gateway.refund(reference, amount, key))

    def charges(self) -> list[str]:
        return [charge.reference for charge in self._gateway.charges]

    def refunded(self) -> list[str]:
        return [refund.charge_reference for refund in self._gateway.refunds]

    @staticmethod
    def _call(action: Callable[[], PaymentReceipt]) -> tuple[Any, ...]:
        try:
            return ("ok", action())
        except TicketDomainError as exc:
            return ("error", exc.code, exc.message, exc.details)


_GATEWAY: _GatewayServer | None = None


def _gateway() -> _GatewayServer:
    global _GATEWAY
    if _GATEWAY is None:
        _GATEWAY = _GatewayServer()
    return _GATEWAY


class GatewayManager(BaseManager):
    pass


GatewayManager.register("gateway", callable=_gateway)


class SharedGateway:
    """A ``PaymentGateway`` forwarding to the one sandbox gateway of the soak."""

    def __init__(self, address: Any, authkey: bytes) -> None:
        manager = GatewayManager(address=address, authkey=authkey)
        manager.connect()
        self._remote: Any = manager.gateway()  # type: ignore[attr-defined]

    def charge(self, amount: Money, card: CardPayment, idempotency_key: str) -> PaymentReceipt:
        return self._answer(self._remote.charge(amount, card, idempotency_key))

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        return self._answer(self._remote.refund(reference, amount, idempotency_key))

    @staticmethod
    def _answer(answer: tuple[Any, ...]) -> PaymentReceipt:
        if answer[0] == "ok":
            receipt: PaymentReceipt = answer[1]
            return receipt
        raise rebuild_error(answer[1], answer[2], answer[3])


# --- the scene ------------------------------------------------------------------------------


@attrs.frozen
class Scene:
    """Ids and tokens of the soak's organization, set up through the public API."""

    organization_id: str
    agency_sales_point_id: str
    corporate_sales_point_id: str
    phone_sales_point_id: str
    hotel_id: str
    council_id: str
    club_id: str
    performance_ids: tuple[str, ...]
    corporate_performance_id: str
    agency_tariff_id: str
    corporate_product_id: str
    corporate_tariff_id: str
    operator: str = attrs.field(repr=False)
    alice: str = attrs.field(repr=False)
    bob: str = attrs.field(repr=False)
    nina: str = attrs.field(repr=False)
    sam: str = attrs.field(repr=False)
    gate: str = attrs.field(repr=False)


def chf(amount: str | Decimal) -> Money:
    return Money(Decimal(amount), "CHF")


def build_domain(
    storage: SqlAlchemyStorage,
    mailer: Any,
    payments: Any | None = None,
    delivery: DeliveryPolicy = DELIVERY,
) -> TicketDomain:
    """A domain as a host would run it: system clock, random ids, barcodes and tokens."""
    return TicketDomain(
        storage=storage,
        clock=SystemClock(),
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=payments if payments is not None else SandboxPaymentGateway(),
        documents=InMemoryDocumentStore(),
        # Rendering PDFs is not under test: the recording renderer keeps the CPU for the rest.
        renderer=RecordingRenderer(),
        mailer=mailer,
        passwords=FastPasswordHasher(),
        tokens=SecretsTokenGenerator(),
        delivery=delivery,
    )


def set_up(d: TicketDomain) -> Scene:
    """An agency (two relays, a capped holding account, nested quotas) and a works council
    (a relay, a sub-structure with its relay), a phone sales point for operators, a gate."""
    start = datetime.now(UTC)
    boot = d.host.bootstrap(
        institution_name="Soak Culture",
        first_name="Odile",
        last_name="Perret",
        email="odile@soak.invalid",
    )
    op = d.host.open_session(ActorKind.OPERATOR, boot.operator.id).token
    organization = d.setup.create_organization(CreateOrganization(op, "Soak Opera", "CHF"))
    agency = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Internet Agence", ChannelKind.AGENCY)
    )
    corporate = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Internet Entreprise", ChannelKind.CORPORATE)
    )
    box_office = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Box office", ChannelKind.BOX_OFFICE)
    )
    agency_point = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            organization.id,
            agency.id,
            "Agencies",
            functions=frozenset({Function.OPTIONS, Function.SALES_REPORT}),
            payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
            delivery_modes=frozenset({DeliveryMode.PRINT_AT_HOME, DeliveryMode.TRANSFER}),
        )
    )
    corporate_point = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            organization.id,
            corporate.id,
            "Works councils",
            functions=frozenset({Function.OPTIONS, Function.DISTRIBUTION}),
            payment_methods=frozenset({PaymentMethod.HOLDING_ACCOUNT}),
        )
    )
    phone = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            organization.id,
            box_office.id,
            "Phone",
            payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
        )
    )
    hotel = d.contacts.create_structure(CreateStructure(op, "Hotel Beau-Rivage"))
    council = d.contacts.create_structure(CreateStructure(op, "Works council Nestor SA"))
    club = d.contacts.create_structure(
        CreateStructure(op, "Nestor sports club", parent_id=council.id)
    )

    def relay(first: str, structure_id: str) -> str:
        return d.contacts.create_individual(
            CreateIndividual(
                op, first, "Soak", f"{first.lower()}@soak.invalid", structure_id, ContactRole.RELAY
            )
        ).id

    alice, bob = relay("Alice", hotel.id), relay("Bob", hotel.id)
    nina, sam = relay("Nina", council.id), relay("Sam", club.id)
    d.setup.authorize_structure(AuthorizeStructure(op, agency_point.id, hotel.id))
    for structure in (council, club):
        d.setup.authorize_structure(AuthorizeStructure(op, corporate_point.id, structure.id))
    activity = d.setup.create_activity(CreateActivity(op, organization.id, "La Traviata"))

    def performance(days: int, capacity: int) -> str:
        return d.setup.create_performance(
            CreatePerformance(op, activity.id, start + timedelta(days=days), "Soak", capacity)
        ).id

    # The agency sells within nested quotas small enough to be reached again and again.
    first, second = performance(30, 60), performance(31, 40)
    corporate_performance = performance(32, 120)
    product = d.setup.create_product(CreateProduct(op, activity.id, "Seat", Decimal("0.081")))
    agency_tariff = d.setup.create_tariff(CreateTariff(op, product.id, "Agency", chf("65.00")))
    council_tariff = d.setup.create_tariff(CreateTariff(op, product.id, "Council", chf("50.00")))
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            op,
            organization.id,
            frozenset({activity.id}),
            (ProductConditions(product.id, max_per_order=10),),
            channel_id=agency.id,
        )
    )
    d.setup.create_quota(CreateQuota(op, first, 40, channel_id=agency.id))
    d.setup.create_quota(CreateQuota(op, first, 30, sales_point_id=agency_point.id))
    d.setup.create_quota(CreateQuota(op, second, 25, sales_point_id=agency_point.id))
    d.accounts.set_credit_limit(SetCreditLimit(op, organization.id, hotel.id, chf("1300.00")))
    d.accounts.set_credit_limit(SetCreditLimit(op, organization.id, council.id, chf("4000.00")))
    gate = d.identity.register_gate(RegisterGate(op, organization.id, "North gate"))

    def session(individual_id: str, sales_point_id: str) -> str:
        return d.host.open_session(
            ActorKind.RELAY, individual_id, sales_point_id=sales_point_id
        ).token

    return Scene(
        organization_id=organization.id,
        agency_sales_point_id=agency_point.id,
        corporate_sales_point_id=corporate_point.id,
        phone_sales_point_id=phone.id,
        hotel_id=hotel.id,
        council_id=council.id,
        club_id=club.id,
        performance_ids=(first, second),
        corporate_performance_id=corporate_performance,
        agency_tariff_id=agency_tariff.id,
        corporate_product_id=product.id,
        corporate_tariff_id=council_tariff.id,
        operator=op,
        alice=session(alice, agency_point.id),
        bob=session(bob, agency_point.id),
        nina=session(nina, corporate_point.id),
        sam=session(sam, corporate_point.id),
        gate=gate.key.token,
    )


# --- the workers ----------------------------------------------------------------------------


@attrs.frozen
class WorkerConfig:
    target: Target
    scene: Scene
    smtp_port: int
    gateway_address: Any
    gateway_key: bytes
    events: str
    seed: int
    delivery: DeliveryPolicy


class _Events:
    """One line per event, appended with a single ``write`` each: what the kernel has, the
    kill does not lose."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, line: str) -> None:
        os.write(self._fd, (line + "\n").encode())


class _LoggedMailer:
    """The SMTP mailer, noting each message before and after it is handed over: a worker killed
    between the two marks (or before its dispatcher marked the message sent) died in the crash
    window, where the message may be sent once more."""

    def __init__(self, mailer: SmtpMailer, events: _Events) -> None:
        self._mailer = mailer
        self._events = events

    def send(self, message: MailMessage) -> None:
        self._events.write(f"mail> {message.id}")
        self._mailer.send(message)
        self._events.write(f"mail< {message.id}")


class _Worker:
    def __init__(self, config: WorkerConfig) -> None:
        self.scene = config.scene
        self.random = random.Random(config.seed)
        self.events = _Events(config.events)
        self.storage = config.target.storage()
        # Picking rows to act on takes no lock (the adapter's SQLite engine begins IMMEDIATE).
        self.engine = (
            sqlite_reader(self.storage.engine)
            if config.target.name == "sqlite"
            else self.storage.engine
        )
        mailer = _LoggedMailer(
            SmtpMailer("127.0.0.1", config.smtp_port, sender=SENDER), self.events
        )
        self.d = build_domain(
            self.storage,
            mailer,
            SharedGateway(config.gateway_address, config.gateway_key),
            config.delivery,
        )
        self.operations: list[tuple[str, int, Callable[[], object]]] = [
            ("order_on_account", 6, self.order_on_account),
            ("order_by_card", 3, self.order_by_card),
            ("order_for_structure", 3, self.order_for_structure),
            ("council_order", 2, self.council_order),
            ("reserve", 2, self.reserve),
            ("release_or_confirm", 2, self.release_or_confirm),
            ("payment", 3, self.payment),
            ("invoice", 2, self.invoice),
            ("cancel", 3, self.cancel),
            ("print", 3, self.print_tickets),
            ("transfer", 1, self.transfer),
            ("distribute_to_member", 3, self.distribute_to_member),
            ("distribute_to_club", 1, self.distribute_to_club),
            ("print_at_once", 2, self.print_at_once),
            ("reclaim", 1, self.reclaim),
            ("scan", 4, self.scan),
            ("dispatch_mail", 3, self.dispatch),
            ("expiries", 1, self.expiries),
        ]

    def run(self) -> None:
        names = [name for name, _, _ in self.operations]
        weights = [weight for _, weight, _ in self.operations]
        actions = {name: action for name, _, action in self.operations}
        while True:
            name = self.random.choices(names, weights)[0]
            try:
                actions[name]()
            except TicketDomainError as exc:
                outcome = f"refused:{exc.code}"
            except Exception as exc:  # counted and shown in the report, then carry on
                outcome = f"error:{type(exc).__name__}:{str(exc)[:200]!r}"
            else:
                outcome = "ok"
            self.events.write(f"op {name} {outcome}")

    # -- picking existing rows (the harness reads the database directly) ------------------

    def _pick(self, statement: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(statement.order_by(func.random()).limit(1)).first()

    def _order(
        self, structure_id: str | None = None, *, blocked: tuple[str, ...] = (), **where: Any
    ) -> str | None:
        """A random confirmed order, none of whose tickets is in a ``blocked`` state (a
        controlled ticket stops a cancellation: picking such orders would only be refused)."""
        o, t = s.orders, s.tickets
        statement = select(o.c.id).where(o.c.state == "confirmed")
        if blocked:
            statement = statement.where(
                ~select(t.c.id).where(t.c.order_id == o.c.id, t.c.state.in_(blocked)).exists()
            )
        if structure_id is not None:
            statement = statement.where(o.c.structure_id == structure_id)
        for column, value in where.items():
            statement = statement.where(o.c[column] == value)
        row = self._pick(statement)
        return None if row is None else str(row.id)

    # -- the operations -------------------------------------------------------------------

    def _agency_line(self) -> tuple[LineRequest, ...]:
        return (
            LineRequest(
                self.random.choice(self.scene.performance_ids),
                self.scene.agency_tariff_id,
                self.random.randint(1, 3),
            ),
        )

    def _council_line(self) -> tuple[LineRequest, ...]:
        return (
            LineRequest(
                self.scene.corporate_performance_id,
                self.scene.corporate_tariff_id,
                self.random.randint(1, 4),
            ),
        )

    def order_on_account(self) -> object:
        return self.d.sales.place_order(
            PlaceOrder(
                self.random.choice((self.scene.alice, self.scene.bob)),
                self._agency_line(),
                PaymentMethod.HOLDING_ACCOUNT,
                delivery_mode=self.random.choice(
                    (DeliveryMode.PRINT_AT_HOME, DeliveryMode.TRANSFER)
                ),
            )
        )

    def order_by_card(self) -> object:
        card = "tok_declined" if self.random.random() < 0.1 else "tok_visa"
        return self.d.sales.place_order(
            PlaceOrder(
                self.scene.alice,
                self._agency_line(),
                PaymentMethod.CARD,
                card=CardPayment(card),
                idempotency_key=uuid.uuid4().hex,
            )
        )

    def order_for_structure(self) -> object:
        by_card = self.random.random() < 0.3
        return self.d.sales.place_order_for_structure(
            PlaceOrderForStructure(
                self.scene.operator,
                self.scene.phone_sales_point_id,
                self.scene.council_id,
                self._council_line(),
                PaymentMethod.CARD if by_card else PaymentMethod.HOLDING_ACCOUNT,
                card=CardPayment("tok_visa") if by_card else None,
                idempotency_key=uuid.uuid4().hex if by_card else None,
            )
        )

    def council_order(self) -> object:
        return self.d.sales.place_order(
            PlaceOrder(self.scene.nina, self._council_line(), PaymentMethod.HOLDING_ACCOUNT)
        )

    def reserve(self) -> object:
        return self.d.sales.place_reservation(
            PlaceReservation(self.scene.alice, self._agency_line())
        )

    def release_or_confirm(self) -> object:
        r = s.reservations
        row = self._pick(
            select(r.c.id).where(r.c.state == "held", r.c.structure_id == self.scene.hotel_id)
        )
        if row is None:
            return None
        if self.random.random() < 0.5:
            return self.d.sales.release_reservation(ReleaseReservation(self.scene.alice, row.id))
        return self.d.sales.confirm_reservation(
            ConfirmReservation(self.scene.alice, row.id, PaymentMethod.HOLDING_ACCOUNT)
        )

    def _structure(self) -> str:
        return self.random.choice((self.scene.hotel_id, self.scene.council_id))

    def payment(self) -> object:
        return self.d.accounts.record_payment(
            RecordPayment(
                self.scene.operator,
                self.scene.organization_id,
                self._structure(),
                chf(Decimal(self.random.randint(2000, 40000)) / 100),
                f"soak-{uuid.uuid4().hex[:8]}",
            )
        )

    def invoice(self) -> object:
        return self.d.accounts.issue_invoice(
            IssueInvoice(self.scene.operator, self.scene.organization_id, self._structure())
        )

    def cancel(self) -> object:
        order_id = self._order(blocked=("controlled",))
        if order_id is None:
            return None
        return self.d.accounts.cancel_order(CancelOrder(self.scene.operator, order_id))

    def print_tickets(self) -> object:
        order_id = self._order(
            self.scene.hotel_id, blocked=("controlled",), delivery_mode="print_at_home"
        )
        if order_id is None:
            return None
        return self.d.sales.print_tickets(PrintTickets(self.scene.alice, order_id))

    def _someone(self) -> ContactDetails:
        tag = uuid.uuid4().hex[:10]
        return ContactDetails("Member", f"Soak {tag}", f"m-{tag}@soak.invalid")

    def transfer(self) -> object:
        order_id = self._order(
            self.scene.hotel_id,
            blocked=("distributed", "printed", "controlled"),
            delivery_mode="transfer",
        )
        if order_id is None:
            return None
        return self.d.sales.transfer_tickets(
            TransferTickets(self.scene.alice, order_id, self._someone())
        )

    def distribute_to_member(self) -> object:
        return self.d.distribution.distribute_to_member(
            DistributeToMember(
                self.scene.nina,
                self.scene.corporate_performance_id,
                self.scene.corporate_product_id,
                self.random.randint(1, 2),
                member=self._someone(),
            )
        )

    def distribute_to_club(self) -> object:
        return self.d.distribution.distribute_to_sub_structure(
            DistributeToSubStructure(
                self.scene.nina,
                self.scene.corporate_performance_id,
                self.scene.corporate_product_id,
                self.random.randint(1, 2),
                self.scene.club_id,
            )
        )

    def print_at_once(self) -> object:
        return self.d.distribution.print_at_once(
            PrintAtOnce(
                self.random.choice((self.scene.nina, self.scene.sam)),
                self.scene.corporate_performance_id,
                self.scene.corporate_product_id,
                1,
            )
        )

    def reclaim(self) -> object:
        t = s.tickets
        row = self._pick(
            select(t.c.id).where(
                t.c.stock_structure_id == self.scene.council_id,
                t.c.holder_id.is_not(None),
                t.c.state.in_(("distributed", "printed")),
            )
        )
        if row is None:
            return None
        return self.d.distribution.reclaim_tickets(ReclaimTickets(self.scene.nina, (row.id,)))

    def scan(self) -> object:
        b, t = s.barcodes, s.tickets
        statement = select(b.c.value, t.c.performance_id).select_from(
            b.join(t, t.c.id == b.c.ticket_id)
        )
        if self.random.random() < 0.8:
            statement = statement.where(b.c.revoked.is_(False))
        row = self._pick(statement)
        if row is None:
            return None
        return self.d.access.scan_ticket(ScanTicket(self.scene.gate, row.performance_id, row.value))

    def dispatch(self) -> object:
        return self.d.mail.dispatch_mail(
            DispatchMail(self.scene.operator, limit=self.random.randint(1, 10))
        )

    def expiries(self) -> object:
        return self.d.sales.process_due_expiries(ProcessDueExpiries(self.scene.operator))


def work(config: WorkerConfig) -> None:
    """A worker process's body: random operations until it is killed."""
    _Worker(config).run()


# --- the run --------------------------------------------------------------------------------


@attrs.define
class SoakReport:
    database: str
    seconds: float = 0.0
    rounds: int = 0
    #: SIGKILLs at random times during the run (the final stop of every worker not counted)
    kills: int = 0
    #: kills that hit a worker while it was handing a mail over
    kills_in_crash_window: int = 0
    #: "name ok" / "name refused:<code>" / "name error:..." -> count
    operations: Counter[str] = attrs.Factory(Counter)
    mails_queued: int = 0
    mails_delivered: int = 0
    deliveries: int = 0
    card_charges: int = 0
    card_refunds: int = 0
    #: charges a worker made and was killed before its order committed (no order, no refund)
    charges_without_order: int = 0
    #: card orders cancelled by a worker killed before it refunded them (a repeated cancel
    #: refunds them)
    cancelled_not_refunded: int = 0
    violations: list[Violation] = attrs.Factory(list)

    @property
    def total_operations(self) -> int:
        return sum(self.operations.values())

    @property
    def errors(self) -> dict[str, int]:
        return {key: n for key, n in self.operations.items() if " error:" in key}

    def summary(self) -> str:
        ok = sum(n for key, n in self.operations.items() if key.endswith(" ok"))
        refused = sum(n for key, n in self.operations.items() if " refused:" in key)
        lines = [
            f"{self.database}: {self.seconds:.0f} s, {self.rounds} rounds, {self.kills} kills "
            f"({self.kills_in_crash_window} while handing a mail over), "
            f"{self.total_operations} operations ({ok} ok, {refused} refused, "
            f"{sum(self.errors.values())} unexpected errors), "
            f"{self.mails_queued} mails queued, {self.mails_delivered} delivered "
            f"({self.deliveries - self.mails_delivered} resent), "
            f"{self.card_charges} card charges ({self.charges_without_order} left without an "
            f"order by a kill), {self.card_refunds} refunds ({self.cancelled_not_refunded} "
            "cancelled orders left unrefunded by a kill), "
            f"{len(self.violations)} violations",
        ]
        by_operation: Counter[str] = Counter()
        for key, n in self.operations.items():
            by_operation[key.split(" ", 1)[0]] += n
        lines.append(
            "  operations: " + ", ".join(f"{k} {n}" for k, n in sorted(by_operation.items()))
        )
        lines += [f"  unexpected error x{n}: {key}" for key, n in sorted(self.errors.items())]
        seen: Counter[str] = Counter()
        for violation in self.violations:
            seen[violation.rule] += 1
            if seen[violation.rule] <= 5:
                lines.append(f"  VIOLATION {violation}")
        lines += [f"  ... {n - 5} more {rule}" for rule, n in seen.items() if n > 5]
        return "\n".join(lines)


@attrs.define
class _Slot:
    """One worker position: its current process and the events file it writes."""

    index: int
    process: BaseProcess
    events: Path


def run_soak(
    target: Target,
    folder: Path,
    *,
    seconds: float,
    workers: int = 4,
    round_seconds: float = 15.0,
    kill_every: float = 3.0,
    drain_seconds: float = 60.0,
    delivery: DeliveryPolicy = DELIVERY,
    seed: int | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> SoakReport:
    """Run the crash test on ``target`` (an empty database) for ``seconds``; see the module."""
    chance = random.Random(seed)
    report = SoakReport(target.name)
    folder.mkdir(parents=True, exist_ok=True)
    storage = target.storage()
    storage.create_schema()
    context = multiprocessing.get_context("spawn")
    authkey = secrets.token_bytes(16)
    gateway_manager = GatewayManager(address=("127.0.0.1", 0), authkey=authkey, ctx=context)
    crash_window: Counter[str] = Counter()
    started = time.monotonic()
    with RecordingSmtpServer() as smtp:
        gateway_manager.start()
        try:
            mailer = SmtpMailer("127.0.0.1", smtp.port, sender=SENDER)
            parent = build_domain(storage, mailer, delivery=delivery)
            scene = set_up(parent)
            generation = 0

            def spawn(index: int) -> _Slot:
                nonlocal generation
                generation += 1
                events = folder / f"{target.name}-worker{index}-{generation}.log"
                config = WorkerConfig(
                    target,
                    scene,
                    smtp.port,
                    gateway_manager.address,
                    authkey,
                    str(events),
                    chance.randrange(2**32),
                    delivery,
                )
                process = context.Process(target=work, args=(config,), daemon=True)
                process.start()
                return _Slot(index, process, events)

            def kill(slot: _Slot) -> bool:
                slot.process.kill()
                slot.process.join()
                message_id = _in_crash_window(slot.events)
                if message_id is not None:
                    crash_window[message_id] += 1
                return message_id is not None

            gateway: Any = gateway_manager.gateway()  # type: ignore[attr-defined]

            def refunded() -> list[str]:
                return list(gateway.refunded())

            slots = [spawn(index) for index in range(workers)]
            deadline = started + seconds
            next_round = started + min(round_seconds, seconds)
            next_kill = time.monotonic() + chance.expovariate(1 / kill_every)
            while True:
                now = time.monotonic()
                if now >= deadline:
                    break
                if now >= next_kill:
                    victim = chance.choice(slots)
                    report.kills += 1
                    report.kills_in_crash_window += kill(victim)
                    slots[victim.index] = spawn(victim.index)
                    next_kill = now + chance.expovariate(1 / kill_every)
                elif now >= next_round:
                    report.rounds += 1
                    found = check(storage.engine, smtp.counts, crash_window, refunds=refunded)
                    report.violations += found
                    log(
                        f"{target.name} round {report.rounds}: {report.kills} kills, "
                        f"{len(found)} violations"
                    )
                    next_round = now + round_seconds
                else:
                    time.sleep(min(next_kill, next_round, deadline) - now)
            for slot in slots:
                report.kills_in_crash_window += kill(slot)
            report.seconds = time.monotonic() - started
            _drain(parent, storage.engine, scene.operator, drain_seconds)
            report.rounds += 1
            report.violations += check(
                storage.engine, smtp.counts, crash_window, drained=True, refunds=refunded
            )
            counts = smtp.counts()
            report.mails_delivered = len(counts)
            report.deliveries = sum(counts.values())
            with storage.engine.connect() as connection:
                report.mails_queued = connection.execute(
                    select(func.count()).select_from(s.outbox)
                ).scalar_one()
            _money(report, storage.engine, gateway.charges(), refunded())
        finally:
            gateway_manager.shutdown()
            storage.close()
    for events in sorted(folder.glob(f"{target.name}-worker*.log")):
        for line in events.read_text().splitlines():
            if line.startswith("op "):
                report.operations[line[3:]] += 1
    return report


def _money(report: SoakReport, engine: Engine, charges: list[str], refunded: list[str]) -> None:
    o = s.orders
    with engine.connect() as connection:
        orders = connection.execute(
            select(o.c.payment_reference, o.c.state).where(o.c.payment_reference.is_not(None))
        ).all()
    paid = {row.payment_reference for row in orders}
    report.card_charges, report.card_refunds = len(charges), len(refunded)
    report.charges_without_order = len(set(charges) - paid - set(refunded))
    report.cancelled_not_refunded = sum(
        1 for row in orders if row.state == "cancelled" and row.payment_reference not in refunded
    )


def _in_crash_window(events: Path) -> str | None:
    """The message a killed worker was handing over (or had just handed over and not yet
    marked sent) when it died, from the last line it wrote."""
    try:
        last = events.read_text().splitlines()[-1]
    except (FileNotFoundError, IndexError):
        return None
    kind, _, message_id = last.partition(" ")
    return message_id if kind in ("mail>", "mail<") else None


def _drain(d: TicketDomain, engine: Engine, operator: str, seconds: float) -> None:
    """Dispatch until no message waits (messages claimed by a killed dispatcher come back when
    their lease runs out), for at most ``seconds``."""
    o = s.outbox
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(TicketDomainError):
            d.mail.dispatch_mail(DispatchMail(operator, limit=1000))
        with engine.connect() as connection:
            waiting = connection.execute(
                select(func.count()).select_from(o).where(o.c.state.in_(("queued", "sending")))
            ).scalar_one()
        if not waiting:
            return
        time.sleep(0.5)
