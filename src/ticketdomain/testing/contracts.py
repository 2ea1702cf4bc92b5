"""The storage contract: the tests every :class:`~ticketdomain.ports.storage.Storage` passes.

Ours and third parties' adapters prove they honour the ports by subclassing
:class:`StorageContract` in their own test suite (pytest collects the subclass)::

    from ticketdomain.testing.contracts import StorageContract

    class TestMyStorage(StorageContract):
        detects_stale_versions = True

        def make_storage(self) -> Storage:
            return MyStorage(...)

This module imports pytest; import it from tests only.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

import attrs
import hypothesis
import pytest
from hypothesis import strategies as st

from ticketdomain.core.access import ScannedTicket
from ticketdomain.core.accounts import EntryKind, HoldingAccount, LedgerEntry, OpenInvoice
from ticketdomain.core.banking import Iban, Party, PostalAddress, SellerBilling, qr_reference
from ticketdomain.core.catalog import (
    Activity,
    CatalogProfile,
    Performance,
    Product,
    ProductConditions,
    Tariff,
)
from ticketdomain.core.contacts import (
    BuyerBilling,
    ContactRole,
    Email,
    Individual,
    PersonName,
    Structure,
)
from ticketdomain.core.distribution import AttendeeCount, CustodyCount, HolderCount
from ticketdomain.core.errors import ConcurrencyError, CreditLimitExceededError
from ticketdomain.core.identity import (
    ActorKind,
    ApiKey,
    AuthSession,
    Credential,
    CredentialOwner,
    Gate,
    LinkPurpose,
    LoginLink,
    LoginMethod,
    Operator,
    Permission,
    credential_id,
    token_digest,
)
from ticketdomain.core.invoices import Invoice, issue_credit_note, issue_invoice
from ticketdomain.core.mail import Attachment, MailMessage, OutboxState
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.quotas import PlacesOut, Quota
from ticketdomain.core.sales import (
    LineRequest,
    Option,
    OptionState,
    Order,
    OrderLine,
    Refund,
    RefundState,
    Reservation,
    ReservationState,
    Ticket,
    TicketState,
)
from ticketdomain.core.setup import (
    ChannelKind,
    DeliveryMode,
    Function,
    Institution,
    Organization,
    PaymentMethod,
    SalesChannel,
    SalesPoint,
    SalesPointPolicy,
)
from ticketdomain.ports.storage import OutboxItem, Storage, UnitOfWork

__all__ = ["StorageContract"]

R = TypeVar("R")

# --- sample domain objects ------------------------------------------------------------------

INSTITUTION = "inst-geneva"
ORG = "org-opera"
OTHER_ORG = "org-jazz"
CHANNEL = "chan-agencies"
SALES_POINT = "sp-agencies"
STRUCTURE = "str-leman-voyages"
#: a sub-structure of STRUCTURE, to whose stock tickets are handed down
BRANCH = "str-leman-geneva-branch"
CHF = "CHF"

#: Central European Time: samples are built in a zone other than UTC on purpose.
CET = timezone(timedelta(hours=1), "CET")
#: a venue's zone, with its summer time
ZURICH = ZoneInfo("Europe/Zurich")
NOON = datetime(2026, 3, 14, 12, 0, 0, 250_001, tzinfo=CET)


def chf(amount: str) -> Money:
    return Money(Decimal(amount), CHF)


def hours(n: float) -> datetime:
    return NOON + timedelta(hours=n)


IN_TWO_DAYS = hours(48)
IN_A_WEEK = hours(24 * 7)


def an_institution(id: str = INSTITUTION) -> Institution:
    return Institution(id, "Fondation des Arts de Genève")


def an_organization(id: str = ORG) -> Organization:
    return Organization(id, INSTITUTION, "Grand Théâtre", CHF)


def a_channel(id: str = CHANNEL) -> SalesChannel:
    return SalesChannel(id, INSTITUTION, "Internet Agence", ChannelKind.AGENCY)


def a_sales_point(id: str = SALES_POINT, channel_id: str = CHANNEL) -> SalesPoint:
    return SalesPoint(
        id=id,
        organization_id=ORG,
        channel_id=channel_id,
        name="Agences de voyage",
        functions=frozenset({Function.OPTIONS, Function.SALES_REPORT, Function.DISTRIBUTION}),
        payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
        delivery_modes=frozenset({DeliveryMode.PRINT_AT_HOME, DeliveryMode.TRANSFER}),
        authorized_structure_ids={STRUCTURE, "str-hotel-beau-rivage"},
        policy=SalesPointPolicy(
            reservation_delay=timedelta(days=3, hours=4, microseconds=7),
            reservation_cutoff=timedelta(hours=36),
            option_lifetime=timedelta(days=10),
            max_document_bytes=2_000_000,
            admit_before_settlement=False,
        ),
    )


def a_structure(
    id: str = STRUCTURE, parent_id: str | None = "str-leman-group", name: str = "Léman Voyages SA"
) -> Structure:
    return Structure(id, INSTITUTION, name, parent_id)


def an_individual(
    id: str = "ind-elodie",
    first: str = "Élodie",
    last: str = "Dupont",
    email: str = "Elodie.Dupont@Example.CH",
    structure_id: str | None = STRUCTURE,
    institution_id: str = INSTITUTION,
) -> Individual:
    return Individual(
        id=id,
        institution_id=institution_id,
        name=PersonName(first, last),
        email=Email(email),
        structure_id=structure_id,
        role=ContactRole.RELAY,
        marketing_consent=True,
    )


def an_activity(id: str = "act-carmen") -> Activity:
    return Activity(id, ORG, "Carmen")


def a_performance(
    id: str = "perf-premiere",
    starts_at: datetime = NOON,
    organization_id: str = ORG,
    time_zone: str | None = None,
) -> Performance:
    """A performance; without ``time_zone``, in the zone of ``starts_at`` if it is named."""
    if time_zone is None:
        return Performance(id, organization_id, "act-carmen", starts_at, "Grande salle", 1_350)
    return Performance(
        id, organization_id, "act-carmen", starts_at, "Grande salle", 1_350, time_zone
    )


def a_product(id: str = "prod-carmen", organization_id: str = ORG) -> Product:
    return Product(id, organization_id, "act-carmen", "Carmen, parterre", VatRate(Decimal("0.081")))


def a_tariff(id: str = "tar-full", product_id: str = "prod-carmen") -> Tariff:
    return Tariff(id, ORG, product_id, "Plein tarif", chf("1234.55"))


def a_profile(
    id: str = "prof-agencies",
    sales_point_id: str | None = SALES_POINT,
    channel_id: str | None = None,
    organization_id: str = ORG,
) -> CatalogProfile:
    return CatalogProfile(
        id=id,
        organization_id=organization_id,
        channel_id=channel_id,
        sales_point_id=sales_point_id,
        activity_ids=frozenset({"act-carmen", "act-tosca"}),
        products=(
            ProductConditions(
                "prod-carmen",
                tariff_ids=frozenset({"tar-agency", "tar-group"}),
                min_per_order=2,
                max_per_order=8,
                sale_opens_at=hours(-48),
                sale_closes_at=hours(72),
            ),
            ProductConditions("prod-tosca"),
            ProductConditions("prod-gala", tariff_ids=frozenset()),
        ),
    )


def a_quota(
    id: str = "quota-agencies",
    performance_id: str = "perf-premiere",
    capacity: int = 120,
) -> Quota:
    return Quota(id, ORG, performance_id, capacity, sales_point_id=SALES_POINT)


LINES = (
    LineRequest("perf-premiere", "tar-agency", 4),
    LineRequest("perf-second", "tar-group", 2),
)


def an_option(
    id: str = "opt-1",
    expires_at: datetime = IN_A_WEEK,
    state: OptionState = OptionState.REQUESTED,
    structure_id: str = STRUCTURE,
) -> Option:
    return Option(
        id=id,
        organization_id=ORG,
        sales_point_id=SALES_POINT,
        structure_id=structure_id,
        relay_id="ind-elodie",
        lines=LINES,
        requested_at=NOON,
        expires_at=expires_at,
        state=state,
    )


def a_reservation(
    id: str = "res-1",
    deadline: datetime = IN_TWO_DAYS,
    state: ReservationState = ReservationState.HELD,
    sales_point_id: str = SALES_POINT,
    lines: tuple[LineRequest, ...] = LINES,
    structure_id: str = STRUCTURE,
) -> Reservation:
    return Reservation(
        id=id,
        organization_id=ORG,
        sales_point_id=sales_point_id,
        structure_id=structure_id,
        relay_id="ind-elodie",
        lines=lines,
        created_at=NOON,
        deadline=deadline,
        state=state,
        option_id="opt-1",
    )


def an_order(
    id: str = "ord-1",
    placed_at: datetime = NOON,
    payment_method: PaymentMethod = PaymentMethod.HOLDING_ACCOUNT,
    structure_id: str = STRUCTURE,
    organization_id: str = ORG,
) -> Order:
    return Order(
        id=id,
        organization_id=organization_id,
        sales_point_id=SALES_POINT,
        structure_id=structure_id,
        placed_by="ind-elodie",
        placed_by_operator=False,
        purchasing_contact_id="ind-client",
        lines=(
            OrderLine(
                f"{id}-l1",
                "perf-premiere",
                "prod-carmen",
                "tar-agency",
                3,
                chf("89.90"),
                VatRate(Decimal("0.081")),
            ),
            OrderLine(
                f"{id}-l2",
                "perf-second",
                "prod-tosca",
                "tar-group",
                1,
                chf("1234.55"),
                VatRate(Decimal("0.026")),
            ),
        ),
        payment_method=payment_method,
        delivery_mode=DeliveryMode.TRANSFER,
        placed_at=placed_at,
        currency=CHF,
        payment_reference="PAY-42",
        document_id="doc-acceptance-7",
        reservation_id="res-1",
    )


def a_ticket(
    id: str = "tkt-1",
    order_id: str = "ord-1",
    performance_id: str = "perf-premiere",
    sales_point_id: str = SALES_POINT,
    state: TicketState = TicketState.BOUGHT,
    barcode: str | None = None,
    revoked: tuple[str, ...] = (),
    holder_id: str | None = None,
) -> Ticket:
    return Ticket(
        id=id,
        organization_id=ORG,
        order_id=order_id,
        order_line_id=f"{order_id}-l1",
        sales_point_id=sales_point_id,
        performance_id=performance_id,
        product_id="prod-carmen",
        tariff_id="tar-agency",
        structure_id=STRUCTURE,
        stock_structure_id=STRUCTURE,
        barcode=barcode if barcode is not None else f"BC-{id}",
        state=state,
        holder_id=holder_id,
        revoked_barcodes=revoked,
    )


def a_printed_ticket(id: str = "tkt-1") -> Ticket:
    ticket = a_ticket(id, barcode=f"{id}-LIVE", revoked=(f"{id}-OLD-1", f"{id}-OLD-2"))
    ticket.stock_structure_id = BRANCH
    ticket.assign("ind-client")
    ticket.print("Zoë Müller-Lefèvre")
    return ticket


def a_held_ticket(
    id: str,
    stock_structure_id: str = STRUCTURE,
    state: TicketState = TicketState.BOUGHT,
    performance_id: str = "perf-premiere",
    product_id: str = "prod-carmen",
    holder_id: str | None = None,
    structure_id: str = STRUCTURE,
    organization_id: str = ORG,
) -> Ticket:
    """A ticket bought by ``structure_id`` and held in ``stock_structure_id``'s stock (or
    distributed from it), in any state: the custody queries' sample."""
    return attrs.evolve(
        a_ticket(id, performance_id=performance_id, state=state, holder_id=holder_id),
        organization_id=organization_id,
        structure_id=structure_id,
        stock_structure_id=stock_structure_id,
        product_id=product_id,
    )


#: the ledger of :func:`an_account`
LEDGER = [
    LedgerEntry(1, NOON, EntryKind.ORDER_CHARGED, chf("1334.45"), order_id="ord-1"),
    LedgerEntry(2, hours(1), EntryKind.PAYMENT_RECEIVED, chf("-1000.00"), reference="B1"),
    LedgerEntry(3, hours(2), EntryKind.ORDER_CANCELLED, chf("-99.95"), order_id="ord-2"),
]


def an_account(
    id: str = "acc-1", structure_id: str = STRUCTURE, organization_id: str = ORG
) -> HoldingAccount:
    """A new account whose three ledger entries (:data:`LEDGER`) are still to be stored."""
    return HoldingAccount(
        id=id,
        organization_id=organization_id,
        structure_id=structure_id,
        currency=CHF,
        credit_limit=chf("5000.00"),
        balance=chf("234.50"),
        entry_count=3,
        new_entries=list(LEDGER),
        open_invoices=[
            OpenInvoice("inv-1", 1, chf("234.50")),
            OpenInvoice("inv-2", 2, chf("80.00")),
        ],
        unallocated_credit=chf("12.35"),
    )


def a_stored_account(
    id: str = "acc-1", structure_id: str = STRUCTURE, organization_id: str = ORG
) -> HoldingAccount:
    """:func:`an_account` as loaded once stored: its running total, no new entries."""
    return attrs.evolve(an_account(id, structure_id, organization_id), new_entries=[])


def an_invoice(
    id: str = "inv-1",
    number: int = 1,
    structure_id: str = STRUCTURE,
    organization_id: str = ORG,
) -> Invoice:
    return issue_invoice(
        id=id,
        number=number,
        structure_id=structure_id,
        organization_id=organization_id,
        currency=CHF,
        orders=[an_order("ord-1"), an_order("ord-2", placed_at=hours(1))],
        issued_at=hours(30),
        descriptions={"ord-1-l1": "Carmen, 14 mars, tarif agence", "ord-2-l2": "Tosca — groupe"},
    )


def a_message(id: str = "msg-1", institution_id: str | None = INSTITUTION) -> MailMessage:
    return MailMessage(
        id=id,
        institution_id=institution_id,
        to=Email("elodie.dupont@example.ch"),
        subject="Vos billets pour Carmen",
        body="Bonjour Élodie,\n\nvoici vos billets.\n",
        attachments=(
            Attachment("billet-1.pdf", "application/pdf", bytes(range(256)) * 3),
            Attachment("vide.txt", "text/plain", b""),
        ),
    )


OPERATOR = "op-claire"


def an_operator(
    id: str = OPERATOR,
    email: str = "Claire.Rochat@Example.CH",
    institution_id: str = INSTITUTION,
    organization_ids: frozenset[str] | None = frozenset({ORG, OTHER_ORG}),
) -> Operator:
    return Operator(
        id=id,
        institution_id=institution_id,
        name=PersonName("Claire", "Rochat-Müller"),
        email=Email(email),
        permissions=frozenset({Permission.SALES, Permission.ACCOUNTING}),
        organization_ids=organization_ids,
    )


def a_gate(
    id: str = "gate-north",
    organization_id: str = ORG,
    performance_ids: frozenset[str] | None = frozenset({"perf-premiere", "perf-second"}),
) -> Gate:
    return Gate(id, organization_id, "Porte nord — parterre", performance_ids)


def a_credential(id: str = credential_id(CredentialOwner.OPERATOR, OPERATOR)) -> Credential:
    return Credential(
        id=id,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        changed_at=NOON,
        failed_attempts=3,
        locked_until=hours(0.25),
    )


def a_session(
    id: str = "ses-1",
    kind: ActorKind = ActorKind.RELAY,
    actor_id: str = "ind-elodie",
    sales_point_id: str | None = SALES_POINT,
    revoked_at: datetime | None = None,
) -> AuthSession:
    """A session whose token is ``tds_<id>``."""
    return AuthSession(
        id=id,
        token_digest=token_digest(f"tds_{id}"),
        actor_kind=kind,
        actor_id=actor_id,
        created_at=NOON,
        expires_at=hours(12),
        last_used_at=hours(0.5),
        method=LoginMethod.PASSWORD,
        sales_point_id=sales_point_id,
        revoked_at=revoked_at,
    )


def a_login_link(id: str = "link-1", sales_point_id: str | None = SALES_POINT) -> LoginLink:
    """A link whose token is ``tdl_<id>``."""
    return LoginLink(
        id=id,
        token_digest=token_digest(f"tdl_{id}"),
        actor_kind=ActorKind.RELAY,
        individual_id="ind-elodie",
        purpose=LinkPurpose.INVITATION,
        created_at=NOON,
        expires_at=hours(24 * 7),
        sales_point_id=sales_point_id,
    )


def an_api_key(
    id: str = "key-1",
    kind: ActorKind = ActorKind.OPERATOR,
    actor_id: str = OPERATOR,
    created_at: datetime = NOON,
) -> ApiKey:
    """A key whose token is ``tdk_<id>``."""
    return ApiKey(
        id=id,
        token_digest=token_digest(f"tdk_{id}"),
        actor_kind=kind,
        actor_id=actor_id,
        label="Caisse du foyer",
        created_at=created_at,
    )


#: one rich sample per repository, reachable on the unit of work under that name
SAMPLES: dict[str, Callable[[], Any]] = {
    "institutions": an_institution,
    "organizations": an_organization,
    "channels": a_channel,
    "sales_points": a_sales_point,
    "structures": a_structure,
    "individuals": an_individual,
    "activities": an_activity,
    "performances": a_performance,
    "products": a_product,
    "tariffs": a_tariff,
    "profiles": a_profile,
    "quotas": a_quota,
    "options": an_option,
    "reservations": a_reservation,
    "orders": an_order,
    "tickets": a_printed_ticket,
    "accounts": an_account,
    "invoices": an_invoice,
    "operators": an_operator,
    "gates": a_gate,
    "credentials": a_credential,
    "sessions": a_session,
    "login_links": a_login_link,
    "api_keys": an_api_key,
}


