"""People read times in the venue's zone; rules compute on instants (on memory and SQLite).

The organization here is in Europe/Zurich, whose clocks go forward at 02:00 on 29 March 2026
and back at 03:00 on 25 October 2026 (02:00 to 03:00 happens twice that night).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from support.agency import Agency, set_up_agency
from support.corporate import set_up_corporate
from support.state import refused
from ticketdomain import (
    ContactDetails,
    CreateActivity,
    CreateOrganization,
    CreatePerformance,
    DistributeToMember,
    ExportStock,
    LineRequest,
    PaymentMethod,
    PlaceOrder,
    PlaceReservation,
    ProductConditions,
    SetCatalogProfile,
    ViewCatalog,
    ViewSalesReport,
    ViewStock,
)
from ticketdomain.core.errors import (
    PerformanceOverError,
    SaleWindowClosedError,
    SetupInvalidError,
    TimeZoneUnknownError,
)
from ticketdomain.testing.domain import FakeWorld

ZURICH = ZoneInfo("Europe/Zurich")


@pytest.fixture
def zurich(world: FakeWorld) -> Agency:
    return set_up_agency(world, time_zone="Europe/Zurich")


def perform(agency: Agency, starts_at: datetime, time_zone: str | None = None) -> str:
    return agency.world.domain.setup.create_performance(
        CreatePerformance(
            agency.operator, agency.activity_id, starts_at, "Opera", 50, time_zone=time_zone
        )
    ).id


def order(agency: Agency, performance_id: str, quantity: int = 1) -> None:
    agency.world.domain.sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(performance_id, agency.agency_tariff_id, quantity),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )


# --- set-up ----------------------------------------------------------------------------------


def test_a_performance_takes_its_organizations_zone_and_keeps_its_wall_clock_time(
    zurich: Agency,
) -> None:
    d = zurich.world.domain
    # Sent as an instant (18:30 UTC): held, shown and read back as 20:30 in Zurich.
    view = d.setup.create_performance(
        CreatePerformance(
            zurich.operator,
            zurich.activity_id,
            datetime(2026, 5, 10, 18, 30, tzinfo=UTC),
            "Opera",
            50,
        )
    )
    assert view.time_zone == "Europe/Zurich"
    assert view.starts_at.tzinfo is ZURICH
    assert (view.starts_at.hour, view.starts_at.minute) == (20, 30)
    assert view.starts_at_text == "Sun 10 May 2026, 20:30 CEST"
    entry = next(
        e
        for e in d.sales.view_catalog(ViewCatalog(zurich.alice)).entries
        if e.performance_id == view.id
    )
    assert entry.time_zone == "Europe/Zurich"
    assert entry.starts_at_text == "Sun 10 May 2026, 20:30 CEST"


def test_a_performance_may_name_another_zone_than_its_organizations(zurich: Agency) -> None:
    starts_at = datetime(2026, 5, 10, 20, 30, tzinfo=ZoneInfo("Europe/London"))
    performance_id = perform(zurich, starts_at, time_zone="Europe/London")
    with zurich.world.storage.unit_of_work() as uow:
        found = uow.performances.get(performance_id)
    assert found is not None
    assert (found.time_zone, found.starts_at.hour) == ("Europe/London", 20)


def test_an_organization_without_a_zone_is_in_utc(agency: Agency) -> None:
    view = agency.world.domain.setup.create_organization(
        CreateOrganization(agency.operator, "Cinema", "CHF")
    )
    assert view.time_zone == "UTC"


@pytest.mark.parametrize(
    "name", ["Europe/Zürich", "Mars/Olympus", "../../etc/passwd", "", "x" * 65]
)
def test_an_unknown_zone_is_refused_and_changes_nothing(zurich: Agency, name: str) -> None:
    d = zurich.world.domain
    with refused(zurich.world, TimeZoneUnknownError):
        d.setup.create_organization(CreateOrganization(zurich.operator, "Cinema", "CHF", name))
    with refused(zurich.world, TimeZoneUnknownError):
        perform(zurich, datetime(2026, 5, 10, 18, 30, tzinfo=UTC), time_zone=name)


def test_a_wall_clock_time_the_clocks_skip_is_refused(zurich: Agency) -> None:
    with refused(zurich.world, SetupInvalidError):
        perform(zurich, datetime(2026, 3, 29, 2, 30, tzinfo=ZURICH))


# --- rules on instants, across the changes of the clocks ------------------------------------


def test_a_reservation_cutoff_a_day_before_a_performance_on_the_night_of_the_change_is_24_hours(
    zurich: Agency,
) -> None:
    d = zurich.world.domain
    zurich.world.clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    # 20:30 CEST on the day the clocks go forward: 18:30 UTC.
    performance_id = perform(zurich, datetime(2026, 3, 29, 20, 30, tzinfo=ZURICH))
    reservation = d.sales.place_reservation(
        PlaceReservation(zurich.alice, (LineRequest(performance_id, zurich.agency_tariff_id, 2),))
    )
    # One day (the default cutoff) of elapsed time before the start, not the same wall-clock
    # time the day before (which would be 20:30 CET, an hour later).
    assert reservation.deadline == datetime(2026, 3, 28, 18, 30, tzinfo=UTC)


def test_the_performance_has_started_is_decided_on_instants_in_the_repeated_hour(
    zurich: Agency,
) -> None:
    # Starts at the second 02:30 (winter time, 01:30 UTC).
    performance_id = perform(zurich, datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZURICH))
    clock = zurich.world.clock
    # 02:45 summer time is later on the wall clock but earlier in time (00:45 UTC): on sale.
    clock.set(datetime(2026, 10, 25, 2, 45, fold=0, tzinfo=ZURICH))
    order(zurich, performance_id)
    # 02:15 winter time (01:15 UTC): still before the start.
    clock.set(datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=ZURICH))
    order(zurich, performance_id)
    clock.set(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZURICH))
    with refused(zurich.world, PerformanceOverError):
        order(zurich, performance_id)


def test_a_sale_window_closing_in_the_repeated_hour_closes_at_its_instant(zurich: Agency) -> None:
    d = zurich.world.domain
    performance_id = perform(zurich, datetime(2026, 10, 31, 20, 0, tzinfo=ZURICH))
    d.setup.set_catalog_profile(
        SetCatalogProfile(
            zurich.operator,
            zurich.organization_id,
            frozenset({zurich.activity_id}),
            (
                ProductConditions(
                    zurich.product_id,
                    # the sale closes at the second 02:30 (01:30 UTC) and opens a week before
                    sale_opens_at=datetime(2026, 10, 18, 2, 30, tzinfo=ZURICH),
                    sale_closes_at=datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZURICH),
                ),
            ),
            channel_id=zurich.agency_channel_id,
        )
    )
    clock = zurich.world.clock
    clock.set(datetime(2026, 10, 25, 2, 59, fold=0, tzinfo=ZURICH))  # 00:59 UTC
    order(zurich, performance_id)
    clock.set(datetime(2026, 10, 25, 2, 29, fold=1, tzinfo=ZURICH))  # 01:29 UTC
    order(zurich, performance_id)
    clock.set(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZURICH))  # 01:30 UTC
    with refused(zurich.world, SaleWindowClosedError):
        order(zurich, performance_id)
    # The fixed clock moves by elapsed time too: an hour after 02:29 CEST is 02:29 CET.
    clock.set(datetime(2026, 10, 25, 2, 29, fold=0, tzinfo=ZURICH))
    moved = clock.advance(timedelta(hours=1))
    assert moved.astimezone(UTC) == datetime(2026, 10, 25, 1, 29, tzinfo=UTC)


# --- what people read: report, CSV, mail ------------------------------------------------------


def test_the_sales_report_shows_local_times_with_their_zone(zurich: Agency) -> None:
    d = zurich.world.domain
    zurich.world.clock.set(datetime(2026, 5, 1, 12, 5, tzinfo=UTC))
    performance_id = perform(zurich, datetime(2026, 5, 10, 20, 0, tzinfo=ZURICH))
    order(zurich, performance_id, 2)
    report = d.reports.sales_report(ViewSalesReport(zurich.alice))
    assert report.time_zone == "Europe/Zurich"
    (row,) = report.rows
    assert row.placed_at.tzinfo is ZURICH and row.placed_at.hour == 14
    assert row.performance == "La Traviata, 2026-05-10 20:00 CEST, Opera: Seat"
    csv_row = report.to_csv().splitlines()[1]
    assert csv_row.startswith("2026-05-01T14:05:00+02:00,")
    assert "La Traviata, 2026-05-10 20:00 CEST, Opera: Seat" in csv_row.replace('"', ",")


def test_the_stock_sheet_and_the_invitation_mail_show_the_venues_time(
    world: FakeWorld,
) -> None:
    c = set_up_corporate(world, time_zone="Europe/Zurich")
    d = world.domain
    # The corporate set-up's performance starts 30 days after 2026-01-05 09:00 UTC.
    c.buy(2)
    stock = d.distribution.view_stock(ViewStock(c.nina))
    assert {line.time_zone for line in stock.lines} == {"Europe/Zurich"}
    sheet = d.distribution.export_stock(ExportStock(c.nina, c.performance_id)).content
    assert ",2026-02-04 10:00 CET," in sheet
    given = d.distribution.distribute_to_member(
        DistributeToMember(
            c.nina,
            c.performance_id,
            c.product_id,
            1,
            member=ContactDetails("Lea", "Favre", "lea@example.org"),
        )
    )
    with world.storage.unit_of_work() as uow:
        queued = uow.outbox.get(given.mail_id)
    assert queued is not None
    assert "La Traviata, Wed 4 Feb 2026, 10:00 CET, Opera de Lausanne" in queued.message.body


def test_activities_of_a_zurich_organization_show_nothing_in_utc(zurich: Agency) -> None:
    d = zurich.world.domain
    activity = d.setup.create_activity(
        CreateActivity(zurich.operator, zurich.organization_id, "Carmen")
    )
    view = d.setup.create_performance(
        CreatePerformance(
            zurich.operator, activity.id, datetime(2026, 1, 20, 19, 0, tzinfo=UTC), "Hall", 10
        )
    )
    assert view.starts_at_text == "Tue 20 Jan 2026, 20:00 CET"
