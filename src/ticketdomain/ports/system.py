"""Time, identifiers and barcodes: the only sources of change the domain does not own."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, time-zone aware."""
        ...


class IdGenerator(Protocol):
    def new_id(self, kind: str) -> str:
        """A new unique id for an entity of ``kind`` (``"order"``, ``"ticket"``…)."""
        ...


class BarcodeGenerator(Protocol):
    def new_barcode(self) -> str:
        """A new unguessable barcode value (at least 128 random bits)."""
        ...
