"""Operator set-up and relay login."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from support.agency import Agency
from support.state import refused
from ticketdomain import (
    AuthorizeStructure,
    ChannelKind,
    ContactRole,
    CreateIndividual,
    CreateOrganization,
    CreatePerformance,
    CreateProduct,
    CreateQuota,
    CreateSalesChannel,
    CreateSalesPoint,
    CreateStructure,
    CreateTariff,
    Function,
    LoginRelay,
    Money,
    NotFoundError,
    PaymentMethod,
    RevokeStructure,
    SearchContacts,
    ValidationError,
    ViewCatalog,
)
from ticketdomain.core.errors import (
    CurrencyMismatchError,
    EmailInvalidError,
    NameInvalidError,
    QuantityInvalidError,
    SalesPointAccessDeniedError,
    SetupInvalidError,
    VatRateInvalidError,
)


def test_only_relays_of_an_authorized_structure_log_in(agency: Agency) -> None:
    d = agency.world.domain
    session = d.sales.login_relay(LoginRelay(agency.alice_id, agency.sales_point_id))
    assert session.structure_id == agency.hotel_id
    assert session.organization_id == agency.organization_id

    member = d.contacts.create_individual(
        CreateIndividual(
            agency.institution_id,
            "Max",
            "Member",
            "max@beau-rivage.ch",
            agency.hotel_id,
            ContactRole.MEMBER,
        )
    )
    outsider = d.contacts.create_structure(CreateStructure(agency.institution_id, "Outsider"))
    stranger = d.contacts.create_individual(
        CreateIndividual(
            agency.institution_id,
            "Sam",
            "Stranger",
            "sam@outsider.ch",
            outsider.id,
            ContactRole.RELAY,
        )
    )
    for relay_id, sales_point_id in [
        (member.id, agency.sales_point_id),
        (stranger.id, agency.sales_point_id),
        ("individual-404", agency.sales_point_id),
        (agency.alice_id, "sales_point-404"),
        (agency.alice_id, agency.phone_sales_point_id),
    ]:
        with refused(agency.world, SalesPointAccessDeniedError, "sales_point_access_denied"):
            d.sales.login_relay(LoginRelay(relay_id, sales_point_id))


def test_revoking_a_structure_ends_its_relays_sessions(agency: Agency) -> None:
    d = agency.world.domain
    d.setup.revoke_structure(RevokeStructure(agency.sales_point_id, agency.hotel_id))
    with refused(agency.world, SalesPointAccessDeniedError):
        d.sales.view_catalog(ViewCatalog(agency.alice))
    d.setup.authorize_structure(AuthorizeStructure(agency.sales_point_id, agency.hotel_id))
    assert d.sales.view_catalog(ViewCatalog(agency.alice)).entries


def test_set_up_refuses_bad_input_and_changes_nothing(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    with refused(w, NotFoundError, "not_found"):
        d.setup.create_organization(CreateOrganization("institution-404", "X", "CHF"))
    with refused(w, CurrencyMismatchError):
        d.setup.create_organization(CreateOrganization(agency.institution_id, "X", "chf"))
    with refused(w, NameInvalidError):
        d.setup.create_sales_channel(
            CreateSalesChannel(agency.institution_id, "  ", ChannelKind.AGENCY)
        )
    with refused(w, SetupInvalidError):
        d.setup.create_sales_point(
            CreateSalesPoint(
                agency.organization_id,
                agency.agency_channel_id,
                "Empty",
                payment_methods=frozenset(),
            )
        )
    with refused(w, SetupInvalidError):
        d.setup.create_performance(
            CreatePerformance(agency.activity_id, w.clock.now().replace(tzinfo=None), "Hall", 10)
        )
    with refused(w, QuantityInvalidError):
        d.setup.create_performance(
            CreatePerformance(agency.activity_id, w.clock.now() + timedelta(days=1), "Hall", -1)
        )
    with refused(w, QuantityInvalidError):
        d.setup.create_performance(
            CreatePerformance(agency.activity_id, w.clock.now() + timedelta(days=1), "Hall", 10**9)
        )
    with refused(w, VatRateInvalidError):
        d.setup.create_product(CreateProduct(agency.activity_id, "Seat", Decimal("1.5")))
    with refused(w, CurrencyMismatchError):
        d.setup.create_tariff(CreateTariff(agency.product_id, "Euro", Money(Decimal(5), "EUR")))
    with refused(w, SetupInvalidError):
        d.setup.create_quota(
            CreateQuota(agency.performance_id, 5, channel_id=agency.agency_channel_id)
        )
    with refused(w, SetupInvalidError):
        d.setup.create_quota(CreateQuota(agency.performance_id, 5))


def test_contacts_are_validated_and_searchable_within_a_structure(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    with refused(w, EmailInvalidError, "email_invalid"):
        d.contacts.create_individual(
            CreateIndividual(
                agency.institution_id, "A", "B", "not-an-email", agency.hotel_id, ContactRole.MEMBER
            )
        )
    with refused(w, ValidationError):
        d.contacts.create_individual(
            CreateIndividual(agency.institution_id, "A", "B", "ALICE@beau-rivage.ch")
        )
    with refused(w, SetupInvalidError):
        d.contacts.create_individual(
            CreateIndividual(agency.institution_id, "A", "B", "a@b.ch", role=ContactRole.MEMBER)
        )
    sub = d.contacts.create_structure(
        CreateStructure(agency.institution_id, "Beau-Rivage Spa", parent_id=agency.hotel_id)
    )
    assert sub.parent_id == agency.hotel_id
    found = d.contacts.search_contacts(SearchContacts(agency.hotel_id, "ROCHAT"))
    assert [c.first_name for c in found] == ["Bob"]
    found = d.contacts.search_contacts(SearchContacts(agency.hotel_id, "beau-rivage.ch"))
    assert [c.first_name for c in found] == ["Alice", "Bob"]
    assert d.contacts.search_contacts(SearchContacts(agency.other_agency_id, "alice")) == ()


def test_sales_point_functions_can_be_switched(agency: Agency) -> None:
    from ticketdomain import SetSalesPointFunctions

    view = agency.world.domain.setup.set_sales_point_functions(
        SetSalesPointFunctions(agency.sales_point_id, frozenset({Function.SALES_REPORT}))
    )
    assert view.functions == frozenset({Function.SALES_REPORT})
    assert PaymentMethod.HOLDING_ACCOUNT in view.payment_methods


@pytest.mark.parametrize("limit", [0, 501])
def test_search_limits_are_bounded(agency: Agency, limit: int) -> None:
    with refused(agency.world, QuantityInvalidError):
        agency.world.domain.contacts.search_contacts(SearchContacts(agency.hotel_id, "a", limit))
