"""Infrastructure errors translated into the library's hierarchy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from ticketdomain.core.errors import ConcurrencyError

# PostgreSQL: unique violation, serialization failure, deadlock, lock not available.
_PG_CONFLICTS = {
    "23505": "duplicate",
    "40001": "serialization",
    "40P01": "deadlock",
    "55P03": "lock_timeout",
}
_SQLITE_DUPLICATES = {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def conflict_reason(error: DBAPIError) -> str | None:
    """Why ``error`` means another transaction got there first, or None if it does not."""
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in _PG_CONFLICTS:
        return _PG_CONFLICTS[sqlstate]
    if getattr(original, "sqlite_errorname", None) in _SQLITE_DUPLICATES:
        return "duplicate"
    text = str(original)
    if "UNIQUE constraint failed" in text:
        return "duplicate"
    if any(marker in text for marker in _SQLITE_BUSY):
        return "locked"
    return None


def concurrency_error(error: DBAPIError) -> ConcurrencyError | None:
    """The :class:`ConcurrencyError` to raise (chained) for ``error`` when a retry may
    overcome it, else None."""
    reason = conflict_reason(error)
    if reason is None:
        return None
    message = {
        "duplicate": "This id or unique value is already stored.",
        "locked": "The database stayed locked by another transaction.",
    }.get(reason, "Another transaction changed the same data first.")
    return ConcurrencyError(message, reason=reason)


@contextmanager
def translated() -> Iterator[None]:
    """Raise :class:`ConcurrencyError` (chained) for errors that a retry may overcome."""
    try:
        yield
    except DBAPIError as error:
        conflict = concurrency_error(error)
        if conflict is None:
            raise
        raise conflict from error
