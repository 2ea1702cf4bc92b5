"""Quotas nest and every level is a hard limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.errors import QuantityInvalidError, QuotaExhaustedError, SetupInvalidError
from ticketdomain.core.quotas import Quota, QuotaLevel, available, require_places
from ticketdomain.testing import strategies as tds


def _take(levels: list[QuotaLevel], wanted: int) -> list[QuotaLevel]:
    return [QuotaLevel(level.label, level.capacity, level.used + wanted) for level in levels]


@given(tds.quota_levels(), st.lists(st.integers(min_value=1, max_value=20), max_size=30))
def test_taking_places_never_lets_any_level_go_over_capacity(
    levels: list[QuotaLevel], requests: list[int]
) -> None:
    for wanted in requests:
        before = available(levels)
        try:
            require_places(levels, wanted, "perf-1")
        except QuotaExhaustedError:
            # refused exactly when some level lacks the places, and nothing was taken
            assert wanted > before
            continue
        assert wanted <= before
        levels = _take(levels, wanted)
        assert all(level.used <= level.capacity for level in levels)
        assert available(levels) == before - wanted


@given(tds.quota_levels())
def test_available_is_the_smallest_remainder(levels: list[QuotaLevel]) -> None:
    assert available(levels) == min(level.capacity - level.used for level in levels)


@given(tds.quota_levels())
def test_exactly_the_available_places_can_be_taken(levels: list[QuotaLevel]) -> None:
    free = available(levels)
    require_places(levels, free, "perf-1")
    with pytest.raises(QuotaExhaustedError):
        require_places(levels, free + 1, "perf-1")


def test_the_refusal_names_the_tightest_level() -> None:
    levels = [
        QuotaLevel("performance", 100, 10),
        QuotaLevel("channel", 20, 18),
        QuotaLevel("sales point", 10, 5),
    ]
    with pytest.raises(QuotaExhaustedError) as refused:
        require_places(levels, 3, "perf-7")
    assert refused.value.code == "quota_exhausted"
    assert refused.value.details == {
        "performance_id": "perf-7",
        "level": "channel",
        "remaining": 2,
        "requested": 3,
    }


def test_a_level_already_over_capacity_has_nothing_left() -> None:
    # capacity lowered below what is already sold: no place left, never a negative remainder
    over = QuotaLevel("channel", 5, 8)
    assert over.remaining == 0
    assert available([QuotaLevel("performance", 100, 0), over]) == 0
    with pytest.raises(QuotaExhaustedError):
        require_places([over], 1, "perf-1")


def test_a_quota_belongs_to_a_channel_or_a_sales_point_not_both() -> None:
    assert Quota("q-1", "org-1", "perf-1", 10, channel_id="ch-1").scope == "channel"
    assert Quota("q-2", "org-1", "perf-1", 10, sales_point_id="sp-1").scope == "sales_point"
    with pytest.raises(SetupInvalidError):
        Quota("q-3", "org-1", "perf-1", 10)
    with pytest.raises(SetupInvalidError):
        Quota("q-4", "org-1", "perf-1", 10, channel_id="ch-1", sales_point_id="sp-1")


@pytest.mark.parametrize("capacity", [-1, 10**9, True, 2.0])
def test_quota_capacity_is_a_sensible_whole_number(capacity: object) -> None:
    with pytest.raises(QuantityInvalidError):
        Quota("q-1", "org-1", "perf-1", capacity, channel_id="ch-1")  # type: ignore[arg-type]
