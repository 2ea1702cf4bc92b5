"""Shipped test support: in-memory adapters, fakes, contract suites and strategies.

Import paths here are public API: hosts and third-party adapters build their tests on them.
"""

from ticketdomain.testing.fakes import (
    FastPasswordHasher,
    FixedClock,
    InMemoryDocumentStore,
    InMemoryMailer,
    InMemoryPaymentGateway,
    RecordingRenderer,
    SequentialBarcodes,
    SequentialIds,
    SequentialTokens,
)
from ticketdomain.testing.memory import InMemoryStorage, InMemoryUnitOfWork

__all__ = [
    "FastPasswordHasher",
    "FixedClock",
    "InMemoryDocumentStore",
    "InMemoryMailer",
    "InMemoryPaymentGateway",
    "InMemoryStorage",
    "InMemoryUnitOfWork",
    "RecordingRenderer",
    "SequentialBarcodes",
    "SequentialIds",
    "SequentialTokens",
]
