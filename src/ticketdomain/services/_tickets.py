"""What the services that print, distribute and scan tickets share: labels looked up once per
unit of work, whether an order's tickets may be printed and admitted, and rendering."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ticketdomain.core.accounts import HoldingAccount, order_settled
from ticketdomain.core.catalog import Activity, Performance, Product, Tariff
from ticketdomain.core.contacts import Individual
from ticketdomain.core.errors import OrderNotSettledError
from ticketdomain.core.mail import Attachment, MailKind
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.core.sales import Order, Ticket
from ticketdomain.core.setup import Organization
from ticketdomain.ports.documents import TicketRenderer
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services._context import Adapters, need
from ticketdomain.services._mail import language_for, queue_mail


def is_settled(order: Order, account: HoldingAccount | None) -> bool:
    """``core.accounts.order_settled`` for a loaded order."""
    return order_settled(order.on_account, order.invoice_id, account)


class Labels:
    """Catalog lookups cached for one unit of work (many tickets share a few performances)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._performances: dict[str, Performance] = {}
        self._activities: dict[str, Activity] = {}
        self._products: dict[str, Product] = {}
        self._tariffs: dict[str, Tariff] = {}
        self._organizations: dict[str, Organization] = {}
        self._orders: dict[str, Order] = {}

    def performance(self, id: str) -> Performance:
        if id not in self._performances:
            self._performances[id] = need(self._uow.performances.get(id), "performance", id)
        return self._performances[id]

    def activity(self, id: str) -> Activity:
        if id not in self._activities:
            self._activities[id] = need(self._uow.activities.get(id), "activity", id)
        return self._activities[id]

    def product(self, id: str) -> Product:
        if id not in self._products:
            self._products[id] = need(self._uow.products.get(id), "product", id)
        return self._products[id]

    def tariff(self, id: str) -> Tariff:
        if id not in self._tariffs:
            self._tariffs[id] = need(self._uow.tariffs.get(id), "tariff", id)
        return self._tariffs[id]

    def organization(self, id: str) -> Organization:
        if id not in self._organizations:
            self._organizations[id] = need(self._uow.organizations.get(id), "organization", id)
        return self._organizations[id]

    def order(self, id: str) -> Order:
        if id not in self._orders:
            self._orders[id] = need(self._uow.orders.get(id), "order", id)
        return self._orders[id]

    def printable(
        self, ticket: Ticket, beneficiary: str, reader: Individual | None = None
    ) -> PrintableTicket:
        """The ticket as printed, in ``reader``'s language (``language_for``: theirs, else the
        organization's) or, without a reader, in the organization's."""
        performance = self.performance(ticket.performance_id)
        organization = self.organization(ticket.organization_id)
        assert ticket.barcode is not None
        return PrintableTicket(
            ticket_id=ticket.id,
            barcode=ticket.barcode,
            organization=organization.name,
            activity=self.activity(performance.activity_id).name,
            performance_starts_at=performance.starts_at,
            time_zone=performance.time_zone,
            venue=performance.venue,
            product=self.product(ticket.product_id).name,
            tariff=self.tariff(ticket.tariff_id).name,
            price=self.tariff(ticket.tariff_id).price,
            order_id=ticket.order_id,
            beneficiary=beneficiary,
            language=(
                organization.language if reader is None else language_for(reader, organization)
            ),
        )


def order_payable(uow: UnitOfWork, order: Order) -> bool:
    """Whether the order's tickets may be printed and admitted now: always where its sales
    point admits before settlement, else once the order is settled."""
    sales_point = uow.sales_points.get(order.sales_point_id)
    if sales_point is None or sales_point.policy.admit_before_settlement or not order.on_account:
        return True
    return is_settled(order, uow.accounts.for_structure(order.organization_id, order.structure_id))


def require_payable(uow: UnitOfWork, labels: Labels, tickets: Iterable[Ticket]) -> None:
    """Raise ``OrderNotSettledError`` if one of the tickets may not be printed yet."""
    for order_id in sorted({ticket.order_id for ticket in tickets}):
        if not order_payable(uow, labels.order(order_id)):
            raise OrderNotSettledError(
                "Tickets of this order are printed once its invoice is settled.",
                order_id=order_id,
            )


def render(
    renderer: TicketRenderer,
    labels: Labels,
    tickets: Sequence[tuple[Ticket, str]],
    *,
    reader: Individual | None = None,
) -> bytes:
    """One document with every ticket, each with its beneficiary's name, in ``reader``'s
    language (theirs, else the organization's) or, without a reader, the organization's."""
    return renderer.render(
        [labels.printable(ticket, beneficiary, reader) for ticket, beneficiary in tickets]
    )


def ticket_context(labels: Labels, ticket: Ticket) -> dict[str, object]:
    """A ticket as mail templates read it (``services._mail.TICKET_KEYS``)."""
    performance = labels.performance(ticket.performance_id)
    tariff = labels.tariff(ticket.tariff_id)
    return {
        "activity": labels.activity(performance.activity_id).name,
        "starts_at": performance.starts_at,
        "time_zone": performance.time_zone,
        "venue": performance.venue,
        "product": labels.product(ticket.product_id).name,
        "tariff": tariff.name,
        "price": tariff.price,
    }


#: file name extensions of the media types documents are rendered as
_EXTENSIONS = {"application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html"}


def document_name(stem: str, media_type: str) -> str:
    """A file name for an attached document: ``stem`` with its media type's extension."""
    return stem + _EXTENSIONS.get(media_type, "")


def queue_ticket_notice(
    uow: UnitOfWork,
    adapters: Adapters,
    labels: Labels,
    to: Individual,
    kind: MailKind,
    tickets: Sequence[Ticket],
    *,
    organization: Organization,
    context: Mapping[str, object] | None = None,
    attachments: Sequence[Attachment] = (),
) -> str:
    """Queue a mail of ``kind`` telling an individual about some tickets (sent after commit),
    in their language; ``context`` adds the kind's other keys (``services._mail``). Returns the
    message id."""
    return queue_mail(
        uow,
        adapters,
        to=to,
        kind=kind,
        organization=organization,
        context={
            "organization": organization.name,
            "tickets": [ticket_context(labels, ticket) for ticket in tickets],
            **(context or {}),
        },
        attachments=attachments,
    )
