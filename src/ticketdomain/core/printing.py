"""What a ticket renderer needs to draw one ticket."""

from __future__ import annotations

from datetime import datetime

import attrs

from ticketdomain.core.money import Money


@attrs.frozen
class PrintableTicket:
    ticket_id: str
    barcode: str
    organization: str
    activity: str
    performance_starts_at: datetime
    venue: str
    product: str
    tariff: str
    price: Money
    order_id: str
    #: the final beneficiary's name, or the buying structure's when printed at once
    beneficiary: str
