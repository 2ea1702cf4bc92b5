"""What a ticket renderer needs to draw one ticket."""

from __future__ import annotations

from datetime import datetime

import attrs

from ticketdomain.core.money import Money


@attrs.frozen
class PrintableTicket:
    """One ticket as printed; the performance's start is shown in the venue's zone."""

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
    #: the venue's IANA time zone, in which ``performance_starts_at`` is printed (``None``:
    #: as the datetime itself is zoned)
    time_zone: str | None = None
    #: the ISO 639-1 code of the language the ticket's labels and date are printed in
    #: (``core.languages.LANGUAGES``; a renderer prints another one as English)
    language: str = "en"
