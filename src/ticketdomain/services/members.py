"""The individual space: a member sees, prints and reprints the tickets assigned to them."""

from __future__ import annotations

import attrs

from ticketdomain.core.contacts import Email, Individual, clean_name
from ticketdomain.core.errors import ForeignResourceError, NotFoundError, RecipientInvalidError
from ticketdomain.core.identity import MemberActor
from ticketdomain.core.sales import Ticket, TicketState, check_ticket_ids
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator
from ticketdomain.services._context import Adapters, need
from ticketdomain.services._locks import Locks
from ticketdomain.services._tickets import Labels, render, require_payable


@attrs.frozen
class MemberService:
    """What a member (any individual holding tickets) does in the individual space. Each
    method is one transaction; a refused call raises a ``TicketDomainError`` subclass and
    changes nothing."""

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def _member(self, uow: UnitOfWork, session: MemberActor) -> Individual:
        # The Authenticator loaded this individual in this unit of work already.
        return need(uow.individuals.get(session.individual_id), "individual", session.individual_id)

    def list_member_tickets(self, command: c.ListMemberTickets) -> tuple[r.MemberTicketView, ...]:
        """The tickets assigned to the member, cancelled ones included (shown as such)."""
        with self._auth.member(command) as (uow, session):
            member = self._member(uow, session)
            labels = Labels(uow)
            views = []
            for ticket in uow.tickets.for_holder(member.id):
                performance = labels.performance(ticket.performance_id)
                views.append(
                    r.MemberTicketView(
                        ticket_id=ticket.id,
                        activity=labels.activity(performance.activity_id).name,
                        performance_id=performance.id,
                        starts_at=performance.starts_at,
                        venue=performance.venue,
                        product=labels.product(ticket.product_id).name,
                        tariff=labels.tariff(ticket.tariff_id).name,
                        state=ticket.state,
                        beneficiary=ticket.beneficiary,
                        time_zone=performance.time_zone,
                        beneficiary_email=ticket.beneficiary_email,
                        beneficiary_consent=ticket.beneficiary_consent,
                    )
                )
        return tuple(views)

    def print_member_tickets(self, command: c.PrintMemberTickets) -> r.TicketDocument:
        """Print the member's tickets with the final beneficiary's name; a ticket printed
        before gets a new barcode and the old one is revoked.

        The beneficiary's email and consent, where given, are kept with each ticket (who will
        attend: ``ExportBeneficiaries``); the ticket shows the name only.

        Raises ``ForeignResourceError`` for a ticket assigned to someone else,
        ``StateTransitionError`` for a controlled or cancelled ticket, ``OrderNotSettledError``
        where the sales point admits only settled orders, ``NameInvalidError``,
        ``EmailInvalidError`` for a beneficiary's email that is not one,
        ``RecipientInvalidError`` for an email without the beneficiary's name or a consent
        without an email.
        """
        with self._auth.member(command) as (uow, session):
            ids = check_ticket_ids(command.ticket_ids)
            member = self._member(uow, session)
            beneficiary = (
                clean_name(command.beneficiary, "beneficiary")
                if command.beneficiary is not None
                else str(member.name)
            )
            email = _beneficiary_email(command)
            tickets = self._own_tickets(uow, member, ids)
            labels = Labels(uow)
            require_payable(uow, labels, tickets)
            for ticket in tickets:
                if ticket.state is TicketState.PRINTED:
                    ticket.reissue_barcode(self.adapters.barcodes.new_barcode())
                ticket.print(beneficiary, email, command.beneficiary_consent)
            # In the member's own language, else the organization's.
            content = render(
                self.adapters.renderer,
                labels,
                [(ticket, beneficiary) for ticket in tickets],
                reader=member,
            )
            for ticket in tickets:
                uow.tickets.update(ticket)
            uow.commit()
        return r.TicketDocument(
            tuple(t.id for t in tickets), self.adapters.renderer.media_type, content
        )

    def _own_tickets(
        self, uow: UnitOfWork, member: Individual, ids: tuple[str, ...]
    ) -> list[Ticket]:
        found = {t.id: t for t in Locks(uow).tickets(ids)}
        for id in ids:
            ticket = found.get(id)
            if ticket is None:
                raise NotFoundError("ticket", id)
            if ticket.holder_id != member.id:
                raise ForeignResourceError(
                    "This ticket is not assigned to you.", kind="ticket", id=id
                )
        return [found[id] for id in sorted(ids)]

    def set_marketing_consent(self, command: c.SetMarketingConsent) -> r.IndividualView:
        """Record whether the member agrees to hear from the organization later."""
        with self._auth.member(command) as (uow, session):
            member = self._member(uow, session)
            member.marketing_consent = command.consent
            uow.individuals.update(member)
            uow.commit()
        return r.IndividualView.of(member)


def _beneficiary_email(command: c.PrintMemberTickets) -> Email | None:
    """The beneficiary's email, checked; a consent is someone's, so it needs their email, and
    an email someone's name (the member's own name is not theirs to give it)."""
    if command.beneficiary_email is None:
        if command.beneficiary_consent:
            raise RecipientInvalidError(
                "A beneficiary's consent is given with their email.", field="beneficiary_consent"
            )
        return None
    if command.beneficiary is None:
        raise RecipientInvalidError(
            "Give the name of the person the email is for.", field="beneficiary"
        )
    return Email(command.beneficiary_email)