def _change_sales_point(sp: SalesPoint) -> None:
    sp.name = "Agences et hôtels"
    sp.functions = frozenset({Function.CHOOSE_PURCHASING_CONTACT})
    sp.payment_methods = frozenset({PaymentMethod.HOLDING_ACCOUNT})
    sp.delivery_modes = frozenset({DeliveryMode.PRINT_AT_HOME})
    sp.revoke(STRUCTURE)
    sp.authorize("str-tour-operator")
    sp.policy = SalesPointPolicy(reservation_delay=timedelta(hours=5))


def _change_individual(individual: Individual) -> None:
    individual.name = PersonName("Élodie", "Dupont-Favre")
    individual.email = Email("e.favre@example.org")
    individual.role = ContactRole.MEMBER
    individual.marketing_consent = False


def _change_profile(profile: CatalogProfile) -> None:
    profile.activity_ids = frozenset({"act-tosca"})
    profile.products = (
        ProductConditions("prod-tosca", tariff_ids=frozenset({"tar-agency"}), max_per_order=4),
    )


def _change_option(option: Option) -> None:
    option.lines = (LineRequest("perf-third", "tar-agency", 1),)
    option.grant("res-9", now=hours(1))


def _change_reservation(reservation: Reservation) -> None:
    reservation.lines = (LineRequest("perf-third", "tar-agency", 1),)
    reservation.confirm("ord-9", now=hours(1))


def _change_order(order: Order) -> None:
    order.lines = order.lines[:1]
    order.attach_invoice("inv-9")
    order.cancel(hours(3))


def _change_ticket(ticket: Ticket) -> None:
    ticket.reissue_barcode("BC-REPRINTED")
    ticket.print("Jean Martin")
    ticket.control(hours(3), "gate-north")
    ticket.stock_structure_id = STRUCTURE


def _change_account(account: HoldingAccount) -> None:
    account.charge("ord-9", chf("10.00"), hours(5))
    account.receive_payment(chf("500.00"), "BANK-2", hours(6))
    account.register_invoice("inv-3", 3, chf("20.00"))
    account.set_limit(None)


def _change_operator(operator: Operator) -> None:
    operator.name = PersonName("Claire", "Rochat")
    operator.email = Email("c.rochat@example.org")
    operator.permissions = frozenset(Permission)
    operator.organization_ids = None
    operator.active = False


def _change_credential(credential: Credential) -> None:
    credential.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA"
    credential.changed_at = hours(2)
    credential.record_success()


def _change_session(session: AuthSession) -> None:
    session.last_used_at = hours(1)
    session.revoke(hours(2))


def _use_link(link: LoginLink) -> None:
    link.use(hours(0.1))


def _change_api_key(key: ApiKey) -> None:
    key.label = "Caisse fermée"
    key.revoke(hours(3))


def _rename(item: Any) -> None:
    item.name = "Nouveau nom"


def _set(**changes: Any) -> Callable[[Any], None]:
    def change(item: Any) -> None:
        for name, value in changes.items():
            setattr(item, name, value)

    return change


#: a change in domain words for every repository that writes back with ``update``
CHANGES: dict[str, Callable[[Any], None]] = {
    "institutions": _rename,
    "organizations": _rename,
    "channels": _set(kind=ChannelKind.CORPORATE, name="Internet Entreprise"),
    "sales_points": _change_sales_point,
    "structures": _set(parent_id=None, name="Léman Voyages Holding"),
    "individuals": _change_individual,
    "activities": _rename,
    "performances": _set(starts_at=hours(26), capacity=900, venue="Bâtiment des Forces Motrices"),
    "products": _set(vat_rate=VatRate(Decimal("0.038"))),
    "tariffs": _set(price=chf("0.05")),
    "profiles": _change_profile,
    "quotas": _set(capacity=42),
    "options": _change_option,
    "reservations": _change_reservation,
    "orders": _change_order,
    "tickets": _change_ticket,
    "accounts": _change_account,
    "operators": _change_operator,
    "gates": _set(name="Porte sud", performance_ids=None, active=False),
    "credentials": _change_credential,
    "sessions": _change_session,
    "login_links": _use_link,
    "api_keys": _change_api_key,
}

VERSIONED = ["quotas", "tickets", "accounts"]
IDENTITY = ["operators", "gates", "credentials", "sessions", "login_links", "api_keys"]
UPDATABLE = sorted(CHANGES)
ALL = sorted(SAMPLES)

#: amounts that a float would not carry exactly, and the bounds of Money
AMOUNTS = ["0.00", "0.01", "-0.01", "0.10", "0.30", "19.99", "1234567.89", "-999999999.99"]
AMOUNTS += ["999999999.99", "1000000000.00", "-1000000000.00"]


def _datetimes(value: Any) -> Iterator[datetime]:
    if isinstance(value, datetime):
        yield value
    elif attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            yield from _datetimes(getattr(value, field.name))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _datetimes(item)


def _retrying(attempt: Callable[[], R], tries: int = 100) -> R:
    for n in range(tries):
        try:
            return attempt()
        except ConcurrencyError:
            if n == tries - 1:
                raise
            time.sleep(0.002 * (n % 10 + 1))
    raise AssertionError("unreachable")


def _in_threads(count: int, work: Callable[[int], R]) -> list[R]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(work, range(count)))


