"""Options ask for places without taking quota; reservations hold quota until a deadline."""

from __future__ import annotations

from datetime import timedelta

from support.agency import Agency
from support.state import refused
from ticketdomain import (
    ActorKind,
    CardPayment,
    ConfirmReservation,
    CreateOperator,
    CreateOrganization,
    DeclineOption,
    GrantOption,
    LineRequest,
    OptionState,
    PaymentMethod,
    Permission,
    PlaceOrder,
    PlaceReservation,
    ProcessDueExpiries,
    ReleaseReservation,
    RequestOption,
    ReservationState,
    SetSalesPointFunctions,
    ViewCatalog,
)
from ticketdomain.core.errors import (
    ForeignResourceError,
    FunctionDisabledError,
    NotFoundError,
    QuotaExhaustedError,
    StateTransitionError,
)


def lines(agency: Agency, quantity: int) -> tuple[LineRequest, ...]:
    return (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),)


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


def available(agency: Agency) -> int:
    catalog = agency.world.domain.sales.view_catalog(ViewCatalog(agency.alice))
    return next(e.available for e in catalog.entries if e.performance_id == agency.performance_id)


def test_an_option_takes_no_quota_until_granted(agency: Agency) -> None:
    d = agency.world.domain
    option = d.sales.request_option(RequestOption(agency.alice, lines(agency, 4)))
    assert option.state is OptionState.REQUESTED
    assert option.expires_at == agency.world.clock.now() + timedelta(days=7)
    assert available(agency) == 20
    reservation = d.sales.grant_option(GrantOption(agency.operator, option.id))
    assert reservation.option_id == option.id
    assert available(agency) == 16
    order = d.sales.confirm_reservation(
        ConfirmReservation(agency.alice, reservation.id, PaymentMethod.HOLDING_ACCOUNT)
    )
    assert len(order.tickets) == 4
    assert available(agency) == 16


def test_an_option_is_granted_only_if_the_quota_allows(agency: Agency) -> None:
    d = agency.world.domain
    option = d.sales.request_option(RequestOption(agency.alice, lines(agency, 5)))
    d.sales.place_order(PlaceOrder(agency.bob, lines(agency, 10), PaymentMethod.HOLDING_ACCOUNT))
    d.sales.place_order(PlaceOrder(agency.bob, lines(agency, 6), PaymentMethod.HOLDING_ACCOUNT))
    with refused(agency.world, QuotaExhaustedError):
        d.sales.grant_option(GrantOption(agency.operator, option.id))
    declined = d.sales.decline_option(DeclineOption(agency.operator, option.id))
    assert declined.state is OptionState.DECLINED
    with refused(agency.world, StateTransitionError, "state_transition_refused"):
        d.sales.grant_option(GrantOption(agency.operator, option.id))


