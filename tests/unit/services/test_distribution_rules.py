"""The rules of DOMAIN.md on distributed tickets, under any sequence of corporate-space calls.

Relays buy, distribute to members and to the sub-structure, print at once and reclaim; members
print and reprint; the gate scans live, revoked and made-up barcodes; the operator sells by
phone and cancels orders. After every step: bought + received = in stock + distributed for
every structure and product, a barcode belongs to one ticket and a ticket has at most one live
barcode, a revoked barcode never validates again, and a ticket is controlled at most once.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from support.corporate import Corporate, set_up_corporate
from support.state import observed
from ticketdomain import (
    ActorKind,
    CancelOrder,
    ContactDetails,
    ContactRole,
    CreateIndividual,
    DistributeToMember,
    DistributeToSubStructure,
    LineRequest,
    ListDistributedTickets,
    ListMemberTickets,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    PrintAtOnce,
    PrintMemberTickets,
    ReclaimFromSubStructure,
    ReclaimTickets,
    ScanTicket,
    TicketDomainError,
    TicketState,
    ViewDashboard,
    ViewStock,
)
from ticketdomain.core.errors import (
    InputInvalidError,
    QuotaExhaustedError,
    StateTransitionError,
    StockInsufficientError,
)
from ticketdomain.core.sales import Ticket
from ticketdomain.ports.storage import Storage
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage, metadata

T = TypeVar("T")

#: places of each performance (no quota below)
CAPACITY = 60
#: bought per order, and taken from a stock per call
bought = st.integers(min_value=1, max_value=6)
quantities = st.integers(min_value=1, max_value=3)
picks = st.lists(st.integers(min_value=0, max_value=63), min_size=1, max_size=3)


def _pick(items: list[T], indices: Iterable[int]) -> list[T]:
    """Distinct items chosen by index (modulo), in the order first chosen."""
    chosen = {items[i % len(items)]: None for i in indices} if items else {}
    return list(chosen)


class CorporateDistribution(RuleBasedStateMachine):
    """The works council (nina), its sports club (sam) and another company (olga)."""

    corporate: Corporate

    def make_storage(self) -> Storage:
        return InMemoryStorage()

    @initialize()
    def set_up(self) -> None:
        self.corporate = set_up_corporate(build_fake_world(self.make_storage()), capacity=CAPACITY)
        corporate = self.corporate
        self.d = corporate.world.domain
        self.cleo_id = self.d.contacts.create_individual(
            CreateIndividual(
                corporate.operator,
                "Cleo",
                "Favre",
                "cleo@nestor.ch",
                corporate.club_id,
                ContactRole.MEMBER,
            )
        ).id
        self.relays = {"nina": corporate.nina, "sam": corporate.sam, "olga": corporate.olga}
        #: each relay's structure (a token says nothing of it: the services load it)
        self.structure_of = {
            corporate.nina: corporate.council_id,
            corporate.sam: corporate.club_id,
            corporate.olga: corporate.other_company_id,
        }
        #: member id -> the session the host opened for them
        self.members: dict[str, str] = {}
        self.performances = [corporate.performance_id, corporate.later_performance_id]
        #: product id -> tariff id
        self.tariffs = {
            corporate.product_id: corporate.tariff_id,
            corporate.balcony_id: corporate.balcony_tariff_id,
        }
        self.products = list(self.tariffs)
        self.parent = {corporate.club_id: corporate.council_id}
        self.order_ids: list[str] = []
        self.holders: set[str] = set()
        #: every barcode ever seen revoked
        self.revoked: set[str] = set()
        #: accepted scans per ticket, and the barcode each controlled ticket was admitted with
        self.admitted: Counter[str] = Counter()
        self.admitted_with: dict[str, str] = {}
        self.read: list[Ticket] | None = None
        #: every barcode issued, and its ticket
        self.owner_of: dict[str, str] = {}

    # --- reading the storage ----------------------------------------------------------------

    def tickets(self) -> list[Ticket]:
        """Every ticket of every order placed, read through a unit of work (once per change:
        only ``attempt`` and the gate change anything)."""
        if self.read is None:
            with self.corporate.world.storage.unit_of_work() as uow:
                self.read = [t for id in self.order_ids for t in uow.tickets.for_order(id)]
        return self.read

    def attempt(self, command: object, refusal: type[TicketDomainError] | None) -> Any:
        """Run a command the model expects to pass (``refusal`` None), or to be refused with
        ``refusal``, changing nothing; the result, or None when refused."""
        self.read = None
        name = type(command).__name__
        if refusal is None:
            result = self.d.handle(command)
            event(f"{name}: done")
            return result
        before = observed(self.corporate.world)
        try:
            self.d.handle(command)
        except TicketDomainError as error:
            assert type(error) is refusal, error
        else:
            raise AssertionError(f"{name} should have been refused with {refusal.code}")
        assert observed(self.corporate.world) == before
        event(f"{name}: refused, {refusal.code}")
        return None

    def places_left(self, performance_id: str) -> int:
        taken = sum(
            1
            for t in self.tickets()
            if t.performance_id == performance_id and t.state is not TicketState.CANCELLED
        )
        return CAPACITY - taken

    def in_stock(self, structure_id: str, performance_id: str, product_id: str) -> int:
        return sum(
            1
            for t in self.tickets()
            if t.stock_structure_id == structure_id
            and t.state is TicketState.BOUGHT
            and (t.performance_id, t.product_id) == (performance_id, product_id)
        )

    def stock_line(
        self, structure_id: str, index: int, handed_down: bool = False
    ) -> tuple[str, str]:
        """A (performance, product) the structure has in stock (only tickets bought above it
        when ``handed_down``), else any: the call is then refused for want of stock."""
        lines = sorted(
            {
                (t.performance_id, t.product_id)
                for t in self.tickets()
                if t.stock_structure_id == structure_id
                and t.state is TicketState.BOUGHT
                and (not handed_down or t.structure_id != structure_id)
            }
        )
        if not lines:
            lines = [(p, q) for p in self.performances for q in self.products]
        return lines[index % len(lines)]

    # --- buying -----------------------------------------------------------------------------

    @rule(
        who=st.sampled_from(["nina", "sam", "olga"]),
        performance=st.integers(0, 1),
        product=st.integers(0, 1),
        quantity=bought,
    )
    def relay_buys(self, who: str, performance: int, product: int, quantity: int) -> None:
        line = LineRequest(
            self.performances[performance], self.tariffs[self.products[product]], quantity
        )
        full = self.places_left(line.performance_id) < quantity
        order = self.attempt(
            PlaceOrder(self.relays[who], (line,), PaymentMethod.HOLDING_ACCOUNT),
            QuotaExhaustedError if full else None,
        )
        if order is not None:
            self.order_ids.append(order.id)

    @rule(club=st.booleans(), performance=st.integers(0, 1), quantity=bought)
    def operator_sells_by_phone(self, club: bool, performance: int, quantity: int) -> None:
        corporate = self.corporate
        full = self.places_left(self.performances[performance]) < quantity
        order = self.attempt(
            PlaceOrderForStructure(
                corporate.operator,
                corporate.phone_sales_point_id,
                corporate.club_id if club else corporate.council_id,
                (LineRequest(self.performances[performance], corporate.tariff_id, quantity),),
                PaymentMethod.HOLDING_ACCOUNT,
            ),
            QuotaExhaustedError if full else None,
        )
        if order is not None:
            self.order_ids.append(order.id)

    @precondition(lambda self: self.order_ids)
    @rule(index=st.integers(0, 63), now=st.integers(0, 2))
    def operator_cancels(self, index: int, now: int) -> None:
        if now:  # a cancellation in three draws: tickets live a while
            return
        order_id = self.order_ids[index % len(self.order_ids)]
        with self.corporate.world.storage.unit_of_work() as uow:
            order = uow.orders.get(order_id)
            tickets = uow.tickets.for_order(order_id)
        assert order is not None
        refusable = order.is_cancelled or any(t.state is TicketState.CONTROLLED for t in tickets)
        self.attempt(
            CancelOrder(self.corporate.operator, order_id),
            StateTransitionError if refusable else None,
        )

    # --- distributing -----------------------------------------------------------------------

    @precondition(lambda self: self.order_ids)
    @rule(
        who=st.sampled_from(["nina", "sam"]),
        by_id=st.booleans(),
        line=st.integers(0, 3),
        quantity=quantities,
    )
    def relay_distributes_to_a_member(
        self, who: str, by_id: bool, line: int, quantity: int
    ) -> None:
        session = self.relays[who]
        if by_id:
            member_id = self.corporate.marc_id if who == "nina" else self.cleo_id
            recipient: dict[str, Any] = {"member_id": member_id}
        else:
            email = "paul@nestor.ch" if who == "nina" else "zoe@nestor.ch"
            recipient = {"member": ContactDetails("Paul" if who == "nina" else "Zoe", "X", email)}
        keys = self.stock_line(self.structure_of[session], line)
        stock = self.in_stock(self.structure_of[session], *keys)
        done = self.attempt(
            DistributeToMember(session, *keys, quantity, **recipient),
            StockInsufficientError if stock < quantity else None,
        )
        if done is not None:
            self.holders.add(done.holder_id)

    @precondition(lambda self: self.order_ids)
    @rule(line=st.integers(0, 3), quantity=quantities)
    def council_hands_to_the_club(self, line: int, quantity: int) -> None:
        keys = self.stock_line(self.corporate.council_id, line)
        stock = self.in_stock(self.corporate.council_id, *keys)
        self.attempt(
            DistributeToSubStructure(self.corporate.nina, *keys, quantity, self.corporate.club_id),
            StockInsufficientError if stock < quantity else None,
        )

    @precondition(lambda self: self.order_ids)
    @rule(line=st.integers(0, 3), quantity=quantities)
    def council_takes_back_from_the_club(self, line: int, quantity: int) -> None:
        keys = self.stock_line(self.corporate.club_id, line, handed_down=True)
        handed_down = sum(
            1
            for t in self.tickets()
            if t.stock_structure_id == self.corporate.club_id
            and t.structure_id != self.corporate.club_id
            and t.state is TicketState.BOUGHT
            and (t.performance_id, t.product_id) == keys
        )
        self.attempt(
            ReclaimFromSubStructure(self.corporate.nina, self.corporate.club_id, *keys, quantity),
            StockInsufficientError if handed_down < quantity else None,
        )

    @precondition(lambda self: self.order_ids)
    @rule(
        who=st.sampled_from(["nina", "sam", "olga"]),
        line=st.integers(0, 3),
        quantity=quantities,
    )
    def relay_prints_at_once(self, who: str, line: int, quantity: int) -> None:
        session = self.relays[who]
        keys = self.stock_line(self.structure_of[session], line)
        stock = self.in_stock(self.structure_of[session], *keys)
        self.attempt(
            PrintAtOnce(session, *keys, quantity),
            StockInsufficientError if stock < quantity else None,
        )

    @precondition(lambda self: self.order_ids)
    @rule(who=st.sampled_from(["nina", "sam"]), indices=picks)
    def relay_reclaims(self, who: str, indices: list[int]) -> None:
        session = self.relays[who]
        listed = self.d.distribution.list_distributed_tickets(ListDistributedTickets(session))
        chosen = _pick([view.ticket_id for view in listed], indices)
        if chosen:
            self.relay_reclaims_these(session, chosen)

    def relay_reclaims_these(self, session: str, chosen: list[str]) -> None:
        chosen = list(dict.fromkeys(chosen))
        states = {t.id: t for t in self.tickets() if t.id in chosen}
        controlled = [id for id in chosen if states[id].state is TicketState.CONTROLLED]
        # Reclaiming never touches a controlled ticket: the whole call is refused.
        done = self.attempt(
            ReclaimTickets(session, tuple(chosen)),
            StateTransitionError if controlled else None,
        )
        after = {t.id: t for t in self.tickets() if t.id in chosen}
        for id in controlled:
            assert after[id].state is TicketState.CONTROLLED
            assert after[id].barcode == states[id].barcode == self.admitted_with[id]
        if done is not None:
            for id in chosen:
                assert after[id].state is TicketState.BOUGHT
                assert after[id].stock_structure_id == self.structure_of[session]
                assert after[id].holder_id is None
                if states[id].barcode is not None:
                    assert states[id].barcode in after[id].revoked_barcodes

    @precondition(lambda self: self.admitted)
    @rule(who=st.sampled_from(["nina", "sam"]), index=st.integers(0, 63), indices=picks)
    def relay_reclaims_with_a_controlled_ticket(
        self, who: str, index: int, indices: list[int]
    ) -> None:
        """As ``relay_reclaims``, but the tickets named always include a controlled one."""
        session = self.relays[who]
        listed = self.d.distribution.list_distributed_tickets(ListDistributedTickets(session))
        controlled = [v.ticket_id for v in listed if v.state is TicketState.CONTROLLED]
        if not controlled:
            return
        others = _pick([v.ticket_id for v in listed], indices)
        self.relay_reclaims_these(session, [controlled[index % len(controlled)], *others])

    # --- members ----------------------------------------------------------------------------

    @precondition(lambda self: self.holders)
    @rule(holder=st.integers(0, 63), indices=picks, reprint_only=st.booleans())
    def member_prints(self, holder: int, indices: list[int], reprint_only: bool) -> None:
        holders = sorted(self.holders)
        member = self.member_session(holders[holder % len(holders)])
        views = self.d.members.list_member_tickets(ListMemberTickets(member))
        candidates = [
            v.ticket_id for v in views if not reprint_only or v.state is TicketState.PRINTED
        ]
        chosen = _pick(candidates, indices)
        if not chosen:
            return
        states = {v.ticket_id: v.state for v in views}
        final = any(states[id] in (TicketState.CONTROLLED, TicketState.CANCELLED) for id in chosen)
        before = {t.id: t.barcode for t in self.tickets() if t.id in chosen}
        done = self.attempt(
            PrintMemberTickets(member, tuple(chosen), "Anna Dupont"),
            StateTransitionError if final else None,
        )
        if done is not None:
            for ticket in self.tickets():
                if ticket.id in chosen:
                    assert ticket.state is TicketState.PRINTED
                    if states[ticket.id] is TicketState.PRINTED:  # a reprint: a new barcode
                        assert ticket.barcode != before[ticket.id]
                        assert before[ticket.id] in ticket.revoked_barcodes

    def member_session(self, individual_id: str) -> str:
        if individual_id not in self.members:
            opened = self.d.host.open_session(ActorKind.MEMBER, individual_id)
            self.members[individual_id] = opened.token
        return self.members[individual_id]

    # --- the gate ---------------------------------------------------------------------------

    @precondition(lambda self: self.order_ids)
    @rule(
        kind=st.sampled_from(
            [
                "printed",
                "printed",
                "controlled",
                "live",
                "replaced",
                "replaced",
                "revoked",
                "garbage",
            ]
        ),
        index=st.integers(0, 255),
        garbage=st.text(max_size=12),
        other_performance=st.sampled_from([False, False, True]),
    )
    def gate_scans(self, kind: str, index: int, garbage: str, other_performance: bool) -> None:
        tickets = self.tickets()
        pools: dict[str, list[str | None]] = {
            "printed": [t.barcode for t in tickets if t.state is TicketState.PRINTED],
            "controlled": [t.barcode for t in tickets if t.state is TicketState.CONTROLLED],
            "live": [t.barcode for t in tickets],
            # replaced by a reprint, or by a reclaim before the ticket was printed again: the
            # tempting fraud is the old paper of a ticket that is valid under a new barcode
            "replaced": [
                code
                for t in tickets
                if t.state is TicketState.PRINTED
                for code in t.revoked_barcodes
            ],
            "revoked": list(self.revoked),
            "garbage": [],
        }
        pool = sorted(code for code in pools[kind] if code is not None)
        barcode = pool[index % len(pool)] if pool else garbage
        code = barcode.strip()  # as the gate reads it
        owner = next((t for t in tickets if t.barcode == code), None)
        issued_to = next((t for t in tickets if code in (t.barcode, *t.revoked_barcodes)), None)
        performance_id = self.performances[index % 2]
        if issued_to is not None:
            performance_id = issued_to.performance_id
            if other_performance:
                performance_id = next(p for p in self.performances if p != performance_id)
        expected = (
            owner is not None
            and owner.state is TicketState.PRINTED
            and owner.performance_id == performance_id
        )
        command = ScanTicket(self.corporate.gate, performance_id, barcode)
        if "\x00" in barcode:
            # No scanner reads a NUL: refused as input, before anything is looked up.
            self.attempt(command, InputInvalidError)
            return
        before = None if expected else observed(self.corporate.world)
        self.read = None
        result = self.d.access.scan_ticket(command)
        assert result.accepted == expected, (result, owner)
        answer = result.rejection.value if result.rejection else "accepted"
        event(f"scan of a {kind} barcode: {answer}")
        if code in self.revoked:
            assert not result.accepted  # a revoked barcode never validates again
        if result.accepted:
            assert result.ticket_id is not None
            self.admitted[result.ticket_id] += 1
            self.admitted_with[result.ticket_id] = code
        else:
            assert result.rejection is not None
            assert observed(self.corporate.world) == before  # a rejection changes nothing

    # --- invariants -------------------------------------------------------------------------

    def _subtree(self, structure_id: str) -> set[str]:
        return {structure_id} | {s for s, p in self.parent.items() if p == structure_id}

    def _ancestors(self, structure_id: str) -> set[str]:
        found = set()
        while structure_id in self.parent:
            structure_id = self.parent[structure_id]
            found.add(structure_id)
        return found

    def _recount(self, structure_id: str, tickets: list[Ticket]) -> dict[str, dict[str, int]]:
        """A structure's tallies per product, counted ticket by ticket."""
        counts: dict[str, Counter[str]] = {}
        subtree = self._subtree(structure_id)
        buyers = self._ancestors(structure_id) | {structure_id}
        for t in tickets:
            if t.structure_id not in buyers or t.stock_structure_id not in subtree:
                continue
            tally = counts.setdefault(t.product_id, Counter())
            if t.state is TicketState.CANCELLED:
                tally["cancelled"] += 1
                continue
            tally["bought" if t.structure_id == structure_id else "received"] += 1
            if t.stock_structure_id == structure_id and t.state is TicketState.BOUGHT:
                tally["in_stock"] += 1
            else:
                tally["distributed"] += 1
            tally["printed"] += t.state is TicketState.PRINTED
            tally["controlled"] += t.state is TicketState.CONTROLLED
        return {product: dict(+tally) for product, tally in counts.items()}

    @invariant()
    def bought_and_received_is_in_stock_and_distributed(self) -> None:
        tickets = self.tickets()
        for session in self.relays.values():
            dashboard = self.d.distribution.view_dashboard(ViewDashboard(session))
            shown: dict[str, dict[str, int]] = {}
            for item in dashboard.products:
                tally = item.tally
                assert tally.bought + tally.received == tally.in_stock + tally.distributed
                assert tally.distributed == (
                    tally.to_individuals
                    + tally.handed_over
                    + sum(sub.count for sub in tally.to_sub_structures)
                )
                fields = ("bought", "received", "in_stock", "distributed", "printed")
                counted = {name: getattr(tally, name) for name in fields}
                counted |= {"controlled": tally.controlled, "cancelled": tally.cancelled}
                shown[item.product_id] = {name: n for name, n in counted.items() if n}
            assert shown == self._recount(self.structure_of[session], tickets)
            total = dashboard.total
            assert total.bought + total.received == total.in_stock + total.distributed
            stock = self.d.distribution.view_stock(ViewStock(session))
            for line in stock.lines:  # distributable = in stock
                assert line.in_stock == sum(
                    1
                    for t in tickets
                    if t.stock_structure_id == self.structure_of[session]
                    and t.state is TicketState.BOUGHT
                    and (t.performance_id, t.product_id) == (line.performance_id, line.product_id)
                )
            assert sum(line.in_stock for line in stock.lines) == total.in_stock
            assert sum(line.came_in for line in stock.lines) == total.bought + total.received

    @invariant()
    def a_barcode_belongs_to_one_ticket_and_revoked_ones_stay_revoked(self) -> None:
        owners: dict[str, str] = {}
        revoked_now: set[str] = set()
        for t in self.tickets():
            codes = [*t.revoked_barcodes, *([t.barcode] if t.barcode is not None else [])]
            assert len(codes) == len(set(codes)), t
            for code in codes:
                assert owners.setdefault(code, t.id) == t.id, code
            revoked_now.update(t.revoked_barcodes)
            assert t.barcode not in self.revoked, t  # never live again
            assert (t.barcode is None) == (t.state is TicketState.CANCELLED), t
        assert self.revoked <= revoked_now
        self.revoked = revoked_now
        # A barcode, once issued, stays with its ticket; the storage finds it by any of them.
        assert {code: owners[code] for code in self.owner_of} == self.owner_of
        with self.corporate.world.storage.unit_of_work() as uow:
            for code in owners.keys() - self.owner_of.keys():
                found = uow.tickets.by_barcode(code)
                assert found is not None and found.id == owners[code]
        self.owner_of = owners
        self.check_stored_barcodes()

    def check_stored_barcodes(self) -> None:
        """What the storage itself holds beside the tickets (nothing more in memory)."""

    @invariant()
    def a_ticket_is_controlled_at_most_once(self) -> None:
        assert all(n == 1 for n in self.admitted.values()), self.admitted
        controlled = {t.id: t for t in self.tickets() if t.state is TicketState.CONTROLLED}
        assert set(controlled) == set(self.admitted)
        for id, ticket in controlled.items():
            assert ticket.barcode == self.admitted_with[id]
            assert ticket.controlled_at is not None
            assert ticket.controlled_gate == "North gate"


CorporateDistribution.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCorporateDistribution = CorporateDistribution.TestCase


class CorporateDistributionOnSqlite(CorporateDistribution):
    """The same rules on a SQLite file (fewer examples: each builds a database)."""

    def make_storage(self) -> Storage:
        self.folder = tempfile.TemporaryDirectory()
        self.sqlite = SqlAlchemyStorage.sqlite(Path(self.folder.name) / "rules.sqlite3")
        self.sqlite.create_schema()
        return self.sqlite

    def check_stored_barcodes(self) -> None:
        barcodes = metadata.tables["td_barcodes"]
        live_per_ticket = (
            sa.select(barcodes.c.ticket_id)
            .where(sa.not_(barcodes.c.revoked))
            .group_by(barcodes.c.ticket_id)
            .having(sa.func.count() > 1)
        )
        with self.sqlite.engine.connect() as connection:
            assert connection.execute(live_per_ticket).all() == []

    def teardown(self) -> None:
        if hasattr(self, "sqlite"):
            self.sqlite.close()
            self.folder.cleanup()


CorporateDistributionOnSqlite.TestCase.settings = settings(
    max_examples=8,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCorporateDistributionOnSqlite = CorporateDistributionOnSqlite.TestCase
