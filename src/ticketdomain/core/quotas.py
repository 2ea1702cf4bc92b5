"""Quotas: places of a performance set aside for a channel or a sales point.

Availability is always computed from facts (places sold plus live reservations), never from a
counter trusted on its own. The levels nest: the performance's capacity, then the channel's quota,
then the sales point's quota; every level is a hard limit.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ticketdomain.core.catalog import check_capacity
from ticketdomain.core.errors import QuotaExhaustedError, SetupInvalidError


@attrs.define
class Quota:
    id: str
    organization_id: str
    performance_id: str
    capacity: int = attrs.field(converter=check_capacity)
    channel_id: str | None = None
    sales_point_id: str | None = None
    version: int = 0

    def __attrs_post_init__(self) -> None:
        if (self.channel_id is None) == (self.sales_point_id is None):
            raise SetupInvalidError("A quota belongs to a channel or to a sales point.")

    @property
    def scope(self) -> str:
        return "sales_point" if self.sales_point_id is not None else "channel"

    def applies(self, sales_point_id: str, channel_id: str) -> bool:
        """Whether the quota limits a sale on the sales point (of that channel)."""
        return self.channel_id == channel_id or self.sales_point_id == sales_point_id


@attrs.frozen
class QuotaLevel:
    """One level of the nesting, with the places it already has out."""

    label: str
    capacity: int
    used: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.used, 0)


def available(levels: Sequence[QuotaLevel]) -> int:
    """Places still available through every level."""
    return min((level.remaining for level in levels), default=0)


def require_places(levels: Sequence[QuotaLevel], wanted: int, performance_id: str) -> None:
    """Refuse taking ``wanted`` places when any level would go over its capacity."""
    for level in levels:
        if level.used + wanted > level.capacity:
            raise QuotaExhaustedError(
                f"Only {level.remaining} place(s) left in the {level.label} quota, {wanted} asked.",
                performance_id=performance_id,
                level=level.label,
                remaining=level.remaining,
                requested=wanted,
            )


@attrs.frozen
class PlacesOut:
    """The places one sales point has out on a performance: tickets sold there and not
    cancelled, plus the places its live reservations hold."""

    sales_point_id: str
    channel_id: str
    places: int


def quota_levels(
    capacity: int,
    quotas: Sequence[Quota],
    out: Sequence[PlacesOut],
    sales_point_id: str,
    channel_id: str,
) -> list[QuotaLevel]:
    """The nesting that applies to a sale on ``sales_point_id`` (of ``channel_id``): the
    performance's ``capacity``, then each quota of the channel or of the sales point (in id
    order), each with the places out in its scope, from one read of the places out per sales
    point (``out``) rather than a count per level."""
    levels = [QuotaLevel("performance", capacity, sum(item.places for item in out))]
    for quota in sorted(quotas, key=lambda q: q.id):
        if not quota.applies(sales_point_id, channel_id):
            continue
        if quota.channel_id == channel_id:
            label = "channel"
            used = sum(item.places for item in out if item.channel_id == channel_id)
        else:
            label = "sales point"
            used = sum(item.places for item in out if item.sales_point_id == sales_point_id)
        levels.append(QuotaLevel(label, quota.capacity, used))
    return levels
