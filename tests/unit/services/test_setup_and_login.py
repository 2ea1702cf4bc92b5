"""Operator set-up and relay login."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from support.agency import Agency, relay_session
from support.state import refused
from ticketdomain import (
    ActorKind,
    AuthorizeStructure,
    ChannelKind,
    ContactRole,
    CreateActivity,
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
    Function,
    LoginRelay,
    Money,
    NotFoundError,
    PaymentMethod,
    Permission,
    RevokeStructure,
    SearchContacts,
    SetSalesPointFunctions,
    ValidationError,
    ViewCatalog,
)
from ticketdomain.core.errors import (
    CurrencyMismatchError,
    EmailInvalidError,
    LoginFailedError,
    NameInvalidError,
    PermissionMissingError,
    QuantityInvalidError,
    SalesPointAccessDeniedError,
    SessionInvalidError,
    SetupInvalidError,
    VatRateInvalidError,
)

PASSWORD = "correct horse battery"


def other_institutions_operator(agency: Agency) -> str:
    """A session of the first operator of another institution (every permission there)."""
    d = agency.world.domain
    boot = d.host.bootstrap(
        institution_name="Geneva Events",
        first_name="Ines",
        last_name="Intrus",
        email="ines@geneva-events.ch",
    )
    return d.host.open_session(ActorKind.OPERATOR, boot.operator.id).token


def test_only_relays_of_an_authorized_structure_log_in(agency: Agency) -> None:
    d = agency.world.domain
    d.host.set_password(ActorKind.RELAY, agency.alice_id, PASSWORD)
    session = d.identity.login_relay(
        LoginRelay(agency.sales_point_id, "alice@beau-rivage.ch", PASSWORD)
    )
    assert (session.actor_kind, session.actor_id) == (ActorKind.RELAY, agency.alice_id)
    assert session.sales_point_id == agency.sales_point_id
    who = d.host.who(session.token)
    assert who.structure_id == agency.hotel_id
    assert who.organization_id == agency.organization_id
    assert d.sales.view_catalog(ViewCatalog(session.token)).entries

    member = d.contacts.create_individual(
        CreateIndividual(
            agency.operator,
            "Max",
            "Member",
            "max@beau-rivage.ch",
            agency.hotel_id,
            ContactRole.MEMBER,
        )
    )
    outsider = d.contacts.create_structure(CreateStructure(agency.operator, "Outsider"))
    stranger = d.contacts.create_individual(
        CreateIndividual(
            agency.operator,
            "Sam",
            "Stranger",
            "sam@outsider.ch",
            outsider.id,
            ContactRole.RELAY,
        )
    )
    for individual_id in (member.id, stranger.id):
        d.host.set_password(ActorKind.RELAY, individual_id, PASSWORD)
    # with the right password: a relay whose structure is not authorized on the sales point
    for email, sales_point_id in [
        ("sam@outsider.ch", agency.sales_point_id),
        ("alice@beau-rivage.ch", agency.phone_sales_point_id),
    ]:
        with refused(agency.world, SalesPointAccessDeniedError, "sales_point_access_denied"):
            d.identity.login_relay(LoginRelay(sales_point_id, email, PASSWORD))
    # a member is no relay, and an unknown email or sales point opens nothing: one answer for all
    for email, sales_point_id in [
        ("max@beau-rivage.ch", agency.sales_point_id),
        ("nobody@beau-rivage.ch", agency.sales_point_id),
        ("alice@beau-rivage.ch", "sales_point-404"),
    ]:
        with refused(agency.world, LoginFailedError, "login_failed"):
            d.identity.login_relay(LoginRelay(sales_point_id, email, PASSWORD))
    # the host's trusted call holds a relay to the same rule
    for relay_id, sales_point_id in [
        (member.id, agency.sales_point_id),
        (stranger.id, agency.sales_point_id),
        (agency.alice_id, "sales_point-404"),
        (agency.alice_id, agency.phone_sales_point_id),
    ]:
        with refused(agency.world, SalesPointAccessDeniedError, "sales_point_access_denied"):
            relay_session(d, relay_id, sales_point_id)
    with refused(agency.world, NotFoundError):
        relay_session(d, "individual-404", agency.sales_point_id)


def test_revoking_a_structure_ends_its_relays_sessions(agency: Agency) -> None:
    d = agency.world.domain
    d.setup.revoke_structure(
        RevokeStructure(agency.operator, agency.sales_point_id, agency.hotel_id)
    )
    for token in (agency.alice, agency.bob):
        with refused(agency.world, SessionInvalidError, "session_invalid"):
            d.sales.view_catalog(ViewCatalog(token))
    with refused(agency.world, SalesPointAccessDeniedError):
        relay_session(d, agency.alice_id, agency.sales_point_id)
    # another structure's relay on the same sales point goes on
    assert d.sales.view_catalog(ViewCatalog(agency.carol)).entries
    d.setup.authorize_structure(
        AuthorizeStructure(agency.operator, agency.sales_point_id, agency.hotel_id)
    )
    # the sessions ended for good; a new one opens once the structure is authorized again
    with refused(agency.world, SessionInvalidError):
        d.sales.view_catalog(ViewCatalog(agency.alice))
    alice = relay_session(d, agency.alice_id, agency.sales_point_id)
    assert d.sales.view_catalog(ViewCatalog(alice)).entries


def test_set_up_refuses_bad_input_and_changes_nothing(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    op = agency.operator
    with refused(w, SessionInvalidError, "session_invalid"):
        d.setup.create_organization(CreateOrganization("tds_token-404", "X", "CHF"))
    with refused(w, CurrencyMismatchError):
        d.setup.create_organization(CreateOrganization(op, "X", "chf"))
    with refused(w, NameInvalidError):
        d.setup.create_sales_channel(CreateSalesChannel(op, "  ", ChannelKind.AGENCY))
    with refused(w, SetupInvalidError):
        d.setup.create_sales_point(
            CreateSalesPoint(
                op,
                agency.organization_id,
                agency.agency_channel_id,
                "Empty",
                payment_methods=frozenset(),
            )
        )
    with refused(w, SetupInvalidError):
        d.setup.create_performance(
            CreatePerformance(
                op, agency.activity_id, w.clock.now().replace(tzinfo=None), "Hall", 10
            )
        )
    with refused(w, QuantityInvalidError):
        d.setup.create_performance(
            CreatePerformance(op, agency.activity_id, w.clock.now() + timedelta(days=1), "Hall", -1)
        )
    with refused(w, QuantityInvalidError):
        d.setup.create_performance(
            CreatePerformance(
                op, agency.activity_id, w.clock.now() + timedelta(days=1), "Hall", 10**9
            )
        )
    with refused(w, VatRateInvalidError):
        d.setup.create_product(CreateProduct(op, agency.activity_id, "Seat", Decimal("1.5")))
    with refused(w, CurrencyMismatchError):
        d.setup.create_tariff(CreateTariff(op, agency.product_id, "Euro", Money(Decimal(5), "EUR")))
    with refused(w, SetupInvalidError):
        d.setup.create_quota(
            CreateQuota(op, agency.performance_id, 5, channel_id=agency.agency_channel_id)
        )
    with refused(w, SetupInvalidError):
        d.setup.create_quota(CreateQuota(op, agency.performance_id, 5))


def test_an_operator_sets_up_only_their_own_institution(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    intruder = other_institutions_operator(agency)
    # the other institution's organization, channel, activity and product are unknown to them
    with refused(w, NotFoundError, "not_found"):
        d.setup.create_activity(CreateActivity(intruder, agency.organization_id, "Carmen"))
    with refused(w, NotFoundError):
        d.setup.create_performance(
            CreatePerformance(
                intruder, agency.activity_id, w.clock.now() + timedelta(days=1), "Hall", 10
            )
        )
    with refused(w, NotFoundError):
        d.setup.create_tariff(CreateTariff(intruder, agency.product_id, "Free", Money("0", "CHF")))
    mine = d.setup.create_organization(CreateOrganization(intruder, "Victoria Hall", "CHF"))
    assert mine.institution_id != agency.institution_id
    with refused(w, NotFoundError):
        d.setup.create_sales_point(
            CreateSalesPoint(intruder, mine.id, agency.agency_channel_id, "Borrowed channel")
        )
    with refused(w, NotFoundError):
        d.setup.authorize_structure(
            AuthorizeStructure(intruder, agency.sales_point_id, agency.hotel_id)
        )


def test_institution_wide_set_up_needs_an_operator_of_every_organization(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    clerk = d.identity.create_operator(
        CreateOperator(
            agency.operator,
            "Paul",
            "Partiel",
            "paul@opera-lausanne.ch",
            frozenset({Permission.SETUP, Permission.PERSONAL_DATA}),
            organization_ids=frozenset({agency.organization_id}),
        )
    )
    token = d.host.open_session(ActorKind.OPERATOR, clerk.id).token
    with refused(w, PermissionMissingError, "permission_missing"):
        d.setup.create_organization(CreateOrganization(token, "Ballet", "CHF"))
    with refused(w, PermissionMissingError):
        d.setup.create_sales_channel(CreateSalesChannel(token, "Kiosk", ChannelKind.AGENCY))
    # within its organization the operator sets up as before
    assert d.setup.create_activity(CreateActivity(token, agency.organization_id, "Carmen")).id


def test_contacts_are_validated_and_searchable_within_a_structure(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    with refused(w, EmailInvalidError, "email_invalid"):
        d.contacts.create_individual(
            CreateIndividual(
                agency.operator, "A", "B", "not-an-email", agency.hotel_id, ContactRole.MEMBER
            )
        )
    with refused(w, ValidationError):
        d.contacts.create_individual(
            CreateIndividual(agency.operator, "A", "B", "ALICE@beau-rivage.ch")
        )
    with refused(w, SetupInvalidError):
        d.contacts.create_individual(
            CreateIndividual(agency.operator, "A", "B", "a@b.ch", role=ContactRole.MEMBER)
        )
    sub = d.contacts.create_structure(
        CreateStructure(agency.operator, "Beau-Rivage Spa", parent_id=agency.hotel_id)
    )
    assert sub.parent_id == agency.hotel_id
    found = d.contacts.search_contacts(SearchContacts(agency.operator, agency.hotel_id, "ROCHAT"))
    assert [c.first_name for c in found] == ["Bob"]
    found = d.contacts.search_contacts(
        SearchContacts(agency.operator, agency.hotel_id, "beau-rivage.ch")
    )
    assert [c.first_name for c in found] == ["Alice", "Bob"]
    assert (
        d.contacts.search_contacts(SearchContacts(agency.operator, agency.other_agency_id, "alice"))
        == ()
    )
    # another institution's operator knows none of these structures
    intruder = other_institutions_operator(agency)
    with refused(w, NotFoundError):
        d.contacts.search_contacts(SearchContacts(intruder, agency.hotel_id, "alice"))
    with refused(w, NotFoundError):
        d.contacts.create_structure(CreateStructure(intruder, "Annex", parent_id=agency.hotel_id))
    with refused(w, NotFoundError):
        d.contacts.create_individual(
            CreateIndividual(
                intruder, "Eve", "Spy", "eve@example.org", agency.hotel_id, ContactRole.RELAY
            )
        )
    # and the same email is free in their own institution: contacts are per institution
    assert d.contacts.create_individual(
        CreateIndividual(intruder, "Alice", "Martin", "alice@beau-rivage.ch")
    ).id


def test_sales_point_functions_can_be_switched(agency: Agency) -> None:
    view = agency.world.domain.setup.set_sales_point_functions(
        SetSalesPointFunctions(
            agency.operator, agency.sales_point_id, frozenset({Function.SALES_REPORT})
        )
    )
    assert view.functions == frozenset({Function.SALES_REPORT})
    assert PaymentMethod.HOLDING_ACCOUNT in view.payment_methods


@pytest.mark.parametrize("limit", [0, 501])
def test_search_limits_are_bounded(agency: Agency, limit: int) -> None:
    with refused(agency.world, QuantityInvalidError):
        agency.world.domain.contacts.search_contacts(
            SearchContacts(agency.operator, agency.hotel_id, "a", limit)
        )
