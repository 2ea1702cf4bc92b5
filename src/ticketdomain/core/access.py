"""Access control: what a gate answers when a barcode is scanned for a performance."""

from __future__ import annotations

import enum

import attrs

from ticketdomain.core.accounts import HoldingAccount, order_settled
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


@attrs.frozen
class ScannedTicket:
    """The ticket a scanned barcode belongs to, with what admitting it depends on, loaded by
    the gate in one read (``TicketRepository.for_scan``)."""

    ticket: Ticket
    #: the name of its product, shown at the gate
    product: str
    #: its sales point admits tickets of holding-account orders not settled yet
    admit_before_settlement: bool
    #: its order is paid on the buying structure's holding account
    on_account: bool
    #: the invoice of its order, once invoiced
    invoice_id: str | None

    @property
    def settlement_matters(self) -> bool:
        """Whether admitting it depends on its order's invoice being covered: only then is
        the structure's holding account read."""
        return not self.admit_before_settlement and self.on_account and self.invoice_id is not None

    def payable(self, account: HoldingAccount | None) -> bool:
        """Whether it may be admitted as far as payment goes: always where its sales point
        admits before settlement or for an order not on account; else once the order's invoice
        is covered on ``account`` (the buying structure's holding account)."""
        return self.admit_before_settlement or order_settled(
            self.on_account, self.invoice_id, account
        )


def admit(
    scanned: ScannedTicket | None,
    organization_id: str,
    barcode: str,
    performance_id: str,
    account: HoldingAccount | None = None,
) -> ScanRejection | None:
    """``None`` when the ticket scanned at a gate of ``organization_id`` may enter
    ``performance_id`` now (``admission``); another organization's ticket is unknown there.
    ``account`` is the buying structure's holding account, needed only when
    ``scanned.settlement_matters``."""
    if scanned is None or scanned.ticket.organization_id != organization_id:
        return ScanRejection.UNKNOWN
    return admission(scanned.ticket, barcode, performance_id, scanned.payable(account))
