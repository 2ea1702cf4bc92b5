"""Every command against every actor: allowed or refused as the table says (issue 7).

The table holds an example of every command type ``TicketDomain.command_types()`` lists (a test
fails when one has no row). Each example runs as each actor of ``ACTORS`` on a world where every
resource it names exists. An actor the row allows must not be refused for who it is (the command
may still refuse the example by its own rules: a function switched off, a stock too small); the
first allowed actor must succeed outright. Every other actor must get an ``AuthorizationError``
(``SessionInvalidError`` for a dead token, ``ActorNotAllowedError`` for the wrong kind of actor,
``PermissionMissingError`` for an operator without the permission) or a ``NotFoundError`` (what
is another's is reported as unknown), and the refusal must change nothing.

This is the authorization logic under test: it runs on the in-memory storage only (the storage
adapters are held to the same behaviour by the contract suites).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from support.agency import Agency, set_up_agency
from support.corporate import Corporate, set_up_corporate
from support.identity import link_token, tampered
from support.state import observed
from ticketdomain import (
    ActorKind,
    AuthorizationError,
    AuthorizeStructure,
    CancelOrder,
    ChangePassword,
    ChannelKind,
    ConfirmReservation,
    ContactDetails,
    ContactRole,
    CreateActivity,
    CreateApiKey,
    CreateIndividual,
    CreateOperator,
    CreateOrganization,
    CreatePerformance,
    CreateProduct,
    CreateQuota,
    CreateSalesChannel,
    CreateSalesPoint,
    CreateStructure,
    CreateTariff,
    DeclineOption,
    DispatchMail,
    DistributeToMember,
    DistributeToSubStructure,
    ExportBeneficiaries,
    ExportStock,
    Function,
    GrantOption,
    ImportDistribution,
    IssueInvoice,
    LineRequest,
    ListDistributedTickets,
    ListFailedMail,
    ListInvoices,
    ListMemberTickets,
    ListOperators,
    ListOrders,
    ListReservations,
    LoginMember,
    LoginOperator,
    LoginRelay,
    LoginWithLink,
    Logout,
    Money,
    NotFoundError,
    PaymentMethod,
    Permission,
    PlaceOrder,
    PlaceOrderForStructure,
    PlaceReservation,
    PrintAtOnce,
    PrintMemberTickets,
    PrintTickets,
    ProcessDueExpiries,
    ProductConditions,
    ReclaimFromSubStructure,
    ReclaimTickets,
    RecordPayment,
    RegisterGate,
    ReleaseReservation,
    RemoveOperator,
    RemoveRelay,
    RenderDashboard,
    RenderInvoice,
    RenderSalesReport,
    RequestLoginLink,
    RequestOption,
    RequeueMail,
    RevokeApiKey,
    RevokeGate,
    RevokeStructure,
    ScanTicket,
    SearchContacts,
    SearchMembers,
    SecurityPolicy,
    SessionView,
    SetAdmissionPolicy,
    SetCatalogProfile,
    SetContactLanguage,
    SetCreditLimit,
    SetMarketingConsent,
    SetMyLanguage,
    SetOperatorPermissions,
    SetOrganizationBillingDetails,
    SetOrganizationLanguage,
    SetSalesPointFunctions,
    SetStructureBillingDetails,
    TicketDomain,
    TicketDomainError,
    TransferTickets,
    ViewCatalog,
    ViewDashboard,
    ViewHoldingAccount,
    ViewOrder,
    ViewSalesReport,
    ViewStock,
)
from ticketdomain.core.contacts import Email
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    DeliveryModeNotAllowedError,
    FunctionDisabledError,
    LoginFailedError,
    PermissionMissingError,
    RendererMissingError,
    SalesPointAccessDeniedError,
    SessionInvalidError,
    StockInsufficientError,
)
from ticketdomain.core.identity import ALL_PERMISSIONS, API_KEY_PREFIX, SESSION_PREFIX, Rule
from ticketdomain.core.mail import MailMessage
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain.testing.memory import InMemoryStorage

PASSWORD = "correct horse battery"

#: sessions of a day: the set-up's own sessions (opened a day and an hour before the table
#: runs) have expired, the actors' (opened two hours before) have not
TABLE_POLICY = SecurityPolicy(
    session_lifetime=timedelta(days=1),
    session_idle=timedelta(days=1),
    invitation_link_lifetime=timedelta(days=30),
)

# --- the actors -------------------------------------------------------------------------------

OPERATOR = "operator"
WITHOUT = "operator without the permission"
SCOPED = "operator of another organization"
FOREIGN = "operator of another institution"
RELAY = "relay"
SUB_RELAY = "sub-structure relay"
OTHER_RELAY = "another structure's relay"
FOREIGN_RELAY = "relay of another institution"
REVOKED_RELAY = "revoked relay"
MEMBER = "member"
OTHER_MEMBER = "another member"
GATE = "gate"
EXPIRED = "expired token"
LOGGED_OUT = "revoked token"
UNKNOWN = "unknown token"
TAMPERED = "tampered token"

ACTORS = (
    OPERATOR,
    WITHOUT,
    SCOPED,
    FOREIGN,
    RELAY,
    SUB_RELAY,
    OTHER_RELAY,
    FOREIGN_RELAY,
    REVOKED_RELAY,
    MEMBER,
    OTHER_MEMBER,
    GATE,
    EXPIRED,
    LOGGED_OUT,
    UNKNOWN,
    TAMPERED,
)

KIND_OF = {
    OPERATOR: ActorKind.OPERATOR,
    WITHOUT: ActorKind.OPERATOR,
    SCOPED: ActorKind.OPERATOR,
    FOREIGN: ActorKind.OPERATOR,
    RELAY: ActorKind.RELAY,
    SUB_RELAY: ActorKind.RELAY,
    OTHER_RELAY: ActorKind.RELAY,
    FOREIGN_RELAY: ActorKind.RELAY,
    MEMBER: ActorKind.MEMBER,
    OTHER_MEMBER: ActorKind.MEMBER,
    GATE: ActorKind.GATE,
}

#: tokens that open nothing, whoever they were
DEAD = frozenset({REVOKED_RELAY, EXPIRED, LOGGED_OUT, UNKNOWN, TAMPERED})

#: the actor whose dead tokens (expired, revoked, tampered) a row of a kind uses
MAIN = {
    ActorKind.OPERATOR: OPERATOR,
    ActorKind.RELAY: RELAY,
    ActorKind.MEMBER: MEMBER,
    ActorKind.GATE: GATE,
}

# --- the world every row runs in ----------------------------------------------------------


def chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


@attrs.define
class Fixture:
    """A works council's institution (``corp``), another institution (``agency``), and the
    resources and tokens the examples name."""

    world: FakeWorld
    corp: Corporate
    agency: Agency
    theatre_id: str
    channel_id: str
    dormant_id: str
    dora_id: str
    ann_id: str
    order_id: str
    spare_order_id: str
    #: an order of the other institution's hotel
    agency_order_id: str
    marc_ticket_id: str
    marc_barcode: str
    option_id: str
    reservation_id: str
    clerk_id: str
    clerk_key_id: str
    south_gate_id: str
    sheet: bytes
    tokens: dict[str, str]
    #: an operator with every permission but this one
    lacking: dict[Permission, str]
    expired: dict[ActorKind, str]
    logged_out: dict[ActorKind, str]
    #: a mail of the works council's institution the outbox gave up on
    bounced_mail_id: str = "mail-bounced"
    #: an invoice of the club's (the fixture's world has no document renderer)
    club_invoice_id: str = ""

    @property
    def domain(self) -> TicketDomain:
        return self.world.domain

    def token(self, actor: str, row: Row) -> str:
        """The token ``actor`` sends for ``row``."""
        main = MAIN[row.main_kind]
        if actor == WITHOUT:
            permission = row.rule.permission
            return self.lacking[permission] if permission else self.tokens[WITHOUT]
        if actor == EXPIRED:
            return self.expired[row.main_kind]
        if actor == LOGGED_OUT:
            return self.logged_out[row.main_kind]
        if actor == UNKNOWN:
            prefix = API_KEY_PREFIX if row.main_kind is ActorKind.GATE else SESSION_PREFIX
            return prefix + "token999999"
        if actor == TAMPERED:
            return tampered(self.tokens[main])
        return self.tokens[actor]


def lines(corp: Corporate, quantity: int = 1) -> tuple[LineRequest, ...]:
    return (LineRequest(corp.performance_id, corp.tariff_id, quantity),)


def filled_sheet(content: str) -> bytes:
    """The stock sheet with its first ticket given to a new member."""
    rows = list(csv.reader(io.StringIO(content)))
    header, first = rows[0], rows[1]
    first[5:8] = ["Zoe", "Brun", "zoe@nestor.ch"]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, first])
    return buffer.getvalue().encode("utf-8")


def build_fixture() -> Fixture:
    """Set up both institutions at the start, open the actors' sessions 23 hours later and run
    the table two hours after that (so the set-up's own sessions have expired)."""
    world = build_fake_world(InMemoryStorage(), security=TABLE_POLICY)
    d = world.domain
    corp = set_up_corporate(world)
    agency = set_up_agency(world)
    op, nina = corp.operator, corp.nina

    theatre = d.handle(CreateOrganization(op, "Theatre", "CHF"))
    channel = d.handle(CreateSalesChannel(op, "Kiosk", ChannelKind.BOX_OFFICE))

    def operator(
        email: str,
        permissions: frozenset[Permission],
        organizations: frozenset[str] | None = None,
    ) -> str:
        made = d.handle(CreateOperator(op, "Otto", "Staff", email, permissions, organizations))
        return str(made.id)

    scoped_id = operator("scoped@riviera.ch", ALL_PERMISSIONS, frozenset({theatre.id}))
    lacking_ids = {
        permission: operator(f"no-{permission.value}@riviera.ch", ALL_PERMISSIONS - {permission})
        for permission in Permission
    }
    nobody_id = operator("nobody@riviera.ch", frozenset())
    clerk_id = operator(
        "clerk@riviera.ch", frozenset({Permission.SALES}), frozenset({corp.organization_id})
    )
    clerk_key = d.handle(CreateApiKey(op, clerk_id, "script"))
    south = d.handle(RegisterGate(op, corp.organization_id, "South gate"))
    east = d.handle(RegisterGate(op, corp.organization_id, "East gate"))
    west = d.handle(RegisterGate(op, corp.organization_id, "West gate"))
    dormant = d.handle(CreateStructure(op, "Dormant club"))
    dora = d.handle(
        CreateIndividual(op, "Dora", "Sleep", "dora@dormant.ch", dormant.id, ContactRole.RELAY)
    )
    d.handle(AuthorizeStructure(op, corp.sales_point_id, dormant.id))
    ann = d.handle(
        CreateIndividual(
            op, "Ann", "Other", "ann@acme.ch", corp.other_company_id, ContactRole.MEMBER
        )
    )
    # The other institution's relay may distribute too: its refusals are about whose data.
    d.handle(
        SetSalesPointFunctions(
            agency.operator,
            agency.sales_point_id,
            frozenset(Function),
        )
    )

    order = corp.buy(4)
    spare = corp.buy(2)
    corp.buy_by_phone(1, corp.club_id)
    club_invoice = d.handle(IssueInvoice(op, corp.organization_id, corp.club_id))
    to_marc = d.handle(
        DistributeToMember(nina, corp.performance_id, corp.product_id, 1, member_id=corp.marc_id)
    )
    [marc_ticket_id] = to_marc.ticket_ids
    [marc_barcode] = [
        ticket.barcode
        for ticket in d.handle(ViewOrder(nina, order.id)).tickets
        if ticket.id == marc_ticket_id
    ]
    d.handle(DistributeToSubStructure(nina, corp.performance_id, corp.product_id, 1, corp.club_id))
    option = d.handle(RequestOption(nina, lines(corp)))
    reservation = d.handle(PlaceReservation(nina, lines(corp)))
    sheet = filled_sheet(d.handle(ExportStock(nina)).content)
    agency_order = d.handle(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 1),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    d.handle(RevokeApiKey(op, east.key.key_id))
    # Passwords for the public rows (setting one ends the person's sessions: done before).
    for kind, person in [
        (ActorKind.OPERATOR, corp.operator_id),
        (ActorKind.RELAY, corp.nina_id),
        (ActorKind.RELAY, dora.id),
        (ActorKind.MEMBER, corp.marc_id),
        (ActorKind.RELAY, agency.alice_id),
    ]:
        d.host.set_password(kind, person, PASSWORD)
    olga_welcome = link_token(world.storage, "olga@acme.ch")
    d.handle(LoginWithLink(olga_welcome, sales_point_id=corp.sales_point_id))
    expired = {
        ActorKind.OPERATOR: d.host.open_session(ActorKind.OPERATOR, corp.operator_id).token,
        ActorKind.RELAY: d.host.open_session(
            ActorKind.RELAY, corp.nina_id, sales_point_id=corp.sales_point_id
        ).token,
        ActorKind.MEMBER: d.host.open_session(ActorKind.MEMBER, corp.marc_id).token,
        # An API key does not expire: a revoked key stands for the dead one.
        ActorKind.GATE: east.key.token,
    }

    world.clock.advance(timedelta(hours=23))

    def session(kind: ActorKind, actor_id: str, sales_point_id: str | None = None) -> str:
        return d.host.open_session(kind, actor_id, sales_point_id=sales_point_id).token

    sp = corp.sales_point_id
    tokens = {
        OPERATOR: session(ActorKind.OPERATOR, corp.operator_id),
        WITHOUT: session(ActorKind.OPERATOR, nobody_id),
        SCOPED: session(ActorKind.OPERATOR, scoped_id),
        FOREIGN: session(ActorKind.OPERATOR, agency.operator_id),
        RELAY: session(ActorKind.RELAY, corp.nina_id, sp),
        SUB_RELAY: session(ActorKind.RELAY, corp.sam_id, sp),
        OTHER_RELAY: session(ActorKind.RELAY, corp.olga_id, sp),
        FOREIGN_RELAY: session(ActorKind.RELAY, agency.alice_id, agency.sales_point_id),
        REVOKED_RELAY: session(ActorKind.RELAY, dora.id, sp),
        MEMBER: session(ActorKind.MEMBER, corp.marc_id),
        OTHER_MEMBER: session(ActorKind.MEMBER, ann.id),
        GATE: corp.gate,
    }
    lacking = {
        permission: session(ActorKind.OPERATOR, operator_id)
        for permission, operator_id in lacking_ids.items()
    }
    logged_out = {
        ActorKind.OPERATOR: session(ActorKind.OPERATOR, corp.operator_id),
        ActorKind.RELAY: session(ActorKind.RELAY, corp.nina_id, sp),
        ActorKind.MEMBER: session(ActorKind.MEMBER, corp.marc_id),
        ActorKind.GATE: west.key.token,
    }
    for kind in (ActorKind.OPERATOR, ActorKind.RELAY, ActorKind.MEMBER):
        d.handle(Logout(logged_out[kind]))
    d.handle(RevokeGate(tokens[OPERATOR], west.gate.id))
    d.handle(RevokeStructure(tokens[OPERATOR], sp, dormant.id))

    world.clock.advance(timedelta(hours=2))
    bounce(world, corp.institution_id, "mail-bounced")
    return Fixture(
        world=world,
        corp=corp,
        agency=agency,
        theatre_id=theatre.id,
        channel_id=channel.id,
        dormant_id=dormant.id,
        dora_id=dora.id,
        ann_id=ann.id,
        order_id=order.id,
        spare_order_id=spare.id,
        agency_order_id=agency_order.id,
        marc_ticket_id=marc_ticket_id,
        marc_barcode=str(marc_barcode),
        option_id=option.id,
        reservation_id=reservation.id,
        clerk_id=clerk_id,
        clerk_key_id=clerk_key.key_id,
        south_gate_id=south.gate.id,
        sheet=sheet,
        tokens=tokens,
        lacking=lacking,
        expired=expired,
        logged_out=logged_out,
        club_invoice_id=club_invoice.id,
    )


def bounce(world: FakeWorld, institution_id: str, mail_id: str) -> None:
    """Queue a mail before any other and have the outbox give it up, refused for good."""
    queued_at = world.clock.now() - timedelta(days=30)
    message = MailMessage(
        mail_id, Email("gone@nestor.ch"), "Hello", "Text", institution_id=institution_id
    )
    with world.storage.unit_of_work() as uow:
        uow.outbox.add(message, queued_at)
        (claimed,) = uow.outbox.claim("fixture", queued_at, world.clock.now(), 1)
        assert claimed.message.id == mail_id
        uow.outbox.mark_failed(mail_id, "fixture", "550 No such user")
        uow.commit()


# --- the table ----------------------------------------------------------------------------------

Example = Callable[[Fixture, str], object]

RELAYS = frozenset({RELAY, SUB_RELAY, OTHER_RELAY, FOREIGN_RELAY})
#: relays of the institution (the example names its catalog, not a structure's own data)
OWN_RELAYS = frozenset({RELAY, SUB_RELAY, OTHER_RELAY})
MEMBERS = frozenset({MEMBER, OTHER_MEMBER})
SESSIONS = frozenset({OPERATOR, WITHOUT, SCOPED, FOREIGN}) | RELAYS | MEMBERS


@attrs.frozen
class Row:
    """One example of a command, who may run it, and what its first allowed actor gets."""

    command: type[Any]
    example: Example
    allowed: frozenset[str]
    name: str = ""
    #: the first allowed actor's answer when the example is refused by the command's own rule
    main_error: type[TicketDomainError] | None = None

    @property
    def rule(self) -> Rule:
        rule = self.command.rule
        assert isinstance(rule, Rule)
        return rule

    @property
    def main_kind(self) -> ActorKind:
        for kind in (ActorKind.OPERATOR, ActorKind.RELAY, ActorKind.MEMBER, ActorKind.GATE):
            if kind in self.rule.actors:
                return kind
        raise AssertionError(f"{self.command.__name__} names no actor kind")

    @property
    def id(self) -> str:
        return self.name or self.command.__name__


def row(
    command: type[Any],
    example: Example,
    allowed: frozenset[str] | set[str] | None = None,
    *,
    name: str = "",
    main_error: type[TicketDomainError] | None = None,
) -> Row:
    if allowed is None:
        kind = command.rule.actors
        allowed = {
            OPERATOR if ActorKind.OPERATOR in kind else "",
            RELAY if ActorKind.RELAY in kind else "",
            MEMBER if ActorKind.MEMBER in kind else "",
            GATE if ActorKind.GATE in kind else "",
        } - {""}
    return Row(command, example, frozenset(allowed), name, main_error)


ORGANIZATION_WIDE = {OPERATOR, FOREIGN}
INSTITUTION_LEVEL = {OPERATOR, SCOPED}
ANY_OPERATOR = {OPERATOR, SCOPED, FOREIGN}


TABLE: tuple[Row, ...] = (
    # --- set-up
    row(CreateOrganization, lambda f, t: CreateOrganization(t, "Cinema", "CHF"), ORGANIZATION_WIDE),
    row(
        CreateSalesChannel,
        lambda f, t: CreateSalesChannel(t, "Cashier", ChannelKind.BOX_OFFICE),
        ORGANIZATION_WIDE,
    ),
    row(
        CreateSalesPoint,
        lambda f, t: CreateSalesPoint(t, f.corp.organization_id, f.channel_id, "Kiosk"),
    ),
    row(
        SetSalesPointFunctions,
        lambda f, t: SetSalesPointFunctions(t, f.corp.sales_point_id, frozenset(Function)),
    ),
    row(SetAdmissionPolicy, lambda f, t: SetAdmissionPolicy(t, f.corp.sales_point_id, False)),
    row(
        SetOrganizationLanguage,
        lambda f, t: SetOrganizationLanguage(t, f.corp.organization_id, "fr"),
    ),
    row(
        AuthorizeStructure, lambda f, t: AuthorizeStructure(t, f.corp.sales_point_id, f.dormant_id)
    ),
    row(
        RevokeStructure,
        lambda f, t: RevokeStructure(t, f.corp.sales_point_id, f.corp.other_company_id),
    ),
    row(CreateActivity, lambda f, t: CreateActivity(t, f.corp.organization_id, "Hamlet")),
    row(
        CreatePerformance,
        lambda f, t: CreatePerformance(
            t, f.corp.activity_id, f.world.clock.now() + timedelta(days=40), "Hall", 50
        ),
    ),
    row(CreateProduct, lambda f, t: CreateProduct(t, f.corp.activity_id, "Box", Decimal("0.081"))),
    row(CreateTariff, lambda f, t: CreateTariff(t, f.corp.product_id, "Student", chf("20.00"))),
    row(
        CreateQuota,
        lambda f, t: CreateQuota(
            t, f.corp.performance_id, 10, sales_point_id=f.corp.sales_point_id
        ),
    ),
    row(
        SetCatalogProfile,
        lambda f, t: SetCatalogProfile(
            t,
            f.corp.organization_id,
            frozenset({f.corp.activity_id}),
            (ProductConditions(f.corp.product_id, tariff_ids=frozenset({f.corp.tariff_id})),),
            sales_point_id=f.corp.sales_point_id,
        ),
    ),
    # Structures and contacts belong to the institution, not to one organization.
    row(
        CreateStructure,
        lambda f, t: CreateStructure(t, "Chess club", parent_id=f.corp.council_id),
        INSTITUTION_LEVEL,
    ),
    row(
        CreateIndividual,
        lambda f, t: CreateIndividual(
            t, "Eve", "New", "eve@nestor.ch", f.corp.council_id, ContactRole.MEMBER
        ),
        INSTITUTION_LEVEL,
    ),
    row(RemoveRelay, lambda f, t: RemoveRelay(t, f.corp.nina_id), INSTITUTION_LEVEL),
    row(
        SetContactLanguage,
        lambda f, t: SetContactLanguage(t, f.corp.nina_id, "de"),
        INSTITUTION_LEVEL,
    ),
    row(SetMyLanguage, lambda f, t: SetMyLanguage(t, "it"), RELAYS | MEMBERS),
    row(
        SearchContacts,
        lambda f, t: SearchContacts(t, f.corp.council_id, "n"),
        INSTITUTION_LEVEL,
    ),
    row(
        SetStructureBillingDetails,
        lambda f, t: SetStructureBillingDetails(t, f.corp.club_id, "", "", "1000", "Vevey", "CH"),
        INSTITUTION_LEVEL,
    ),
    # --- selling
    row(ViewCatalog, lambda f, t: ViewCatalog(t), RELAYS),
    row(
        PlaceOrder,
        lambda f, t: PlaceOrder(t, lines(f.corp), PaymentMethod.HOLDING_ACCOUNT),
        OWN_RELAYS,
    ),
    row(
        PlaceOrderForStructure,
        lambda f, t: PlaceOrderForStructure(
            t,
            f.corp.phone_sales_point_id,
            f.corp.council_id,
            lines(f.corp),
            PaymentMethod.HOLDING_ACCOUNT,
        ),
    ),
    row(RequestOption, lambda f, t: RequestOption(t, lines(f.corp)), OWN_RELAYS),
    row(GrantOption, lambda f, t: GrantOption(t, f.option_id)),
    row(DeclineOption, lambda f, t: DeclineOption(t, f.option_id)),
    row(PlaceReservation, lambda f, t: PlaceReservation(t, lines(f.corp)), OWN_RELAYS),
    row(ReleaseReservation, lambda f, t: ReleaseReservation(t, f.reservation_id)),
    row(
        ConfirmReservation,
        lambda f, t: ConfirmReservation(t, f.reservation_id, PaymentMethod.HOLDING_ACCOUNT),
    ),
    row(ProcessDueExpiries, lambda f, t: ProcessDueExpiries(t), ANY_OPERATOR),
    row(ListOrders, lambda f, t: ListOrders(t), RELAYS),
    row(ListReservations, lambda f, t: ListReservations(t), RELAYS),
    row(ViewOrder, lambda f, t: ViewOrder(t, f.order_id)),
    row(PrintTickets, lambda f, t: PrintTickets(t, f.spare_order_id)),
    row(
        TransferTickets,
        lambda f, t: TransferTickets(
            t, f.spare_order_id, ContactDetails("Carl", "Client", "carl@client.ch")
        ),
        main_error=DeliveryModeNotAllowedError,
    ),
    # --- holding accounts and invoices
    row(
        ViewHoldingAccount,
        lambda f, t: ViewHoldingAccount(t, f.corp.organization_id, f.corp.council_id),
    ),
    row(
        SetCreditLimit,
        lambda f, t: SetCreditLimit(
            t, f.corp.organization_id, f.corp.council_id, chf("1000000000.00")
        ),
    ),
    row(IssueInvoice, lambda f, t: IssueInvoice(t, f.corp.organization_id, f.corp.council_id)),
    row(ListInvoices, lambda f, t: ListInvoices(t, f.corp.organization_id, f.corp.council_id)),
    row(
        RecordPayment,
        lambda f, t: RecordPayment(
            t, f.corp.organization_id, f.corp.council_id, chf("10.00"), "Bank 1"
        ),
    ),
    row(CancelOrder, lambda f, t: CancelOrder(t, f.spare_order_id)),
    row(
        RenderInvoice,
        lambda f, t: RenderInvoice(t, f.club_invoice_id),
        main_error=RendererMissingError,
    ),
    row(
        SetOrganizationBillingDetails,
        lambda f, t: SetOrganizationBillingDetails(
            t, f.corp.organization_id, "Rue du Lac", "1", "1000", "Lausanne", "CH"
        ),
    ),
    # --- report and mail
    row(
        ViewSalesReport,
        lambda f, t: ViewSalesReport(t),
        RELAYS,
        main_error=FunctionDisabledError,
    ),
    # One outbox per deployment: any operator who may set up sends what is queued.
    row(DispatchMail, lambda f, t: DispatchMail(t), ANY_OPERATOR),
    # Failed mail is the institution's: an operator of every organization of it.
    row(ListFailedMail, lambda f, t: ListFailedMail(t), ORGANIZATION_WIDE),
    row(RequeueMail, lambda f, t: RequeueMail(t, f.bounced_mail_id)),
    # --- corporate space
    row(ViewStock, lambda f, t: ViewStock(t), RELAYS),
    row(
        ViewStock,
        lambda f, t: ViewStock(t, f.corp.club_id),
        {RELAY, SUB_RELAY},
        name="ViewStock of a sub-structure",
    ),
    row(
        ViewStock,
        lambda f, t: ViewStock(t, f.corp.council_id),
        name="ViewStock of the parent structure",
    ),
    row(ViewDashboard, lambda f, t: ViewDashboard(t), RELAYS),
    row(
        RenderDashboard,
        lambda f, t: RenderDashboard(t),
        RELAYS,
        main_error=RendererMissingError,
    ),
    row(
        RenderSalesReport,
        lambda f, t: RenderSalesReport(t),
        RELAYS,
        main_error=FunctionDisabledError,
    ),
    row(SearchMembers, lambda f, t: SearchMembers(t, "a"), RELAYS),
    row(
        DistributeToMember,
        lambda f, t: DistributeToMember(
            t, f.corp.performance_id, f.corp.product_id, 1, member_id=f.corp.marc_id
        ),
    ),
    row(
        DistributeToSubStructure,
        lambda f, t: DistributeToSubStructure(
            t, f.corp.performance_id, f.corp.product_id, 1, f.corp.club_id
        ),
    ),
    row(
        PrintAtOnce,
        lambda f, t: PrintAtOnce(t, f.corp.performance_id, f.corp.product_id, 1),
        OWN_RELAYS,
    ),
    row(ExportStock, lambda f, t: ExportStock(t), RELAYS),
    row(ImportDistribution, lambda f, t: ImportDistribution(t, f.sheet), RELAYS),
    row(ListDistributedTickets, lambda f, t: ListDistributedTickets(t), RELAYS),
    row(ReclaimTickets, lambda f, t: ReclaimTickets(t, (f.marc_ticket_id,))),
    row(
        ReclaimFromSubStructure,
        lambda f, t: ReclaimFromSubStructure(
            t, f.corp.club_id, f.corp.performance_id, f.corp.product_id, 1
        ),
    ),
    # --- individual space
    row(ListMemberTickets, lambda f, t: ListMemberTickets(t), MEMBERS),
    row(PrintMemberTickets, lambda f, t: PrintMemberTickets(t, (f.marc_ticket_id,))),
    row(SetMarketingConsent, lambda f, t: SetMarketingConsent(t, True), MEMBERS),
    # --- access control and beneficiaries
    row(ScanTicket, lambda f, t: ScanTicket(t, f.corp.performance_id, f.marc_barcode)),
    row(ExportBeneficiaries, lambda f, t: ExportBeneficiaries(t, f.corp.organization_id)),
    # --- identity
    row(Logout, lambda f, t: Logout(t), SESSIONS),
    row(
        ChangePassword,
        lambda f, t: ChangePassword(t, "a brand new password", current_password=PASSWORD),
        SESSIONS,
    ),
    row(
        CreateOperator,
        lambda f, t: CreateOperator(
            t,
            "Vera",
            "New",
            "vera@riviera.ch",
            frozenset({Permission.SALES}),
            frozenset({f.corp.organization_id}),
        ),
    ),
    row(
        SetOperatorPermissions,
        lambda f, t: SetOperatorPermissions(
            t,
            f.clerk_id,
            frozenset({Permission.SALES, Permission.ACCOUNTING}),
            frozenset({f.corp.organization_id}),
        ),
    ),
    row(RemoveOperator, lambda f, t: RemoveOperator(t, f.clerk_id)),
    row(ListOperators, lambda f, t: ListOperators(t), ANY_OPERATOR),
    row(CreateApiKey, lambda f, t: CreateApiKey(t, f.clerk_id, "another script")),
    row(RevokeApiKey, lambda f, t: RevokeApiKey(t, f.clerk_key_id)),
    row(RegisterGate, lambda f, t: RegisterGate(t, f.corp.organization_id, "Side door")),
    row(RevokeGate, lambda f, t: RevokeGate(t, f.south_gate_id)),
    # --- the cross-boundary attacks of issue 7, each refused to everyone it is not for
    row(
        AuthorizeStructure,
        lambda f, t: AuthorizeStructure(t, f.corp.sales_point_id, f.agency.hotel_id),
        set(),
        name="AuthorizeStructure of another institution's structure",
    ),
    row(
        SetCreditLimit,
        lambda f, t: SetCreditLimit(
            t, f.agency.organization_id, f.agency.hotel_id, chf("1000000000.00")
        ),
        {FOREIGN},
        name="SetCreditLimit of another institution's structure",
    ),
    row(
        RecordPayment,
        lambda f, t: RecordPayment(
            t, f.agency.organization_id, f.agency.hotel_id, chf("500.00"), "fake"
        ),
        {FOREIGN},
        name="RecordPayment for another institution's structure",
    ),
    row(
        PlaceOrderForStructure,
        lambda f, t: PlaceOrderForStructure(
            t,
            f.corp.phone_sales_point_id,
            f.agency.hotel_id,
            lines(f.corp),
            PaymentMethod.HOLDING_ACCOUNT,
        ),
        set(),
        name="PlaceOrderForStructure for another institution's structure",
    ),
    row(
        SearchContacts,
        lambda f, t: SearchContacts(t, f.agency.hotel_id, ""),
        {FOREIGN},
        name="SearchContacts of another institution's structure",
    ),
    row(
        CreateIndividual,
        lambda f, t: CreateIndividual(
            t, "Mallory", "Relay", "mallory@evil.ch", f.agency.hotel_id, ContactRole.RELAY
        ),
        {FOREIGN},
        name="CreateIndividual as a relay of another institution's structure",
    ),
    row(
        DistributeToMember,
        lambda f, t: DistributeToMember(
            t, f.corp.performance_id, f.corp.product_id, 1, member_id=f.agency.alice_id
        ),
        set(),
        name="DistributeToMember to another institution's contact",
    ),
    row(
        DistributeToMember,
        lambda f, t: DistributeToMember(
            t, f.corp.performance_id, f.corp.product_id, 1, member_id=f.ann_id
        ),
        {OTHER_RELAY},
        name="DistributeToMember to another structure's member",
        main_error=StockInsufficientError,
    ),
    row(
        ViewOrder,
        lambda f, t: ViewOrder(t, f.agency_order_id),
        {FOREIGN_RELAY},
        name="ViewOrder of another institution's order",
    ),
    row(
        CancelOrder,
        lambda f, t: CancelOrder(t, f.agency_order_id),
        {FOREIGN},
        name="CancelOrder of another institution's order",
    ),
)


def test_every_command_type_has_a_row_and_the_table_has_its_size() -> None:
    public = {cls for cls in TicketDomain.command_types() if cls.rule.public}
    covered = {item.command for item in TABLE} | {item.command for item in PUBLIC}
    missing = sorted(cls.__name__ for cls in TicketDomain.command_types() if cls not in covered)
    assert missing == [], f"command types without a row in the permissions table: {missing}"
    assert {item.command for item in PUBLIC} == public
    assert not public & {item.command for item in TABLE}
    assert len({item.id for item in TABLE}) == len(TABLE)
    assert len(ACTORS) == 16
    print(
        f"\npermissions table: {len(TABLE)} rows ({len({i.command for i in TABLE})} command "
        f"types) x {len(ACTORS)} actors = {len(TABLE) * len(ACTORS)} cases, "
        f"+ {len(PUBLIC)} rows of the {len(public)} public commands"
    )


def expected_refusal(item: Row, actor: str) -> tuple[type[TicketDomainError], ...]:
    if actor in DEAD:
        return (SessionInvalidError,)
    if KIND_OF[actor] not in item.rule.actors:
        return (ActorNotAllowedError,)
    if actor == WITHOUT and item.rule.permission is not None:
        return (PermissionMissingError,)
    if actor == FOREIGN:
        # Another institution's resource is reported as unknown.
        return (NotFoundError,)
    if actor == SCOPED:
        # So is another organization's; institution-wide set-up needs every organization.
        return (NotFoundError, PermissionMissingError)
    return (AuthorizationError, NotFoundError)


def outcome(error: BaseException | None) -> str:
    return "ok" if error is None else f"{type(error).__name__}({getattr(error, 'code', '?')})"


def run(f: Fixture, item: Row, actor: str) -> BaseException | None:
    try:
        f.domain.handle(item.example(f, f.token(actor, item)))
    except Exception as error:
        return error
    return None


@pytest.mark.parametrize("item", TABLE, ids=[item.id for item in TABLE])
def test_every_actor_is_allowed_or_refused_as_the_table_says(item: Row) -> None:
    f = build_fixture()
    problems: list[str] = []
    # Refusals first, all on the one world: each must leave it exactly as it was.
    before = observed(f.world)
    for actor in (a for a in ACTORS if a not in item.allowed):
        error = run(f, item, actor)
        expected = expected_refusal(item, actor)
        if not isinstance(error, expected):
            problems.append(
                f"{actor}: {outcome(error)}, expected {' or '.join(e.__name__ for e in expected)}"
            )
        if observed(f.world) != before:
            problems.append(f"{actor}: the refusal changed the stored state or the fakes")
    # Then the allowed actors, the first of which must succeed outright.
    for index, actor in enumerate(a for a in ACTORS if a in item.allowed):
        error = run(f, item, actor)
        if index == 0 and item.main_error is None and error is not None:
            problems.append(f"{actor}: {outcome(error)}, expected success")
        elif index == 0 and item.main_error is not None and not isinstance(error, item.main_error):
            problems.append(f"{actor}: {outcome(error)}, expected {item.main_error.__name__}")
        elif error is not None and (
            not isinstance(error, TicketDomainError)
            or isinstance(error, (AuthorizationError, NotFoundError))
        ):
            problems.append(f"{actor}: {outcome(error)}, expected to be allowed")
    assert problems == [], "\n".join([item.id, *problems])


# --- the public commands (logging in) ---------------------------------------------------------

PublicExample = Callable[[Fixture], object]


@attrs.frozen
class PublicRow:
    command: type[Any]
    name: str
    example: PublicExample
    #: ``None``: succeeds (returns a ``SessionView`` for a login)
    error: type[TicketDomainError] | None = None
    #: whether the call must leave the stored state as it was
    unchanged: bool = True


def corp_login(email: str, password: str = PASSWORD) -> PublicExample:
    return lambda f: LoginRelay(f.corp.sales_point_id, email, password)


PUBLIC: tuple[PublicRow, ...] = (
    PublicRow(
        LoginOperator,
        "right password",
        lambda f: LoginOperator(f.corp.institution_id, "odile@riviera-culture.ch", PASSWORD),
        unchanged=False,
    ),
    PublicRow(
        LoginOperator,
        "wrong password",
        lambda f: LoginOperator(f.corp.institution_id, "odile@riviera-culture.ch", "wrong!" * 3),
        LoginFailedError,
        unchanged=False,
    ),
    PublicRow(
        LoginOperator,
        "another institution's operator",
        lambda f: LoginOperator(f.corp.institution_id, "odile@opera-lausanne.ch", PASSWORD),
        LoginFailedError,
    ),
    PublicRow(
        LoginOperator,
        "an operator without a password",
        lambda f: LoginOperator(f.corp.institution_id, "nobody@riviera.ch", PASSWORD),
        LoginFailedError,
        unchanged=False,
    ),
    PublicRow(LoginRelay, "right password", corp_login("nina@nestor.ch"), unchanged=False),
    PublicRow(
        LoginRelay,
        "a sales point the structure is not authorized on",
        lambda f: LoginRelay(f.corp.phone_sales_point_id, "nina@nestor.ch", PASSWORD),
        SalesPointAccessDeniedError,
    ),
    PublicRow(
        LoginRelay,
        "a relay whose structure was revoked",
        corp_login("dora@dormant.ch"),
        SalesPointAccessDeniedError,
    ),
    PublicRow(
        LoginRelay,
        "another institution's relay",
        corp_login("alice@beau-rivage.ch"),
        LoginFailedError,
    ),
    PublicRow(
        LoginRelay,
        "a member, not a relay",
        corp_login("marc@nestor.ch"),
        LoginFailedError,
    ),
    PublicRow(
        LoginMember,
        "right password",
        lambda f: LoginMember(f.corp.institution_id, "marc@nestor.ch", PASSWORD),
        unchanged=False,
    ),
    PublicRow(
        LoginMember,
        "another institution's id",
        lambda f: LoginMember(f.agency.institution_id, "marc@nestor.ch", PASSWORD),
        LoginFailedError,
    ),
    PublicRow(
        RequestLoginLink,
        "a known member",
        lambda f: RequestLoginLink(f.corp.institution_id, "marc@nestor.ch"),
        unchanged=False,
    ),
    PublicRow(
        RequestLoginLink,
        "an unknown email",
        lambda f: RequestLoginLink(f.corp.institution_id, "nobody@nestor.ch"),
    ),
    PublicRow(
        RequestLoginLink,
        "another institution's relay",
        lambda f: RequestLoginLink(
            f.corp.institution_id, "alice@beau-rivage.ch", f.corp.sales_point_id
        ),
    ),
    PublicRow(
        LoginWithLink,
        "a welcome link",
        lambda f: LoginWithLink(
            link_token(f.world.storage, "sam@nestor.ch"), sales_point_id=f.corp.sales_point_id
        ),
        unchanged=False,
    ),
    PublicRow(
        LoginWithLink,
        "a used link",
        lambda f: LoginWithLink(
            link_token(f.world.storage, "olga@acme.ch"), sales_point_id=f.corp.sales_point_id
        ),
        SessionInvalidError,
    ),
    PublicRow(
        LoginWithLink,
        "a tampered link",
        lambda f: LoginWithLink(
            tampered(link_token(f.world.storage, "sam@nestor.ch")),
            sales_point_id=f.corp.sales_point_id,
        ),
        SessionInvalidError,
    ),
    PublicRow(
        LoginWithLink,
        "the welcome of a relay whose structure was revoked",
        lambda f: LoginWithLink(
            link_token(f.world.storage, "dora@dormant.ch"), sales_point_id=f.corp.sales_point_id
        ),
        SalesPointAccessDeniedError,
    ),
)


@pytest.mark.parametrize(
    "item", PUBLIC, ids=[f"{item.command.__name__}: {item.name}" for item in PUBLIC]
)
def test_the_public_commands_open_only_what_their_credentials_open(item: PublicRow) -> None:
    f = build_fixture()
    before = observed(f.world)
    command = item.example(f)
    assert isinstance(command, item.command)
    assert "token" not in {field.name for field in attrs.fields(command.__class__)}
    if item.error is None:
        answer = f.domain.handle(command)
        if isinstance(answer, SessionView):
            assert f.domain.host.who(answer.token).id == answer.actor_id
    else:
        with pytest.raises(item.error):
            f.domain.handle(command)
    if item.unchanged:
        assert observed(f.world) == before
