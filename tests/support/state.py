"""Proof that a refused command changed nothing: stored state and every fake's record."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ticketdomain.core.errors import TicketDomainError
from ticketdomain.testing.domain import FakeWorld
from ticketdomain.testing.memory import InMemoryStorage


def observed(world: FakeWorld) -> dict[str, Any]:
    storage = world.storage
    assert isinstance(storage, InMemoryStorage)
    return {
        "storage": storage.snapshot(),
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
