"""Time zones in the core: names checked, wall-clock times kept, rules computed on instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ticketdomain.core.catalog import Performance, ProductConditions
from ticketdomain.core.errors import SetupInvalidError, TimeZoneUnknownError
from ticketdomain.core.sales import reservation_deadline
from ticketdomain.core.setup import Organization
from ticketdomain.core.timezones import (
    check_time_zone,
    format_local,
    format_short,
    zone_label,
)

ZURICH = ZoneInfo("Europe/Zurich")


@pytest.mark.parametrize("name", ["UTC", "Europe/Zurich", "America/Argentina/Buenos_Aires"])
def test_iana_names_are_accepted(name: str) -> None:
    assert check_time_zone(name) == name


@pytest.mark.parametrize(
    "name", ["", "Zurich", "Europe/Zürich", "../etc/passwd", "/etc/localtime", "Europe", 42]
)
def test_anything_else_is_refused(name: object) -> None:
    with pytest.raises(TimeZoneUnknownError) as caught:
        check_time_zone(name)
    assert caught.value.code == "time_zone_unknown"
    assert isinstance(caught.value, SetupInvalidError)


def test_an_organization_is_in_utc_unless_told_otherwise() -> None:
    assert Organization("o", "i", "Opera", "CHF").time_zone == "UTC"
    assert Organization("o", "i", "Opera", "CHF", "Europe/Zurich").time_zone == "Europe/Zurich"
    with pytest.raises(TimeZoneUnknownError):
        Organization("o", "i", "Opera", "CHF", "Europe/Nowhere")


def performance(starts_at: datetime, time_zone: str | None = None) -> Performance:
    if time_zone is None:
        return Performance("p", "o", "a", starts_at, "Hall", 10)
    return Performance("p", "o", "a", starts_at, "Hall", 10, time_zone)


def test_a_performance_holds_its_start_in_its_zone() -> None:
    given = performance(datetime(2026, 5, 10, 18, 30, tzinfo=UTC), "Europe/Zurich")
    assert given.starts_at.tzinfo is ZURICH and given.starts_at.hour == 20
    assert given.start_instant == datetime(2026, 5, 10, 18, 30, tzinfo=UTC)
    # Without a zone: the zone of the start if it has a name, else UTC.
    assert performance(datetime(2026, 5, 10, 20, 30, tzinfo=ZURICH)).time_zone == "Europe/Zurich"
    fixed = datetime(2026, 5, 10, 20, 30, tzinfo=timezone(timedelta(hours=2)))
    assert performance(fixed).time_zone == "UTC"


def test_the_second_occurrence_of_the_repeated_hour_is_kept_and_compared_as_an_instant() -> None:
    first = performance(datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=ZURICH))
    second = performance(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZURICH))
    assert (first.starts_at.fold, second.starts_at.fold) == (0, 1)
    assert second.start_instant - first.start_instant == timedelta(hours=1)
    # Python would call the two starts equal (same wall clock, one zone); performances do not.
    assert first.starts_at == second.starts_at
    assert first != second


def test_a_start_the_clocks_skip_is_refused() -> None:
    with pytest.raises(SetupInvalidError):
        performance(datetime(2026, 3, 29, 2, 30, tzinfo=ZURICH))
    # The same instant sent in UTC is simply 03:30 summer time.
    assert (
        performance(datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "Europe/Zurich").starts_at.hour == 3
    )


def test_times_read_with_the_zones_abbreviation_or_offset() -> None:
    summer = datetime(2026, 5, 10, 20, 0, tzinfo=ZURICH)
    assert format_local(summer) == "Sun 10 May 2026, 20:00 CEST"
    assert format_short(summer) == "2026-05-10 20:00 CEST"
    assert format_local(datetime(2026, 1, 10, 20, 0, tzinfo=ZURICH)).endswith("20:00 CET")
    assert zone_label(datetime(2026, 1, 10, tzinfo=UTC)) == "UTC"
    assert zone_label(datetime(2026, 1, 10, tzinfo=ZoneInfo("America/Sao_Paulo"))) == "UTC-03:00"
    assert zone_label(datetime(2026, 1, 10, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == (
        "UTC+05:30"
    )


def test_a_reservation_deadline_a_day_before_a_start_after_the_change_is_24_hours() -> None:
    start = datetime(2026, 3, 29, 20, 30, tzinfo=ZURICH)  # 18:30 UTC, summer time
    created = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    deadline = reservation_deadline(created, timedelta(days=5), start, timedelta(days=1))
    assert deadline == datetime(2026, 3, 28, 18, 30, tzinfo=UTC)
    assert start.astimezone(UTC) - deadline == timedelta(hours=24)


def test_a_sale_window_in_one_zone_opens_and_closes_at_its_instants() -> None:
    conditions = ProductConditions(
        "prod",
        sale_opens_at=datetime(2026, 10, 25, 2, 45, fold=0, tzinfo=ZURICH),  # 00:45 UTC
        sale_closes_at=datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=ZURICH),  # 01:15 UTC
    )
    assert not conditions.is_open(datetime(2026, 10, 25, 2, 40, fold=0, tzinfo=ZURICH))
    assert conditions.is_open(datetime(2026, 10, 25, 2, 50, fold=0, tzinfo=ZURICH))
    assert conditions.is_open(datetime(2026, 10, 25, 2, 10, fold=1, tzinfo=ZURICH))
    assert not conditions.is_open(datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=ZURICH))
