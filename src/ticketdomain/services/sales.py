"""Selling on a sales point: login, catalog, options, reservations, orders, print@home, transfer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from ticketdomain.core.accounts import HoldingAccount
from ticketdomain.core.catalog import CatalogProfile, Performance
from ticketdomain.core.documents import AcceptanceDocument
from ticketdomain.core.errors import (
    FunctionDisabledError,
    NotFoundError,
    OrderNotSettledError,
    PaymentDetailsError,
    QuantityInvalidError,
    SalesPointAccessDeniedError,
    StateTransitionError,
)
from ticketdomain.core.identity import ActorKind, LinkPurpose, RelayActor
from ticketdomain.core.mail import Attachment, MailKind
from ticketdomain.core.quotas import available
from ticketdomain.core.sales import (
    LineRequest,
    Option,
    Order,
    OrderLine,
    Reservation,
    Ticket,
    TicketState,
    check_lines,
    reservation_deadline,
)
from ticketdomain.core.setup import (
    DeliveryMode,
    Function,
    Organization,
    PaymentMethod,
    SalesPoint,
)
from ticketdomain.core.timezones import DEFAULT_TIME_ZONE
from ticketdomain.ports.payment import CardPayment
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator, require_organization
from ticketdomain.services._context import (
    Adapters,
    ResolvedLine,
    conditions_for,
    find_or_create_contact,
    need,
    own,
    profile_for,
    quota_levels,
    relay_context,
    relay_rows,
    resolve_lines,
)
from ticketdomain.services._locks import Locks
from ticketdomain.services._refunds import settle_refund
from ticketdomain.services._tickets import (
    Labels,
    document_name,
    order_payable,
    queue_ticket_notice,
    render,
)
from ticketdomain.services.identity import issue_link


@attrs.frozen
class _Sale:
    """An order being placed, checked step by step before anything is written."""

    sales_point: SalesPoint
    organization: Organization
    profile: CatalogProfile | None
    structure_id: str
    institution_id: str
    placed_by: str
    by_operator: bool
    payment_method: PaymentMethod
    delivery_mode: DeliveryMode
    card: CardPayment | None
    purchasing_contact: c.ContactDetails | None
    document: c.DocumentUpload | None
    idempotency_key: str | None


@attrs.frozen
class SalesService:
    """What relays do on a sales point, and what the operator does with options and phone
    orders. Each method is one transaction; a refused call raises a ``TicketDomainError``
    subclass and changes nothing."""

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    # --- login and catalog ------------------------------------------------------------------

    def view_catalog(self, command: c.ViewCatalog) -> r.CatalogView:
        """What the sales point sells, with the places still available per performance."""
        now = self.adapters.clock.now()
        with self._auth.relay(command) as (uow, session):
            context = relay_context(session)
            sales_point, profile = context.sales_point, context.profile
            products = uow.products.for_organization(sales_point.organization_id)
            entries: list[r.CatalogEntry] = []
            for performance in uow.performances.for_organization(sales_point.organization_id):
                if performance.start_instant <= now:
                    continue
                activity = need(
                    uow.activities.get(performance.activity_id), "activity", performance.activity_id
                )
                places: int | None = None
                for product in products:
                    if product.activity_id != activity.id:
                        continue
                    conditions = conditions_for(profile, performance, product)
                    if conditions is None:
                        continue
                    for tariff in uow.tariffs.for_product(product.id):
                        if not conditions.offers(tariff.id):
                            continue
                        if places is None:
                            places = available(quota_levels(uow, sales_point, performance, now))
                        entries.append(
                            r.CatalogEntry(
                                activity_id=activity.id,
                                activity=activity.name,
                                performance_id=performance.id,
                                starts_at=performance.starts_at,
                                venue=performance.venue,
                                product_id=product.id,
                                product=product.name,
                                tariff_id=tariff.id,
                                tariff=tariff.name,
                                price=tariff.price,
                                vat_rate=str(product.vat_rate.rate),
                                available=places,
                                min_per_order=conditions.min_per_order,
                                max_per_order=conditions.max_per_order,
                                on_sale=conditions.is_open(now),
                                time_zone=performance.time_zone,
                            )
                        )
        return r.CatalogView(sales_point.id, tuple(entries))

    # --- orders -----------------------------------------------------------------------------

    def place_order(self, command: c.PlaceOrder) -> r.OrderView:
        """Buy: quota, profile, payment method and credit limit are checked; tickets are issued
        in state ``bought`` with fresh barcodes.

        Raises ``QuantityInvalidError``, ``TariffNotOfferedError``, ``SaleWindowClosedError``,
        ``OrderLimitError``, ``QuotaExhaustedError``, ``CreditLimitExceededError``,
        ``CardDeclinedError``, ``DocumentTypeError``, ``DocumentTooLargeError``,
        ``EmailInvalidError``, ``FunctionDisabledError``, ``SalesPointAccessDeniedError``…
        """
        with self._auth.relay(command) as (uow, session):
            lines = check_lines(command.lines)
            context = relay_context(session)
            sale = _Sale(
                sales_point=context.sales_point,
                organization=context.organization,
                profile=context.profile,
                structure_id=session.structure_id,
                institution_id=session.institution_id,
                placed_by=context.relay.id,
                by_operator=False,
                payment_method=command.payment_method,
                delivery_mode=command.delivery_mode,
                card=command.card,
                purchasing_contact=command.purchasing_contact,
                document=command.document,
                idempotency_key=command.idempotency_key,
            )
            return self._sell(uow, Locks(uow), sale, lines, reservation=None)

    def place_order_for_structure(self, command: c.PlaceOrderForStructure) -> r.OrderView:
        """An operator's order on behalf of a structure (by phone); same checks as a relay's,
        except that the operator may always name the purchasing contact."""
        with self._auth.operator(command) as (uow, operator):
            lines = check_lines(command.lines)
            sales_point = need(
                uow.sales_points.get(command.sales_point_id), "sales_point", command.sales_point_id
            )
            organization = require_organization(
                uow, operator, command, sales_point.organization_id, "sales_point", sales_point.id
            )
            structure = uow.structures.get(command.structure_id)
            if structure is None or structure.institution_id != organization.institution_id:
                # Another institution's structure is reported as unknown.
                raise NotFoundError("structure", command.structure_id)
            sale = _Sale(
                sales_point=sales_point,
                organization=organization,
                profile=profile_for(uow, sales_point),
                structure_id=structure.id,
                institution_id=organization.institution_id,
                placed_by=operator.operator_id,
                by_operator=True,
                payment_method=command.payment_method,
                delivery_mode=command.delivery_mode,
                card=command.card,
                purchasing_contact=command.purchasing_contact,
                document=None,
                idempotency_key=command.idempotency_key,
            )
            return self._sell(uow, Locks(uow), sale, lines, reservation=None)

    def _sell(
        self,
        uow: UnitOfWork,
        locks: Locks,
        sale: _Sale,
        lines: Sequence[LineRequest],
        reservation: Reservation | None,
    ) -> r.OrderView:
        now = self.adapters.clock.now()
        sales_point = sale.sales_point
        sales_point.require_payment_method(sale.payment_method)
        sales_point.require_delivery_mode(sale.delivery_mode)
        if sale.payment_method is PaymentMethod.CARD and sale.card is None:
            raise PaymentDetailsError("A card payment needs the card.")
        if sale.payment_method is not PaymentMethod.CARD and sale.card is not None:
            raise PaymentDetailsError("A card was given for a payment on the holding account.")
        if sale.purchasing_contact is not None and not sale.by_operator:
            sales_point.require(Function.CHOOSE_PURCHASING_CONTACT)
        document = (
            AcceptanceDocument.from_upload(
                sale.document.filename, sale.document.content, sales_point.policy.max_document_bytes
            )
            if sale.document is not None
            else None
        )
        # Places are locked first so that the lines are checked against the performances as
        # locked (read once); they are counted and decided after the line checks.
        places = locks.places(sales_point, lines) if reservation is None else None
        resolved = resolve_lines(
            uow, sales_point, sale.profile, lines, now, places.performances if places else None
        )
        if places is not None:
            places.require(lines, now)
        organization = sale.organization
        ids = self.adapters.ids
        order_id = ids.new_id("order")
        order_lines = tuple(_order_line(ids.new_id("order_line"), item) for item in resolved)
        contact = (
            find_or_create_contact(uow, ids, sale.institution_id, sale.purchasing_contact)
            if sale.purchasing_contact is not None
            else None
        )
        order = Order(
            id=order_id,
            organization_id=organization.id,
            sales_point_id=sales_point.id,
            structure_id=sale.structure_id,
            placed_by=sale.placed_by,
            placed_by_operator=sale.by_operator,
            purchasing_contact_id=contact.id if contact else None,
            lines=order_lines,
            payment_method=sale.payment_method,
            delivery_mode=sale.delivery_mode,
            placed_at=now,
            currency=organization.currency,
            document_id=ids.new_id("document") if document else None,
            reservation_id=reservation.id if reservation else None,
        )
        if order.on_account:
            account = locks.account(organization.id, sale.structure_id)
            if account is None:
                account = HoldingAccount(
                    ids.new_id("account"), organization.id, sale.structure_id, organization.currency
                )
                account.charge(order.id, order.total, now)
                uow.accounts.add(account)
            else:
                account.charge(order.id, order.total, now)
                uow.accounts.update(account)
        if reservation is not None:
            reservation.confirm(order.id, now)
            uow.reservations.update(reservation)
        tickets = [
            Ticket(
                id=ids.new_id("ticket"),
                organization_id=organization.id,
                order_id=order.id,
                order_line_id=line.id,
                sales_point_id=sales_point.id,
                performance_id=line.performance_id,
                product_id=line.product_id,
                tariff_id=line.tariff_id,
                structure_id=sale.structure_id,
                stock_structure_id=sale.structure_id,
                barcode=self.adapters.barcodes.new_barcode(),
            )
            for line in order_lines
            for _ in range(line.quantity)
        ]
        # The card is charged last, once every rule has accepted the order.
        receipt = None
        if sale.card is not None and order.total.is_positive:
            receipt = self.adapters.payments.charge(
                order.total, sale.card, sale.idempotency_key or order.id
            )
            order.payment_reference = receipt.reference
        try:
            uow.orders.add(order)
            uow.tickets.add_many(tickets)
            if document is not None:
                assert order.document_id is not None
                self.adapters.documents.put(order.document_id, document)
            uow.commit()
        except BaseException:
            if receipt is not None:
                self.adapters.payments.refund(
                    receipt.reference, receipt.amount, f"rollback-{order.id}"
                )
            if document is not None and order.document_id is not None:
                self.adapters.documents.delete(order.document_id)
            raise
        return r.OrderView.of(order, tickets, time_zone=organization.time_zone)

    def list_orders(self, command: c.ListOrders) -> tuple[r.OrderView, ...]:
        """Every order of the relay's structure with this organization, oldest first."""
        with self._auth.relay(command) as (uow, session):
            orders = uow.orders.for_structure(session.organization_id, session.structure_id)
            zone = self._organization_zone(uow, session.organization_id)
            return tuple(
                r.OrderView.of(order, uow.tickets.for_order(order.id), time_zone=zone)
                for order in orders
            )

    def view_order(self, command: c.ViewOrder) -> r.OrderView:
        with self._auth.relay(command) as (uow, session):
            order = self._own_order(uow, session, command.order_id)
            return r.OrderView.of(
                order,
                uow.tickets.for_order(order.id),
                time_zone=self._organization_zone(uow, order.organization_id),
            )

    def _organization_zone(self, uow: UnitOfWork, organization_id: str) -> str:
        organization = need(uow.organizations.get(organization_id), "organization", organization_id)
        return organization.time_zone

    def _own_order(self, uow: UnitOfWork, session: RelayActor, order_id: str) -> Order:
        order = need(uow.orders.get(order_id), "order", order_id)
        if order.organization_id != session.organization_id:
            raise NotFoundError("order", order_id)
        own(order.structure_id, session, "order", order_id)
        return order

    # --- options and reservations -----------------------------------------------------------

    def request_option(self, command: c.RequestOption) -> r.OptionView:
        """Ask for places without taking any quota; the operator grants or declines."""
        now = self.adapters.clock.now()
        with self._auth.relay(command) as (uow, session):
            lines = check_lines(command.lines)
            sales_point, relay = relay_rows(session)
            sales_point.require(Function.OPTIONS)
            resolved = resolve_lines(uow, sales_point, relay_context(session).profile, lines, now)
            first_start = min(item.performance.start_instant for item in resolved)
            option = Option(
                id=self.adapters.ids.new_id("option"),
                organization_id=sales_point.organization_id,
                sales_point_id=sales_point.id,
                structure_id=session.structure_id,
                relay_id=relay.id,
                lines=lines,
                requested_at=now,
                expires_at=min(now + sales_point.policy.option_lifetime, first_start),
            )
            uow.options.add(option)
            uow.commit()
        return r.OptionView.of(option, time_zone=_deadline_zone(i.performance for i in resolved))

    def grant_option(self, command: c.GrantOption) -> r.ReservationView:
        """Turn an option into a reservation; refused with ``QuotaExhaustedError`` (the option
        stays requested) when the quota does not allow it."""
        now = self.adapters.clock.now()
        with self._auth.operator(command) as (uow, operator):
            locks = Locks(uow)
            option = need(locks.option(command.option_id), "option", command.option_id)
            require_organization(
                uow, operator, command, option.organization_id, "option", option.id
            )
            sales_point = need(
                uow.sales_points.get(option.sales_point_id), "sales_point", option.sales_point_id
            )
            option.require_open("grant", now)
            places = locks.places(sales_point, option.lines)
            resolved = resolve_lines(
                uow,
                sales_point,
                profile_for(uow, sales_point),
                option.lines,
                now,
                places.performances,
            )
            places.require(option.lines, now)
            reservation = self._new_reservation(
                sales_point, option.structure_id, option.relay_id, option.lines, resolved, now
            )
            reservation = attrs.evolve(reservation, option_id=option.id)
            option.grant(reservation.id, now)
            uow.reservations.add(reservation)
            uow.options.update(option)
            uow.commit()
        return r.ReservationView.of(
            reservation, time_zone=_deadline_zone(i.performance for i in resolved)
        )

    def decline_option(self, command: c.DeclineOption) -> r.OptionView:
        now = self.adapters.clock.now()
        with self._auth.operator(command) as (uow, operator):
            option = need(Locks(uow).option(command.option_id), "option", command.option_id)
            require_organization(
                uow, operator, command, option.organization_id, "option", option.id
            )
            option.decline(now)
            uow.options.update(option)
            zone = _lines_zone(uow, option.lines, {})
            uow.commit()
        return r.OptionView.of(option, time_zone=zone)

    def place_reservation(self, command: c.PlaceReservation) -> r.ReservationView:
        """Hold places from the quota, unpaid, until the deadline rule of the sales point."""
        now = self.adapters.clock.now()
        with self._auth.relay(command) as (uow, session):
            lines = check_lines(command.lines)
            sales_point, relay = relay_rows(session)
            sales_point.require(Function.OPTIONS)
            places = Locks(uow).places(sales_point, lines)
            resolved = resolve_lines(
                uow, sales_point, relay_context(session).profile, lines, now, places.performances
            )
            places.require(lines, now)
            reservation = self._new_reservation(
                sales_point, session.structure_id, relay.id, lines, resolved, now
            )
            uow.reservations.add(reservation)
            uow.commit()
        return r.ReservationView.of(
            reservation, time_zone=_deadline_zone(i.performance for i in resolved)
        )

    def _new_reservation(
        self,
        sales_point: SalesPoint,
        structure_id: str,
        relay_id: str,
        lines: Sequence[LineRequest],
        resolved: Sequence[ResolvedLine],
        now: datetime,
    ) -> Reservation:
        policy = sales_point.policy
        deadline = reservation_deadline(
            now,
            policy.reservation_delay,
            min(item.performance.start_instant for item in resolved),
            policy.reservation_cutoff,
        )
        return Reservation(
            id=self.adapters.ids.new_id("reservation"),
            organization_id=sales_point.organization_id,
            sales_point_id=sales_point.id,
            structure_id=structure_id,
            relay_id=relay_id,
            lines=tuple(lines),
            created_at=now,
            deadline=deadline,
        )

    def release_reservation(self, command: c.ReleaseReservation) -> r.ReservationView:
        now = self.adapters.clock.now()
        with self._auth.relay(command) as (uow, session):
            reservation = self._own_reservation(Locks(uow), session, command.reservation_id)
            reservation.release(now)
            uow.reservations.update(reservation)
            zone = _lines_zone(uow, reservation.lines, {})
            uow.commit()
        return r.ReservationView.of(reservation, time_zone=zone)

    def confirm_reservation(self, command: c.ConfirmReservation) -> r.OrderView:
        """Turn a live reservation into an order; its places are already held."""
        with self._auth.relay(command) as (uow, session):
            sales_point, relay = relay_rows(session)
            locks = Locks(uow)
            reservation = self._own_reservation(locks, session, command.reservation_id)
            if reservation.sales_point_id != sales_point.id:
                raise SalesPointAccessDeniedError(
                    "This reservation was made on another sales point.",
                    reservation_id=reservation.id,
                )
            now = self.adapters.clock.now()
            reservation.require_live("confirm", now)
            sale = _Sale(
                sales_point=sales_point,
                organization=relay_context(session).organization,
                profile=relay_context(session).profile,
                structure_id=session.structure_id,
                institution_id=session.institution_id,
                placed_by=relay.id,
                by_operator=False,
                payment_method=command.payment_method,
                delivery_mode=command.delivery_mode,
                card=command.card,
                purchasing_contact=command.purchasing_contact,
                document=command.document,
                idempotency_key=command.idempotency_key,
            )
            return self._sell(uow, locks, sale, reservation.lines, reservation=reservation)

    def _own_reservation(
        self, locks: Locks, session: RelayActor, reservation_id: str
    ) -> Reservation:
        """The session's reservation, locked (callers have authorized the relay)."""
        reservation = need(locks.reservation(reservation_id), "reservation", reservation_id)
        if reservation.organization_id != session.organization_id:
            raise NotFoundError("reservation", reservation_id)
        own(reservation.structure_id, session, "reservation", reservation_id)
        return reservation

    def list_reservations(self, command: c.ListReservations) -> tuple[r.ReservationView, ...]:
        with self._auth.relay(command) as (uow, session):
            found = uow.reservations.for_structure(session.structure_id)
            known: dict[str, Performance] = {}
            return tuple(
                r.ReservationView.of(item, time_zone=_lines_zone(uow, item.lines, known))
                for item in found
                if item.organization_id == session.organization_id
            )

    def process_due_expiries(self, command: c.ProcessDueExpiries) -> r.ExpiriesProcessed:
        """Lapse the options and expire the reservations whose time has come (a clock-driven
        job; availability already ignores them from their deadline on), then retry the card
        refunds that cancelled orders still owe (up to ``limit`` of them, the oldest first).

        A maintenance job over the whole storage, as ``DispatchMail``: it applies what the clock
        or a cancellation already decided, so whichever operator runs it changes nothing anyone
        chose. The refunds are made after the commit, each recorded in a unit of work of its
        own; one that fails again stays due (``refunds_pending``). Raises
        ``QuantityInvalidError`` for a limit out of 1 to 10000.
        """
        now = self.adapters.clock.now()
        with self._auth.operator(command) as (uow, _):
            if not 1 <= command.limit <= 10_000:
                raise QuantityInvalidError(
                    "Process 1 to 10000 expiries at a time.", limit=command.limit
                )
            lapsed = []
            for option in uow.options.due(now, command.limit):
                option.lapse(now)
                uow.options.update(option)
                lapsed.append(option.id)
            expired = []
            for reservation in uow.reservations.due(now, command.limit):
                reservation.expire(now)
                uow.reservations.update(reservation)
                expired.append(reservation.id)
            refunds_due = uow.orders.refunds_due(command.limit)
            uow.commit()
        # Money leaves with no unit of work open (see _refunds).
        outcomes = [settle_refund(self.adapters, order) for order in refunds_due]
        return r.ExpiriesProcessed(
            tuple(lapsed),
            tuple(expired),
            refunds_settled=tuple(o.order_id for o in outcomes if o.reference is not None),
            refunds_pending=tuple(o.order_id for o in outcomes if o.reference is None),
        )

    # --- delivery ---------------------------------------------------------------------------

    def print_tickets(self, command: c.PrintTickets) -> r.RenderedTickets:
        """Print@home: the order's tickets in one document; printing again revokes the barcodes
        already printed and issues new ones. Refused while the order is unsettled where the
        sales point does not admit before settlement."""
        with self._auth.relay(command) as (uow, session):
            order = self._own_order(uow, session, command.order_id)
            if order.delivery_mode is not DeliveryMode.PRINT_AT_HOME:
                raise FunctionDisabledError(
                    "This order is not delivered by print@home.", order_id=order.id
                )
            self._require_admissible(uow, order)
            tickets = [
                t
                for t in Locks(uow).tickets_of_order(order.id)
                if t.state in (TicketState.BOUGHT, TicketState.PRINTED)
                and t.holder_id is None
                # what was handed to a sub-structure is its own to print
                and t.stock_structure_id == order.structure_id
            ]
            if order.is_cancelled or not tickets:
                raise StateTransitionError(
                    "This order has no ticket left to print.", id=order.id, action="print"
                )
            beneficiary = self._beneficiary(uow, order)
            for ticket in tickets:
                if ticket.state is TicketState.PRINTED:
                    ticket.reissue_barcode(self.adapters.barcodes.new_barcode())
                ticket.print()
            content = render(
                self.adapters.renderer, Labels(uow), [(ticket, beneficiary) for ticket in tickets]
            )
            for ticket in tickets:
                uow.tickets.update(ticket)
            uow.commit()
        return r.RenderedTickets(
            order.id, tuple(t.id for t in tickets), self.adapters.renderer.media_type, content
        )

    def transfer_tickets(self, command: c.TransferTickets) -> r.TicketsTransferred:
        """Assign the order's tickets still in stock to the client's online account (the
        client is found by email or created) and queue the mail that tells the client, in
        their language, with the tickets attached."""
        with self._auth.relay(command) as (uow, session):
            order = self._own_order(uow, session, command.order_id)
            sales_point = need(
                uow.sales_points.get(order.sales_point_id), "sales_point", order.sales_point_id
            )
            sales_point.require_delivery_mode(DeliveryMode.TRANSFER)
            tickets = [
                t
                for t in Locks(uow).tickets_of_order(order.id)
                if t.state is TicketState.BOUGHT and t.stock_structure_id == order.structure_id
            ]
            if order.is_cancelled or not tickets:
                raise StateTransitionError(
                    "This order has no ticket left to transfer.", id=order.id, action="transfer"
                )
            client = find_or_create_contact(
                uow, self.adapters.ids, session.institution_id, command.client
            )
            for ticket in tickets:
                ticket.assign(client.id)
                uow.tickets.update(ticket)
            organization = need(
                uow.organizations.get(order.organization_id), "organization", order.organization_id
            )
            link = issue_link(uow, self.adapters, client, ActorKind.MEMBER, LinkPurpose.INVITATION)
            # The tickets travel with the mail, as the client would print them (not marked
            # printed: printing them in the personal space later keeps these barcodes).
            labels = Labels(uow)
            beneficiary = str(client.name)
            # In the client's language, else the organization's: the mail's (``language_for``).
            pdf = render(
                self.adapters.renderer, labels, [(t, beneficiary) for t in tickets], reader=client
            )
            mail_id = queue_ticket_notice(
                uow,
                self.adapters,
                labels,
                client,
                MailKind.TRANSFER,
                tickets,
                organization=organization,
                context={"order_id": order.id, "link": link},
                attachments=(
                    Attachment(
                        document_name(f"tickets-{order.id}", self.adapters.renderer.media_type),
                        self.adapters.renderer.media_type,
                        pdf,
                    ),
                ),
            )
            uow.commit()
        return r.TicketsTransferred(order.id, tuple(t.id for t in tickets), client.id, mail_id)

    def _require_admissible(self, uow: UnitOfWork, order: Order) -> None:
        if not order_payable(uow, order):
            raise OrderNotSettledError(
                "Tickets of this order are printed once its invoice is settled.",
                order_id=order.id,
            )

    def _beneficiary(self, uow: UnitOfWork, order: Order) -> str:
        if order.purchasing_contact_id is not None:
            contact = uow.individuals.get(order.purchasing_contact_id)
            if contact is not None:
                return str(contact.name)
        structure = uow.structures.get(order.structure_id)
        return structure.name if structure else order.structure_id


def _deadline_zone(performances: Iterable[Performance]) -> str:
    """The zone of the venue whose performance starts first: the one that sets an option's or
    a reservation's deadline, so the deadline reads in the time of the place it is about."""
    return min(performances, key=lambda p: (p.start_instant, p.id)).time_zone


def _lines_zone(
    uow: UnitOfWork, lines: Iterable[LineRequest], known: dict[str, Performance]
) -> str:
    """``_deadline_zone`` of the lines' performances, read once per call (``known``)."""
    for performance_id in {line.performance_id for line in lines} - known.keys():
        performance = uow.performances.get(performance_id)
        if performance is not None:
            known[performance_id] = performance
    found = [known[line.performance_id] for line in lines if line.performance_id in known]
    return _deadline_zone(found) if found else DEFAULT_TIME_ZONE


def _order_line(id: str, item: ResolvedLine) -> OrderLine:
    return OrderLine(
        id=id,
        performance_id=item.performance.id,
        product_id=item.product.id,
        tariff_id=item.tariff.id,
        quantity=item.quantity,
        unit_price=item.tariff.price,
        vat_rate=item.product.vat_rate,
    )
