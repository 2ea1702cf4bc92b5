"""The rules of DOMAIN.md that speak of "every" and "never", driven through the public API."""

from __future__ import annotations

import contextlib
import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from support.agency import Agency, chf, set_up_agency
from ticketdomain import (
    CancelOrder,
    CardPayment,
    ConfirmReservation,
    IssueInvoice,
    LineRequest,
    ListInvoices,
    ListOrders,
    ListReservations,
    OrderState,
    PaymentMethod,
    PlaceOrder,
    PlaceOrderForStructure,
    PlaceReservation,
    ProcessDueExpiries,
    RecordPayment,
    ReleaseReservation,
    ReservationState,
    SetCreditLimit,
    TicketDomainError,
    ViewHoldingAccount,
)
from ticketdomain.core.errors import CreditLimitExceededError, QuotaExhaustedError
from ticketdomain.ports.storage import Storage
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage

quantities = st.integers(min_value=1, max_value=10)


class AgencySales(RuleBasedStateMachine):
    """Relays buy, reserve and cancel at random; the operator invoices, caps and collects."""

    agency: Agency

    def make_storage(self) -> Storage:
        return InMemoryStorage()

    @initialize()
    def set_up(self) -> None:
        self.agency = set_up_agency(build_fake_world(self.make_storage()))
        self.d = self.agency.world.domain
        self.tokens = [self.agency.alice, self.agency.bob, self.agency.carol]
        self.tariffs = [self.agency.agency_tariff_id, self.agency.full_id]
        self.performances = [self.agency.performance_id, self.agency.later_performance_id]
        self.paid = Decimal(0)
        self.limit: Decimal | None = None

    def _account(self) -> object:
        return self.d.accounts.view_holding_account(
            ViewHoldingAccount(
                self.agency.operator, self.agency.organization_id, self.agency.hotel_id
            )
        )

    @rule(
        who=st.integers(0, 2),
        performance=st.integers(0, 1),
        tariff=st.integers(0, 1),
        quantity=quantities,
        by_card=st.booleans(),
    )
    def relay_buys(
        self, who: int, performance: int, tariff: int, quantity: int, by_card: bool
    ) -> None:
        command = PlaceOrder(
            self.tokens[who],
            (LineRequest(self.performances[performance], self.tariffs[tariff], quantity),),
            PaymentMethod.CARD if by_card else PaymentMethod.HOLDING_ACCOUNT,
            card=CardPayment("tok_visa") if by_card else None,
        )
        try:
            self.d.sales.place_order(command)
        except (QuotaExhaustedError, CreditLimitExceededError):
            pass
        else:
            if not by_card and who < 2:
                view = self.d.accounts.view_holding_account(
                    ViewHoldingAccount(
                        self.agency.operator, self.agency.organization_id, self.agency.hotel_id
                    )
                )
                # rule 2: after an accepted order, a capped account is within its limit
                if view.credit_limit is not None:
                    assert view.outstanding <= view.credit_limit

    @rule(quantity=st.integers(1, 90))
    def operator_sells_by_phone(self, quantity: int) -> None:
        with contextlib.suppress(QuotaExhaustedError):
            self.d.sales.place_order_for_structure(
                PlaceOrderForStructure(
                    self.agency.operator,
                    self.agency.phone_sales_point_id,
                    self.agency.other_agency_id,
                    (
                        LineRequest(
                            self.agency.performance_id, self.agency.full_id, min(quantity, 10)
                        ),
                    ),
                    PaymentMethod.HOLDING_ACCOUNT,
                )
            )

    @rule(who=st.integers(0, 1), quantity=quantities)
    def relay_reserves(self, who: int, quantity: int) -> None:
        with contextlib.suppress(QuotaExhaustedError):
            self.d.sales.place_reservation(
                PlaceReservation(
                    self.tokens[who],
                    (
                        LineRequest(
                            self.agency.performance_id, self.agency.agency_tariff_id, quantity
                        ),
                    ),
                )
            )

    def _held(self) -> list[str]:
        found = self.d.sales.list_reservations(ListReservations(self.agency.alice))
        return [r.id for r in found if r.state is ReservationState.HELD]

    @rule(index=st.integers(0, 5), confirm=st.booleans())
    def relay_settles_a_reservation(self, index: int, confirm: bool) -> None:
        held = self._held()
        if not held:
            return
        reservation_id = held[index % len(held)]
        try:
            if confirm:
                self.d.sales.confirm_reservation(
                    ConfirmReservation(
                        self.agency.bob, reservation_id, PaymentMethod.HOLDING_ACCOUNT
                    )
                )
            else:
                self.d.sales.release_reservation(
                    ReleaseReservation(self.agency.bob, reservation_id)
                )
        except TicketDomainError as refused:
            assert refused.code in {"state_transition_refused", "credit_limit_exceeded"}

    @rule(hours=st.integers(1, 60))
    def time_passes(self, hours: int) -> None:
        self.agency.world.clock.advance(timedelta(hours=hours))
        self.d.sales.process_due_expiries(ProcessDueExpiries(self.agency.operator))

    @rule(index=st.integers(0, 50))
    def operator_cancels(self, index: int) -> None:
        orders = [
            o
            for o in self.d.sales.list_orders(ListOrders(self.agency.alice))
            if o.state is OrderState.CONFIRMED
        ]
        if orders:
            self.d.accounts.cancel_order(
                CancelOrder(self.agency.operator, orders[index % len(orders)].id)
            )

    @rule()
    def operator_invoices(self) -> None:
        try:
            self.d.accounts.issue_invoice(
                IssueInvoice(
                    self.agency.operator, self.agency.organization_id, self.agency.hotel_id
                )
            )
        except TicketDomainError as refused:
            assert refused.code == "nothing_to_invoice"

    @rule(cents=st.integers(1, 100_000))
    def structure_pays(self, cents: int) -> None:
        amount = Decimal(cents) / 100
        self.d.accounts.record_payment(
            RecordPayment(
                self.agency.operator,
                self.agency.organization_id,
                self.agency.hotel_id,
                chf(str(amount)),
                "bank",
            )
        )
        self.paid += amount

    @rule(limit=st.none() | st.integers(0, 2000))
    def operator_caps(self, limit: int | None) -> None:
        self.d.accounts.set_credit_limit(
            SetCreditLimit(
                self.agency.operator,
                self.agency.organization_id,
                self.agency.hotel_id,
                chf(str(limit)) if limit is not None else None,
            )
        )

    @invariant()
    def quotas_are_never_oversold(self) -> None:
        now = self.agency.world.clock.now()
        agency_places = sum(
            len([t for t in o.tickets if t.state.value != "cancelled"])
            for session in (self.agency.alice, self.agency.carol)
            for o in self.d.sales.list_orders(ListOrders(session))
            if o.sales_point_id == self.agency.sales_point_id
            and o.lines[0].performance_id == self.agency.performance_id
        )
        held = sum(
            line.quantity
            for r in self.d.sales.list_reservations(ListReservations(self.agency.alice))
            if r.state is ReservationState.HELD and r.deadline > now
            for line in r.lines
            if line.performance_id == self.agency.performance_id
        )
        phone = sum(
            len([t for t in o.tickets if t.state.value != "cancelled"])
            for session in (self.agency.alice, self.agency.carol)
            for o in self.d.sales.list_orders(ListOrders(session))
            if o.sales_point_id == self.agency.phone_sales_point_id
        )
        assert agency_places + held <= 20  # the sales point quota, tighter than the channel's 30
        assert agency_places + held + phone <= 100  # the performance's capacity

    @invariant()
    def money_adds_up_and_invoices_are_gapless(self) -> None:
        account = self.d.accounts.view_holding_account(
            ViewHoldingAccount(
                self.agency.operator, self.agency.organization_id, self.agency.hotel_id
            )
        )
        charged = sum(
            (
                o.total.amount
                for o in account.orders
                if o.payment_method is PaymentMethod.HOLDING_ACCOUNT
                and o.state is OrderState.CONFIRMED
            ),
            Decimal(0),
        )
        assert account.outstanding.amount == charged - self.paid
        invoices = self.d.accounts.list_invoices(
            ListInvoices(self.agency.operator, self.agency.organization_id, self.agency.hotel_id)
        )
        assert [i.number for i in invoices] == list(range(1, len(invoices) + 1))
        orders = {o.id: o for o in account.orders}
        invoiced: list[str] = []
        for invoice in invoices:
            if invoice.kind.value == "invoice":
                assert invoice.total.amount == sum(
                    (orders[o].total.amount for o in invoice.order_ids), Decimal(0)
                )
                invoiced.extend(invoice.order_ids)
            assert (
                sum((row.gross.amount for row in invoice.vat_breakdown), Decimal(0))
                == invoice.total.amount
            )
            for row in invoice.vat_breakdown:
                assert row.net.amount + row.vat.amount == row.gross.amount
        assert len(invoiced) == len(set(invoiced))  # an order is on at most one invoice
        open_due = sum((i.remaining.amount for i in invoices), Decimal(0))
        assert open_due - account.credit.amount == account.outstanding.amount - sum(
            (
                o.total.amount
                for o in account.orders
                if o.state is OrderState.CONFIRMED
                and o.payment_method is PaymentMethod.HOLDING_ACCOUNT
                and o.invoice_id is None
            ),
            Decimal(0),
        )


AgencySales.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAgencySales = AgencySales.TestCase


class AgencySalesOnSqlite(AgencySales):
    """The same rules on a SQLite file (fewer examples: each builds a database)."""

    def make_storage(self) -> Storage:
        self.folder = tempfile.TemporaryDirectory()
        self.sqlite = SqlAlchemyStorage.sqlite(Path(self.folder.name) / "rules.sqlite3")
        self.sqlite.create_schema()
        return self.sqlite

    def teardown(self) -> None:
        if hasattr(self, "sqlite"):
            self.sqlite.close()
            self.folder.cleanup()


AgencySalesOnSqlite.TestCase.settings = settings(
    max_examples=8,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAgencySalesOnSqlite = AgencySalesOnSqlite.TestCase
