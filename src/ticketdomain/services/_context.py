"""What every service shares: the adapters, lookups that raise typed errors, authorization,
line checks against the catalog profile, and quota levels (locked through ``_locks``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from ticketdomain.core.catalog import (
    CatalogProfile,
    Performance,
    Product,
    ProductConditions,
    Tariff,
)
from ticketdomain.core.contacts import Email, Individual, PersonName
from ticketdomain.core.errors import (
    ForeignResourceError,
    NotFoundError,
    PerformanceOverError,
    SessionInvalidError,
    TariffNotOfferedError,
)
from ticketdomain.core.identity import RelayActor, RelayContext, SecurityPolicy
from ticketdomain.core.languages import check_optional_language
from ticketdomain.core.mail import DeliveryPolicy
from ticketdomain.core.quotas import Quota, QuotaLevel
from ticketdomain.core.quotas import quota_levels as levels_of
from ticketdomain.core.sales import LineRequest, check_lines
from ticketdomain.core.setup import SalesPoint
from ticketdomain.core.timezones import format_short
from ticketdomain.ports.documents import DocumentRenderer, DocumentStore, TicketRenderer
from ticketdomain.ports.mail import Mailer, MailTemplates
from ticketdomain.ports.payment import PaymentGateway
from ticketdomain.ports.security import PasswordHasher, TokenGenerator
from ticketdomain.ports.spreadsheets import SpreadsheetCodec
from ticketdomain.ports.storage import Storage, UnitOfWork
from ticketdomain.ports.system import BarcodeGenerator, Clock, IdGenerator
from ticketdomain.services._mail import PlainTextTemplates
from ticketdomain.services.commands import ContactDetails

T = TypeVar("T")


@attrs.frozen
class Adapters:
    """The adapters a host plugs into the ports."""

    storage: Storage
    clock: Clock
    ids: IdGenerator
    barcodes: BarcodeGenerator
    payments: PaymentGateway
    documents: DocumentStore
    renderer: TicketRenderer
    mailer: Mailer
    passwords: PasswordHasher
    tokens: TokenGenerator
    security: SecurityPolicy = attrs.field(factory=SecurityPolicy)
    delivery: DeliveryPolicy = attrs.field(factory=DeliveryPolicy)
    #: reads and writes ``.xlsx`` sheets (``None``: CSV only, ``.xlsx`` refused)
    spreadsheets: SpreadsheetCodec | None = None
    #: the words of every mail, per language (default: built-in English plain text)
    mail_templates: MailTemplates = attrs.field(factory=PlainTextTemplates)
    #: invoices, credit notes and report tables as documents (``None``: not offered, asking
    #: for one raises ``RendererMissingError``)
    document_renderer: DocumentRenderer | None = None


def need(item: T | None, kind: str, id: str) -> T:
    if item is None:
        raise NotFoundError(kind, id)
    return item


def relay_context(session: RelayActor) -> RelayContext:
    """What the Authenticator loaded and checked for this command, in this unit of work."""
    if session.loaded is None:
        raise SessionInvalidError()
    return session.loaded


def relay_rows(session: RelayActor) -> tuple[SalesPoint, Individual]:
    """The sales point and the relay the Authenticator loaded and checked for this command, in
    this unit of work."""
    context = relay_context(session)
    return context.sales_point, context.relay


def own(structure_id: str, session: RelayActor, kind: str, id: str) -> None:
    if structure_id != session.structure_id:
        raise ForeignResourceError(f"This {kind} belongs to another structure.", kind=kind, id=id)


def profile_for(uow: UnitOfWork, sales_point: SalesPoint) -> CatalogProfile | None:
    """The sales point's own profile, else its channel's; ``None``: the whole catalog."""
    return uow.profiles.for_sales_point(sales_point.id) or uow.profiles.for_channel(
        sales_point.organization_id, sales_point.channel_id
    )


@attrs.frozen
class ResolvedLine:
    performance: Performance
    product: Product
    tariff: Tariff
    quantity: int


def conditions_for(
    profile: CatalogProfile | None, performance: Performance, product: Product
) -> ProductConditions | None:
    if profile is None:
        return ProductConditions(product.id)
    return profile.sells(performance.activity_id, product.id)


def resolve_lines(
    uow: UnitOfWork,
    sales_point: SalesPoint,
    profile: CatalogProfile | None,
    lines: Iterable[LineRequest],
    now: datetime,
    performances: Mapping[str, Performance] | None = None,
) -> list[ResolvedLine]:
    """Check every line against the catalog and the profile of the sales point (``profile``,
    as ``profile_for`` finds it); ``performances`` already loaded (locked) are not read
    again."""
    requested = check_lines(lines)
    known = dict(performances or {})
    resolved: list[ResolvedLine] = []
    per_product: dict[str, int] = {}
    for line in requested:
        if line.performance_id not in known:
            found = uow.performances.get(line.performance_id)
            known[line.performance_id] = need(found, "performance", line.performance_id)
        performance = known[line.performance_id]
        tariff, product_found = need(
            uow.tariffs.get_with_product(line.tariff_id), "tariff", line.tariff_id
        )
        product = need(product_found, "product", tariff.product_id)
        if performance.organization_id != sales_point.organization_id:
            raise NotFoundError("performance", line.performance_id)
        if tariff.organization_id != sales_point.organization_id:
            raise NotFoundError("tariff", line.tariff_id)
        if product.activity_id != performance.activity_id:
            raise TariffNotOfferedError(
                "This tariff is not one of this performance's activity.",
                tariff_id=tariff.id,
                performance_id=performance.id,
            )
        if now >= performance.start_instant:
            raise PerformanceOverError(
                "This performance has already started.", performance_id=performance.id
            )
        if conditions_for(profile, performance, product) is None:
            raise TariffNotOfferedError(
                "This product is not sold on this sales point.",
                product_id=product.id,
                sales_point_id=sales_point.id,
            )
        per_product[product.id] = per_product.get(product.id, 0) + line.quantity
        resolved.append(ResolvedLine(performance, product, tariff, line.quantity))
    for item in resolved:
        conditions = conditions_for(profile, item.performance, item.product)
        assert conditions is not None
        conditions.check(item.tariff.id, per_product[item.product.id], now)
    return resolved


def quota_levels(
    uow: UnitOfWork,
    sales_point: SalesPoint,
    performance: Performance,
    now: datetime,
    quotas: Sequence[Quota] | None = None,
) -> list[QuotaLevel]:
    """The nesting that applies on this sales point: performance, channel quota, sales point
    quota, each with the places it has out (sold plus live reservations), from one aggregate
    over the performance (``core.quotas.quota_levels`` decides). ``quotas``: the
    performance's, as ``Locks.places`` locked them (else read here, unlocked)."""
    found = uow.quotas.for_performance(performance.id) if quotas is None else quotas
    return levels_of(
        performance.capacity,
        found,
        uow.performances.places_out(performance.id, now),
        sales_point.id,
        sales_point.channel_id,
    )


def find_or_create_contact(
    uow: UnitOfWork, ids: IdGenerator, institution_id: str, details: ContactDetails
) -> Individual:
    email = Email(details.email)
    name = PersonName(details.first_name, details.last_name)
    # Checked before the lookup: a bad language is refused for a known contact too.
    language = check_optional_language(details.language)
    found = uow.individuals.find_by_email(institution_id, email.value)
    if found is not None:
        return found
    individual = Individual(
        id=ids.new_id("individual"),
        institution_id=institution_id,
        name=name,
        email=email,
        marketing_consent=details.marketing_consent,
        language=language,
    )
    uow.individuals.add(individual)
    return individual


def line_description(uow: UnitOfWork, performance_id: str, tariff_id: str) -> str:
    performance = uow.performances.get(performance_id)
    tariff = uow.tariffs.get(tariff_id)
    if performance is None or tariff is None:
        return f"{performance_id} / {tariff_id}"
    activity = uow.activities.get(performance.activity_id)
    product = uow.products.get(tariff.product_id)
    return (
        f"{activity.name if activity else performance.activity_id}, "
        f"{format_short(performance.starts_at)}, {performance.venue}: "
        f"{product.name if product else tariff.product_id} / {tariff.name}"
    )
