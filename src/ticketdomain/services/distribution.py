"""The corporate space: a structure's stock, its dashboard, distributing tickets to members, to
sub-structures or on paper at once, in bulk from a spreadsheet, and reclaiming them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import attrs

from ticketdomain.core.catalog import Activity, Performance, Product, check_quantity
from ticketdomain.core.contacts import ContactRole, Email, Individual, PersonName, Structure
from ticketdomain.core.distribution import (
    SHEET_LIMITS,
    Family,
    SheetLine,
    SheetRow,
    Tally,
    check_sheet,
    check_stock,
    read_sheet,
    sheet_lines,
    sheet_table,
    tally,
    write_sheet,
)
from ticketdomain.core.errors import (
    ForeignResourceError,
    ImportRejectedError,
    NotFoundError,
    QuantityInvalidError,
    RecipientInvalidError,
    SheetFormatUnsupportedError,
    StockInsufficientError,
)
from ticketdomain.core.identity import ActorKind, LinkPurpose, RelayActor
from ticketdomain.core.languages import check_optional_language
from ticketdomain.core.mail import MailKind
from ticketdomain.core.sales import Ticket, TicketState, check_ticket_ids
from ticketdomain.core.setup import Function, SalesPoint
from ticketdomain.core.spreadsheets import MEDIA_TYPES, CsvCodec, SheetFormat, sheet_format_of
from ticketdomain.core.timezones import format_short, instant
from ticketdomain.ports.spreadsheets import SpreadsheetCodec
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator
from ticketdomain.services._context import Adapters, need, relay_rows
from ticketdomain.services._locks import Locks
from ticketdomain.services._tickets import (
    Labels,
    queue_ticket_notice,
    render,
    require_payable,
)
from ticketdomain.services.identity import issue_link

_DISTRIBUTED = (TicketState.DISTRIBUTED, TicketState.PRINTED, TicketState.CONTROLLED)

_Named = TypeVar("_Named", Activity, Performance, Product)


def _by_id(items: Sequence[_Named]) -> dict[str, _Named]:
    return {item.id: item for item in items}


def ancestors_of(uow: UnitOfWork, structure: Structure) -> list[str]:
    """The parent, grandparent… of a structure (a cycle, which set-up never makes, stops it)."""
    found: list[str] = []
    parent_id = structure.parent_id
    while parent_id is not None and parent_id not in found and parent_id != structure.id:
        found.append(parent_id)
        parent = uow.structures.get(parent_id)
        parent_id = parent.parent_id if parent is not None else None
    return found


@attrs.frozen
class DistributionService:
    """What a structure's relays do with the tickets it bought, on a sales point where the
    distribution function is on. Each method is one transaction; a refused call raises a
    ``TicketDomainError`` subclass and changes nothing."""

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    # --- sessions and visibility ------------------------------------------------------------

    def _authorize(self, uow: UnitOfWork, session: RelayActor) -> SalesPoint:
        sales_point, _ = relay_rows(session)
        sales_point.require(Function.DISTRIBUTION)
        return sales_point

    def _visible(self, uow: UnitOfWork, session: RelayActor, structure_id: str | None) -> Structure:
        """The relay's structure, or one below it (what it handed on is visible, read-only)."""
        own = need(uow.structures.get(session.structure_id), "structure", session.structure_id)
        if structure_id is None or structure_id == own.id:
            return own
        target = uow.structures.get(structure_id)
        if target is None or target.institution_id != session.institution_id:
            # Another institution's ids are not the relay's to probe.
            raise NotFoundError("structure", structure_id)
        if own.id not in ancestors_of(uow, target):
            raise ForeignResourceError(
                "This structure is not one of the relay's sub-structures.",
                kind="structure",
                id=structure_id,
            )
        return target

    def _sub_structure(self, uow: UnitOfWork, session: RelayActor, id: str) -> Structure:
        sub = uow.structures.get(id)
        if sub is None or sub.institution_id != session.institution_id:
            raise NotFoundError("structure", id)
        if sub.parent_id != session.structure_id:
            raise ForeignResourceError(
                "Tickets go to and come back from direct sub-structures only.",
                kind="structure",
                id=id,
            )
        return sub

    def _tallies(
        self, uow: UnitOfWork, session: RelayActor, structure_id: str | None
    ) -> tuple[Structure, dict[tuple[str, str], Tally], dict[str, str]]:
        """The structure ``_visible`` gives, its tallies and the names of its direct
        sub-structures: the structures in one read (the relay's own with its family), the
        tickets in one aggregate."""
        family = Family.of(uow.structures.family(session.structure_id))
        own = need(family.get(session.structure_id), "structure", session.structure_id)
        structure = own
        if structure_id is not None and structure_id != own.id:
            found = family.get(structure_id)
            if (
                found is None
                or found.institution_id != session.institution_id
                or own.id not in family.ancestors(found.id)
            ):
                # Not one of the relay's sub-structures: refused as _visible refuses it.
                self._visible(uow, session, structure_id)
                raise NotFoundError("structure", structure_id)
            structure = found
        child_of = family.below(structure.id)
        counts = uow.tickets.custody_counts(session.organization_id, [structure.id, *child_of])
        tallies = tally(structure.id, family.ancestors(structure.id), child_of, counts)
        names = {child.id: child.name for child in family.children(structure.id)}
        return structure, tallies, names

    # --- reading ----------------------------------------------------------------------------

    def view_stock(self, command: c.ViewStock) -> r.StockView:
        """Per performance and product: the tickets that came in and those still in stock
        (distributable)."""
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
            structure, tallies, _ = self._tallies(uow, session, command.structure_id)
            came_in = {key: n for key, n in tallies.items() if n.bought + n.received}
            performances = _by_id(uow.performances.get_many({key[0] for key in came_in}))
            products = _by_id(uow.products.get_many({key[1] for key in came_in}))
            activities = _by_id(
                uow.activities.get_many({p.activity_id for p in performances.values()})
            )
            lines = []
            for (performance_id, product_id), counts in came_in.items():
                performance = need(performances.get(performance_id), "performance", performance_id)
                activity_id = performance.activity_id
                lines.append(
                    r.StockLine(
                        performance_id=performance_id,
                        activity=need(activities.get(activity_id), "activity", activity_id).name,
                        starts_at=performance.starts_at,
                        venue=performance.venue,
                        product_id=product_id,
                        product=need(products.get(product_id), "product", product_id).name,
                        came_in=counts.bought + counts.received,
                        in_stock=counts.in_stock,
                        time_zone=performance.time_zone,
                    )
                )
        lines.sort(key=lambda line: (instant(line.starts_at), line.performance_id, line.product))
        return r.StockView(structure.id, structure.name, tuple(lines))

    def view_dashboard(self, command: c.ViewDashboard) -> r.Dashboard:
        """Counted by one aggregate query over the tickets, never ticket by ticket."""
        with self._auth.relay(command) as (uow, session):
            return self._dashboard_in(uow, session, command.structure_id)

    def _dashboard_in(
        self, uow: UnitOfWork, session: RelayActor, structure_id: str | None
    ) -> r.Dashboard:
        """The dashboard, in a unit of work the caller opened for this relay (the report
        service renders it without a second authentication). Private: every public method
        of a service handles one command."""
        self._authorize(uow, session)
        structure, tallies, names = self._tallies(uow, session, structure_id)
        per_product: dict[str, Tally] = {}
        for (_, product_id), counts in tallies.items():
            per_product[product_id] = per_product.get(product_id, Tally()) + counts
        found = _by_id(uow.products.get_many(per_product))
        activities = _by_id(uow.activities.get_many({p.activity_id for p in found.values()}))
        products = []
        for product_id, counts in per_product.items():
            product = need(found.get(product_id), "product", product_id)
            activity = need(activities.get(product.activity_id), "activity", product.activity_id)
            products.append(
                r.ProductTally(
                    product_id=product_id,
                    product=product.name,
                    activity=activity.name,
                    tally=_tally_view(counts, names),
                )
            )
        total = sum(per_product.values(), Tally())
        products.sort(key=lambda item: (item.activity, item.product, item.product_id))
        return r.Dashboard(structure.id, structure.name, tuple(products), _tally_view(total, names))

    def list_distributed_tickets(
        self, command: c.ListDistributedTickets
    ) -> tuple[r.DistributedTicketView, ...]:
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
            structure = self._visible(uow, session, command.structure_id)
            tickets = uow.tickets.in_custody(session.organization_id, structure.id, _DISTRIBUTED)
            holders: dict[str, Individual | None] = {}
            views = []
            for ticket in tickets:
                holder = None
                if ticket.holder_id is not None:
                    if ticket.holder_id not in holders:
                        holders[ticket.holder_id] = uow.individuals.get(ticket.holder_id)
                    holder = holders[ticket.holder_id]
                views.append(
                    r.DistributedTicketView(
                        ticket_id=ticket.id,
                        performance_id=ticket.performance_id,
                        product_id=ticket.product_id,
                        state=ticket.state,
                        stock_structure_id=ticket.stock_structure_id,
                        holder_id=ticket.holder_id,
                        holder_name=str(holder.name) if holder else None,
                        holder_email=holder.email.value if holder else None,
                        beneficiary=ticket.beneficiary,
                    )
                )
        return tuple(views)

    def search_members(self, command: c.SearchMembers) -> tuple[r.IndividualView, ...]:
        """Relays and members of the relay's own structure matching the text."""
        with self._auth.relay(command) as (uow, session):
            if not 1 <= command.limit <= 500:
                raise QuantityInvalidError(
                    "A search returns 1 to 500 contacts.", limit=command.limit
                )
            self._authorize(uow, session)
            found = uow.individuals.search(
                session.structure_id, command.text.strip(), command.limit
            )
        return tuple(r.IndividualView.of(item) for item in found)

    # --- distributing -----------------------------------------------------------------------

    def _take_from_stock(
        self,
        uow: UnitOfWork,
        session: RelayActor,
        structure_id: str,
        performance_id: str,
        product_id: str,
        quantity: int,
    ) -> list[Ticket]:
        quantity = check_quantity(quantity)
        self._check_catalog(uow, session, performance_id, product_id)
        tickets = Locks(uow).tickets_in_custody(
            session.organization_id,
            structure_id,
            (TicketState.BOUGHT,),
            performance_id=performance_id,
            product_id=product_id,
            limit=quantity,
        )
        if len(tickets) < quantity:
            raise StockInsufficientError(
                f"Only {len(tickets)} ticket(s) of this product are in stock; "
                f"{quantity} were asked for.",
                structure_id=structure_id,
                performance_id=performance_id,
                product_id=product_id,
                in_stock=len(tickets),
                requested=quantity,
            )
        return tickets

    def _check_catalog(
        self,
        uow: UnitOfWork,
        session: RelayActor,
        performance_id: str | None,
        product_id: str | None,
    ) -> None:
        # An unknown performance or product is reported as such, not as an empty stock.
        if performance_id is not None:
            performance = uow.performances.get(performance_id)
            if performance is None or performance.organization_id != session.organization_id:
                raise NotFoundError("performance", performance_id)
        if product_id is not None:
            product = uow.products.get(product_id)
            if product is None or product.organization_id != session.organization_id:
                raise NotFoundError("product", product_id)

    def distribute_to_member(self, command: c.DistributeToMember) -> r.TicketsDistributed:
        """Assign tickets to a member (found, or created as a member of the structure) and
        queue the mail inviting them to print.

        Raises ``RecipientInvalidError``, ``EmailInvalidError``, ``NameInvalidError``,
        ``QuantityInvalidError``, ``StockInsufficientError``, ``ForeignResourceError``,
        ``FunctionDisabledError``, ``SalesPointAccessDeniedError``…
        """
        with self._auth.relay(command) as (uow, session):
            if (command.member_id is None) == (command.member is None):
                raise RecipientInvalidError("Name the member either by id or by their details.")
            self._authorize(uow, session)
            if command.member_id is not None:
                found = uow.individuals.get(command.member_id)
                if found is None or found.institution_id != session.institution_id:
                    raise NotFoundError("individual", command.member_id)
                member = found
                if member.structure_id != session.structure_id:
                    raise ForeignResourceError(
                        "This contact is not a member of the relay's structure.",
                        kind="individual",
                        id=member.id,
                    )
            else:
                assert command.member is not None
                email = Email(command.member.email)
                member = self._find_or_create_member(
                    uow,
                    session,
                    email,
                    PersonName(command.member.first_name, command.member.last_name),
                    command.member.marketing_consent,
                    uow.individuals.find_by_email(session.institution_id, email.value),
                    check_optional_language(command.member.language),
                )
            tickets = self._take_from_stock(
                uow,
                session,
                session.structure_id,
                command.performance_id,
                command.product_id,
                command.quantity,
            )
            for ticket in tickets:
                ticket.assign(member.id)
                uow.tickets.update(ticket)
            message = self._invitation(uow, session, member, tickets)
            uow.commit()
        return r.TicketsDistributed(
            tuple(t.id for t in tickets), member.id, str(member.name), member.email.value, message
        )

    def _find_or_create_member(
        self,
        uow: UnitOfWork,
        session: RelayActor,
        email: Email,
        name: PersonName,
        marketing_consent: bool,
        found: Individual | None,
        language: str | None = None,
    ) -> Individual:
        """The contact ``found`` by this email (``None``: nobody), made a member of the relay's
        structure if it had none, or a new member (whose mail is in ``language``)."""
        if found is not None:
            if _is_foreign(found, session):
                # Not handed to another structure's contact, whose name would come back.
                raise ForeignResourceError(
                    "This email belongs to a contact of another structure.",
                    kind="individual",
                    email=email.value,
                )
            if found.structure_id is None:
                found.structure_id = session.structure_id
                found.role = ContactRole.MEMBER
                uow.individuals.update(found)
            return found
        member = Individual(
            id=self.adapters.ids.new_id("individual"),
            institution_id=session.institution_id,
            name=name,
            email=email,
            structure_id=session.structure_id,
            role=ContactRole.MEMBER,
            marketing_consent=marketing_consent,
            language=language,
        )
        uow.individuals.add(member)
        return member

    def _invitation(
        self,
        uow: UnitOfWork,
        session: RelayActor,
        member: Individual,
        tickets: Sequence[Ticket],
        labels: Labels | None = None,
    ) -> str:
        """The member's invitation, queued; ``labels`` shared when several are sent at once."""
        organization = need(
            uow.organizations.get(session.organization_id), "organization", session.organization_id
        )
        structure = need(
            uow.structures.get(session.structure_id), "structure", session.structure_id
        )
        link = issue_link(uow, self.adapters, member, ActorKind.MEMBER, LinkPurpose.INVITATION)
        return queue_ticket_notice(
            uow,
            self.adapters,
            labels or Labels(uow),
            member,
            MailKind.INVITATION,
            tickets,
            organization=organization,
            context={"structure": structure.name, "link": link},
        )

    def distribute_to_sub_structure(
        self, command: c.DistributeToSubStructure
    ) -> r.TicketsHandedOver:
        """Move tickets to a direct sub-structure's stock, for its relays to distribute."""
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
            sub = self._sub_structure(uow, session, command.sub_structure_id)
            tickets = self._take_from_stock(
                uow,
                session,
                session.structure_id,
                command.performance_id,
                command.product_id,
                command.quantity,
            )
            for ticket in tickets:
                ticket.hand_to(sub.id)
                uow.tickets.update(ticket)
            uow.commit()
        return r.TicketsHandedOver(tuple(t.id for t in tickets), sub.id)

    def print_at_once(self, command: c.PrintAtOnce) -> r.TicketDocument:
        """Print tickets from the stock to hand over by hand (no mail, no assignment).

        Raises ``OrderNotSettledError`` for tickets of an unsettled holding-account order where
        their sales point admits only settled orders.
        """
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
            structure = need(
                uow.structures.get(session.structure_id), "structure", session.structure_id
            )
            tickets = self._take_from_stock(
                uow,
                session,
                session.structure_id,
                command.performance_id,
                command.product_id,
                command.quantity,
            )
            labels = Labels(uow)
            require_payable(uow, labels, tickets)
            for ticket in tickets:
                ticket.print()
            # Handed over by hand: the structure's name stands for the unknown beneficiary.
            content = render(
                self.adapters.renderer, labels, [(ticket, structure.name) for ticket in tickets]
            )
            for ticket in tickets:
                uow.tickets.update(ticket)
            uow.commit()
        return r.TicketDocument(
            tuple(t.id for t in tickets), self.adapters.renderer.media_type, content
        )

    # --- the spreadsheet --------------------------------------------------------------------

    def export_stock(self, command: c.ExportStock) -> r.StockSheet:
        """One row per ticket in stock; fill in first name, last name and email, then import.

        Raises ``SheetFormatUnsupportedError`` for ``.xlsx`` where the host plugged in no
        spreadsheet codec.
        """
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
            codec = sheet_codec(self.adapters, command.format)
            self._check_catalog(uow, session, command.performance_id, command.product_id)
            tickets = uow.tickets.in_custody(
                session.organization_id,
                session.structure_id,
                (TicketState.BOUGHT,),
                performance_id=command.performance_id,
                product_id=command.product_id,
            )
            labels = Labels(uow)
            rows = []
            for ticket in tickets:
                performance = labels.performance(ticket.performance_id)
                rows.append(
                    SheetRow(
                        ticket_id=ticket.id,
                        activity=labels.activity(performance.activity_id).name,
                        performance=format_short(performance.starts_at),
                        venue=performance.venue,
                        product=labels.product(ticket.product_id).name,
                    )
                )
        if command.format is SheetFormat.CSV:
            content = write_sheet(rows)
            return r.StockSheet(
                structure_id=session.structure_id,
                filename=f"stock-{session.structure_id}.csv",
                media_type=MEDIA_TYPES[SheetFormat.CSV],
                content=content,
                tickets=len(rows),
                data=content.encode("utf-8"),
            )
        # Written once the unit of work is closed: a workbook takes longer than a CSV.
        data = codec.write(sheet_table(rows))
        return r.StockSheet(
            structure_id=session.structure_id,
            filename=f"stock-{session.structure_id}.{codec.extension}",
            media_type=codec.media_type,
            content="",
            tickets=len(rows),
            format=command.format,
            data=data,
        )

    def import_distribution(self, command: c.ImportDistribution) -> r.ImportReport:
        """Distribute every filled-in row to the individual it names (one invitation per
        individual); rows left blank stay in stock.

        The file is CSV, or a ``.xlsx`` workbook (told by its content) where the host plugged
        in a spreadsheet codec: its first sheet is read, formulas as their text (never
        evaluated), and checked row by row as a CSV is.

        Raises ``CsvInvalidError`` or ``CsvTooLargeError`` for a file that is not such a
        spreadsheet (a workbook too: one unpacking past the limit, or with too many rows, is
        refused before it is read), ``SheetFormatUnsupportedError`` for a workbook where the
        host plugged in no codec, and ``ImportRejectedError`` (``details["rows"]``: row,
        ticket_id, code, message of every bad row) when a row is bad and ``apply_valid_rows``
        is off.
        """
        # The relay first, then the file read and its rows checked with no unit of work open
        # (on SQLite every unit of work holds the write lock), then one short unit of work
        # locks the tickets, checks the stock and the contacts again and writes in bulk.
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
        sheet = check_sheet(read_filled_sheet(self.adapters, command.content))
        reports: dict[int, r.ImportRowReport] = {
            line.row: r.ImportRowReport(line.row, line.ticket_id, r.ImportOutcome.UNTOUCHED)
            for line in sheet.untouched
        }
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
            found = {t.id: t for t in Locks(uow).tickets([row.ticket_id for row in sheet.wanted])}
            # Each email is looked up once, for the check and then for the distribution.
            contacts = {
                row.email_key: uow.individuals.find_by_email(
                    session.institution_id, row.email.value
                )
                for row in {row.email_key: row for row in sheet.wanted}.values()
            }
            wanted, refused = check_stock(
                sheet.wanted, found, contacts, session.organization_id, session.structure_id
            )
            rejected = sorted((*sheet.rejected, *refused), key=lambda rejection: rejection.row)
            if rejected and not command.apply_valid_rows:
                raise ImportRejectedError(
                    f"{len(rejected)} row(s) of the spreadsheet are wrong; nothing was "
                    "distributed.",
                    rows=[
                        {
                            "row": rejection.row,
                            "ticket_id": rejection.ticket_id,
                            "code": rejection.code,
                            "message": rejection.message,
                        }
                        for rejection in rejected
                    ],
                )
            for rejection in rejected:
                reports[rejection.row] = r.ImportRowReport(
                    rejection.row,
                    rejection.ticket_id,
                    r.ImportOutcome.REJECTED,
                    code=rejection.code,
                    message=rejection.message,
                )
            by_member: dict[str, tuple[Individual, list[Ticket]]] = {}
            for row in sorted(wanted, key=lambda row: row.row):
                if row.email_key not in by_member:
                    member = self._find_or_create_member(
                        uow, session, row.email, row.name, False, contacts[row.email_key]
                    )
                    by_member[row.email_key] = (member, [])
                member, tickets = by_member[row.email_key]
                ticket = found[row.ticket_id]
                ticket.assign(member.id)
                tickets.append(ticket)
                reports[row.row] = r.ImportRowReport(
                    row.row, row.ticket_id, r.ImportOutcome.DISTRIBUTED, holder_id=member.id
                )
            uow.tickets.update_many([t for _, tickets in by_member.values() for t in tickets])
            labels = Labels(uow)
            mails = tuple(
                self._invitation(uow, session, member, tickets, labels)
                for member, tickets in by_member.values()
            )
            uow.commit()
        return r.ImportReport(tuple(reports[row] for row in sorted(reports)), mails)

    # --- reclaiming -------------------------------------------------------------------------

    def reclaim_tickets(self, command: c.ReclaimTickets) -> r.TicketsReclaimed:
        """Take tickets distributed from the relay's stock back into it. Each gets a new
        barcode (the old one never validates again) and each holder is told by mail.

        Raises ``StateTransitionError`` for a controlled or cancelled ticket,
        ``ForeignResourceError`` for a ticket the structure did not distribute.
        """
        with self._auth.relay(command) as (uow, session):
            ids = check_ticket_ids(command.ticket_ids)
            self._authorize(uow, session)
            tickets = {t.id: t for t in Locks(uow).tickets(ids)}
            for id in ids:
                ticket = tickets.get(id)
                if ticket is None or ticket.organization_id != session.organization_id:
                    raise NotFoundError("ticket", id)
                if ticket.stock_structure_id != session.structure_id:
                    raise ForeignResourceError(
                        "This ticket was not distributed from the relay's stock.",
                        kind="ticket",
                        id=id,
                    )
            holders: dict[str, list[Ticket]] = {}
            for ticket in tickets.values():
                if ticket.holder_id is not None:
                    holders.setdefault(ticket.holder_id, []).append(ticket)
                ticket.reclaim(self.adapters.barcodes.new_barcode())
                uow.tickets.update(ticket)
            mails = tuple(
                self._reclaim_notice(uow, session, holder_id, taken)
                for holder_id, taken in sorted(holders.items())
            )
            uow.commit()
        return r.TicketsReclaimed(ids, mails)

    def _reclaim_notice(
        self, uow: UnitOfWork, session: RelayActor, holder_id: str, tickets: list[Ticket]
    ) -> str:
        holder = need(uow.individuals.get(holder_id), "individual", holder_id)
        structure = need(
            uow.structures.get(session.structure_id), "structure", session.structure_id
        )
        labels = Labels(uow)
        return queue_ticket_notice(
            uow,
            self.adapters,
            labels,
            holder,
            MailKind.RECLAIM,
            tickets,
            organization=labels.organization(session.organization_id),
            context={"structure": structure.name},
        )

    def reclaim_from_sub_structure(self, command: c.ReclaimFromSubStructure) -> r.TicketsReclaimed:
        """Take tickets still in a direct sub-structure's stock back into the relay's stock
        (only tickets the relay's structure handed down; what the sub-structure bought itself
        stays)."""
        with self._auth.relay(command) as (uow, session):
            self._authorize(uow, session)
            sub = self._sub_structure(uow, session, command.sub_structure_id)
            quantity = check_quantity(command.quantity)
            self._check_catalog(uow, session, command.performance_id, command.product_id)
            # Only what was handed down: what the sub-structure bought itself stays its own.
            tickets = Locks(uow).tickets_in_custody(
                session.organization_id,
                sub.id,
                (TicketState.BOUGHT,),
                performance_id=command.performance_id,
                product_id=command.product_id,
                limit=quantity,
                received_only=True,
            )
            if len(tickets) < quantity:
                raise StockInsufficientError(
                    f"Only {len(tickets)} ticket(s) handed down are in this sub-structure's "
                    f"stock; {quantity} were asked for.",
                    structure_id=sub.id,
                    in_stock=len(tickets),
                    requested=quantity,
                )
            for ticket in tickets:
                ticket.take_back(session.structure_id)
                uow.tickets.update(ticket)
            uow.commit()
        return r.TicketsReclaimed(tuple(t.id for t in tickets), ())