class StorageContract:
    """Tests that every storage adapter passes; subclass it and implement :meth:`make_storage`.

    ``self.tmp_path`` (a fresh directory) and ``self.request`` (pytest's fixture request, for
    ``getfixturevalue``) are set before :meth:`make_storage` is called; ``self.storage`` holds
    its result during the test, and :meth:`cleanup_storage` runs after it.
    """

    #: the adapter refuses to write back an aggregate whose version is behind the stored one
    #: (the in-memory adapter serializes whole units of work instead, so it does not need to)
    detects_stale_versions: ClassVar[bool] = False
    #: units of work may run in parallel threads (the race tests run)
    runs_units_of_work_in_parallel: ClassVar[bool] = True
    #: threads in the race tests
    parallel_workers: ClassVar[int] = 8

    storage: Storage
    tmp_path: Path
    request: pytest.FixtureRequest

    def make_storage(self) -> Storage:
        """A new, empty storage."""
        raise NotImplementedError

    def cleanup_storage(self) -> None:
        """Release what :meth:`make_storage` took (``self.storage`` is still set)."""

    @pytest.fixture(autouse=True)
    def _contract_storage(self, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
        self.request = request
        self.tmp_path = tmp_path
        self.storage = self.make_storage()
        try:
            yield
        finally:
            self.cleanup_storage()

    # helpers

    def given(self, **items: Any) -> None:
        """Store items in one committed unit of work: ``given(orders=[...], tickets=[...])``."""
        with self.storage.unit_of_work() as uow:
            for name, values in items.items():
                for item in values if isinstance(values, list) else [values]:
                    getattr(uow, name).add(item)
            uow.commit()

    def load(self, name: str, id: str) -> Any:
        with self.storage.unit_of_work() as uow:
            return getattr(uow, name).get(id)

    def uow(self) -> UnitOfWork:
        return self.storage.unit_of_work()

    # --- units of work ----------------------------------------------------------------------

    def test_committed_work_is_seen_by_later_units_of_work(self) -> None:
        with self.uow() as uow:
            uow.structures.add(a_structure())
            uow.commit()
        assert self.load("structures", STRUCTURE) == a_structure()

    def test_leaving_without_commit_changes_nothing(self) -> None:
        with self.uow() as uow:
            uow.structures.add(a_structure())
            uow.orders.add(an_order())
            uow.outbox.add(a_message(), NOON)
        assert self.load("structures", STRUCTURE) is None
        assert self.load("orders", "ord-1") is None
        with self.uow() as uow:
            assert uow.outbox.get("msg-1") is None
            assert uow.outbox.pending(10) == []

    def test_an_error_inside_the_block_changes_nothing_and_propagates(self) -> None:
        self.given(quotas=a_quota())

        class Refused(Exception):
            pass

        with pytest.raises(Refused), self.uow() as uow:
            quota = uow.quotas.get_for_update("quota-agencies")
            assert quota is not None
            quota.capacity = 1
            uow.quotas.update(quota)
            uow.tickets.add(a_ticket())
            raise Refused
        assert self.load("quotas", "quota-agencies") == a_quota()
        assert self.load("tickets", "tkt-1") is None

    def test_a_unit_of_work_is_used_inside_its_block_only(self) -> None:
        # A service reading after its block closed would work on one adapter and fail on
        # another: every adapter refuses it.
        self.given(structures=a_structure())
        with self.uow() as uow:
            assert uow.structures.get(STRUCTURE) is not None
        with pytest.raises(RuntimeError):
            uow.structures.get(STRUCTURE)
        with pytest.raises(RuntimeError):
            uow.tickets.for_order("ord-1")
        with pytest.raises(RuntimeError):
            uow.activities.add(an_activity())
        assert self.load("activities", "act-carmen") is None

    def test_rollback_discards_staged_work_and_the_unit_of_work_goes_on(self) -> None:
        with self.uow() as uow:
            uow.structures.add(a_structure())
            uow.rollback()
            assert uow.structures.get(STRUCTURE) is None
            uow.activities.add(an_activity())
            uow.commit()
        assert self.load("structures", STRUCTURE) is None
        assert self.load("activities", "act-carmen") == an_activity()

    def test_work_after_a_commit_needs_its_own_commit(self) -> None:
        with self.uow() as uow:
            uow.activities.add(an_activity())
            uow.commit()
            uow.structures.add(a_structure())
        assert self.load("activities", "act-carmen") == an_activity()
        assert self.load("structures", STRUCTURE) is None

    def test_an_uncommitted_update_is_discarded(self) -> None:
        self.given(orders=an_order())
        with self.uow() as uow:
            order = uow.orders.get("ord-1")
            assert order is not None
            order.cancel(hours(1))
            uow.orders.update(order)
        assert self.load("orders", "ord-1") == an_order()

    def test_reads_see_the_unit_of_works_own_staged_writes(self) -> None:
        with self.uow() as uow:
            uow.orders.add(an_order())
            uow.tickets.add(a_printed_ticket())
            uow.reservations.add(a_reservation())
            uow.invoices.add(an_invoice())
            uow.outbox.add(a_message(), NOON)
            uow.individuals.add(an_individual())
            assert uow.orders.get("ord-1") == an_order()
            assert [o.id for o in uow.orders.for_structure(ORG, STRUCTURE)] == ["ord-1"]
            assert uow.tickets.sold_places("perf-premiere", None) == 1
            assert uow.tickets.by_barcode("tkt-1-OLD-1") == a_printed_ticket()
            assert uow.reservations.held_places("perf-premiere", None, NOON) == 4
            assert uow.invoices.numbers(ORG) == [1]
            assert [item.message for item in uow.outbox.pending(5)] == [a_message()]
            assert uow.individuals.search(STRUCTURE, "élo", 5) == [an_individual()]
            order = uow.orders.get("ord-1")
            assert order is not None
            order.cancel(hours(1))
            uow.orders.update(order)
            assert uow.orders.get("ord-1") == order
            assert uow.orders.uninvoiced_on_account(ORG, STRUCTURE) == []

    def test_a_loaded_aggregate_is_a_copy_until_written_back(self) -> None:
        self.given(sales_points=a_sales_point(), accounts=an_account())
        with self.uow() as uow:
            sales_point = uow.sales_points.get(SALES_POINT)
            account = uow.accounts.get("acc-1")
            assert sales_point is not None and account is not None
            sales_point.authorize("str-intruder")
            account.charge("ord-9", chf("1.00"), NOON)
            assert uow.sales_points.get(SALES_POINT) == a_sales_point()
            assert uow.accounts.get("acc-1") == a_stored_account()
            assert uow.accounts.ledger("acc-1") == LEDGER
            uow.commit()
        assert self.load("sales_points", SALES_POINT) == a_sales_point()
        assert self.load("accounts", "acc-1") == a_stored_account()

    # --- every repository: round trip, unknown ids, duplicates, updates ---------------------

    @pytest.mark.parametrize("name", ALL)
    def test_add_then_get_gives_back_every_field(self, name: str) -> None:
        item = SAMPLES[name]()
        self.given(**{name: item})
        loaded = self.load(name, item.id)
        assert loaded == item
        assert loaded is not item
        assert all(moment.utcoffset() is not None for moment in _datetimes(loaded))

    @pytest.mark.parametrize("name", UPDATABLE)
    def test_get_for_update_gives_back_every_field(self, name: str) -> None:
        item = SAMPLES[name]()
        self.given(**{name: item})
        with self.uow() as uow:
            assert getattr(uow, name).get_for_update(item.id) == item

    @pytest.mark.parametrize("name", ALL)
    def test_an_unknown_id_gives_none(self, name: str) -> None:
        self.given(**{name: SAMPLES[name]()})
        with self.uow() as uow:
            repository = getattr(uow, name)
            assert repository.get("no-such-id") is None
            if name in CHANGES:
                assert repository.get_for_update("no-such-id") is None

    @pytest.mark.parametrize("name", ALL)
    def test_adding_a_stored_id_again_is_refused(self, name: str) -> None:
        original = SAMPLES[name]()
        self.given(**{name: original})
        twin = SAMPLES[name]()
        if name in CHANGES:
            CHANGES[name](twin)
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            getattr(uow, name).add(twin)
        assert self.load(name, original.id) == original

    @pytest.mark.parametrize("name", ALL)
    def test_adding_one_id_twice_in_a_unit_of_work_is_refused(self, name: str) -> None:
        with self.uow() as uow:
            repository = getattr(uow, name)
            repository.add(SAMPLES[name]())
            with pytest.raises(ConcurrencyError):
                repository.add(SAMPLES[name]())

    @pytest.mark.parametrize("name", UPDATABLE)
    def test_update_writes_the_change_back(self, name: str) -> None:
        self.given(**{name: SAMPLES[name]()})
        with self.uow() as uow:
            repository = getattr(uow, name)
            item = repository.get_for_update(SAMPLES[name]().id)
            CHANGES[name](item)
            repository.update(item)
            uow.commit()
        loaded = self.load(name, item.id)
        assert loaded == item
        assert loaded != SAMPLES[name]()

    @pytest.mark.parametrize("name", UPDATABLE)
    def test_updating_an_aggregate_never_added_is_refused(self, name: str) -> None:
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            getattr(uow, name).update(SAMPLES[name]())
        assert self.load(name, SAMPLES[name]().id) is None

    # --- versions ---------------------------------------------------------------------------

    @pytest.mark.parametrize("name", VERSIONED)
    def test_update_increments_the_version(self, name: str) -> None:
        self.given(**{name: SAMPLES[name]()})
        for expected in (1, 2):
            with self.uow() as uow:
                repository = getattr(uow, name)
                item = repository.get_for_update(SAMPLES[name]().id)
                assert item.version == expected - 1
                repository.update(item)
                assert item.version == expected
                uow.commit()
            assert self.load(name, item.id).version == expected

    @pytest.mark.parametrize("name", VERSIONED)
    def test_writing_back_a_stale_version_is_refused(self, name: str) -> None:
        if not self.detects_stale_versions:
            pytest.skip("this adapter serializes units of work instead of checking versions")
        self.given(**{name: SAMPLES[name]()})
        id = SAMPLES[name]().id
        stale = self.load(name, id)
        with self.uow() as uow:
            fresh = getattr(uow, name).get_for_update(id)
            CHANGES[name](fresh)
            getattr(uow, name).update(fresh)
            uow.commit()
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            getattr(uow, name).update(stale)
        assert self.load(name, id) == fresh

    # --- exact values -----------------------------------------------------------------------

    def test_money_comes_back_exact(self) -> None:
        accounts = [
            attrs.evolve(
                an_account(f"acc-{n}", structure_id=f"str-{n}"),
                unallocated_credit=chf(amount),
                credit_limit=chf(amount.lstrip("-")),
                balance=chf(amount),
                entry_count=1,
                new_entries=[LedgerEntry(1, NOON, EntryKind.ORDER_CHARGED, chf(amount), "ord-1")],
            )
            for n, amount in enumerate(AMOUNTS)
        ]
        self.given(accounts=accounts)
        for n, amount in enumerate(AMOUNTS):
            loaded = self.load("accounts", f"acc-{n}")
            assert loaded == accounts[n]
            with self.uow() as uow:
                ledger = uow.accounts.ledger(f"acc-{n}")
            for money, expected in (
                (loaded.credit, amount),
                (loaded.outstanding, amount),
                (ledger[0].amount, amount),
                (loaded.credit_limit, amount.lstrip("-")),
            ):
                assert type(money.amount) is Decimal
                assert str(money.amount) == expected

    def test_vat_rates_and_credit_notes_come_back_exact(self) -> None:
        rates = ["0", "0.025", "0.077", "0.081", "0.2", "0.123456"]
        products = [
            attrs.evolve(a_product(f"prod-{n}"), vat_rate=VatRate(Decimal(rate)))
            for n, rate in enumerate(rates)
        ]
        cancelled = an_order("ord-1")
        cancelled.cancel(hours(2))
        credit_note = issue_credit_note(
            id="cn-1",
            number=2,
            invoice=an_invoice(),
            order=cancelled,
            issued_at=hours(40),
            descriptions={},
        )
        self.given(products=products, invoices=[an_invoice(), credit_note])
        for n, rate in enumerate(rates):
            assert self.load("products", f"prod-{n}").vat_rate.rate == Decimal(rate)
        loaded = self.load("invoices", "cn-1")
        assert loaded == credit_note
        assert loaded.total == -cancelled.total
        assert loaded.corrects_invoice_id == "inv-1"

    def test_datetimes_come_back_aware_and_equal(self) -> None:
        moments = [
            datetime(2026, 10, 25, 1, 30, tzinfo=timezone(timedelta(hours=2))),
            datetime(2026, 10, 25, 1, 30, 0, 999_999, tzinfo=UTC),
            datetime(
                1999, 12, 31, 23, 59, 59, 1, tzinfo=timezone(timedelta(hours=-9, minutes=-30))
            ),
            datetime.combine(date(2030, 1, 1), datetime.min.time(), tzinfo=CET),
        ]
        orders = []
        for n, moment in enumerate(moments):
            order = an_order(f"ord-{n}", placed_at=moment)
            order.cancel(moment + timedelta(microseconds=1))
            orders.append(order)
        self.given(orders=orders)
        for n, moment in enumerate(moments):
            loaded = self.load("orders", f"ord-{n}")
            assert loaded.placed_at == moment
            assert loaded.placed_at.utcoffset() is not None
            assert loaded.cancelled_at == moment + timedelta(microseconds=1)
            assert loaded.cancelled_at.utcoffset() is not None

    # --- uniqueness the storage guarantees --------------------------------------------------

    def test_a_barcode_belongs_to_one_ticket(self) -> None:
        self.given(tickets=a_printed_ticket("tkt-1"))
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            uow.tickets.add(a_ticket("tkt-2", barcode="tkt-1-LIVE"))
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            uow.tickets.add(a_ticket("tkt-3", barcode="tkt-1-OLD-2"))
        with self.uow() as uow:
            uow.tickets.add(a_ticket("tkt-4", barcode="BC-4"))
            uow.commit()
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            ticket = uow.tickets.get("tkt-4")
            assert ticket is not None
            ticket.reissue_barcode("tkt-1-OLD-1")
            uow.tickets.update(ticket)
        assert self.load("tickets", "tkt-4").barcode == "BC-4"
        assert self.load("tickets", "tkt-1") == a_printed_ticket("tkt-1")

    def test_invoice_numbers_never_repeat_within_an_organization(self) -> None:
        self.given(invoices=an_invoice("inv-1", 1))
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            uow.invoices.add(an_invoice("inv-1b", 1, structure_id="str-other"))
        self.given(invoices=an_invoice("inv-jazz-1", 1, organization_id=OTHER_ORG))
        with self.uow() as uow:
            assert uow.invoices.numbers(ORG) == [1]
            assert uow.invoices.numbers(OTHER_ORG) == [1]

    def test_billing_details_and_invoice_references_come_back(self) -> None:
        seller = SellerBilling(
            PostalAddress("Boulevard du Théâtre", "11", "1204", "Genève", "CH"),
            "CHE-116.281.710 TVA",
            Iban("CH44 3199 9123 0008 8901 2"),
            45,
        )
        organization = attrs.evolve(an_organization(), billing=seller)
        buyer = BuyerBilling(PostalAddress("", "", "1003", "Lausanne", "CH"), Email("a@b.ch"))
        structure = attrs.evolve(a_structure(), billing=buyer)
        reference = qr_reference("123")
        invoice = attrs.evolve(
            an_invoice(),
            due_on=date(2026, 2, 1),
            reference=reference,
            iban="CH4431999123000889012",
            seller=Party("Grand Théâtre", seller.address, seller.vat_number),
            buyer=Party("Léman Voyages SA"),
        )
        # Two organizations' references may collide: both are found, by organization.
        other = attrs.evolve(
            an_invoice("inv-jazz-1", 1, organization_id=OTHER_ORG), reference=reference
        )
        self.given(
            organizations=[organization, an_organization(OTHER_ORG)],
            structures=structure,
            invoices=[invoice, other, an_invoice("inv-2", 2)],
        )
        assert self.load("organizations", ORG) == organization
        assert self.load("organizations", OTHER_ORG).billing is None
        assert self.load("structures", STRUCTURE) == structure
        assert self.load("invoices", "inv-1") == invoice
        assert self.load("invoices", "inv-2").reference is None
        with self.uow() as uow:
            found = uow.invoices.with_reference(reference)
            assert [i.id for i in found] == ["inv-jazz-1", "inv-1"]
            assert uow.invoices.with_reference(qr_reference("124")) == []
            changed = uow.organizations.get(ORG)
            assert changed is not None
            changed.billing = attrs.evolve(seller, iban=None, vat_number=None)
            uow.organizations.update(changed)
            uow.commit()
        assert self.load("organizations", ORG) == changed

    def test_a_structure_has_one_holding_account_per_organization(self) -> None:
        self.given(accounts=an_account("acc-1"))
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            uow.accounts.add(an_account("acc-2"))
        self.given(accounts=an_account("acc-3", organization_id=OTHER_ORG))

    # --- queries: contacts and set-up -------------------------------------------------------

    def test_children_are_the_direct_sub_structures(self) -> None:
        self.given(
            structures=[
                a_structure("str-group", parent_id=None, name="Groupe Léman"),
                a_structure("str-b", parent_id="str-group", name="Léman Lausanne"),
                a_structure("str-a", parent_id="str-group", name="Léman Genève"),
                a_structure("str-grandchild", parent_id="str-a", name="Léman Carouge"),
            ]
        )
        with self.uow() as uow:
            assert sorted(s.id for s in uow.structures.children("str-group")) == ["str-a", "str-b"]
            assert [s.id for s in uow.structures.children("str-a")] == ["str-grandchild"]
            assert uow.structures.children("str-grandchild") == []

    def test_family_is_the_ancestors_the_structure_and_everything_below_it(self) -> None:
        self.given(
            structures=[
                a_structure("str-group", parent_id=None, name="Groupe Léman"),
                a_structure("str-b", parent_id="str-group", name="Léman Lausanne"),
                a_structure("str-a", parent_id="str-group", name="Léman Genève"),
                a_structure("str-aa", parent_id="str-a", name="Léman Carouge"),
                a_structure("str-aaa", parent_id="str-aa", name="Carouge Sport"),
                a_structure("str-other", parent_id=None, name="Autre"),
            ]
        )
        with self.uow() as uow:

            def family(id: str) -> list[str]:
                return [s.id for s in uow.structures.family(id)]

            assert family("str-a") == ["str-a", "str-aa", "str-aaa", "str-group"]
            assert family("str-group") == ["str-a", "str-aa", "str-aaa", "str-b", "str-group"]
            assert family("str-aaa") == ["str-a", "str-aa", "str-aaa", "str-group"]
            assert family("str-other") == ["str-other"]
            assert family("str-none") == []
            assert uow.structures.family("str-b")[0] == a_structure(
                "str-b", parent_id="str-group", name="Léman Lausanne"
            )

    def test_get_many_reads_the_stored_ones_among_the_ids(self) -> None:
        self.given(
            activities=[an_activity(), an_activity("act-tosca")],
            performances=[a_performance(), a_performance("perf-second")],
            products=[a_product(), a_product("prod-tosca")],
        )
        with self.uow() as uow:
            assert uow.activities.get_many({"act-tosca", "act-carmen", "act-none"}) == [
                an_activity(),
                an_activity("act-tosca"),
            ]
            assert uow.performances.get_many(["perf-second", "perf-none"]) == [
                a_performance("perf-second")
            ]
            assert uow.products.get_many(["prod-tosca", "prod-carmen", "prod-tosca"]) == [
                a_product(),
                a_product("prod-tosca"),
            ]
            assert uow.products.get_many([]) == []

    def test_find_by_email_ignores_case_within_the_institution(self) -> None:
        self.given(
            individuals=[
                an_individual(),
                an_individual("ind-elsewhere", institution_id="inst-lausanne"),
            ]
        )
        with self.uow() as uow:
            found = uow.individuals.find_by_email(INSTITUTION, "ELODIE.dupont@example.ch")
            assert found == an_individual()
            other = uow.individuals.find_by_email("inst-lausanne", "elodie.dupont@EXAMPLE.ch")
            assert other is not None and other.id == "ind-elsewhere"
            assert uow.individuals.find_by_email(INSTITUTION, "elodie@example.ch") is None
            assert uow.individuals.find_by_email("inst-bern", "elodie.dupont@example.ch") is None

    def test_search_matches_names_and_email_ignoring_case_in_order_and_limited(self) -> None:
        self.given(
            individuals=[
                an_individual("ind-zoe", "Zoé", "Martin", "zoe.martin@example.ch"),
                an_individual("ind-anna", "Anna", "Martin", "anna@example.ch"),
                an_individual("ind-marc", "Marc", "Dubois", "m.dubois@martinez.ch"),
                an_individual("ind-luc", "Luc", "Aubry", "luc_aubry@example.ch"),
                an_individual("ind-elodie", "Élodie", "Émery", "elodie@example.ch"),
                an_individual("ind-out", "Martine", "Martin", "mm@example.ch", structure_id="s2"),
            ]
        )
        with self.uow() as uow:
            search = uow.individuals.search
            found = [i.id for i in search(STRUCTURE, "MART", 10)]
            assert found == ["ind-marc", "ind-anna", "ind-zoe"]
            assert [i.id for i in search(STRUCTURE, "mart", 2)] == ["ind-marc", "ind-anna"]
            assert [i.id for i in search(STRUCTURE, "ÉMER", 10)] == ["ind-elodie"]
            assert [i.id for i in search(STRUCTURE, "_", 10)] == ["ind-luc"]
            assert search(STRUCTURE, "%", 10) == []
            assert search(STRUCTURE, "nobody", 10) == []
            assert [i.id for i in search("s2", "martin", 10)] == ["ind-out"]

    def test_ids_on_channel_lists_the_channels_sales_points(self) -> None:
        self.given(
            sales_points=[
                a_sales_point("sp-b"),
                a_sales_point("sp-a"),
                a_sales_point("sp-corporate", channel_id="chan-corporate"),
            ]
        )
        with self.uow() as uow:
            assert sorted(uow.sales_points.ids_on_channel(CHANNEL)) == ["sp-a", "sp-b"]
            assert uow.sales_points.ids_on_channel("chan-none") == []

    # --- queries: catalog and quotas --------------------------------------------------------

    def test_performances_of_an_organization_by_start_then_id(self) -> None:
        # 19:30 in Lisbon (UTC+0) is after 20:00 in Geneva (UTC+1): order by instant.
        lisbon = timezone(timedelta(0))
        self.given(
            performances=[
                a_performance("perf-c", datetime(2026, 6, 1, 19, 30, tzinfo=lisbon)),
                a_performance("perf-b", datetime(2026, 6, 1, 20, 0, tzinfo=CET)),
                a_performance("perf-a", datetime(2026, 6, 1, 20, 0, tzinfo=CET)),
                a_performance("perf-early", datetime(2026, 5, 1, 20, 0, tzinfo=CET)),
                a_performance("perf-jazz", NOON, organization_id=OTHER_ORG),
            ]
        )
        with self.uow() as uow:
            found = [p.id for p in uow.performances.for_organization(ORG)]
            assert found == ["perf-early", "perf-a", "perf-b", "perf-c"]
            assert uow.performances.for_organization("org-none") == []

    # --- time zones: instants in UTC, the venue's zone beside them ---------------------------

    @pytest.mark.parametrize(
        ("wall", "fold", "offset_hours"),
        [
            # an ordinary summer evening
            (datetime(2026, 5, 10, 20, 30), 0, 2),
            # the evenings of the nights the clocks change: the day has 23 or 25 hours
            (datetime(2026, 3, 29, 20, 30), 0, 2),
            (datetime(2026, 10, 25, 20, 30), 0, 1),
            # around 02:00 → 03:00 in March: the last minute before, the first hour after
            (datetime(2026, 3, 29, 1, 59), 0, 1),
            (datetime(2026, 3, 29, 3, 0), 0, 2),
            # 02:30 happens twice in October: first in summer time, then in winter time
            (datetime(2026, 10, 25, 2, 30), 0, 2),
            (datetime(2026, 10, 25, 2, 30), 1, 1),
        ],
    )
    def test_a_performance_reads_back_at_its_wall_clock_time_in_its_zone(
        self, wall: datetime, fold: int, offset_hours: int
    ) -> None:
        starts_at = wall.replace(tzinfo=ZURICH, fold=fold)
        given = a_performance("perf-zurich", starts_at, time_zone="Europe/Zurich")
        # Handed over in UTC, as a client sending an instant would: the zone decides.
        from_utc = a_performance("perf-utc", starts_at.astimezone(UTC), time_zone="Europe/Zurich")
        self.given(performances=[given, from_utc])
        for id in ("perf-zurich", "perf-utc"):
            with self.uow() as uow:
                for loaded in (uow.performances.get(id), uow.performances.get_for_update(id)):
                    assert loaded is not None
                    assert loaded.time_zone == "Europe/Zurich"
                    assert loaded.starts_at.tzinfo is ZURICH
                    # Within one zone Python compares wall clocks and ignores fold: compare
                    # the wall clock, the fold and the instant one by one.
                    assert loaded.starts_at.replace(tzinfo=None) == wall
                    assert loaded.starts_at.fold == fold
                    assert loaded.starts_at.utcoffset() == timedelta(hours=offset_hours)
                    assert loaded.start_instant == starts_at.astimezone(UTC)
            with self.uow() as uow:
                found = uow.performances.for_organization(ORG)
                assert {p.id: p.starts_at.replace(tzinfo=None) for p in found}[id] == wall

    def test_performances_in_the_repeated_hour_come_in_the_order_they_happen(self) -> None:
        # 02:45 in summer time (00:45 UTC) comes before 02:30 in winter time (01:30 UTC).
        self.given(
            performances=[
                a_performance("perf-a", datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZURICH)),
                a_performance("perf-b", datetime(2026, 10, 25, 2, 45, fold=0, tzinfo=ZURICH)),
            ]
        )
        with self.uow() as uow:
            assert [p.id for p in uow.performances.for_organization(ORG)] == ["perf-b", "perf-a"]

    def test_an_organization_keeps_its_time_zone(self) -> None:
        self.given(
            organizations=[
                attrs.evolve(an_organization(), time_zone="Europe/Zurich"),
                an_organization(OTHER_ORG),
            ]
        )
        zurich, utc = self.load("organizations", ORG), self.load("organizations", OTHER_ORG)
        assert (zurich.time_zone, utc.time_zone) == ("Europe/Zurich", "UTC")

    def test_products_of_an_organization_and_tariffs_of_a_product(self) -> None:
        self.given(
            products=[a_product("prod-b"), a_product("prod-a"), a_product("prod-x", OTHER_ORG)],
            tariffs=[
                a_tariff("tar-c", "prod-a"),
                a_tariff("tar-a", "prod-a"),
                a_tariff("tar-b", "prod-a"),
                a_tariff("tar-other", "prod-b"),
            ],
        )
        with self.uow() as uow:
            assert sorted(p.id for p in uow.products.for_organization(ORG)) == ["prod-a", "prod-b"]
            assert [t.id for t in uow.tariffs.for_product("prod-a")] == ["tar-a", "tar-b", "tar-c"]
            assert uow.tariffs.for_product("prod-none") == []

    def test_profiles_of_a_sales_point_and_of_a_channel(self) -> None:
        self.given(
            profiles=[
                a_profile("prof-sp"),
                a_profile("prof-channel", sales_point_id=None, channel_id=CHANNEL),
                a_profile(
                    "prof-jazz", sales_point_id=None, channel_id=CHANNEL, organization_id=OTHER_ORG
                ),
            ]
        )
        with self.uow() as uow:
            assert uow.profiles.for_sales_point(SALES_POINT) == a_profile("prof-sp")
            assert uow.profiles.for_sales_point("sp-none") is None
            channel = uow.profiles.for_channel(ORG, CHANNEL)
            assert channel == a_profile("prof-channel", sales_point_id=None, channel_id=CHANNEL)
            jazz = uow.profiles.for_channel(OTHER_ORG, CHANNEL)
            assert jazz is not None and jazz.id == "prof-jazz"
            assert uow.profiles.for_channel(ORG, "chan-none") is None

    def test_quotas_of_a_performance_by_id(self) -> None:
        self.given(
            quotas=[
                a_quota("quota-c"),
                a_quota("quota-a"),
                Quota("quota-b", ORG, "perf-premiere", 500, channel_id=CHANNEL),
                a_quota("quota-other", performance_id="perf-second"),
            ]
        )
        with self.uow() as uow:
            found = uow.quotas.for_performance("perf-premiere")
            assert [q.id for q in found] == ["quota-a", "quota-b", "quota-c"]
            assert found[1].channel_id == CHANNEL and found[1].sales_point_id is None
            assert uow.quotas.for_performance("perf-none") == []

    # --- what an order reads: in few statements (issue 10) -------------------------------

    def test_a_performance_locked_with_its_quotas_by_id(self) -> None:
        self.given(
            performances=[a_performance(), a_performance("perf-second")],
            quotas=[
                a_quota("quota-c"),
                a_quota("quota-a"),
                Quota("quota-b", ORG, "perf-premiere", 500, channel_id=CHANNEL),
                a_quota("quota-other", performance_id="perf-second"),
            ],
        )
        with self.uow() as uow:
            found = uow.performances.get_for_update_with_quotas("perf-premiere")
            assert found is not None
            performance, quotas = found
            assert performance == a_performance()
            assert [q.id for q in quotas] == ["quota-a", "quota-b", "quota-c"]
            assert quotas[1] == Quota("quota-b", ORG, "perf-premiere", 500, channel_id=CHANNEL)
            assert uow.performances.get_for_update_with_quotas("perf-none") is None
        self.given(performances=a_performance("perf-bare"))
        with self.uow() as uow:
            assert uow.performances.get_for_update_with_quotas("perf-bare") == (
                a_performance("perf-bare"),
                [],
            )

    def test_places_out_per_sales_point_are_tickets_not_cancelled_and_live_reservations(
        self,
    ) -> None:
        def held(id: str, sales_point: str, quantity: int, deadline: datetime) -> Reservation:
            lines = (
                LineRequest("perf-premiere", "tar-agency", quantity),
                LineRequest("perf-second", "tar-agency", 100),
            )
            return a_reservation(id, deadline, sales_point_id=sales_point, lines=lines)

        cancelled = a_ticket("tkt-cancelled")
        cancelled.cancel()
        self.given(
            sales_points=[
                a_sales_point(),
                a_sales_point("sp-hotels", channel_id="chan-hotels"),
                a_sales_point("sp-kiosk"),
            ],
            tickets=[
                a_ticket("tkt-bought"),
                a_printed_ticket("tkt-printed"),
                a_ticket("tkt-hotel", sales_point_id="sp-hotels", state=TicketState.CONTROLLED),
                cancelled,
                a_ticket("tkt-second", performance_id="perf-second"),
            ],
            reservations=[
                held("res-1", SALES_POINT, 2, hours(1)),
                held("res-2", "sp-kiosk", 3, hours(1)),
                held("res-due-now", SALES_POINT, 11, NOON),
                attrs.evolve(
                    held("res-c", "sp-hotels", 7, hours(1)), state=ReservationState.CONFIRMED
                ),
            ],
        )
        with self.uow() as uow:
            out = uow.performances.places_out("perf-premiere", NOON)
            assert sorted(out, key=lambda o: o.sales_point_id) == [
                PlacesOut(SALES_POINT, CHANNEL, 2 + 2),
                PlacesOut("sp-hotels", "chan-hotels", 1),
                PlacesOut("sp-kiosk", CHANNEL, 3),
            ]
            earlier = uow.performances.places_out("perf-premiere", hours(-1))
            assert PlacesOut(SALES_POINT, CHANNEL, 2 + 2 + 11) in earlier
            second = uow.performances.places_out("perf-second", NOON)
            assert sorted(second, key=lambda o: o.sales_point_id) == [
                PlacesOut(SALES_POINT, CHANNEL, 1 + 100),
                PlacesOut("sp-kiosk", CHANNEL, 100),
            ]
            assert uow.performances.places_out("perf-none", NOON) == []
            # The unit of work's own writes count.
            uow.tickets.add(a_ticket("tkt-new", sales_point_id="sp-hotels"))
            out = uow.performances.places_out("perf-premiere", NOON)
            assert PlacesOut("sp-hotels", "chan-hotels", 2) in out

    def test_places_sold_read_by_places_out_equal_a_recount_of_the_tickets(self) -> None:
        # An adapter may keep the places sold as counters (the SQLAlchemy one does, kept by
        # triggers): a second source of truth, recounted from the tickets after every step.
        self.given(
            sales_points=[
                a_sales_point(),
                a_sales_point("sp-hotels", channel_id="chan-hotels"),
                a_sales_point("sp-kiosk"),
            ]
        )
        performances = ("perf-premiere", "perf-second")
        ids: list[str] = []

        def expect(uow: UnitOfWork) -> None:
            recount: Counter[tuple[str, str]] = Counter()
            for id in ids:
                ticket = uow.tickets.get(id)
                assert ticket is not None
                if ticket.state is not TicketState.CANCELLED:
                    recount[ticket.performance_id, ticket.sales_point_id] += 1
            for performance_id in performances:
                out = uow.performances.places_out(performance_id, NOON)
                assert {o.sales_point_id: o.places for o in out} == {
                    sp: n for (p, sp), n in recount.items() if p == performance_id
                }

        def sell(uow: UnitOfWork, *tickets: tuple[str, str, str]) -> None:
            uow.tickets.add_many(
                [a_ticket(id, performance_id=p, sales_point_id=sp) for id, p, sp in tickets]
            )
            ids.extend(id for id, _, _ in tickets)

        with self.uow() as uow:
            sell(
                uow,
                *((f"tkt-p{n}", "perf-premiere", SALES_POINT) for n in range(4)),
                ("tkt-h1", "perf-premiere", "sp-hotels"),
                ("tkt-s1", "perf-second", SALES_POINT),
            )
            uow.tickets.add(a_ticket("tkt-k1", sales_point_id="sp-kiosk"))
            ids.append("tkt-k1")
            expect(uow)
            uow.commit()
        with self.uow() as uow:
            expect(uow)
            # Work left without commit moves no counter.
            sell(uow, ("tkt-gone", "perf-premiere", SALES_POINT))
            doomed = uow.tickets.get("tkt-p0")
            assert doomed is not None
            doomed.cancel()
            uow.tickets.update(doomed)
        ids.remove("tkt-gone")
        with self.uow() as uow:
            expect(uow)
            for id in ("tkt-p0", "tkt-h1"):
                ticket = uow.tickets.get(id)
                assert ticket is not None
                ticket.cancel()
                uow.tickets.update(ticket)
            # A ticket moved to another sales point, another to another performance; a print
            # and a control count as before.
            moved = uow.tickets.get("tkt-p1")
            other = uow.tickets.get("tkt-p2")
            scanned = uow.tickets.get("tkt-p3")
            assert moved is not None and other is not None and scanned is not None
            moved.sales_point_id = "sp-kiosk"
            other.performance_id = "perf-second"
            scanned.print()
            uow.tickets.update(moved)
            uow.tickets.update(other)
            uow.tickets.update(scanned)
            expect(uow)
            uow.commit()
        with self.uow() as uow:
            expect(uow)
            scanned = uow.tickets.get("tkt-p3")
            cancelled = uow.tickets.get("tkt-p0")
            assert scanned is not None and cancelled is not None
            scanned.control(NOON, "gate-1")
            # a cancelled ticket moved elsewhere still counts nowhere
            cancelled.sales_point_id = "sp-hotels"
            uow.tickets.update(scanned)
            uow.tickets.update(cancelled)
            uow.commit()
        with self.uow() as uow:
            expect(uow)
            assert {
                o.sales_point_id: o.places
                for o in uow.performances.places_out("perf-premiere", NOON)
            } == {
                "sp-kiosk": 2,
                SALES_POINT: 1,
            }

    def test_a_tariff_with_its_product_in_one_read(self) -> None:
        self.given(
            products=a_product(),
            tariffs=[a_tariff(), a_tariff("tar-orphan", product_id="prod-gone")],
        )
        with self.uow() as uow:
            assert uow.tariffs.get_with_product("tar-full") == (a_tariff(), a_product())
            assert uow.tariffs.get_with_product("tar-orphan") == (
                a_tariff("tar-orphan", product_id="prod-gone"),
                None,
            )
            assert uow.tariffs.get_with_product("tar-none") is None

    def test_a_session_comes_with_its_relay_context(self) -> None:
        point = a_sales_point()
        self.given(
            organizations=an_organization(),
            sales_points=[point, a_sales_point("sp-bare", channel_id="chan-bare")],
            individuals=an_individual(),
            profiles=[
                a_profile("prof-sp"),
                a_profile("prof-channel", sales_point_id=None, channel_id=CHANNEL),
            ],
            sessions=[
                a_session(),
                a_session("ses-bare", sales_point_id="sp-bare"),
                a_session(
                    "ses-op", kind=ActorKind.OPERATOR, actor_id=OPERATOR, sales_point_id=None
                ),
            ],
        )
        with self.uow() as uow:
            context = uow.sessions.find_with_context(token_digest("tds_ses-1"))
            assert context is not None
            assert context.session == a_session()
            assert context.individual == an_individual()
            assert context.sales_point == point
            assert context.organization == an_organization()
            # The sales point's own profile comes before its channel's.
            assert context.profile == a_profile("prof-sp")
            bare = uow.sessions.find_with_context(token_digest("tds_ses-bare"))
            assert bare is not None and bare.profile is None
            assert bare.sales_point == a_sales_point("sp-bare", channel_id="chan-bare")
            operator = uow.sessions.find_with_context(token_digest("tds_ses-op"))
            assert operator is not None and operator.session.id == "ses-op"
            assert (operator.individual, operator.sales_point, operator.organization) == (
                None,
                None,
                None,
            )
            assert uow.sessions.find_with_context(token_digest("tds_none")) is None
        with self.uow() as uow:
            # Without a profile of its own, the channel's applies.
            own = uow.profiles.get("prof-sp")
            assert own is not None
            own.sales_point_id, own.channel_id = None, "chan-other"
            uow.profiles.update(own)
            context = uow.sessions.find_with_context(token_digest("tds_ses-1"))
            assert context is not None
            expected = a_profile("prof-channel", sales_point_id=None, channel_id=CHANNEL)
            assert context.profile == expected

    def test_an_account_written_back_keeps_its_open_invoices(self) -> None:
        self.given(accounts=an_account())
        with self.uow() as uow:
            account = uow.accounts.for_structure_for_update(ORG, STRUCTURE)
            assert account is not None
            account.charge("ord-9", chf("10.00"), hours(1))
            uow.accounts.update(account)
            # A second write in the same unit of work, now changing the open invoices.
            account.register_invoice("inv-3", 3, chf("10.00"))
            account.receive_payment(chf("300.00"), "pay-1", hours(2))
            uow.accounts.update(account)
            uow.commit()
        stored = self.load("accounts", "acc-1")
        assert stored.open_invoices == account.open_invoices
        assert [o.invoice_id for o in stored.open_invoices] == ["inv-2", "inv-3"]
        with self.uow() as uow:
            account = uow.accounts.for_structure_for_update(ORG, STRUCTURE)
            assert account is not None
            account.charge("ord-10", chf("5.00"), hours(3))
            uow.accounts.update(account)
            uow.commit()
        assert self.load("accounts", "acc-1").open_invoices == stored.open_invoices

    # --- queries: options and reservations --------------------------------------------------

    def test_due_options_are_requested_ones_past_expiry_oldest_first(self) -> None:
        self.given(
            options=[
                an_option("opt-late", expires_at=hours(-1)),
                an_option("opt-now", expires_at=NOON),
                an_option("opt-oldest", expires_at=hours(-5)),
                an_option("opt-future", expires_at=hours(1)),
                an_option("opt-granted", expires_at=hours(-9), state=OptionState.GRANTED),
                an_option("opt-declined", expires_at=hours(-9), state=OptionState.DECLINED),
            ]
        )
        with self.uow() as uow:
            found = [o.id for o in uow.options.due(NOON, 10)]
            assert found == ["opt-oldest", "opt-late", "opt-now"]
            assert [o.id for o in uow.options.due(NOON, 2)] == ["opt-oldest", "opt-late"]
            assert uow.options.due(hours(-6), 10) == []

    def test_options_and_reservations_of_a_structure(self) -> None:
        self.given(
            options=[an_option("opt-a"), an_option("opt-b"), an_option("opt-x", structure_id="x")],
            reservations=[
                a_reservation("res-a"),
                a_reservation("res-b", state=ReservationState.CONFIRMED),
                a_reservation("res-x", structure_id="x"),
            ],
        )
        with self.uow() as uow:
            assert sorted(o.id for o in uow.options.for_structure(STRUCTURE)) == ["opt-a", "opt-b"]
            found = sorted(r.id for r in uow.reservations.for_structure(STRUCTURE))
            assert found == ["res-a", "res-b"]
            assert uow.options.for_structure("nobody") == []
            assert uow.reservations.for_structure("nobody") == []

    def test_held_places_counts_live_reservations_on_the_given_sales_points(self) -> None:
        def held(id: str, sales_point: str, quantity: int, deadline: datetime) -> Reservation:
            lines = (
                LineRequest("perf-premiere", "tar-agency", quantity),
                LineRequest("perf-second", "tar-agency", 100),
            )
            return a_reservation(id, deadline, sales_point_id=sales_point, lines=lines)

        self.given(
            reservations=[
                held("res-1", SALES_POINT, 2, hours(1)),
                held("res-2", "sp-hotels", 3, hours(1)),
                held("res-due-now", SALES_POINT, 11, NOON),
                held("res-due", SALES_POINT, 13, hours(-1)),
                attrs.evolve(
                    held("res-c", SALES_POINT, 7, hours(1)), state=ReservationState.CONFIRMED
                ),
                attrs.evolve(
                    held("res-r", SALES_POINT, 17, hours(1)), state=ReservationState.RELEASED
                ),
                attrs.evolve(
                    held("res-e", SALES_POINT, 19, hours(1)), state=ReservationState.EXPIRED
                ),
            ]
        )
        with self.uow() as uow:
            places = uow.reservations.held_places
            assert places("perf-premiere", None, NOON) == 5
            assert places("perf-premiere", [SALES_POINT], NOON) == 2
            assert places("perf-premiere", {"sp-hotels", "sp-unknown"}, NOON) == 3
            assert places("perf-premiere", [], NOON) == 0
            assert places("perf-second", None, NOON) == 200
            assert places("perf-premiere", None, hours(-2)) == 2 + 3 + 11 + 13
            assert places("perf-none", None, NOON) == 0

    def test_due_reservations_are_held_ones_past_deadline_oldest_first(self) -> None:
        self.given(
            reservations=[
                a_reservation("res-late", hours(-1)),
                a_reservation("res-now", NOON),
                a_reservation("res-oldest", hours(-5)),
                a_reservation("res-live", hours(1)),
                a_reservation("res-confirmed", hours(-9), ReservationState.CONFIRMED),
                a_reservation("res-released", hours(-9), ReservationState.RELEASED),
            ]
        )
        with self.uow() as uow:
            found = [r.id for r in uow.reservations.due(NOON, 10)]
            assert found == ["res-oldest", "res-late", "res-now"]
            assert [r.id for r in uow.reservations.due(NOON, 1)] == ["res-oldest"]

    # --- queries: orders, tickets, accounts, invoices ---------------------------------------

    def test_orders_of_a_structure_in_a_period_including_start_excluding_end(self) -> None:
        self.given(
            orders=[
                an_order("ord-c", hours(2)),
                an_order("ord-b", hours(1)),
                an_order("ord-a", hours(1)),
                an_order("ord-first", NOON),
                an_order("ord-other-structure", hours(1), structure_id="str-other"),
                an_order("ord-other-org", hours(1), organization_id=OTHER_ORG),
            ]
        )
        with self.uow() as uow:

            def ids(**period: datetime) -> list[str]:
                return [o.id for o in uow.orders.for_structure(ORG, STRUCTURE, **period)]

            assert ids() == ["ord-first", "ord-a", "ord-b", "ord-c"]
            assert ids(placed_from=hours(1)) == ["ord-a", "ord-b", "ord-c"]
            assert ids(placed_until=hours(1)) == ["ord-first"]
            assert ids(placed_from=hours(1), placed_until=hours(2)) == ["ord-a", "ord-b"]
            # the same instants written in UTC
            utc_start = hours(1).astimezone(UTC)
            assert ids(placed_from=utc_start, placed_until=utc_start) == []
            assert ids(placed_from=hours(3)) == []

    def test_uninvoiced_on_account_are_confirmed_account_orders_without_invoice(self) -> None:
        cancelled = an_order("ord-cancelled", NOON)
        cancelled.cancel(hours(1))
        invoiced = an_order("ord-invoiced", NOON)
        invoiced.attach_invoice("inv-1")
        self.given(
            orders=[
                an_order("ord-later", hours(1)),
                an_order("ord-earlier", NOON),
                an_order("ord-card", NOON, payment_method=PaymentMethod.CARD),
                cancelled,
                invoiced,
                an_order("ord-elsewhere", NOON, structure_id="str-other"),
                an_order("ord-jazz", NOON, organization_id=OTHER_ORG),
            ]
        )
        with self.uow() as uow:
            found = [o.id for o in uow.orders.uninvoiced_on_account(ORG, STRUCTURE)]
            assert found == ["ord-earlier", "ord-later"]
            assert uow.orders.uninvoiced_on_account(ORG, "str-none") == []

    def test_the_card_refund_an_order_owes_round_trips_due_then_refunded(self) -> None:
        order = an_order("ord-card", NOON, payment_method=PaymentMethod.CARD)
        order.cancel(hours(1))
        self.given(orders=order)
        due = self.load("orders", "ord-card")
        assert due == order
        assert due.refund == Refund(chf("1504.25"), "cancel-ord-card")
        assert due.refund.state is RefundState.DUE
        due.record_refund("re_Zürich-1", hours(2))
        with self.uow() as uow:
            uow.orders.update(due)
            uow.commit()
        refunded = self.load("orders", "ord-card")
        assert refunded == due
        assert refunded.refund == Refund(chf("1504.25"), "cancel-ord-card", "re_Zürich-1", hours(2))
        assert refunded.refund.state is RefundState.REFUNDED
        assert refunded.refund_due is None
        # an order that owes nothing reads back owing nothing
        on_account = an_order("ord-account", NOON)
        on_account.cancel(hours(1))
        self.given(orders=on_account)
        assert self.load("orders", "ord-account").refund is None

    def test_refunds_due_are_cancelled_card_orders_still_owing_earliest_cancelled_first(
        self,
    ) -> None:
        def cancelled(id: str, at: datetime, **kw: Any) -> Order:
            order = an_order(id, NOON, **kw)
            order.cancel(at)
            return order

        refunded = cancelled("ord-refunded", NOON, payment_method=PaymentMethod.CARD)
        refunded.record_refund("re-1", hours(1))
        card = PaymentMethod.CARD
        self.given(
            orders=[
                cancelled("ord-c", hours(3), payment_method=card),
                cancelled("ord-b", hours(1), payment_method=card),
                cancelled("ord-a", hours(1), payment_method=card),
                cancelled("ord-jazz", hours(2), payment_method=card, organization_id=OTHER_ORG),
                refunded,
                cancelled("ord-account", NOON),
                an_order("ord-live", NOON, payment_method=card),
            ]
        )
        with self.uow() as uow:

            def ids(limit: int) -> list[str]:
                return [o.id for o in uow.orders.refunds_due(limit)]

            assert ids(10) == ["ord-a", "ord-b", "ord-jazz", "ord-c"]
            assert ids(2) == ["ord-a", "ord-b"]
            assert ids(0) == []

    def test_tickets_of_an_order_and_of_a_holder_by_id(self) -> None:
        self.given(
            tickets=[
                a_ticket("tkt-3", holder_id="ind-client"),
                a_ticket("tkt-1"),
                a_ticket("tkt-2", holder_id="ind-client"),
                a_ticket("tkt-9", order_id="ord-2", holder_id="ind-other"),
            ]
        )
        with self.uow() as uow:
            assert [t.id for t in uow.tickets.for_order("ord-1")] == ["tkt-1", "tkt-2", "tkt-3"]
            locked = uow.tickets.for_order_for_update("ord-1")
            assert [t.id for t in locked] == ["tkt-1", "tkt-2", "tkt-3"]
            assert locked[2] == a_ticket("tkt-3", holder_id="ind-client")
            assert [t.id for t in uow.tickets.for_holder("ind-client")] == ["tkt-2", "tkt-3"]
            assert uow.tickets.for_order("ord-none") == []
            assert uow.tickets.for_order_for_update("ord-none") == []
            assert uow.tickets.for_holder("ind-none") == []

    def test_add_many_stores_every_ticket(self) -> None:
        tickets = [a_printed_ticket(f"tkt-{n:03}") for n in range(120)]
        with self.uow() as uow:
            uow.tickets.add_many(tickets)
            uow.tickets.add_many([])
            uow.commit()
        with self.uow() as uow:
            assert uow.tickets.for_order("ord-1") == tickets
            with pytest.raises(ConcurrencyError):
                uow.tickets.add_many([a_ticket("tkt-new"), a_printed_ticket("tkt-000")])

    def test_update_many_writes_every_ticket_back(self) -> None:
        self.given(tickets=[a_ticket(f"tkt-{n:03}", barcode=f"BC-{n:03}") for n in range(120)])
        with self.uow() as uow:
            tickets = uow.tickets.get_many_for_update([f"tkt-{n:03}" for n in range(120)])
            for ticket in tickets:
                ticket.assign("ind-anna")
            # Some change more (a write may set only what changed): each is stored whole.
            tickets[1].stock_structure_id = BRANCH
            tickets[2].reclaim("BC-NEW-002")
            tickets[3].print("Zoë")
            uow.tickets.update_many(list(reversed(tickets)))
            uow.tickets.update_many([])
            assert {t.version for t in tickets} == {tickets[0].version}
            # Written back again in the same unit of work, from the version just written.
            tickets[4].print("Marc")
            uow.tickets.update_many([tickets[4]])
            uow.commit()
        with self.uow() as uow:
            assert uow.tickets.get_many_for_update([t.id for t in tickets]) == tickets
            assert len(uow.tickets.for_holder("ind-anna")) == 119
            assert uow.tickets.by_barcode("BC-002") == tickets[2]

    def test_update_many_refuses_a_stale_or_unknown_ticket(self) -> None:
        self.given(tickets=[a_ticket("tkt-1"), a_ticket("tkt-2")])
        with self.uow() as uow:
            missing = a_ticket("tkt-none")
            with pytest.raises(ConcurrencyError):
                uow.tickets.update_many([*uow.tickets.get_many_for_update(["tkt-1"]), missing])
        if not self.detects_stale_versions:
            return
        stale = self.load("tickets", "tkt-2")
        with self.uow() as uow:
            fresh = uow.tickets.get_many_for_update(["tkt-2"])
            uow.tickets.update_many(fresh)
            uow.commit()
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            uow.tickets.update_many([stale])

    def test_sold_places_ignores_cancelled_tickets_and_other_sales_points(self) -> None:
        cancelled = a_ticket("tkt-cancelled")
        cancelled.cancel()
        self.given(
            tickets=[
                a_ticket("tkt-bought"),
                a_printed_ticket("tkt-printed"),
                a_ticket("tkt-hotel", sales_point_id="sp-hotels", state=TicketState.CONTROLLED),
                cancelled,
                a_ticket("tkt-second", performance_id="perf-second"),
            ]
        )
        with self.uow() as uow:
            sold = uow.tickets.sold_places
            assert sold("perf-premiere", None) == 3
            assert sold("perf-premiere", [SALES_POINT]) == 2
            assert sold("perf-premiere", frozenset({"sp-hotels"})) == 1
            assert sold("perf-premiere", []) == 0
            assert sold("perf-second", None) == 1
            assert sold("perf-none", None) == 0

    def test_by_barcode_finds_live_and_revoked_barcodes(self) -> None:
        cancelled = a_ticket("tkt-cancelled", barcode="BC-CANCELLED")
        cancelled.cancel()
        self.given(tickets=[a_printed_ticket("tkt-1"), a_ticket("tkt-2"), cancelled])
        with self.uow() as uow:
            assert uow.tickets.by_barcode("tkt-1-LIVE") == a_printed_ticket("tkt-1")
            for revoked in ("tkt-1-OLD-1", "tkt-1-OLD-2"):
                found = uow.tickets.by_barcode(revoked)
                assert found is not None and found.id == "tkt-1"
            found = uow.tickets.by_barcode("BC-CANCELLED")
            assert found is not None and found.id == "tkt-cancelled"
            assert found.barcode is None and found.revoked_barcodes == ("BC-CANCELLED",)
            assert uow.tickets.by_barcode("BC-UNKNOWN") is None
            ticket = uow.tickets.get_for_update("tkt-2")
            assert ticket is not None
            ticket.reissue_barcode("BC-2-REPRINT")
            ticket.reissue_barcode("BC-2-THIRD")
            uow.tickets.update(ticket)
            uow.commit()
        with self.uow() as uow:
            for barcode in ("BC-tkt-2", "BC-2-REPRINT", "BC-2-THIRD"):
                found = uow.tickets.by_barcode(barcode)
                assert found is not None and found.id == "tkt-2"
                assert found.barcode == "BC-2-THIRD"
                assert found.revoked_barcodes == ("BC-tkt-2", "BC-2-REPRINT")

    def _scan_sample(self) -> None:
        """Tickets with their order, sales point and product, as a gate finds them."""
        invoiced = an_order("ord-2")
        invoiced.attach_invoice("inv-7")
        admits = a_sales_point("sp-box")
        admits.policy = attrs.evolve(admits.policy, admit_before_settlement=True)
        cancelled = a_ticket("tkt-cancelled", barcode="BC-CANCELLED")
        cancelled.cancel()
        self.given(
            sales_points=[a_sales_point(), admits],
            products=a_product(),
            orders=[an_order(), invoiced, an_order("ord-card", payment_method=PaymentMethod.CARD)],
            tickets=[
                a_printed_ticket("tkt-1"),
                a_ticket("tkt-2", order_id="ord-2", sales_point_id="sp-box"),
                a_ticket("tkt-card", order_id="ord-card"),
                cancelled,
                a_ticket("tkt-orphan", order_id="ord-none"),
            ],
        )

    def test_for_scan_gives_the_ticket_with_what_a_gate_needs(self) -> None:
        self._scan_sample()
        with self.uow() as uow:
            for barcode in ("tkt-1-LIVE", "tkt-1-OLD-1", "tkt-1-OLD-2"):
                assert uow.tickets.for_scan(barcode) == ScannedTicket(
                    a_printed_ticket("tkt-1"), "Carmen, parterre", False, True, None
                )
            assert uow.tickets.for_scan("BC-tkt-2") == ScannedTicket(
                a_ticket("tkt-2", order_id="ord-2", sales_point_id="sp-box"),
                "Carmen, parterre",
                True,
                True,
                "inv-7",
            )
            by_card = uow.tickets.for_scan("BC-tkt-card")
            assert by_card is not None and (by_card.on_account, by_card.invoice_id) == (False, None)
            found = uow.tickets.for_scan("BC-CANCELLED")
            assert found is not None and found.ticket == uow.tickets.get("tkt-cancelled")
            assert found.ticket.barcode is None
            assert uow.tickets.for_scan("BC-UNKNOWN") is None
            # A ticket whose order is not stored is not one a gate can admit.
            assert uow.tickets.for_scan("BC-tkt-orphan") is None

    def test_a_ticket_loaded_for_a_scan_is_written_back_whole(self) -> None:
        self._scan_sample()
        with self.uow() as uow:
            scanned = uow.tickets.for_scan("tkt-1-OLD-2")
            other = uow.tickets.for_scan("BC-tkt-2")
            assert scanned is not None and other is not None
            scanned.ticket.control(NOON, "Porte nord")
            uow.tickets.update(scanned.ticket)
            # Twice in one unit of work: each write starts from the barcodes of the last one.
            for barcode in ("BC-2-NEW", "BC-2-THIRD"):
                other.ticket.reissue_barcode(barcode)
                uow.tickets.update(other.ticket)
            uow.commit()
        assert self.load("tickets", "tkt-1") == scanned.ticket
        assert self.load("tickets", "tkt-2") == other.ticket
        with self.uow() as uow:
            for barcode in ("BC-tkt-2", "BC-2-NEW", "BC-2-THIRD"):
                found = uow.tickets.for_scan(barcode)
                assert found is not None and found.ticket == other.ticket
        assert other.ticket.revoked_barcodes == ("BC-tkt-2", "BC-2-NEW")

    # --- queries: tickets in custody (corporate space) --------------------------------------

    def test_a_ticket_keeps_its_beneficiary_and_its_control(self) -> None:
        controlled = a_printed_ticket("tkt-controlled")
        # Another zone than the one it is read back in, a microsecond to keep.
        at = datetime(2026, 10, 25, 1, 59, 59, 999_999, tzinfo=timezone(timedelta(hours=2)))
        controlled.control(at, "Porte B — parterre")
        self.given(tickets=[controlled, a_printed_ticket("tkt-printed"), a_ticket("tkt-stock")])
        loaded = self.load("tickets", "tkt-controlled")
        assert loaded == controlled
        assert (loaded.beneficiary, loaded.controlled_gate) == (
            "Zoë Müller-Lefèvre",
            "Porte B — parterre",
        )
        assert loaded.controlled_at == at and loaded.controlled_at.utcoffset() is not None
        stock = self.load("tickets", "tkt-stock")
        assert (stock.beneficiary, stock.controlled_at, stock.controlled_gate) == (None, None, None)
        # Reclaiming clears the beneficiary: the cleared value is written back too.
        with self.uow() as uow:
            printed = uow.tickets.get_for_update("tkt-printed")
            assert printed is not None and printed.beneficiary is not None
            printed.reclaim("BC-RECLAIMED")
            uow.tickets.update(printed)
            uow.commit()
        reclaimed = self.load("tickets", "tkt-printed")
        assert reclaimed == printed
        assert (reclaimed.beneficiary, reclaimed.holder_id) == (None, None)

    def test_get_many_for_update_gives_the_existing_tickets_by_id(self) -> None:
        self.given(
            tickets=[
                a_printed_ticket("tkt-3"),
                a_ticket("tkt-1"),
                a_ticket("tkt-2", order_id="ord-2"),
                a_held_ticket("tkt-jazz", organization_id=OTHER_ORG),
            ]
        )
        with self.uow() as uow:
            many = uow.tickets.get_many_for_update
            found = many(["tkt-3", "tkt-none", "tkt-1", "tkt-1"])
            assert found == [a_ticket("tkt-1"), a_printed_ticket("tkt-3")]
            assert [t.id for t in many({"tkt-jazz", "tkt-2"})] == ["tkt-2", "tkt-jazz"]
            assert many(("tkt-none",)) == []
            assert many([]) == []

    def test_get_many_for_update_takes_a_long_list_of_ids(self) -> None:
        ids = [f"tkt-{n:04}" for n in range(1_200)]
        stored = ids[::40]
        self.given(tickets=[a_ticket(id, barcode=f"BC-{id}") for id in stored])
        with self.uow() as uow:
            found = uow.tickets.get_many_for_update(list(reversed(ids)))
            assert [t.id for t in found] == stored

    def _custody_sample(self) -> None:
        self.given(
            tickets=[
                a_held_ticket("tkt-09"),
                a_held_ticket("tkt-03"),
                a_held_ticket("tkt-07", performance_id="perf-second"),
                a_held_ticket("tkt-05", product_id="prod-tosca"),
                a_held_ticket("tkt-01", state=TicketState.DISTRIBUTED, holder_id="ind-anna"),
                a_held_ticket("tkt-02", state=TicketState.PRINTED, holder_id="ind-anna"),
                # printed at once and handed over by hand: nobody assigned
                a_held_ticket("tkt-04", state=TicketState.PRINTED),
                a_held_ticket("tkt-06", state=TicketState.CONTROLLED, holder_id="ind-marc"),
                a_held_ticket("tkt-08", state=TicketState.CANCELLED, holder_id="ind-marc"),
                # handed down to the branch, one of them distributed there
                a_held_ticket("tkt-10", BRANCH),
                a_held_ticket("tkt-11", BRANCH, TicketState.DISTRIBUTED, holder_id="ind-zoe"),
                # bought by the branch itself
                a_held_ticket("tkt-12", BRANCH, structure_id=BRANCH),
                a_held_ticket("tkt-13", "str-other", structure_id="str-other"),
                a_held_ticket("tkt-14", organization_id=OTHER_ORG),
                a_held_ticket("tkt-15", organization_id=OTHER_ORG, holder_id="ind-anna"),
            ]
        )

    def test_in_custody_filters_a_structures_tickets_by_state_performance_and_product(
        self,
    ) -> None:
        self._custody_sample()
        bought, distributed, printed = (
            TicketState.BOUGHT,
            TicketState.DISTRIBUTED,
            TicketState.PRINTED,
        )
        with self.uow() as uow:

            def ids(
                structure_id: str, states: Collection[TicketState], **filters: Any
            ) -> list[str]:
                found = uow.tickets.in_custody(ORG, structure_id, states, **filters)
                return [t.id for t in found]

            assert ids(STRUCTURE, [bought]) == ["tkt-03", "tkt-05", "tkt-07", "tkt-09"]
            assert ids(STRUCTURE, {distributed, printed}) == ["tkt-01", "tkt-02", "tkt-04"]
            assert ids(STRUCTURE, (TicketState.CANCELLED,)) == ["tkt-08"]
            assert ids(STRUCTURE, list(TicketState)) == [f"tkt-{n:02}" for n in range(1, 10)]
            assert ids(STRUCTURE, []) == []
            assert ids(STRUCTURE, [bought], performance_id="perf-premiere") == [
                "tkt-03",
                "tkt-05",
                "tkt-09",
            ]
            assert ids(STRUCTURE, [bought], product_id="prod-carmen") == [
                "tkt-03",
                "tkt-07",
                "tkt-09",
            ]
            both = {"performance_id": "perf-premiere", "product_id": "prod-carmen"}
            assert ids(STRUCTURE, [bought], **both) == ["tkt-03", "tkt-09"]
            assert ids(STRUCTURE, [bought], performance_id="perf-none") == []
            assert ids(BRANCH, [bought]) == ["tkt-10", "tkt-12"]
            # received from the parent, not bought by the branch itself
            assert ids(BRANCH, [bought], received_only=True) == ["tkt-10"]
            assert ids(STRUCTURE, [bought], received_only=True) == []
            assert ids(BRANCH, [distributed]) == ["tkt-11"]
            assert ids("str-none", [bought]) == []
            jazz = uow.tickets.in_custody(OTHER_ORG, STRUCTURE, [bought])
            assert [t.id for t in jazz] == ["tkt-14", "tkt-15"]
            # whole tickets, barcodes included
            found = uow.tickets.in_custody(ORG, STRUCTURE, [distributed])
            assert found == [
                a_held_ticket("tkt-01", state=TicketState.DISTRIBUTED, holder_id="ind-anna")
            ]

    def test_in_custody_takes_the_first_tickets_by_id_up_to_the_limit_and_locks_them(
        self,
    ) -> None:
        self._custody_sample()
        bought = (TicketState.BOUGHT,)
        with self.uow() as uow:
            for lock in (False, True):

                def ids(limit: int | None, for_update: bool = lock, **filters: Any) -> list[str]:
                    found = uow.tickets.in_custody(
                        ORG, STRUCTURE, bought, limit=limit, for_update=for_update, **filters
                    )
                    return [t.id for t in found]

                assert ids(2) == ["tkt-03", "tkt-05"]
                assert ids(1, product_id="prod-carmen") == ["tkt-03"]
                assert ids(2, performance_id="perf-second") == ["tkt-07"]
                assert ids(10) == ids(None) == ["tkt-03", "tkt-05", "tkt-07", "tkt-09"]
                assert [
                    t.id
                    for t in uow.tickets.in_custody(
                        ORG, BRANCH, bought, limit=1, for_update=lock, received_only=True
                    )
                ] == ["tkt-10"]
                assert ids(0) == []
            locked = uow.tickets.in_custody(ORG, STRUCTURE, bought, limit=1, for_update=True)
            assert locked == [a_held_ticket("tkt-03")]

    def test_custody_counts_group_the_tickets_of_the_given_structures(self) -> None:
        self._custody_sample()

        def count(
            buyer: str,
            stock: str,
            state: TicketState,
            assigned: bool,
            n: int,
            performance_id: str = "perf-premiere",
            product_id: str = "prod-carmen",
        ) -> CustodyCount:
            return CustodyCount(buyer, stock, performance_id, product_id, state, assigned, n)

        S, B = STRUCTURE, BRANCH
        with self.uow() as uow:
            found = uow.tickets.custody_counts(ORG, [S, B])
            assert len(found) == len(set(found)), "one row per group"
            assert set(found) == {
                count(S, S, TicketState.BOUGHT, False, 2),
                count(S, S, TicketState.BOUGHT, False, 1, performance_id="perf-second"),
                count(S, S, TicketState.BOUGHT, False, 1, product_id="prod-tosca"),
                count(S, S, TicketState.DISTRIBUTED, True, 1),
                count(S, S, TicketState.PRINTED, True, 1),
                count(S, S, TicketState.PRINTED, False, 1),
                count(S, S, TicketState.CONTROLLED, True, 1),
                count(S, S, TicketState.CANCELLED, True, 1),
                count(S, B, TicketState.BOUGHT, False, 1),
                count(S, B, TicketState.DISTRIBUTED, True, 1),
                count(B, B, TicketState.BOUGHT, False, 1),
            }
            assert set(uow.tickets.custody_counts(ORG, {B, "str-none"})) == {
                count(S, B, TicketState.BOUGHT, False, 1),
                count(S, B, TicketState.DISTRIBUTED, True, 1),
                count(B, B, TicketState.BOUGHT, False, 1),
            }
            assert set(uow.tickets.custody_counts(OTHER_ORG, [S])) == {
                count(S, S, TicketState.BOUGHT, False, 1),
                count(S, S, TicketState.BOUGHT, True, 1),
            }
            assert uow.tickets.custody_counts(ORG, ["str-none"]) == []
            assert uow.tickets.custody_counts(ORG, []) == []

    def test_holder_counts_count_assigned_tickets_not_cancelled(self) -> None:
        self._custody_sample()
        self.given(
            tickets=[
                a_held_ticket(
                    "tkt-20", BRANCH, TicketState.PRINTED, "perf-second", holder_id="ind-zoe"
                ),
                a_held_ticket("tkt-21", state=TicketState.PRINTED, holder_id="ind-zoe"),
                a_held_ticket("tkt-22", state=TicketState.DISTRIBUTED, holder_id="ind-anna"),
            ]
        )
        with self.uow() as uow:
            found = uow.tickets.holder_counts(ORG)
            assert len(found) == len(set(found)), "one row per group"
            assert set(found) == {
                HolderCount("ind-anna", STRUCTURE, "perf-premiere", 3),
                HolderCount("ind-marc", STRUCTURE, "perf-premiere", 1),
                HolderCount("ind-zoe", BRANCH, "perf-premiere", 1),
                HolderCount("ind-zoe", BRANCH, "perf-second", 1),
                HolderCount("ind-zoe", STRUCTURE, "perf-premiere", 1),
            }
            assert set(uow.tickets.holder_counts(ORG, "perf-second")) == {
                HolderCount("ind-zoe", BRANCH, "perf-second", 1)
            }
            assert uow.tickets.holder_counts(ORG, "perf-none") == []
            assert uow.tickets.holder_counts(OTHER_ORG) == [
                HolderCount("ind-anna", STRUCTURE, "perf-premiere", 1)
            ]
            assert uow.tickets.holder_counts("org-none") == []

    def test_a_ticket_keeps_who_will_attend_and_attendee_counts_group_them(self) -> None:
        def printed(
            id: str,
            holder: str,
            name: str,
            email: str | None = None,
            consent: bool = False,
            performance_id: str = "perf-premiere",
            organization_id: str = ORG,
        ) -> Ticket:
            ticket = a_held_ticket(
                id,
                BRANCH,
                TicketState.DISTRIBUTED,
                performance_id,
                holder_id=holder,
                organization_id=organization_id,
            )
            ticket.print(name, Email(email) if email else None, consent)
            return ticket

        controlled = printed("tkt-41", "ind-anna", "Léa Roux", "lea@example.ch", True)
        controlled.control(NOON, "Porte A")
        cancelled = printed("tkt-46", "ind-anna", "Léa Roux", "lea@example.ch", True)
        cancelled.cancel()
        self.given(
            tickets=[
                printed("tkt-40", "ind-anna", "Léa Roux", "lea@example.ch", True),
                controlled,
                printed("tkt-42", "ind-anna", "Anna Meier"),
                printed("tkt-43", "ind-anna", "Paul Roux", "paul@example.ch", False, "perf-second"),
                a_held_ticket("tkt-44", state=TicketState.DISTRIBUTED, holder_id="ind-marc"),
                printed("tkt-45", "ind-marc", "Léa Roux", "lea@example.ch", False),
                cancelled,
                printed(
                    "tkt-47",
                    "ind-anna",
                    "Léa Roux",
                    "lea@example.ch",
                    True,
                    "perf-premiere",
                    OTHER_ORG,
                ),
            ]
        )
        loaded = self.load("tickets", "tkt-40")
        assert (loaded.beneficiary, loaded.beneficiary_email, loaded.beneficiary_consent) == (
            "Léa Roux",
            "lea@example.ch",
            True,
        )
        assert self.load("tickets", "tkt-42").beneficiary_email is None
        assert self.load("tickets", "tkt-44").beneficiary_consent is False
        lea = ("Léa Roux", "lea@example.ch", True)
        with self.uow() as uow:
            found = uow.tickets.attendee_counts(ORG)
            assert len(found) == len(set(found)), "one row per group"
            assert set(found) == {
                AttendeeCount("ind-anna", BRANCH, "perf-premiere", *lea, 2),
                AttendeeCount("ind-anna", BRANCH, "perf-premiere", "Anna Meier", None, False, 1),
                AttendeeCount(
                    "ind-anna", BRANCH, "perf-second", "Paul Roux", "paul@example.ch", False, 1
                ),
                AttendeeCount(
                    "ind-marc", BRANCH, "perf-premiere", "Léa Roux", "lea@example.ch", False, 1
                ),
            }
            assert set(uow.tickets.attendee_counts(ORG, "perf-second")) == {
                AttendeeCount(
                    "ind-anna", BRANCH, "perf-second", "Paul Roux", "paul@example.ch", False, 1
                )
            }
            assert uow.tickets.attendee_counts(OTHER_ORG) == [
                AttendeeCount("ind-anna", BRANCH, "perf-premiere", *lea, 1)
            ]
            assert uow.tickets.attendee_counts("org-none") == []
        # Reclaiming forgets who would have attended: the cleared values are written back.
        with self.uow() as uow:
            ticket = uow.tickets.get_for_update("tkt-40")
            assert ticket is not None
            ticket.reclaim("BC-RECLAIMED-40")
            uow.tickets.update(ticket)
            uow.commit()
        reclaimed = self.load("tickets", "tkt-40")
        assert (reclaimed.beneficiary_email, reclaimed.beneficiary_consent) == (None, False)

    def test_ticket_queries_see_the_unit_of_works_own_staged_writes(self) -> None:
        self.given(tickets=a_held_ticket("tkt-1"))
        with self.uow() as uow:
            uow.tickets.add(a_printed_ticket("tkt-2"))
            assert uow.tickets.get_many_for_update(["tkt-2"]) == [a_printed_ticket("tkt-2")]
            printed = (TicketState.PRINTED,)
            assert uow.tickets.in_custody(ORG, BRANCH, printed) == [a_printed_ticket("tkt-2")]
            assert uow.tickets.custody_counts(ORG, [BRANCH]) == [
                CustodyCount(
                    STRUCTURE, BRANCH, "perf-premiere", "prod-carmen", TicketState.PRINTED, True, 1
                )
            ]
            assert uow.tickets.holder_counts(ORG) == [
                HolderCount("ind-client", BRANCH, "perf-premiere", 1)
            ]
            locked = uow.tickets.in_custody(
                ORG, STRUCTURE, (TicketState.BOUGHT,), limit=1, for_update=True
            )
            assert [t.id for t in locked] == ["tkt-1"]
            locked[0].assign("ind-anna")
            uow.tickets.update(locked[0])
            assert uow.tickets.in_custody(ORG, STRUCTURE, (TicketState.BOUGHT,)) == []
            assert uow.tickets.get_many_for_update(["tkt-1"]) == locked
            assert set(uow.tickets.holder_counts(ORG)) == {
                HolderCount("ind-client", BRANCH, "perf-premiere", 1),
                HolderCount("ind-anna", STRUCTURE, "perf-premiere", 1),
            }
            assert uow.tickets.custody_counts(ORG, [STRUCTURE]) == [
                CustodyCount(
                    STRUCTURE,
                    STRUCTURE,
                    "perf-premiere",
                    "prod-carmen",
                    TicketState.DISTRIBUTED,
                    True,
                    1,
                )
            ]
        # not committed
        with self.uow() as uow:
            assert uow.tickets.get_many_for_update(["tkt-1", "tkt-2"]) == [a_held_ticket("tkt-1")]
            assert uow.tickets.holder_counts(ORG) == []

    def test_holding_account_of_a_structure(self) -> None:
        self.given(accounts=[an_account("acc-1"), an_account("acc-2", structure_id="str-other")])
        with self.uow() as uow:
            assert uow.accounts.for_structure(ORG, STRUCTURE) == a_stored_account("acc-1")
            assert uow.accounts.for_structure_for_update(ORG, STRUCTURE) == a_stored_account(
                "acc-1"
            )
            assert uow.accounts.for_structure(OTHER_ORG, STRUCTURE) is None
            assert uow.accounts.for_structure_for_update(ORG, "str-none") is None

    # --- holding accounts: a running total beside an append-only ledger ----------------------

    def test_an_account_comes_back_with_its_running_total_and_without_new_entries(self) -> None:
        account = an_account()
        self.given(accounts=account)
        assert account.new_entries == [], "add() leaves no entry to insert again"
        with self.uow() as uow:
            loaded = [
                uow.accounts.get("acc-1"),
                uow.accounts.get_for_update("acc-1"),
                uow.accounts.for_structure(ORG, STRUCTURE),
                uow.accounts.for_structure_for_update(ORG, STRUCTURE),
            ]
            for found in loaded:
                assert found is not None
                assert (found.balance, found.entry_count) == (chf("234.50"), 3)
                assert found.outstanding == Money.sum((e.amount for e in LEDGER), CHF)
                assert found.new_entries == []

    def test_the_ledger_of_an_account_in_sequence_order(self) -> None:
        self.given(accounts=[an_account("acc-1"), an_account("acc-2", structure_id="str-other")])
        with self.uow() as uow:
            assert uow.accounts.ledger("acc-1") == LEDGER
            assert uow.accounts.ledger("acc-2") == LEDGER
            assert uow.accounts.ledger("no-such-id") == []
            assert uow.accounts.ledger("acc-1") is not uow.accounts.ledger("acc-1")

    def test_an_account_without_entries_has_an_empty_ledger(self) -> None:
        self.given(accounts=HoldingAccount("acc-new", ORG, STRUCTURE, CHF))
        with self.uow() as uow:
            loaded = uow.accounts.get("acc-new")
            assert loaded is not None
            assert (loaded.outstanding, loaded.entry_count) == (chf("0.00"), 0)
            assert uow.accounts.ledger("acc-new") == []

    def test_the_ledger_grows_entry_by_entry(self) -> None:
        self.given(accounts=an_account())
        ledger = list(LEDGER)
        for n in range(3):
            with self.uow() as uow:
                account = uow.accounts.for_structure_for_update(ORG, STRUCTURE)
                assert account is not None
                account.charge(f"ord-{n + 10}", chf("100.00"), hours(10 + n))
                appended = list(account.new_entries)
                assert [e.sequence for e in appended] == [len(ledger) + 1]
                uow.accounts.update(account)
                assert account.new_entries == []
                # Read back inside the unit of work, then for good after the commit.
                assert uow.accounts.ledger("acc-1") == ledger + appended
                uow.commit()
            ledger += appended
            with self.uow() as uow:
                assert uow.accounts.ledger("acc-1") == ledger
        loaded = self.load("accounts", "acc-1")
        assert [e.sequence for e in ledger] == [1, 2, 3, 4, 5, 6]
        assert ledger[:3] == LEDGER
        assert loaded.entry_count == 6
        assert loaded.outstanding == chf("234.50") + chf("300.00")
        assert loaded.outstanding == Money.sum((e.amount for e in ledger), CHF)

    def test_entries_of_an_uncommitted_unit_of_work_are_not_stored(self) -> None:
        self.given(accounts=an_account())
        with self.uow() as uow:
            account = uow.accounts.get_for_update("acc-1")
            assert account is not None
            account.receive_payment(chf("34.50"), "BANK-9", hours(3))
            uow.accounts.update(account)
        with self.uow() as uow:
            assert uow.accounts.ledger("acc-1") == LEDGER
            assert uow.accounts.get("acc-1") == a_stored_account()

    def test_an_entry_already_stored_is_never_written_again(self) -> None:
        self.given(accounts=an_account())
        with self.uow() as uow:
            first = uow.accounts.get_for_update("acc-1")
            second = uow.accounts.get("acc-1")
            assert first is not None and second is not None
            first.charge("ord-7", chf("7.00"), hours(3))
            second.charge("ord-8", chf("8.00"), hours(4))
            uow.accounts.update(first)
            # Another entry 4: refused, by its version or by its sequence.
            with pytest.raises(ConcurrencyError):
                uow.accounts.update(second)
        with self.uow() as uow:
            assert uow.accounts.ledger("acc-1") == LEDGER

    @hypothesis.settings(
        max_examples=15,
        deadline=None,
        # One storage for every example: each works on an account of its own. Every adapter's
        # subclass runs this one test; any example is valid on any storage.
        suppress_health_check=[
            hypothesis.HealthCheck.function_scoped_fixture,
            hypothesis.HealthCheck.too_slow,
            hypothesis.HealthCheck.differing_executors,
        ],
    )
    # hypothesis.given: ``given`` alone is the helper method of this class.
    @hypothesis.given(
        batches=st.lists(
            st.tuples(
                st.lists(
                    st.one_of(
                        st.tuples(st.just("charge"), st.integers(0, 50_000)),
                        st.tuples(st.just("pay"), st.integers(1, 50_000)),
                        st.tuples(st.just("invoice"), st.integers(1, 50_000)),
                        st.tuples(st.just("cancel"), st.integers(0, 20)),
                    ),
                    max_size=5,
                ),
                st.booleans(),
            ),
            min_size=1,
            max_size=5,
        )
    )
    def test_the_running_total_is_the_sum_of_the_ledger(
        self, batches: list[tuple[list[tuple[str, int]], bool]]
    ) -> None:
        """Charges, payments, invoices and cancellations over several units of work, some
        committed, some not: the stored balance is always the sum of the ledger, numbered 1..n
        without gaps, and a stored entry never changes."""
        self._examples = getattr(self, "_examples", 0) + 1
        id = f"acc-prop-{self._examples}"
        self.given(accounts=HoldingAccount(id, ORG, f"str-prop-{self._examples}", CHF))
        ledger: list[LedgerEntry] = []
        charged: list[str] = []
        for number, (operations, commit) in enumerate(batches, start=1):
            with self.uow() as uow:
                account = uow.accounts.get_for_update(id)
                assert account is not None and account.new_entries == []
                orders = list(charged)
                for step, (operation, cents) in enumerate(operations):
                    at = hours(number + step / 10)
                    amount = Money(Decimal(cents) / 100, CHF)
                    if operation == "charge":
                        orders.append(f"ord-{number}-{step}")
                        account.charge(orders[-1], amount, at)
                    elif operation == "pay":
                        account.receive_payment(amount, f"PAY-{number}-{step}", at)
                    elif operation == "invoice":
                        account.register_invoice(f"inv-{number}-{step}", number * 10 + step, amount)
                    elif orders:
                        cancelled = orders.pop(cents % len(orders))
                        account.credit_cancelled_order(cancelled, amount, at, None)
                appended = list(account.new_entries)
                uow.accounts.update(account)
                if commit:
                    uow.commit()
                    ledger += appended
                    charged = orders
            with self.uow() as uow:
                stored = uow.accounts.get(id)
                assert stored is not None and stored.new_entries == []
                assert uow.accounts.ledger(id) == ledger
                assert [e.sequence for e in ledger] == list(range(1, len(ledger) + 1))
                assert stored.entry_count == len(ledger)
                assert stored.outstanding == Money.sum((e.amount for e in ledger), CHF)

    def test_invoices_of_a_structure_by_number_and_numbers_of_an_organization(self) -> None:
        self.given(
            invoices=[
                an_invoice("inv-3", 3),
                an_invoice("inv-1", 1),
                an_invoice("inv-other", 2, structure_id="str-other"),
                an_invoice("inv-4", 4),
                an_invoice("inv-jazz", 7, organization_id=OTHER_ORG),
            ]
        )
        with self.uow() as uow:
            found = uow.invoices.for_structure(ORG, STRUCTURE)
            assert [i.id for i in found] == ["inv-1", "inv-3", "inv-4"]
            assert found[0] == an_invoice("inv-1", 1)
            assert uow.invoices.numbers(ORG) == [1, 2, 3, 4]
            assert uow.invoices.numbers(OTHER_ORG) == [7]
            assert uow.invoices.numbers("org-none") == []
            jazz = uow.invoices.for_structure(OTHER_ORG, STRUCTURE)
            assert [i.id for i in jazz] == ["inv-jazz"]
            assert uow.invoices.for_structure("org-none", STRUCTURE) == []

    # --- invoice sequences ------------------------------------------------------------------

    def test_an_invoice_sequence_starts_at_zero(self) -> None:
        with self.uow() as uow:
            sequence = uow.invoice_sequences.get_for_update(ORG)
            assert (sequence.organization_id, sequence.last_number) == (ORG, 0)
            assert sequence.next() == 1

    def test_invoice_numbers_are_gapless_across_units_of_work(self) -> None:
        issued = []
        for _ in range(3):
            with self.uow() as uow:
                sequence = uow.invoice_sequences.get_for_update(ORG)
                issued.append(sequence.next())
                uow.invoice_sequences.update(sequence)
                uow.commit()
        with self.uow() as uow:
            sequence = uow.invoice_sequences.get_for_update(ORG)
            sequence.next()
            uow.invoice_sequences.update(sequence)
            # not committed: the number is given again
        with self.uow() as uow:
            sequence = uow.invoice_sequences.get_for_update(ORG)
            issued.append(sequence.next())
            uow.invoice_sequences.update(sequence)
            other = uow.invoice_sequences.get_for_update(OTHER_ORG)
            assert other.last_number == 0
            uow.commit()
        assert issued == [1, 2, 3, 4]

    def test_invoice_sequence_update_increments_the_version(self) -> None:
        with self.uow() as uow:
            sequence = uow.invoice_sequences.get_for_update(ORG)
            version = sequence.version
            sequence.next()
            uow.invoice_sequences.update(sequence)
            assert sequence.version == version + 1
            uow.commit()
        with self.uow() as uow:
            again = uow.invoice_sequences.get_for_update(ORG)
            assert (again.last_number, again.version) == (1, version + 1)

    def test_writing_back_a_stale_invoice_sequence_is_refused(self) -> None:
        if not self.detects_stale_versions:
            pytest.skip("this adapter serializes units of work instead of checking versions")
        with self.uow() as uow:
            stale = uow.invoice_sequences.get_for_update(ORG)
            uow.commit()
        with self.uow() as uow:
            fresh = uow.invoice_sequences.get_for_update(ORG)
            fresh.next()
            uow.invoice_sequences.update(fresh)
            uow.commit()
        with self.uow() as uow, pytest.raises(ConcurrencyError):
            stale.next()
            uow.invoice_sequences.update(stale)
        with self.uow() as uow:
            assert uow.invoice_sequences.get_for_update(ORG).last_number == 1

    # --- outbox -----------------------------------------------------------------------------

    def test_outbox_keeps_the_whole_message(self) -> None:
        with self.uow() as uow:
            uow.outbox.add(a_message(), NOON)
            uow.commit()
        with self.uow() as uow:
            item = uow.outbox.get("msg-1")
            assert item is not None
            assert item.message == a_message()
            assert item.message.institution_id == INSTITUTION
            assert (item.queued_at, item.attempts, item.last_error, item.sent_at) == (
                NOON,
                0,
                None,
                None,
            )
            assert (item.state, item.due_at, item.claimed_by, item.lease_until) == (
                OutboxState.QUEUED,
                NOON,
                None,
                None,
            )
            assert item.queued_at.utcoffset() is not None
            assert uow.outbox.get("msg-none") is None
            with pytest.raises(ConcurrencyError):
                uow.outbox.add(attrs.evolve(a_message(), subject="Autre"), hours(1))

    def test_outbox_keeps_the_html_part_and_replaces_it_when_sent(self) -> None:
        html = '<p>Bonjour <b>Élodie</b>, <a href="https://x.invalid/?t=tdl_abc">ici</a></p>'
        with self.uow() as uow:
            uow.outbox.add(attrs.evolve(a_message("msg-html"), html=html), NOON)
            uow.outbox.add(a_message("msg-text"), NOON)
            uow.commit()
        with self.uow() as uow:
            item = uow.outbox.get("msg-html")
            assert item is not None and item.message == attrs.evolve(
                a_message("msg-html"), html=html
            )
            text = uow.outbox.get("msg-text")
            assert text is not None and text.message.html is None
            uow.outbox.claim("d-1", NOON, hours(1), 5)
            assert uow.outbox.mark_sent(
                "msg-html", "d-1", hours(1), "Text: tdl_sent", "<p>tdl_sent</p>"
            )
            assert uow.outbox.mark_sent("msg-text", "d-1", hours(1))
            uow.commit()
        with self.uow() as uow:
            item = uow.outbox.get("msg-html")
            assert item is not None
            assert (item.message.body, item.message.html) == ("Text: tdl_sent", "<p>tdl_sent</p>")
            text = uow.outbox.get("msg-text")
            assert text is not None and text.message == a_message("msg-text")

    def test_languages_of_organizations_and_contacts_come_back(self) -> None:
        with self.uow() as uow:
            uow.organizations.add(attrs.evolve(an_organization("org-bern"), language="de"))
            uow.organizations.add(an_organization("org-default"))
            uow.individuals.add(attrs.evolve(an_individual("ind-fr"), language="fr"))
            uow.individuals.add(an_individual("ind-none", email="none@example.ch"))
            uow.commit()
        with self.uow() as uow:
            bern, default = uow.organizations.get("org-bern"), uow.organizations.get("org-default")
            assert bern is not None and bern.language == "de"
            assert default is not None and default.language == "en"
            french, none = uow.individuals.get("ind-fr"), uow.individuals.get("ind-none")
            assert french is not None and french.language == "fr"
            assert none is not None and none.language is None
            french.language = "it"
            uow.individuals.update(french)
            uow.commit()
        with self.uow() as uow:
            found = uow.individuals.find_by_email(INSTITUTION, "elodie.dupont@example.ch")
            assert found is not None and found.language == "it"

    def test_pending_messages_are_unsent_ones_oldest_first(self) -> None:
        with self.uow() as uow:
            uow.outbox.add(a_message("msg-c"), hours(2))
            uow.outbox.add(a_message("msg-b"), hours(1))
            uow.outbox.add(a_message("msg-a"), hours(1))
            uow.outbox.add(a_message("msg-sent"), NOON)
            uow.outbox.claim("d-1", hours(3), hours(4), 1)
            uow.outbox.mark_sent("msg-sent", "d-1", hours(3))
            uow.commit()
        with self.uow() as uow:
            assert [i.message.id for i in uow.outbox.pending(10)] == ["msg-a", "msg-b", "msg-c"]
            assert [i.message.id for i in uow.outbox.pending(2)] == ["msg-a", "msg-b"]
            # A message being sent is not sent yet.
            uow.outbox.claim("d-2", hours(3), hours(4), 1)
            assert [i.message.id for i in uow.outbox.pending(10)] == ["msg-a", "msg-b", "msg-c"]

    def test_a_claim_takes_due_messages_earliest_first_and_leases_them(self) -> None:
        with self.uow() as uow:
            uow.outbox.add(a_message("msg-later"), hours(5))
            uow.outbox.add(a_message("msg-b"), hours(1))
            uow.outbox.add(a_message("msg-a"), hours(1))
            uow.outbox.add(a_message("msg-c"), hours(2))
            uow.commit()
        with self.uow() as uow:
            claimed = uow.outbox.claim("d-1", hours(2), hours(3), 2)
            uow.commit()
        assert [i.message.id for i in claimed] == ["msg-a", "msg-b"]
        assert claimed[0].message == a_message("msg-a")
        assert {(i.state, i.claimed_by, i.lease_until, i.attempts) for i in claimed} == {
            (OutboxState.SENDING, "d-1", hours(3), 1)
        }
        with self.uow() as uow:
            assert uow.outbox.get("msg-a") == claimed[0]
            # msg-later is not due; the claimed ones are leased
            assert [i.message.id for i in uow.outbox.claim("d-2", hours(2), hours(3), 9)] == [
                "msg-c"
            ]
            assert uow.outbox.claim("d-3", hours(2.5), hours(4), 9) == []
            uow.commit()
        with self.uow() as uow:
            # Once the leases ran out, the messages are due again (msg-later too, by then).
            again = uow.outbox.claim("d-4", hours(6), hours(7), 9)
            assert [(i.message.id, i.attempts) for i in again] == [
                ("msg-a", 2),
                ("msg-b", 2),
                ("msg-c", 2),
                ("msg-later", 1),
            ]
            assert uow.outbox.claim("d-5", hours(6), hours(7), 0) == []

    def test_only_the_dispatcher_holding_the_claim_marks_a_message(self) -> None:
        with self.uow() as uow:
            uow.outbox.add(a_message("msg-1"), NOON)
            uow.commit()
        with self.uow() as uow:
            uow.outbox.claim("d-1", NOON, hours(1), 5)
            uow.commit()
        with self.uow() as uow:
            # The lease ran out; d-2 took the message over.
            uow.outbox.claim("d-2", hours(2), hours(3), 5)
            uow.commit()
        with self.uow() as uow:
            assert not uow.outbox.mark_sent("msg-1", "d-1", hours(2))
            assert not uow.outbox.mark_retry("msg-1", "d-1", "timeout", hours(4))
            assert not uow.outbox.mark_failed("msg-1", "d-1", "550 refused")
            assert not uow.outbox.mark_sent("msg-none", "d-2", hours(2))
            assert uow.outbox.mark_sent("msg-1", "d-2", hours(2), body="Link: tdl_sent")
            # Marked once: the claim is spent.
            assert not uow.outbox.mark_sent("msg-1", "d-2", hours(2))
            uow.commit()
        with self.uow() as uow:
            item = uow.outbox.get("msg-1")
            assert item is not None
            assert item.message == attrs.evolve(a_message("msg-1"), body="Link: tdl_sent")
            assert (item.state, item.sent_at, item.attempts, item.claimed_by) == (
                OutboxState.SENT,
                hours(2),
                2,
                None,
            )
            assert uow.outbox.claim("d-3", hours(9), hours(10), 5) == []
            assert uow.outbox.pending(5) == []

    def test_a_retry_waits_for_its_due_time(self) -> None:
        with self.uow() as uow:
            uow.outbox.add(a_message("msg-1"), NOON)
            uow.outbox.claim("d-1", NOON, hours(1), 5)
            assert uow.outbox.mark_retry("msg-1", "d-1", "SMTP 451: try again later", hours(2))
            uow.commit()
        with self.uow() as uow:
            item = uow.outbox.get("msg-1")
            assert item is not None
            assert (item.state, item.due_at, item.attempts, item.last_error) == (
                OutboxState.QUEUED,
                hours(2),
                1,
                "SMTP 451: try again later",
            )
            assert (item.claimed_by, item.lease_until, item.sent_at) == (None, None, None)
            assert uow.outbox.claim("d-2", hours(1.9), hours(3), 5) == []
            assert [i.message.id for i in uow.outbox.claim("d-2", hours(2), hours(3), 5)] == [
                "msg-1"
            ]

    def test_failed_messages_are_listed_per_institution_and_queued_again(self) -> None:
        with self.uow() as uow:
            uow.outbox.add(a_message("msg-b"), hours(1))
            uow.outbox.add(a_message("msg-a"), hours(1))
            uow.outbox.add(a_message("msg-other", institution_id="inst-lausanne"), NOON)
            uow.outbox.add(a_message("msg-host", institution_id=None), NOON)
            uow.outbox.add(a_message("msg-queued"), hours(1.5))
            for claimed in uow.outbox.claim("d-1", hours(2), hours(3), 4):
                assert uow.outbox.mark_failed(claimed.message.id, "d-1", "550 No such user")
            uow.commit()
        with self.uow() as uow:
            failed = uow.outbox.failed(INSTITUTION, 10)
            assert [i.message.id for i in failed] == ["msg-a", "msg-b"]
            assert {(i.state, i.last_error, i.attempts) for i in failed} == {
                (OutboxState.FAILED, "550 No such user", 1)
            }
            assert [i.message.id for i in uow.outbox.failed(INSTITUTION, 1)] == ["msg-a"]
            assert [i.message.id for i in uow.outbox.failed("inst-lausanne", 10)] == ["msg-other"]
            assert [i.message.id for i in uow.outbox.failed(None, 10)] == ["msg-host"]
            # Failed is final for dispatchers: never claimed again.
            assert [i.message.id for i in uow.outbox.claim("d-2", hours(50), hours(51), 9)] == [
                "msg-queued"
            ]
            assert not uow.outbox.requeue("msg-queued", hours(3))
            assert not uow.outbox.requeue("msg-none", hours(3))
            assert uow.outbox.requeue("msg-a", hours(3))
            uow.commit()
        with self.uow() as uow:
            item = uow.outbox.get("msg-a")
            assert item is not None
            assert (item.state, item.due_at, item.attempts, item.last_error) == (
                OutboxState.QUEUED,
                hours(3),
                0,
                "550 No such user",
            )
            assert [i.message.id for i in uow.outbox.failed(INSTITUTION, 10)] == ["msg-b"]
            assert [i.message.id for i in uow.outbox.claim("d-3", hours(3), hours(4), 9)] == [
                "msg-a"
            ]

    def test_a_claim_not_committed_claims_nothing(self) -> None:
        with self.uow() as uow:
            uow.outbox.add(a_message("msg-1"), NOON)
            uow.commit()
        with self.uow() as uow:
            assert len(uow.outbox.claim("d-1", NOON, hours(1), 5)) == 1
        with self.uow() as uow:
            item = uow.outbox.get("msg-1")
            assert item is not None and item.state is OutboxState.QUEUED
            assert [i.claimed_by for i in uow.outbox.claim("d-2", NOON, hours(1), 5)] == ["d-2"]

    # --- identity ---------------------------------------------------------------------------

    def test_none_and_empty_sets_come_back_apart(self) -> None:
        # None: every organization (performance); an empty set: none of them.
        every = an_operator("op-every", organization_ids=None)
        none = attrs.evolve(
            an_operator("op-none", organization_ids=frozenset()), permissions=frozenset()
        )
        one = an_operator("op-one", organization_ids=frozenset({ORG}))
        gates = [
            a_gate("gate-every", performance_ids=None),
            a_gate("gate-none", performance_ids=frozenset()),
            a_gate("gate-one", performance_ids=frozenset({"perf-premiere"})),
        ]
        self.given(operators=[every, none, one], gates=gates)
        with self.uow() as uow:
            for operator in (every, none, one):
                assert uow.operators.get(operator.id) == operator
                assert uow.operators.get_for_update(operator.id) == operator
            for gate in gates:
                assert uow.gates.get(gate.id) == gate
        with self.uow() as uow:
            # And back again: a set becomes None, None a set.
            for id, organizations in (("op-every", frozenset({OTHER_ORG})), ("op-one", None)):
                loaded = uow.operators.get_for_update(id)
                assert loaded is not None
                loaded.organization_ids = organizations
                uow.operators.update(loaded)
            loaded_gate = uow.gates.get_for_update("gate-every")
            assert loaded_gate is not None
            loaded_gate.performance_ids = frozenset()
            uow.gates.update(loaded_gate)
            uow.commit()
        assert self.load("operators", "op-every").organization_ids == frozenset({OTHER_ORG})
        assert self.load("operators", "op-one").organization_ids is None
        assert self.load("gates", "gate-every").performance_ids == frozenset()

    def test_identity_records_keep_their_optional_fields(self) -> None:
        locked_never = attrs.evolve(a_credential("individual:ind-elodie"), locked_until=None)
        operator_session = a_session(
            "ses-op", ActorKind.OPERATOR, OPERATOR, sales_point_id=None, revoked_at=hours(3)
        )
        used = a_login_link("link-used", sales_point_id=None)
        used.use(hours(0.2))
        revoked = an_api_key("key-gate", ActorKind.GATE, "gate-north")
        revoked.revoke(hours(4))
        self.given(
            credentials=locked_never,
            sessions=operator_session,
            login_links=used,
            api_keys=revoked,
        )
        for name, item in (
            ("credentials", locked_never),
            ("sessions", operator_session),
            ("login_links", used),
            ("api_keys", revoked),
        ):
            loaded = self.load(name, item.id)
            assert loaded == item
            assert all(moment.utcoffset() is not None for moment in _datetimes(loaded))

    def test_operators_are_found_by_email_ignoring_case_within_the_institution(self) -> None:
        self.given(
            operators=[
                an_operator(),
                an_operator("op-other", email="someone@example.ch"),
                an_operator("op-elsewhere", institution_id="inst-lausanne"),
            ]
        )
        with self.uow() as uow:
            found = uow.operators.find_by_email(INSTITUTION, "CLAIRE.rochat@example.ch")
            assert found == an_operator()
            other = uow.operators.find_by_email("inst-lausanne", "claire.rochat@EXAMPLE.CH")
            assert other is not None and other.id == "op-elsewhere"
            assert uow.operators.find_by_email(INSTITUTION, "claire@example.ch") is None
            assert uow.operators.find_by_email("inst-bern", "claire.rochat@example.ch") is None

    def test_operators_of_an_institution_and_gates_of_an_organization_by_id(self) -> None:
        self.given(
            operators=[
                an_operator("op-b", email="b@example.ch"),
                an_operator("op-c", email="c@example.ch"),
                an_operator("op-a", email="a@example.ch"),
                an_operator("op-elsewhere", institution_id="inst-lausanne"),
            ],
            gates=[a_gate("gate-b"), a_gate("gate-a"), a_gate("gate-jazz", OTHER_ORG)],
        )
        with self.uow() as uow:
            operators = uow.operators.for_institution(INSTITUTION)
            assert [o.id for o in operators] == ["op-a", "op-b", "op-c"]
            assert operators[0] == an_operator("op-a", email="a@example.ch")
            assert uow.operators.for_institution("inst-bern") == []
            assert uow.gates.for_organization(ORG) == [a_gate("gate-a"), a_gate("gate-b")]
            assert [g.id for g in uow.gates.for_organization(OTHER_ORG)] == ["gate-jazz"]
            assert uow.gates.for_organization("org-none") == []

    def test_sessions_links_and_keys_are_found_by_the_digest_of_their_token(self) -> None:
        self.given(
            sessions=[a_session("ses-1"), a_session("ses-2")],
            login_links=[a_login_link("link-1"), a_login_link("link-2")],
            api_keys=[an_api_key("key-1"), an_api_key("key-2")],
        )
        with self.uow() as uow:
            assert uow.sessions.find_by_digest(token_digest("tds_ses-2")) == a_session("ses-2")
            assert uow.login_links.find_by_digest(token_digest("tdl_link-1")) == a_login_link()
            assert uow.api_keys.find_by_digest(token_digest("tdk_key-2")) == an_api_key("key-2")
            # A digest of another kind of token, the token itself, an unknown one: nothing.
            assert uow.sessions.find_by_digest(token_digest("tdl_link-1")) is None
            assert uow.sessions.find_by_digest("tds_ses-1") is None
            assert uow.login_links.find_by_digest(token_digest("tdl_nope")) is None
            assert uow.api_keys.find_by_digest(token_digest("tds_ses-1")) is None

    def test_revoke_for_actor_revokes_the_actors_live_sessions_but_one(self) -> None:
        earlier = hours(-1)
        self.given(
            sessions=[
                a_session("ses-1"),
                a_session("ses-2", sales_point_id="sp-other"),
                a_session("ses-3", revoked_at=earlier),
                a_session("ses-4"),
                # the same id, another kind of actor; another actor
                a_session("ses-5", ActorKind.MEMBER, sales_point_id=None),
                a_session("ses-6", actor_id="ind-marc"),
            ]
        )
        with self.uow() as uow:
            revoke = uow.sessions.revoke_for_actor
            assert revoke(ActorKind.RELAY, "ind-elodie", hours(2), except_id="ses-4") == 2
            uow.commit()
        revoked = {id: self.load("sessions", id).revoked_at for id in ("ses-1", "ses-2")}
        assert revoked == {"ses-1": hours(2), "ses-2": hours(2)}
        assert self.load("sessions", "ses-3").revoked_at == earlier
        for id in ("ses-4", "ses-5", "ses-6"):
            assert self.load("sessions", id).revoked_at is None
        with self.uow() as uow:
            assert uow.sessions.revoke_for_actor(ActorKind.RELAY, "ind-elodie", hours(3)) == 1
            assert uow.sessions.revoke_for_actor(ActorKind.RELAY, "ind-elodie", hours(4)) == 0
            assert uow.sessions.revoke_for_actor(ActorKind.GATE, "ind-elodie", hours(4)) == 0
            uow.commit()
        assert self.load("sessions", "ses-4").revoked_at == hours(3)
        assert self.load("sessions", "ses-1").revoked_at == hours(2)
        assert self.load("sessions", "ses-5").revoked_at is None

    def test_revoke_for_relays_revokes_their_live_sessions_on_that_sales_point_only(
        self,
    ) -> None:
        earlier = hours(-1)
        self.given(
            sessions=[
                a_session("ses-a"),
                a_session("ses-a-elsewhere", sales_point_id="sp-other"),
                a_session("ses-b", actor_id="ind-b"),
                a_session("ses-b-revoked", actor_id="ind-b", revoked_at=earlier),
                a_session("ses-c", actor_id="ind-c"),
                a_session("ses-member", ActorKind.MEMBER),
            ]
        )
        with self.uow() as uow:
            revoke = uow.sessions.revoke_for_relays
            assert revoke(["ind-elodie", "ind-b", "ind-b"], SALES_POINT, hours(2)) == 2
            assert revoke([], SALES_POINT, hours(2)) == 0
            assert revoke({"ind-elodie"}, SALES_POINT, hours(3)) == 0
            uow.commit()
        revoked_at = {
            id: self.load("sessions", id).revoked_at
            for id in ("ses-a", "ses-a-elsewhere", "ses-b", "ses-b-revoked", "ses-c")
        }
        assert revoked_at == {
            "ses-a": hours(2),
            "ses-a-elsewhere": None,
            "ses-b": hours(2),
            "ses-b-revoked": earlier,
            "ses-c": None,
        }
        assert self.load("sessions", "ses-member").revoked_at is None

    def test_api_keys_of_an_actor_by_creation_then_id(self) -> None:
        # 06:30 at UTC-5 is after noon in Geneva (UTC+1): order by instant.
        late = datetime(2026, 3, 14, 6, 30, tzinfo=timezone(timedelta(hours=-5)))
        revoked = an_api_key("key-a", created_at=hours(1))
        revoked.revoke(hours(2))
        self.given(
            api_keys=[
                an_api_key("key-late", created_at=late),
                an_api_key("key-b"),
                revoked,
                an_api_key("key-c"),
                an_api_key("key-gate", ActorKind.GATE, OPERATOR),
                an_api_key("key-other", actor_id="op-other"),
            ]
        )
        with self.uow() as uow:
            keys = uow.api_keys.for_actor(ActorKind.OPERATOR, OPERATOR)
            assert [k.id for k in keys] == ["key-b", "key-c", "key-late", "key-a"]
            assert keys[-1] == revoked
            assert [k.id for k in uow.api_keys.for_actor(ActorKind.GATE, OPERATOR)] == ["key-gate"]
            assert uow.api_keys.for_actor(ActorKind.GATE, "gate-none") == []

    def test_identity_queries_see_the_unit_of_works_own_staged_writes(self) -> None:
        with self.uow() as uow:
            uow.operators.add(an_operator())
            uow.gates.add(a_gate())
            uow.sessions.add(a_session())
            uow.login_links.add(a_login_link())
            uow.api_keys.add(an_api_key())
            assert uow.operators.find_by_email(INSTITUTION, "claire.rochat@example.ch") == (
                an_operator()
            )
            assert uow.operators.for_institution(INSTITUTION) == [an_operator()]
            assert uow.gates.for_organization(ORG) == [a_gate()]
            assert uow.sessions.find_by_digest(token_digest("tds_ses-1")) == a_session()
            assert uow.login_links.find_by_digest(token_digest("tdl_link-1")) == a_login_link()
            assert uow.api_keys.for_actor(ActorKind.OPERATOR, OPERATOR) == [an_api_key()]
            assert uow.sessions.revoke_for_actor(ActorKind.RELAY, "ind-elodie", hours(1)) == 1
            session = uow.sessions.get("ses-1")
            assert session is not None and session.revoked_at == hours(1)
            assert uow.sessions.revoke_for_relays(["ind-elodie"], SALES_POINT, hours(2)) == 0

    def test_identity_changes_left_uncommitted_are_rolled_back(self) -> None:
        stored = {name: SAMPLES[name]() for name in IDENTITY}
        self.given(**stored)
        with self.uow() as uow:
            for name in IDENTITY:
                repository = getattr(uow, name)
                item = repository.get_for_update(stored[name].id)
                CHANGES[name](item)
                repository.update(item)
            uow.operators.add(an_operator("op-new", email="new@example.ch"))
            uow.gates.add(a_gate("gate-new"))
            uow.credentials.add(a_credential("individual:ind-new"))
            uow.sessions.add(a_session("ses-new"))
            uow.login_links.add(a_login_link("link-new"))
            uow.api_keys.add(an_api_key("key-new"))
            uow.sessions.revoke_for_actor(ActorKind.RELAY, "ind-elodie", hours(5))
            uow.sessions.revoke_for_relays(["ind-elodie"], SALES_POINT, hours(5))
        for name in IDENTITY:
            assert self.load(name, stored[name].id) == stored[name]
        for name, id in (
            ("operators", "op-new"),
            ("gates", "gate-new"),
            ("credentials", "individual:ind-new"),
            ("sessions", "ses-new"),
            ("login_links", "link-new"),
            ("api_keys", "key-new"),
        ):
            assert self.load(name, id) is None
        with self.uow() as uow:
            assert uow.sessions.find_by_digest(token_digest("tds_ses-new")) is None
            assert uow.operators.find_by_email(INSTITUTION, "new@example.ch") is None
            assert uow.api_keys.for_actor(ActorKind.OPERATOR, OPERATOR) == [an_api_key()]

    # --- concurrency ------------------------------------------------------------------------

    def _parallel_only(self) -> None:
        if not self.runs_units_of_work_in_parallel:
            pytest.skip("this adapter does not run units of work in parallel")

    def test_concurrent_sales_never_exceed_the_quota(self) -> None:
        self._parallel_only()
        capacity, buyers = 5, self.parallel_workers + 4
        self.given(quotas=a_quota("quota-race", "perf-race", capacity))
        start = threading.Barrier(buyers, timeout=30)

        def buy(n: int) -> bool:
            start.wait()

            def attempt() -> bool:
                with self.uow() as uow:
                    quota = uow.quotas.get_for_update("quota-race")
                    assert quota is not None
                    sold = uow.tickets.sold_places("perf-race", [SALES_POINT])
                    time.sleep(0.002)  # widen the window a missing lock would let through
                    if sold >= quota.capacity:
                        return False
                    uow.tickets.add(a_ticket(f"tkt-race-{n}", performance_id="perf-race"))
                    uow.commit()
                    return True

            return _retrying(attempt)

        assert sum(_in_threads(buyers, buy)) == capacity
        with self.uow() as uow:
            assert uow.tickets.sold_places("perf-race", None) == capacity

    def test_concurrent_charges_never_take_an_account_over_its_limit(self) -> None:
        self._parallel_only()
        buyers = self.parallel_workers
        account = HoldingAccount("acc-race", ORG, STRUCTURE, CHF, credit_limit=chf("250.00"))
        self.given(accounts=account)
        start = threading.Barrier(buyers, timeout=30)

        def order(n: int) -> bool:
            start.wait()

            def attempt() -> bool:
                with self.uow() as uow:
                    locked = uow.accounts.for_structure_for_update(ORG, STRUCTURE)
                    assert locked is not None
                    try:
                        locked.charge(f"ord-race-{n}", chf("100.00"), hours(n))
                    except CreditLimitExceededError:
                        return False
                    time.sleep(0.002)
                    uow.accounts.update(locked)
                    uow.commit()
                    return True

            return _retrying(attempt)

        assert sum(_in_threads(buyers, order)) == 2
        stored = self.load("accounts", "acc-race")
        assert stored.outstanding == chf("200.00")
        assert stored.entry_count == 2
        with self.uow() as uow:
            ledger = uow.accounts.ledger("acc-race")
        assert [e.sequence for e in ledger] == [1, 2]
        assert Money.sum((e.amount for e in ledger), CHF) == chf("200.00")

    def test_concurrent_invoices_get_gapless_numbers(self) -> None:
        self._parallel_only()
        workers = self.parallel_workers
        start = threading.Barrier(workers, timeout=30)

        def invoice(n: int) -> int:
            start.wait()

            def attempt() -> int:
                with self.uow() as uow:
                    sequence = uow.invoice_sequences.get_for_update(ORG)
                    number = sequence.next()
                    time.sleep(0.002)
                    uow.invoices.add(an_invoice(f"inv-race-{n}", number))
                    uow.invoice_sequences.update(sequence)
                    uow.commit()
                    return number

            return _retrying(attempt)

        numbers = _in_threads(workers, invoice)
        assert sorted(numbers) == list(range(1, workers + 1))
        with self.uow() as uow:
            assert uow.invoices.numbers(ORG) == list(range(1, workers + 1))

    def test_relays_distributing_from_one_stock_at_once_never_take_a_ticket_twice(self) -> None:
        self._parallel_only()
        relays, each, stock = self.parallel_workers, 2, 9
        self.given(tickets=[a_held_ticket(f"tkt-{n:02}") for n in range(stock)])
        bought = (TicketState.BOUGHT,)
        start = threading.Barrier(relays, timeout=30)

        def distribute(n: int) -> list[str]:
            start.wait()

            # No retry: a relay waits for the tickets another one locked, then takes the next
            # ones; a stale version (ConcurrencyError) would mean they were not locked.
            with self.uow() as uow:
                tickets = uow.tickets.in_custody(
                    ORG, STRUCTURE, bought, limit=each, for_update=True
                )
                if len(tickets) < each:
                    return []
                time.sleep(0.002)  # widen the window a missing lock would let through
                for ticket in tickets:
                    ticket.assign(f"ind-{n}")
                    uow.tickets.update(ticket)
                uow.commit()
                return [t.id for t in tickets]

        taken = [ids for ids in _in_threads(relays, distribute) if ids]
        # Every relay that found enough in stock got tickets of its own, until too few remained.
        assert len(taken) == stock // each
        assert sorted(id for ids in taken for id in ids) == sorted(set().union(*taken))
        with self.uow() as uow:
            left = uow.tickets.in_custody(ORG, STRUCTURE, bought)
            assert len(left) == stock % each
            holders = uow.tickets.holder_counts(ORG)
            assert sorted(h.count for h in holders) == [each] * len(taken)

    def test_gates_scanning_one_barcode_at_once_admit_it_once(self) -> None:
        self._parallel_only()
        gates = self.parallel_workers
        self.given(
            sales_points=a_sales_point(),
            products=a_product(),
            orders=an_order(),
            tickets=a_printed_ticket("tkt-1"),
        )
        start = threading.Barrier(gates, timeout=30)

        def scan(n: int) -> bool:
            start.wait()
            # No retry: a gate waits for the ticket another one locked, then finds it
            # controlled; a stale version (ConcurrencyError) would mean it was not locked.
            with self.uow() as uow:
                scanned = uow.tickets.for_scan("tkt-1-LIVE")
                assert scanned is not None
                if scanned.ticket.state is not TicketState.PRINTED:
                    return False
                time.sleep(0.002)  # widen the window a missing lock would let through
                scanned.ticket.control(NOON, f"Gate {n}")
                uow.tickets.update(scanned.ticket)
                uow.commit()
                return True

        assert sum(_in_threads(gates, scan)) == 1
        assert self.load("tickets", "tkt-1").state is TicketState.CONTROLLED

    def test_concurrent_dispatchers_never_claim_a_message_twice(self) -> None:
        self._parallel_only()
        with self.uow() as uow:
            for n in range(30):
                uow.outbox.add(a_message(f"msg-{n:02}"), hours(n % 5))
            uow.commit()
        sent: list[str] = []
        lock = threading.Lock()
        dispatchers = 4
        start = threading.Barrier(dispatchers, timeout=30)

        def dispatch(n: int) -> None:
            me = f"d-{n}"
            start.wait()
            while True:

                def claim() -> list[OutboxItem]:
                    with self.uow() as uow:
                        items = uow.outbox.claim(me, hours(10), hours(11), 3)
                        time.sleep(0.001)  # widen the window a missing lock would let through
                        uow.commit()
                    return items

                items = _retrying(claim)
                if not items:
                    return
                for item in items:
                    time.sleep(0.001)  # sending, with no unit of work open

                    def mark(id: str = item.message.id) -> bool:
                        with self.uow() as uow:
                            marked = uow.outbox.mark_sent(id, me, hours(10))
                            uow.commit()
                        return marked

                    assert _retrying(mark)
                    with lock:
                        sent.append(item.message.id)

        _in_threads(dispatchers, dispatch)
        assert sorted(sent) == [f"msg-{n:02}" for n in range(30)]
        with self.uow() as uow:
            assert uow.outbox.pending(50) == []
