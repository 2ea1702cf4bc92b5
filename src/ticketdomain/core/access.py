"""Access control: what a gate answers when a barcode is scanned for a performance."""

from __future__ import annotations

import enum

from ticketdomain.core.sales import Ticket, TicketState


class ScanRejection(enum.Enum):
    """Why a gate refuses a barcode."""

    UNKNOWN = "unknown"
    #: the barcode was replaced (the ticket was reclaimed or reprinted)
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    ALREADY_CONTROLLED = "already_controlled"
    WRONG_PERFORMANCE = "wrong_performance"
    #: the ticket was never printed, so its barcode cannot have reached the gate legitimately
    NOT_PRINTED = "not_printed"
    #: its holding-account order is unsettled where the sales point admits only settled orders
    NOT_PAYABLE = "not_payable"


def admission(
    ticket: Ticket | None, barcode: str, performance_id: str, payable: bool
) -> ScanRejection | None:
    """``None`` when the ticket holding ``barcode`` may enter ``performance_id`` now."""
    if ticket is None:
        return ScanRejection.UNKNOWN
    if ticket.state is TicketState.CANCELLED:
        return ScanRejection.CANCELLED
    if ticket.barcode != barcode:
        return ScanRejection.REVOKED
    if ticket.performance_id != performance_id:
        return ScanRejection.WRONG_PERFORMANCE
    if ticket.state is TicketState.CONTROLLED:
        return ScanRejection.ALREADY_CONTROLLED
    if ticket.state is not TicketState.PRINTED:
        return ScanRejection.NOT_PRINTED
    if not payable:
        return ScanRejection.NOT_PAYABLE
    return None
