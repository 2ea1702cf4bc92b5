"""The agency's sales report, from its own purchase history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from ticketdomain.core.errors import NotFoundError, PeriodInvalidError
from ticketdomain.core.money import Money
from ticketdomain.core.sales import OrderState
from ticketdomain.core.setup import Function
from ticketdomain.core.timezones import in_zone, instant
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import Authenticator, organization_for
from ticketdomain.services._context import (
    Adapters,
    line_description,
    need,
    relay_rows,
)
from ticketdomain.services._tickets import Labels


def _totals(
    rows: list[r.SalesReportRow], key: Callable[[r.SalesReportRow], str], currency: str
) -> tuple[r.SalesReportTotal, ...]:
    quantities: dict[str, int] = {}
    amounts: dict[str, Money] = {}
    for row in rows:
        k = key(row)
        quantities[k] = quantities.get(k, 0) + row.quantity
        amounts[k] = amounts.get(k, Money.zero(currency)) + row.amount
    return tuple(r.SalesReportTotal(k, quantities[k], amounts[k]) for k in sorted(quantities))


@attrs.frozen
class ReportService:
    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def sales_report(self, command: c.ViewSalesReport) -> r.SalesReport:
        """One row per order line of the structure's orders placed in the period, with totals
        per performance, tariff and relay (cancelled orders are listed, not totalled).

        Raises ``FunctionDisabledError`` where the sales report function is off.
        """
        with self._auth.relay(command) as (uow, session):
            if (
                command.period_from is not None
                and command.period_until is not None
                and command.period_until <= command.period_from
            ):
                raise PeriodInvalidError("The period ends before it starts.")
            for bound in (command.period_from, command.period_until):
                if bound is not None and bound.tzinfo is None:
                    raise PeriodInvalidError("Period bounds need a time zone.")
            sales_point, _ = relay_rows(session)
            sales_point.require(Function.SALES_REPORT)
            organization = need(
                uow.organizations.get(session.organization_id),
                "organization",
                session.organization_id,
            )
            orders = uow.orders.for_structure(
                session.organization_id,
                session.structure_id,
                command.period_from,
                command.period_until,
            )
            names: dict[str, str] = {}

            def name_of(individual_id: str | None, fallback: str) -> str:
                if individual_id is None:
                    return fallback
                if individual_id not in names:
                    found = uow.individuals.get(individual_id)
                    names[individual_id] = str(found.name) if found else individual_id
                return names[individual_id]

            descriptions: dict[tuple[str, str], str] = {}
            rows: list[r.SalesReportRow] = []
            for order in orders:
                relay = (
                    f"{order.placed_by} (operator)"
                    if order.placed_by_operator
                    else name_of(order.placed_by, order.placed_by)
                )
                for line in order.lines:
                    key = (line.performance_id, line.tariff_id)
                    if key not in descriptions:
                        descriptions[key] = line_description(uow, *key)
                    performance, _, tariff = descriptions[key].rpartition(" / ")
                    rows.append(
                        r.SalesReportRow(
                            placed_at=in_zone(order.placed_at, organization.time_zone),
                            order_id=order.id,
                            relay=relay,
                            purchasing_contact=name_of(order.purchasing_contact_id, ""),
                            performance=performance,
                            tariff=tariff,
                            quantity=line.quantity,
                            amount=line.total,
                            payment_method=order.payment_method,
                            state=order.state,
                        )
                    )
        currency = organization.currency
        counted = [row for row in rows if row.state is not OrderState.CANCELLED]
        return r.SalesReport(
            time_zone=organization.time_zone,
            structure_id=session.structure_id,
            period_from=_local_or_none(command.period_from, organization.time_zone),
            period_until=_local_or_none(command.period_until, organization.time_zone),
            currency=currency,
            rows=tuple(rows),
            by_performance=_totals(counted, lambda row: row.performance, currency),
            by_tariff=_totals(counted, lambda row: row.tariff, currency),
            by_relay=_totals(counted, lambda row: row.relay, currency),
            total=r.SalesReportTotal(
                "total",
                sum(row.quantity for row in counted),
                Money.sum((row.amount for row in counted), currency),
            ),
        )

    def export_beneficiaries(self, command: c.ExportBeneficiaries) -> r.BeneficiariesExport:
        """The individuals the organization's tickets were distributed to, per performance and
        distributing structure, with their consent to marketing (``to_csv()`` for a file)."""
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            if command.performance_id is not None:
                performance = uow.performances.get(command.performance_id)
                if performance is None or performance.organization_id != organization.id:
                    raise NotFoundError("performance", command.performance_id)
            counts = uow.tickets.holder_counts(organization.id, command.performance_id)
            labels = Labels(uow)
            structures: dict[str, str] = {}
            rows = []
            for item in counts:
                holder = need(uow.individuals.get(item.holder_id), "individual", item.holder_id)
                if command.only_consenting and not holder.marketing_consent:
                    continue
                if item.stock_structure_id not in structures:
                    structure = uow.structures.get(item.stock_structure_id)
                    structures[item.stock_structure_id] = (
                        structure.name if structure else item.stock_structure_id
                    )
                performance = labels.performance(item.performance_id)
                rows.append(
                    r.BeneficiaryRow(
                        first_name=holder.name.first,
                        last_name=holder.name.last,
                        email=holder.email.value,
                        structure_id=item.stock_structure_id,
                        structure=structures[item.stock_structure_id],
                        performance_id=performance.id,
                        activity=labels.activity(performance.activity_id).name,
                        starts_at=performance.starts_at,
                        tickets=item.count,
                        marketing_consent=holder.marketing_consent,
                        time_zone=performance.time_zone,
                    )
                )
        rows.sort(
            key=lambda row: (
                instant(row.starts_at),
                row.performance_id,
                row.last_name,
                row.first_name,
                row.email,
            )
        )
        return r.BeneficiariesExport(tuple(rows))


def _local_or_none(moment: datetime | None, time_zone: str) -> datetime | None:
    return None if moment is None else in_zone(moment, time_zone)