def sheet_codec(adapters: Adapters, format: SheetFormat) -> SpreadsheetCodec:
    """The codec writing ``format``: the library's own for CSV, the host's for ``.xlsx``.

    Raises ``SheetFormatUnsupportedError`` where the host plugged in none.
    """
    if format is SheetFormat.CSV:
        return CsvCodec()
    if adapters.spreadsheets is None:
        raise SheetFormatUnsupportedError(
            f"Spreadsheets as .{format.value} are not available here; use CSV.",
            format=format.value,
        )
    return adapters.spreadsheets


def read_filled_sheet(adapters: Adapters, content: bytes) -> list[SheetLine]:
    """The rows of a filled-in sheet, CSV or a workbook as its content says (no storage
    read: called with no unit of work open)."""
    found = sheet_format_of(content)
    if found is SheetFormat.CSV:
        return read_sheet(content)
    return sheet_lines(sheet_codec(adapters, found).read(content, SHEET_LIMITS))


def _is_foreign(contact: Individual | None, session: RelayActor) -> bool:
    """Whether the contact belongs to a structure other than the relay's."""
    return contact is not None and contact.structure_id not in (None, session.structure_id)


def _tally_view(counts: Tally, names: dict[str, str]) -> r.TallyView:
    return r.TallyView(
        bought=counts.bought,
        received=counts.received,
        in_stock=counts.in_stock,
        distributed=counts.distributed,
        to_individuals=counts.to_individuals,
        handed_over=counts.handed_over,
        to_sub_structures=tuple(
            r.SubStructureCount(id, names.get(id, id), count)
            for id, count in sorted(counts.to_sub_structures.items())
        ),
        printed=counts.printed,
        controlled=counts.controlled,
        cancelled=counts.cancelled,
    )
