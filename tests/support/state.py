"""Proof that a refused command changed nothing: stored state and every fake's record."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from ticketdomain.core.errors import TicketDomainError
from ticketdomain.ports.storage import Storage
from ticketdomain.testing.domain import FakeWorld
from ticketdomain.testing.memory import InMemoryStorage
from ticketdomain_sqlalchemy import SqlAlchemyStorage, metadata


def stored(storage: Storage) -> object:
    """Everything the storage holds, comparable with ``==``."""
    if isinstance(storage, InMemoryStorage):
        return storage.snapshot()
    assert isinstance(storage, SqlAlchemyStorage)
    with storage.engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(row) for row in connection.execute(sa.select(table))), key=repr
            )
            for table in metadata.sorted_tables
        }


def observed(world: FakeWorld) -> dict[str, Any]:
    return {
        "storage": stored(world.storage),
        "charges": list(world.payments.charges),
        "refunds": list(world.payments.refunds),
        "documents": copy.deepcopy(world.documents.documents),
        "mails": list(world.mailer.outbox),
    }


@contextmanager
def refused(
    world: FakeWorld, error: type[TicketDomainError], code: str | None = None
) -> Iterator[pytest.ExceptionInfo[TicketDomainError]]:
    """Expect ``error`` and prove the stored state and the fakes are exactly as before."""
    before = observed(world)
    with pytest.raises(error) as caught:
        yield caught
    assert caught.value.message
    if code is not None:
        assert caught.value.code == code
    assert observed(world) == before
