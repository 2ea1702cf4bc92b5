"""Quota levels from one read of the places out per sales point equal a count per level."""

from __future__ import annotations

import random as _random

from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.quotas import PlacesOut, Quota, QuotaLevel, quota_levels

#: sales points and their channels: two on one channel, one on another
CHANNEL_OF = {"sp-a": "ch-1", "sp-b": "ch-1", "sp-c": "ch-2"}

sales = st.lists(
    st.tuples(st.sampled_from(sorted(CHANNEL_OF)), st.integers(min_value=0, max_value=50)),
    max_size=20,
)
quotas = st.lists(
    st.tuples(
        st.one_of(
            st.tuples(st.sampled_from(["ch-1", "ch-2", "ch-3"]), st.none()),
            st.tuples(st.none(), st.sampled_from([*sorted(CHANNEL_OF), "sp-z"])),
        ),
        st.integers(min_value=0, max_value=100),
    ),
    max_size=5,
)


def _quotas(drawn: list[tuple[tuple[str | None, str | None], int]]) -> list[Quota]:
    return [
        Quota(f"q-{n}", "org-1", "perf-1", capacity, channel_id=channel, sales_point_id=point)
        for n, ((channel, point), capacity) in enumerate(drawn)
    ]


def _counted(
    capacity: int, found: list[Quota], sold: list[tuple[str, int]], sales_point_id: str
) -> list[QuotaLevel]:
    """The levels as counted one level at a time over every sale (the former way)."""

    def used(scope: set[str] | None) -> int:
        return sum(n for point, n in sold if scope is None or point in scope)

    channel_id = CHANNEL_OF[sales_point_id]
    levels = [QuotaLevel("performance", capacity, used(None))]
    for quota in sorted(found, key=lambda q: q.id):
        if quota.channel_id == channel_id:
            scope = {p for p, c in CHANNEL_OF.items() if c == channel_id}
            levels.append(QuotaLevel("channel", quota.capacity, used(scope)))
        elif quota.sales_point_id == sales_point_id:
            levels.append(QuotaLevel("sales point", quota.capacity, used({sales_point_id})))
    return levels


def _out(sold: list[tuple[str, int]]) -> list[PlacesOut]:
    per_point: dict[str, int] = {}
    for point, n in sold:
        per_point[point] = per_point.get(point, 0) + n
    return [PlacesOut(p, CHANNEL_OF[p], n) for p, n in per_point.items()]


@given(
    st.integers(min_value=0, max_value=500),
    quotas,
    sales,
    st.sampled_from(sorted(CHANNEL_OF)),
    st.randoms(),
)
def test_levels_from_places_out_equal_a_count_per_level(
    capacity: int,
    drawn: list[tuple[tuple[str | None, str | None], int]],
    sold: list[tuple[str, int]],
    sales_point_id: str,
    random: _random.Random,
) -> None:
    found = _quotas(drawn)
    out = _out(sold)
    expected = _counted(capacity, found, sold, sales_point_id)
    # Neither the order of the quotas nor that of the places out matters.
    shuffled_quotas, shuffled_out = list(found), list(out)
    random.shuffle(shuffled_quotas)
    random.shuffle(shuffled_out)
    got = quota_levels(
        capacity, shuffled_quotas, shuffled_out, sales_point_id, CHANNEL_OF[sales_point_id]
    )
    assert got == expected
    assert got[0] == QuotaLevel("performance", capacity, sum(n for _, n in sold))


@given(st.integers(min_value=0, max_value=500), sales)
def test_without_quotas_only_the_performance_level_applies(
    capacity: int, sold: list[tuple[str, int]]
) -> None:
    levels = quota_levels(capacity, [], _out(sold), "sp-a", "ch-1")
    assert levels == [QuotaLevel("performance", capacity, sum(n for _, n in sold))]
