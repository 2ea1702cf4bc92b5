"""Catalog: activities, performances, products, tariffs and the profiles a channel sells."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from ticketdomain.core.contacts import clean_name
from ticketdomain.core.errors import (
    OrderLimitError,
    QuantityInvalidError,
    SaleWindowClosedError,
    SetupInvalidError,
    TariffNotOfferedError,
)
from ticketdomain.core.money import Money, VatRate
from ticketdomain.core.timezones import (
    check_time_zone,
    exists_in_zone,
    in_zone,
    instant,
    zone_name_of,
)

#: no single line, option or reservation may ask for more places than this
MAX_QUANTITY = 10_000
#: no venue or quota holds more places than this
MAX_CAPACITY = 10_000_000


def check_quantity(quantity: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise QuantityInvalidError("A quantity is a whole number.", quantity=repr(quantity))
    if quantity < 1 or quantity > MAX_QUANTITY:
        raise QuantityInvalidError(
            f"A quantity is between 1 and {MAX_QUANTITY}, got {quantity}.", quantity=quantity
        )
    return quantity


def check_capacity(capacity: int) -> int:
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise QuantityInvalidError("A capacity is a whole number.", capacity=repr(capacity))
    if capacity < 0 or capacity > MAX_CAPACITY:
        raise QuantityInvalidError(
            f"A capacity is between 0 and {MAX_CAPACITY}, got {capacity}.", capacity=capacity
        )
    return capacity


def _aware(_: object, attribute: attrs.Attribute[datetime | None], value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise SetupInvalidError(f"{attribute.name} needs a time zone.", field=attribute.name)


def _aware_required(_: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None:
        raise SetupInvalidError(f"{attribute.name} needs a time zone.", field=attribute.name)


@attrs.define
class Activity:
    id: str
    organization_id: str
    name: str = attrs.field(converter=clean_name)


def _zone_of_start(performance: Performance) -> str:
    return zone_name_of(performance.starts_at)


@attrs.define
class Performance:
    """A performance of an activity at a venue, whose time zone is ``time_zone``.

    ``starts_at`` is held in that zone (20:30 in Zurich reads back as 20:30 in Zurich); built
    from another zone or a fixed offset, it is the same instant converted. Without
    ``time_zone``, the zone of ``starts_at`` if it has a name, else UTC. Two performances
    compare their starts as instants.

    Raises ``TimeZoneUnknownError`` for an unknown zone and ``SetupInvalidError`` for a start
    without a zone or at a wall-clock time the zone skips (the clocks going forward).
    """

    id: str
    organization_id: str
    activity_id: str
    starts_at: datetime = attrs.field(validator=_aware_required, eq=instant)
    venue: str = attrs.field(converter=clean_name)
    capacity: int = attrs.field(converter=check_capacity)
    time_zone: str = attrs.field(
        default=attrs.Factory(_zone_of_start, takes_self=True), converter=check_time_zone
    )

    def __attrs_post_init__(self) -> None:
        if not exists_in_zone(self.starts_at, self.time_zone):
            raise SetupInvalidError(
                f"{self.starts_at:%Y-%m-%d %H:%M} does not exist in {self.time_zone}: "
                "the clocks skip that hour.",
                field="starts_at",
                time_zone=self.time_zone,
            )
        self.starts_at = in_zone(self.starts_at, self.time_zone)

    @property
    def start_instant(self) -> datetime:
        """The start in UTC: what rules compare and compute on."""
        return instant(self.starts_at)


@attrs.define
class Product:
    id: str
    organization_id: str
    activity_id: str
    name: str = attrs.field(converter=clean_name)
    vat_rate: VatRate = attrs.Factory(lambda: VatRate(Decimal(0)))


@attrs.define
class Tariff:
    id: str
    organization_id: str
    product_id: str
    name: str = attrs.field(converter=clean_name)
    price: Money = attrs.field()

    @price.validator
    def _price(self, _: object, value: Money) -> None:
        if value.amount < 0:
            raise SetupInvalidError("A tariff price must not be negative.", price=str(value))


@attrs.frozen
class ProductConditions:
    """Which tariffs of a product are offered, and the special conditions of sale."""

    product_id: str
    #: ``None`` offers every tariff of the product
    tariff_ids: frozenset[str] | None = None
    min_per_order: int = 1
    max_per_order: int | None = None
    sale_opens_at: datetime | None = attrs.field(default=None, validator=_aware)
    sale_closes_at: datetime | None = attrs.field(default=None, validator=_aware)

    def __attrs_post_init__(self) -> None:
        for name in ("min_per_order", "max_per_order"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                # Built from Python with a wrong type: a typed refusal, not a TypeError below.
                raise SetupInvalidError(f"{name} is a whole number.", field=name)
        if self.min_per_order < 1:
            raise SetupInvalidError("min_per_order is at least 1.")
        if self.max_per_order is not None and self.max_per_order < self.min_per_order:
            raise SetupInvalidError("max_per_order is below min_per_order.")
        if (
            self.sale_opens_at is not None
            and self.sale_closes_at is not None
            and instant(self.sale_closes_at) <= instant(self.sale_opens_at)
        ):
            raise SetupInvalidError("The sale window closes before it opens.")

    def offers(self, tariff_id: str) -> bool:
        return self.tariff_ids is None or tariff_id in self.tariff_ids

    def is_open(self, now: datetime) -> bool:
        # On instants: within one zone Python compares wall-clock times, fold ignored.
        if self.sale_opens_at is not None and instant(now) < instant(self.sale_opens_at):
            return False
        return not (
            self.sale_closes_at is not None and instant(now) >= instant(self.sale_closes_at)
        )

    def check(self, tariff_id: str, quantity: int, now: datetime) -> None:
        """Refuse a tariff, a quantity (of this product in one order) or a moment outside these
        conditions."""
        if not self.offers(tariff_id):
            raise TariffNotOfferedError(
                "This tariff is not offered here.", tariff_id=tariff_id, product_id=self.product_id
            )
        if not self.is_open(now):
            raise SaleWindowClosedError(
                "This product is not on sale at this moment.",
                product_id=self.product_id,
                opens_at=self.sale_opens_at.isoformat() if self.sale_opens_at else None,
                closes_at=self.sale_closes_at.isoformat() if self.sale_closes_at else None,
            )
        if quantity < self.min_per_order or (
            self.max_per_order is not None and quantity > self.max_per_order
        ):
            raise OrderLimitError(
                f"Between {self.min_per_order} and {self.max_per_order or 'any number of'} "
                f"tickets of this product per order, got {quantity}.",
                product_id=self.product_id,
                min_per_order=self.min_per_order,
                max_per_order=self.max_per_order,
                quantity=quantity,
            )


@attrs.define
class CatalogProfile:
    """The activity and product profile of a channel or of one sales point.

    A sales point sells what its own profile lists; without one, what its channel's lists.
    """

    id: str
    organization_id: str
    channel_id: str | None
    sales_point_id: str | None
    activity_ids: frozenset[str]
    products: tuple[ProductConditions, ...]

    def __attrs_post_init__(self) -> None:
        if (self.channel_id is None) == (self.sales_point_id is None):
            raise SetupInvalidError("A profile belongs to a channel or to a sales point.")

    def conditions_for(self, product_id: str) -> ProductConditions | None:
        for conditions in self.products:
            if conditions.product_id == product_id:
                return conditions
        return None

    def sells(self, activity_id: str, product_id: str) -> ProductConditions | None:
        if activity_id not in self.activity_ids:
            return None
        return self.conditions_for(product_id)
