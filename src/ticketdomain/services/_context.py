"""What every service shares: the adapters, lookups that raise typed errors, authorization,
line checks against the catalog profile, and quota levels (locked through ``_locks``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from ticketdomain.core.identity import RelayActor, SecurityPolicy
from ticketdomain.core.mail import DeliveryPolicy
from ticketdomain.core.quotas import QuotaLevel
from ticketdomain.core.sales import LineRequest, check_lines
from ticketdomain.core.setup import SalesPoint
from ticketdomain.core.timezones import format_short
from ticketdomain.ports.documents import DocumentStore, TicketRenderer
from ticketdomain.ports.mail import Mailer
from ticketdomain.ports.payment import PaymentGateway
from ticketdomain.ports.security import PasswordHasher, TokenGenerator
from ticketdomain.ports.storage import Storage, UnitOfWork
from ticketdomain.ports.system import BarcodeGenerator, Clock, IdGenerator
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


def need(item: T | None, kind: str, id: str) -> T:
    if item is None:
        raise NotFoundError(kind, id)
    return item


def relay_rows(session: RelayActor) -> tuple[SalesPoint, Individual]:
    """The sales point and the relay the Authenticator loaded and checked for this command, in
    this unit of work."""
    if session.loaded is None:
        raise SessionInvalidError()
    return session.loaded


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
    uow: UnitOfWork, sales_point: SalesPoint, lines: Iterable[LineRequest], now: datetime
) -> list[ResolvedLine]:
    """Check every line against the catalog and the profile of the sales point."""
    requested = check_lines(lines)
    profile = profile_for(uow, sales_point)
    resolved: list[ResolvedLine] = []
    per_product: dict[str, int] = {}
    for line in requested:
        performance = need(
            uow.performances.get(line.performance_id), "performance", line.performance_id
        )
        tariff = need(uow.tariffs.get(line.tariff_id), "tariff", line.tariff_id)
        product = need(uow.products.get(tariff.product_id), "product", tariff.product_id)
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
    uow: UnitOfWork, sales_point: SalesPoint, performance: Performance, now: datetime, lock: bool
) -> list[QuotaLevel]:
    """The nesting that applies on this sales point: performance, channel quota, sales point
    quota, each with the places it has out (sold plus live reservations). Only
    ``Locks.places`` passes ``lock``, after locking the performance."""

    def used(scope: Sequence[str] | None) -> int:
        return uow.tickets.sold_places(performance.id, scope) + uow.reservations.held_places(
            performance.id, scope, now
        )

    levels = [QuotaLevel("performance", performance.capacity, used(None))]
    for quota in uow.quotas.for_performance(performance.id):
        if quota.channel_id == sales_point.channel_id:
            scope = uow.sales_points.ids_on_channel(sales_point.channel_id)
            label = "channel"
        elif quota.sales_point_id == sales_point.id:
            scope = [sales_point.id]
            label = "sales point"
        else:
            continue
        if lock:
            quota = need(uow.quotas.get_for_update(quota.id), "quota", quota.id)
        levels.append(QuotaLevel(label, quota.capacity, used(scope)))
    return levels


def find_or_create_contact(
    uow: UnitOfWork, ids: IdGenerator, institution_id: str, details: ContactDetails
) -> Individual:
    email = Email(details.email)
    name = PersonName(details.first_name, details.last_name)
    found = uow.individuals.find_by_email(institution_id, email.value)
    if found is not None:
        return found
    individual = Individual(
        id=ids.new_id("individual"),
        institution_id=institution_id,
        name=name,
        email=email,
        marketing_consent=details.marketing_consent,
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
