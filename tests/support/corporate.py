"""A works council set up through the public API (used by unit, contract and integration tests):
a corporate sales point, a works council with a sub-structure, another company, and members."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs

from support.agency import relay_session
from ticketdomain import (
    ActorKind,
    AuthorizeStructure,
    ChannelKind,
    ContactRole,
    CreateActivity,
    CreateIndividual,
    CreateOrganization,
    CreatePerformance,
    CreateProduct,
    CreateSalesChannel,
    CreateSalesPoint,
    CreateStructure,
    CreateTariff,
    Function,
    LineRequest,
    Money,
    OrderView,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    RegisterGate,
)
from ticketdomain.testing.domain import FakeWorld


def chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


@attrs.define
class Corporate:
    """Ids of a corporate set-up: an opera selling to a works council and its sports club."""

    world: FakeWorld
    institution_id: str
    organization_id: str
    sales_point_id: str
    phone_sales_point_id: str
    council_id: str
    club_id: str
    other_company_id: str
    nina_id: str
    sam_id: str
    olga_id: str
    marc_id: str
    activity_id: str
    performance_id: str
    later_performance_id: str
    product_id: str
    balcony_id: str
    tariff_id: str
    balcony_tariff_id: str
    operator_id: str
    #: session tokens (opened by the host's trusted call) and the gate's API key
    operator: str
    #: relay of the works council
    nina: str
    #: relay of the sports club, a sub-structure of the works council
    sam: str
    #: relay of another company
    olga: str
    #: a member of the works council
    marc: str
    gate: str

    def buy(self, quantity: int, session: str | None = None) -> OrderView:
        """The works council (or ``session``'s structure) buys seats on its holding account."""
        return self.world.domain.sales.place_order(
            PlaceOrder(
                session or self.nina,
                (LineRequest(self.performance_id, self.tariff_id, quantity),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )

    def buy_by_phone(self, quantity: int, structure_id: str | None = None) -> OrderView:
        """An operator's order for the works council, paid on its holding account."""
        return self.world.domain.sales.place_order_for_structure(
            PlaceOrderForStructure(
                self.operator,
                self.phone_sales_point_id,
                structure_id or self.council_id,
                (LineRequest(self.performance_id, self.tariff_id, quantity),),
                PaymentMethod.HOLDING_ACCOUNT,
            )
        )


def set_up_corporate(
    world: FakeWorld,
    *,
    admit_before_settlement: bool = True,
    capacity: int = 200,
    time_zone: str | None = None,
) -> Corporate:
    d = world.domain
    start = world.clock.now()
    boot = d.host.bootstrap(
        institution_name="Riviera Culture",
        first_name="Odile",
        last_name="Perret",
        email="odile@riviera-culture.ch",
    )
    institution = boot.institution
    op = d.host.open_session(ActorKind.OPERATOR, boot.operator.id).token
    organization = d.setup.create_organization(
        CreateOrganization(op, "Opera de Lausanne", "CHF", time_zone=time_zone)
    )
    corporate = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Internet Entreprise", ChannelKind.CORPORATE)
    )
    phone_channel = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Box office", ChannelKind.BOX_OFFICE)
    )
    sales_point = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            organization.id,
            corporate.id,
            "Works councils",
            functions=frozenset({Function.OPTIONS, Function.DISTRIBUTION}),
            payment_methods=frozenset({PaymentMethod.HOLDING_ACCOUNT}),
            admit_before_settlement=admit_before_settlement,
        )
    )
    phone = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            organization.id,
            phone_channel.id,
            "Phone",
            payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
            admit_before_settlement=admit_before_settlement,
        )
    )
    council = d.contacts.create_structure(CreateStructure(op, "Works council Nestor SA"))
    club = d.contacts.create_structure(
        CreateStructure(op, "Nestor sports club", parent_id=council.id)
    )
    other = d.contacts.create_structure(CreateStructure(op, "Acme Watches"))

    def person(first: str, last: str, email: str, structure_id: str, role: ContactRole) -> str:
        return d.contacts.create_individual(
            CreateIndividual(op, first, last, email, structure_id, role)
        ).id

    nina = person("Nina", "Keller", "nina@nestor.ch", council.id, ContactRole.RELAY)
    sam = person("Sam", "Rey", "sam@nestor.ch", club.id, ContactRole.RELAY)
    olga = person("Olga", "Berset", "olga@acme.ch", other.id, ContactRole.RELAY)
    marc = person("Marc", "Dupont", "marc@nestor.ch", council.id, ContactRole.MEMBER)
    for structure in (council, club, other):
        d.setup.authorize_structure(AuthorizeStructure(op, sales_point.id, structure.id))
    activity = d.setup.create_activity(CreateActivity(op, organization.id, "La Traviata"))
    performance = d.setup.create_performance(
        CreatePerformance(
            op, activity.id, start + timedelta(days=30), "Opera de Lausanne", capacity
        )
    )
    later = d.setup.create_performance(
        CreatePerformance(
            op, activity.id, start + timedelta(days=60), "Opera de Lausanne", capacity
        )
    )
    product = d.setup.create_product(CreateProduct(op, activity.id, "Stalls", Decimal("0.081")))
    balcony = d.setup.create_product(CreateProduct(op, activity.id, "Balcony", Decimal("0.081")))
    tariff = d.setup.create_tariff(CreateTariff(op, product.id, "Works council", chf("50.00")))
    balcony_tariff = d.setup.create_tariff(
        CreateTariff(op, balcony.id, "Works council", chf("30.00"))
    )
    return Corporate(
        world=world,
        institution_id=institution.id,
        organization_id=organization.id,
        sales_point_id=sales_point.id,
        phone_sales_point_id=phone.id,
        council_id=council.id,
        club_id=club.id,
        other_company_id=other.id,
        nina_id=nina,
        sam_id=sam,
        olga_id=olga,
        marc_id=marc,
        activity_id=activity.id,
        performance_id=performance.id,
        later_performance_id=later.id,
        product_id=product.id,
        balcony_id=balcony.id,
        tariff_id=tariff.id,
        balcony_tariff_id=balcony_tariff.id,
        operator_id=boot.operator.id,
        operator=op,
        nina=relay_session(d, nina, sales_point.id),
        sam=relay_session(d, sam, sales_point.id),
        olga=relay_session(d, olga, sales_point.id),
        marc=d.host.open_session(ActorKind.MEMBER, marc).token,
        gate=d.identity.register_gate(RegisterGate(op, organization.id, "North gate")).key.token,
    )
