"""Time zones: people read times in the venue's zone; rules compare and store instants.

A venue (a performance) and an organization (the default of its venues) have an IANA time zone
name, checked against the zone database (``tzdata`` where the system has none). A performance's
start is held as an aware datetime in that zone, so 20:30 in Zurich stays 20:30 in Zurich,
also on the nights the clocks change. Rules never do wall-clock arithmetic: "a day before the
performance" is 24 hours of elapsed time (:func:`instant` first), and times are compared as
instants whatever their zones.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketdomain.core.errors import TimeZoneUnknownError

#: the zone of an organization created without one
DEFAULT_TIME_ZONE = "UTC"
#: the longest zone name accepted (the longest IANA name has 32 characters)
MAX_TIME_ZONE = 64

# Area/Location names only: no path tricks ("..", absolute paths) reach the zone loader.
_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def check_time_zone(name: object) -> str:
    """``name`` if it names a zone of the IANA database.

    Raises ``TimeZoneUnknownError`` otherwise.
    """
    if not isinstance(name, str) or len(name) > MAX_TIME_ZONE or not _NAME.fullmatch(name):
        raise TimeZoneUnknownError(f"{name!r} is not a time zone name.", time_zone=repr(name))
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, UnicodeError):
        raise TimeZoneUnknownError(
            f"{name!r} is not a time zone of the IANA database.", time_zone=name
        ) from None
    return name


def zone(name: str) -> ZoneInfo:
    """The zone named ``name`` (Raises ``TimeZoneUnknownError``)."""
    return ZoneInfo(check_time_zone(name))


def zone_name_of(moment: datetime, default: str = DEFAULT_TIME_ZONE) -> str:
    """The IANA name of ``moment``'s zone, or ``default`` for a fixed offset."""
    key = getattr(moment.tzinfo, "key", None)
    return key if isinstance(key, str) else default


def instant(moment: datetime) -> datetime:
    """The same instant in UTC: what rules compute and compare on."""
    return moment.astimezone(UTC)


def in_zone(moment: datetime, name: str) -> datetime:
    """The same instant as wall-clock time in the zone ``name`` (``fold`` set on the repeated
    hour when the clocks go back)."""
    return moment.astimezone(zone(name))


def exists_in_zone(moment: datetime, name: str) -> bool:
    """Whether ``moment``'s wall-clock time exists in the zone ``name`` (false for a time the
    clocks skip when they go forward, such as 02:30 in Zurich on the last Sunday of March).

    A moment given in another zone is an instant and always exists."""
    tz = zone(name)
    if moment.tzinfo is not tz:
        return True
    back = moment.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def offset_label(moment: datetime) -> str:
    """``UTC+02:00``; ``UTC`` for no offset."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("A datetime without a time zone has no offset.")
    minutes = int(offset / timedelta(minutes=1))
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def zone_label(moment: datetime) -> str:
    """The zone's abbreviation at that moment (``CEST``, ``CET``, ``UTC``), or its offset
    (``UTC-03:00``) where the zone has no abbreviation (tzdata writes ``-03`` then)."""
    name = moment.tzname()
    if not name or name[0] in "+-" or (name.startswith("UTC") and name != "UTC"):
        return offset_label(moment)
    return name


def format_local(moment: datetime) -> str:
    """``Sun 10 May 2026, 20:00 CEST``: the wall-clock time of ``moment`` with its zone (in
    English whatever the process locale)."""
    return (
        f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} "
        f"{moment.year}, {moment:%H:%M} {zone_label(moment)}"
    )


def format_short(moment: datetime) -> str:
    """``2026-05-10 20:00 CEST``: sortable, for spreadsheets and one-line descriptions."""
    return f"{moment:%Y-%m-%d %H:%M} {zone_label(moment)}"