def test_an_option_lapses_at_its_expiry(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    option = d.sales.request_option(RequestOption(agency.alice, lines(agency, 2)))
    w.clock.advance(timedelta(days=7))
    # a maintenance job: it applies what the clock decided, whoever runs it
    processed = d.sales.process_due_expiries(ProcessDueExpiries(agency.operator))
    assert processed.options_lapsed == (option.id,)
    with refused(w, StateTransitionError):
        d.sales.grant_option(GrantOption(agency.operator, option.id))


def test_another_organizations_operator_cannot_grant(agency: Agency) -> None:
    d = agency.world.domain
    option = d.sales.request_option(RequestOption(agency.alice, lines(agency, 2)))
    # an operator of another organization of the same institution, with the sales permission
    theatre = d.setup.create_organization(CreateOrganization(agency.operator, "Theatre", "CHF"))
    clerk = d.identity.create_operator(
        CreateOperator(
            agency.operator,
            "Theo",
            "Clerc",
            "theo@theatre.ch",
            frozenset({Permission.SALES}),
            organization_ids=frozenset({theatre.id}),
        )
    )
    clerk_token = d.host.open_session(ActorKind.OPERATOR, clerk.id).token
    # and an operator of another institution, with every permission
    for intruder in (clerk_token, other_institutions_operator(agency)):
        with refused(agency.world, NotFoundError) as caught:
            d.sales.grant_option(GrantOption(intruder, option.id))
        # the option is reported as unknown, as if it did not exist
        assert caught.value.details == {"kind": "option", "id": option.id}
    assert d.sales.grant_option(GrantOption(agency.operator, option.id)).option_id == option.id


def test_options_and_reservations_need_the_options_function(agency: Agency) -> None:
    d = agency.world.domain
    d.setup.set_sales_point_functions(
        SetSalesPointFunctions(agency.operator, agency.sales_point_id, frozenset())
    )
    with refused(agency.world, FunctionDisabledError):
        d.sales.request_option(RequestOption(agency.alice, lines(agency, 1)))
    with refused(agency.world, FunctionDisabledError):
        d.sales.place_reservation(PlaceReservation(agency.alice, lines(agency, 1)))


def test_a_reservation_holds_places_until_its_deadline(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    reservation = d.sales.place_reservation(PlaceReservation(agency.alice, lines(agency, 10)))
    # deadline: the earlier of now + 2 days and performance (day 30) - 1 day
    assert reservation.deadline == w.clock.now() + timedelta(days=2)
    assert available(agency) == 10
    d.sales.place_order(PlaceOrder(agency.bob, lines(agency, 10), PaymentMethod.HOLDING_ACCOUNT))
    with refused(w, QuotaExhaustedError):
        d.sales.place_order(PlaceOrder(agency.bob, lines(agency, 1), PaymentMethod.HOLDING_ACCOUNT))
    w.clock.advance(timedelta(days=2))
    # from its deadline on the reservation no longer counts, even before the job runs
    assert available(agency) == 10
    processed = d.sales.process_due_expiries(ProcessDueExpiries(agency.operator))
    assert processed.reservations_expired == (reservation.id,)
    with refused(w, StateTransitionError):
        d.sales.confirm_reservation(
            ConfirmReservation(agency.alice, reservation.id, PaymentMethod.HOLDING_ACCOUNT)
        )


def test_the_deadline_never_passes_the_performance_cutoff(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    w.clock.advance(timedelta(days=28, hours=12))
    reservation = d.sales.place_reservation(PlaceReservation(agency.alice, lines(agency, 1)))
    # performance at day 30, cutoff one day before: day 29, earlier than now + 2 days
    assert reservation.deadline == w.clock.now() + timedelta(hours=12)


def test_a_released_reservation_frees_its_places(agency: Agency) -> None:
    d = agency.world.domain
    reservation = d.sales.place_reservation(PlaceReservation(agency.alice, lines(agency, 5)))
    with refused(agency.world, ForeignResourceError):
        d.sales.release_reservation(ReleaseReservation(agency.carol, reservation.id))
    released = d.sales.release_reservation(ReleaseReservation(agency.bob, reservation.id))
    assert released.state is ReservationState.RELEASED
    assert available(agency) == 20


def test_confirming_by_card_with_a_declined_card_keeps_the_reservation(agency: Agency) -> None:
    d = agency.world.domain
    reservation = d.sales.place_reservation(PlaceReservation(agency.alice, lines(agency, 2)))
    from ticketdomain.core.errors import CardDeclinedError

    with refused(agency.world, CardDeclinedError):
        d.sales.confirm_reservation(
            ConfirmReservation(
                agency.alice, reservation.id, PaymentMethod.CARD, card=CardPayment("tok_declined")
            )
        )
    order = d.sales.confirm_reservation(
        ConfirmReservation(
            agency.alice, reservation.id, PaymentMethod.CARD, card=CardPayment("tok_visa")
        )
    )
    assert order.payment_reference is not None


def test_granting_a_lapsed_option_is_refused_even_before_the_expiry_job(agency: Agency) -> None:
    d, w = agency.world.domain, agency.world
    option = d.sales.request_option(RequestOption(agency.alice, lines(agency, 2)))
    w.clock.advance(timedelta(days=7, seconds=1))
    with refused(w, StateTransitionError) as caught:
        d.sales.grant_option(GrantOption(agency.operator, option.id))
    assert caught.value.details["state"] == "lapsed"
    assert d.sales.process_due_expiries(ProcessDueExpiries(agency.operator)).options_lapsed == (
        option.id,
    )
