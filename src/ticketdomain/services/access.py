"""Access control: gates scan barcodes; each ticket is admitted once."""

from __future__ import annotations

import attrs

from ticketdomain.core.access import admit
from ticketdomain.core.errors import NotFoundError
from ticketdomain.core.timezones import in_zone
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator
from ticketdomain.services._context import Adapters
from ticketdomain.services._locks import Locks


@attrs.frozen
class AccessControlService:
    """What a gate does. A rejected barcode is an answer, not an error: ``scan_ticket``
    returns it with its reason and changes nothing."""

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def scan_ticket(self, command: c.ScanTicket) -> r.ScanResult:
        """Admit the ticket holding ``barcode`` to the performance, once.

        Rejected (``accepted`` false) with a ``ScanRejection``: unknown, revoked (reclaimed or
        reprinted), cancelled, already controlled (``controlled_at`` and ``controlled_gate``
        tell when and where), wrong performance, not printed, not payable (its holding-account
        order is unsettled where the sales point admits only settled orders). Raises
        ``NotFoundError`` for a performance the gate does not know.
        """
        now = self.adapters.clock.now()
        with self._auth.gate(command) as (uow, gate):
            performance = uow.performances.get(command.performance_id)
            if (
                performance is None
                or performance.organization_id != gate.organization_id
                or (gate.performance_ids is not None and performance.id not in gate.performance_ids)
            ):
                # A gate limited to some performances does not know the others.
                raise NotFoundError("performance", command.performance_id)
            barcode = command.barcode.strip() if isinstance(command.barcode, str) else ""
            # Locked: two gates scanning one barcode at once admit it once.
            scanned = Locks(uow).scanned_ticket(barcode) if barcode else None
            if scanned is not None and scanned.ticket.organization_id != gate.organization_id:
                scanned = None  # another organization's ticket is unknown: nothing of it shown
            # The buyer's holding account, read only where the sales point admits settled
            # orders alone.
            account = (
                uow.accounts.for_structure(gate.organization_id, scanned.ticket.structure_id)
                if scanned is not None and scanned.settlement_matters
                else None
            )
            rejection = admit(scanned, gate.organization_id, barcode, performance.id, account)
            ticket = scanned.ticket if scanned else None
            if ticket is not None and rejection is None:
                ticket.control(now, gate.gate)
                uow.tickets.update(ticket)
                uow.commit()
        # Times at the gate read in the venue's zone, from the performance already loaded.
        zone = performance.time_zone
        controlled_at = ticket.controlled_at if ticket else None
        return r.ScanResult(
            accepted=rejection is None,
            rejection=rejection,
            barcode=barcode,
            performance_id=performance.id,
            gate=gate.gate,
            scanned_at=in_zone(now, zone),
            ticket_id=ticket.id if ticket else None,
            product=scanned.product if scanned else None,
            beneficiary=ticket.beneficiary if ticket else None,
            controlled_at=in_zone(controlled_at, zone) if controlled_at else None,
            controlled_gate=ticket.controlled_gate if ticket else None,
            time_zone=zone,
        )
