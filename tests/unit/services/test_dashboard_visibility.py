"""The dashboard and the stock view read the structures in one go (the relay's own structure
with its family) and still show only the relay's structure and those below it, refusing the
others as every other corporate read does."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from support.corporate import Corporate
from ticketdomain import CreateStructure, DistributeToSubStructure, ViewDashboard, ViewStock
from ticketdomain.core.errors import ForeignResourceError, NotFoundError
from ticketdomain.services.results import Dashboard, StockView

VIEWS: dict[str, Callable[[Corporate, str, str | None], Dashboard | StockView]] = {
    "dashboard": lambda c, token, id: c.world.domain.distribution.view_dashboard(
        ViewDashboard(token, id)
    ),
    "stock": lambda c, token, id: c.world.domain.distribution.view_stock(ViewStock(token, id)),
}


@pytest.mark.parametrize("view", list(VIEWS))
def test_only_the_relays_structure_and_those_below_it_are_shown(
    corporate: Corporate, view: str
) -> None:
    c = corporate
    d = c.world.domain
    youth = d.contacts.create_structure(CreateStructure(c.operator, "Youth", parent_id=c.club_id))
    c.buy(6)
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(c.nina, c.performance_id, c.product_id, 4, c.club_id)
    )
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(c.sam, c.performance_id, c.product_id, 1, youth.id)
    )
    show = VIEWS[view]
    token_structure = {c.nina: c.council_id, c.sam: c.club_id}
    for token, id in ((c.nina, None), (c.nina, c.club_id), (c.nina, youth.id), (c.sam, youth.id)):
        shown = show(c, token, id)
        assert shown.structure_id == (id or token_structure[token])
    board = d.distribution.view_dashboard(ViewDashboard(c.nina)).total
    assert (board.bought, board.in_stock, board.distributed) == (6, 2, 4)
    club = d.distribution.view_dashboard(ViewDashboard(c.nina, c.club_id)).total
    assert (club.received, club.in_stock, club.distributed) == (4, 3, 1)
    # Above the relay's structure, beside it, unknown, or another company's: refused.
    with pytest.raises(ForeignResourceError):
        show(c, c.sam, c.council_id)
    with pytest.raises(ForeignResourceError):
        show(c, c.nina, c.other_company_id)
    with pytest.raises(NotFoundError):
        show(c, c.nina, "str-unknown")
