"""Ports: the small Protocols through which the domain reaches the outside world."""

from ticketdomain.ports.documents import BatchTicketRenderer, DocumentStore, TicketRenderer
from ticketdomain.ports.mail import MailDeliveryError, Mailer, MailTemplates
from ticketdomain.ports.payment import CardPayment, PaymentGateway, PaymentReceipt
from ticketdomain.ports.storage import (
    HoldingAccountRepository,
    IndividualRepository,
    InvoiceRepository,
    InvoiceSequenceRepository,
    OptionRepository,
    OrderRepository,
    Outbox,
    OutboxItem,
    PerformanceRepository,
    ProductRepository,
    ProfileRepository,
    QuotaRepository,
    Repository,
    ReservationRepository,
    SalesPointRepository,
    Storage,
    StructureRepository,
    TariffRepository,
    TicketRepository,
    UnitOfWork,
)
from ticketdomain.ports.system import BarcodeGenerator, Clock, IdGenerator

__all__ = [
    "BarcodeGenerator",
    "BatchTicketRenderer",
    "CardPayment",
    "Clock",
    "DocumentStore",
    "HoldingAccountRepository",
    "IdGenerator",
    "IndividualRepository",
    "InvoiceRepository",
    "InvoiceSequenceRepository",
    "MailDeliveryError",
    "MailTemplates",
    "Mailer",
    "OptionRepository",
    "OrderRepository",
    "Outbox",
    "OutboxItem",
    "PaymentGateway",
    "PaymentReceipt",
    "PerformanceRepository",
    "ProductRepository",
    "ProfileRepository",
    "QuotaRepository",
    "Repository",
    "ReservationRepository",
    "SalesPointRepository",
    "Storage",
    "StructureRepository",
    "TariffRepository",
    "TicketDomainError",
    "TicketRenderer",
    "TicketRepository",
    "UnitOfWork",
]

from ticketdomain.core.errors import TicketDomainError
