"""An agency set up through the public API (used by unit, contract and integration tests)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import attrs

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
    CreateQuota,
    CreateSalesChannel,
    CreateSalesPoint,
    CreateStructure,
    CreateTariff,
    DeliveryMode,
    Function,
    Money,
    PaymentMethod,
    ProductConditions,
    SetCatalogProfile,
    TicketDomain,
)
from ticketdomain.testing.domain import FakeWorld


def chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


@attrs.define
class Agency:
    """Ids of an agency set-up: one organization selling an opera to hotels."""

    world: FakeWorld
    institution_id: str
    organization_id: str
    agency_channel_id: str
    phone_channel_id: str
    sales_point_id: str
    phone_sales_point_id: str
    hotel_id: str
    alice_id: str
    bob_id: str
    other_agency_id: str
    carol_id: str
    activity_id: str
    performance_id: str
    later_performance_id: str
    product_id: str
    full_id: str
    agency_tariff_id: str
    child_id: str
    operator_id: str
    #: session tokens (opened by the host's trusted call)
    operator: str
    alice: str
    bob: str
    carol: str


def relay_session(d: TicketDomain, relay_id: str, sales_point_id: str) -> str:
    return d.host.open_session(ActorKind.RELAY, relay_id, sales_point_id=sales_point_id).token


def set_up_agency(
    world: FakeWorld,
    functions: frozenset[Function] | None = None,
    time_zone: str | None = None,
) -> Agency:
    d = world.domain
    start = world.clock.now()
    boot = d.host.bootstrap(
        institution_name="Lausanne Tourism",
        first_name="Odile",
        last_name="Perret",
        email="odile@opera-lausanne.ch",
    )
    institution = boot.institution
    op = d.host.open_session(ActorKind.OPERATOR, boot.operator.id).token
    organization = d.setup.create_organization(
        CreateOrganization(op, "Opera de Lausanne", "CHF", time_zone=time_zone)
    )
    agency_channel = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Internet Agence", ChannelKind.AGENCY)
    )
    phone_channel = d.setup.create_sales_channel(
        CreateSalesChannel(op, "Box office", ChannelKind.BOX_OFFICE)
    )
    sales_point = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            organization.id,
            agency_channel.id,
            "Agencies",
            functions=(
                functions
                if functions is not None
                else frozenset(
                    {Function.OPTIONS, Function.SALES_REPORT, Function.CHOOSE_PURCHASING_CONTACT}
                )
            ),
            payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
            delivery_modes=frozenset({DeliveryMode.PRINT_AT_HOME, DeliveryMode.TRANSFER}),
        )
    )
    phone = d.setup.create_sales_point(
        CreateSalesPoint(
            op,
            organization.id,
            phone_channel.id,
            "Phone",
            payment_methods=frozenset({PaymentMethod.CARD, PaymentMethod.HOLDING_ACCOUNT}),
        )
    )
    hotel = d.contacts.create_structure(CreateStructure(op, "Hotel Beau-Rivage"))
    other = d.contacts.create_structure(CreateStructure(op, "Tour Agent SA"))
    alice = d.contacts.create_individual(
        CreateIndividual(op, "Alice", "Martin", "alice@beau-rivage.ch", hotel.id, ContactRole.RELAY)
    )
    bob = d.contacts.create_individual(
        CreateIndividual(op, "Bob", "Rochat", "bob@beau-rivage.ch", hotel.id, ContactRole.RELAY)
    )
    carol = d.contacts.create_individual(
        CreateIndividual(op, "Carol", "Favre", "carol@touragent.ch", other.id, ContactRole.RELAY)
    )
    d.setup.authorize_structure(AuthorizeStructure(op, sales_point.id, hotel.id))
    d.setup.authorize_structure(AuthorizeStructure(op, sales_point.id, other.id))
    activity = d.setup.create_activity(CreateActivity(op, organization.id, "La Traviata"))
    performance = d.setup.create_performance(
        CreatePerformance(op, activity.id, start + timedelta(days=30), "Opera de Lausanne", 100)
    )
    later = d.setup.create_performance(
        CreatePerformance(op, activity.id, start + timedelta(days=60), "Opera de Lausanne", 100)
    )
    product = d.setup.create_product(CreateProduct(op, activity.id, "Seat", Decimal("0.081")))
    full = d.setup.create_tariff(CreateTariff(op, product.id, "Full", chf("80.00")))
    agency_tariff = d.setup.create_tariff(CreateTariff(op, product.id, "Agency", chf("65.00")))
    child = d.setup.create_tariff(CreateTariff(op, product.id, "Child", chf("40.00")))
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            op,
            organization.id,
            frozenset({activity.id}),
            (
                ProductConditions(
                    product.id,
                    tariff_ids=frozenset({full.id, agency_tariff.id}),
                    max_per_order=10,
                ),
            ),
            channel_id=agency_channel.id,
        )
    )
    d.setup.create_quota(CreateQuota(op, performance.id, 30, channel_id=agency_channel.id))
    d.setup.create_quota(CreateQuota(op, performance.id, 20, sales_point_id=sales_point.id))
    return Agency(
        world=world,
        institution_id=institution.id,
        organization_id=organization.id,
        agency_channel_id=agency_channel.id,
        phone_channel_id=phone_channel.id,
        sales_point_id=sales_point.id,
        phone_sales_point_id=phone.id,
        hotel_id=hotel.id,
        alice_id=alice.id,
        bob_id=bob.id,
        other_agency_id=other.id,
        carol_id=carol.id,
        activity_id=activity.id,
        performance_id=performance.id,
        later_performance_id=later.id,
        product_id=product.id,
        full_id=full.id,
        agency_tariff_id=agency_tariff.id,
        child_id=child.id,
        operator_id=boot.operator.id,
        operator=op,
        alice=relay_session(d, alice.id, sales_point.id),
        bob=relay_session(d, bob.id, sales_point.id),
        carol=relay_session(d, carol.id, sales_point.id),
    )
