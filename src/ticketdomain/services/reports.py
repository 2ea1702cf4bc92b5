"""The agency's sales report, from its own purchase history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from ticketdomain.core.billing import ReportColumn, ReportDocument, ReportTable
from ticketdomain.core.errors import NotFoundError, PeriodInvalidError
from ticketdomain.core.identity import RelayActor
from ticketdomain.core.money import Money
from ticketdomain.core.sales import OrderState
from ticketdomain.core.setup import Function
from ticketdomain.core.timezones import in_zone
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._attendees import beneficiary_rows
from ticketdomain.services._auth import Authenticator, organization_for
from ticketdomain.services._context import (
    Adapters,
    line_description,
    need,
    relay_context,
    relay_rows,
)
from ticketdomain.services._mail import language_for
from ticketdomain.services.billing import require_renderer
from ticketdomain.services.distribution import DistributionService


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
        return self._sales_report(command)[0]

    def _sales_report(self, command: c.ViewSalesReport) -> tuple[r.SalesReport, str]:
        """The sales report and the language of the relay who asked for it."""
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
            language = _language_of(session)
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
        report = r.SalesReport(
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
        return report, language

    def render_sales_report(self, command: c.RenderSalesReport) -> r.RenderedDocument:
        """The sales report of ``ViewSalesReport`` (same rules, same errors) as a document,
        from the host's ``DocumentRenderer``; ``RendererMissingError`` when it has none. In
        the relay's language, else its sales point's organization's."""
        report, language = self._sales_report(
            c.ViewSalesReport(command.token, command.period_from, command.period_until)
        )
        renderer = require_renderer(self.adapters)
        document = sales_report_document(report, language)
        return r.RenderedDocument(
            document.filename, renderer.media_type, renderer.render_report(document)
        )

    def render_dashboard(self, command: c.RenderDashboard) -> r.RenderedDocument:
        """The dashboard of ``ViewDashboard`` (same rules, same errors) as a document, from the
        host's ``DocumentRenderer``; ``RendererMissingError`` when it has none. In the
        relay's language, else its sales point's organization's."""
        with self._auth.relay(command) as (uow, session):
            dashboard = DistributionService(self.adapters)._dashboard_in(
                uow, session, command.structure_id
            )
            language = _language_of(session)
        # After the command's own checks: who may ask is told first.
        renderer = require_renderer(self.adapters)
        document = dashboard_document(dashboard, language)
        return r.RenderedDocument(
            document.filename, renderer.media_type, renderer.render_report(document)
        )

    def export_beneficiaries(self, command: c.ExportBeneficiaries) -> r.BeneficiariesExport:
        """Who received the organization's tickets and who will attend, per performance and
        distributing structure: each member (role ``member``) and beside them the people they
        printed tickets for (role ``attendee``, with their email where given), each with their
        own consent to marketing (``to_csv()`` or ``to_table()`` for a file)."""
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            if command.performance_id is not None:
                performance = uow.performances.get(command.performance_id)
                if performance is None or performance.organization_id != organization.id:
                    raise NotFoundError("performance", command.performance_id)
            rows = beneficiary_rows(
                uow, organization.id, command.performance_id, command.only_consenting
            )
        return r.BeneficiariesExport(rows)


def _language_of(session: RelayActor) -> str:
    """The relay's language, else its sales point's organization's (as its mail)."""
    context = relay_context(session)
    return language_for(context.relay, context.organization)


def _local_or_none(moment: datetime | None, time_zone: str) -> datetime | None:
    return None if moment is None else in_zone(moment, time_zone)


# --- documents: the same figures as the views, as tables of text ----------------------------


def _amount(money: Money) -> str:
    # As the CSV and the invoices write it: two decimals, no grouping.
    return f"{money.amount:.2f}"


def _totals_table(title: str, key: str, totals: tuple[r.SalesReportTotal, ...]) -> ReportTable:
    return ReportTable(
        title,
        (ReportColumn(key, weight=4), ReportColumn("Quantity", True), ReportColumn("Amount", True)),
        tuple((t.key, str(t.quantity), _amount(t.amount)) for t in totals),
    )


def sales_report_document(report: r.SalesReport, language: str = "en") -> ReportDocument:
    """The sales report's rows and totals (amounts in ``report.currency``), in English: the
    renderer prints its words in ``language``."""

    def bound(moment: datetime | None) -> str:
        return "…" if moment is None else moment.strftime("%Y-%m-%d %H:%M")

    columns = (
        ReportColumn("Placed at", weight=1.6),
        ReportColumn("Order", weight=1.2),
        ReportColumn("Relay", weight=1.6),
        ReportColumn("Contact", weight=1.4),
        ReportColumn("Performance", weight=3.2),
        ReportColumn("Tariff", weight=1.4),
        ReportColumn("Qty", True, 0.6),
        ReportColumn("Amount", True, 1.2),
        ReportColumn("Payment", weight=1.3),
        ReportColumn("State", weight=1.1),
    )
    rows = tuple(
        (
            row.placed_at.strftime("%Y-%m-%d %H:%M"),
            row.order_id,
            row.relay,
            row.purchasing_contact,
            row.performance,
            row.tariff,
            str(row.quantity),
            _amount(row.amount),
            row.payment_method.value.replace("_", " "),
            row.state.value,
        )
        for row in report.rows
    )
    return ReportDocument(
        title="Sales report",
        subtitle=(
            f"Structure {report.structure_id}",
            (
                "All sales"
                if report.period_from is None and report.period_until is None
                else f"Period {bound(report.period_from)} to {bound(report.period_until)}"
            )
            + f" ({report.time_zone}); amounts in {report.currency}; cancelled orders are "
            "listed, not totalled",
        ),
        tables=(
            ReportTable("Sales", columns, rows),
            _totals_table("By performance", "Performance", report.by_performance),
            _totals_table("By tariff", "Tariff", report.by_tariff),
            _totals_table("By relay", "Relay", report.by_relay),
            _totals_table("Total", "", (attrs.evolve(report.total, key="Total"),)),
        ),
        filename=f"sales-report-{report.structure_id}.pdf",
        language=language,
    )


_TALLY_COLUMNS = (
    ReportColumn("Bought", True),
    ReportColumn("Received", True),
    ReportColumn("In stock", True),
    ReportColumn("Distributed", True),
    ReportColumn("To individuals", True),
    ReportColumn("Handed over", True),
    ReportColumn("To sub-structures", True),
    ReportColumn("Printed", True),
    ReportColumn("Controlled", True),
    ReportColumn("Cancelled", True),
)


def _tally_cells(tally: r.TallyView) -> tuple[str, ...]:
    return tuple(
        str(n)
        for n in (
            tally.bought,
            tally.received,
            tally.in_stock,
            tally.distributed,
            tally.to_individuals,
            tally.handed_over,
            sum(item.count for item in tally.to_sub_structures),
            tally.printed,
            tally.controlled,
            tally.cancelled,
        )
    )


def dashboard_document(dashboard: r.Dashboard, language: str = "en") -> ReportDocument:
    """The dashboard's counts per product and in total, and what went to each sub-structure,
    in English: the renderer prints its words in ``language``."""
    products = ReportTable(
        "Per product",
        (
            ReportColumn("Activity", weight=2.5),
            ReportColumn("Product", weight=2.5),
            *_TALLY_COLUMNS,
        ),
        (
            *(
                (item.activity, item.product, *_tally_cells(item.tally))
                for item in dashboard.products
            ),
            ("Total", "", *_tally_cells(dashboard.total)),
        ),
    )
    sub_structures = ReportTable(
        "To sub-structures",
        (ReportColumn("Sub-structure", weight=4), ReportColumn("Tickets", True)),
        tuple((item.structure, str(item.count)) for item in dashboard.total.to_sub_structures),
    )
    return ReportDocument(
        title="Dashboard",
        subtitle=(
            f"{dashboard.structure} ({dashboard.structure_id})",
            dashboard.total.summary,
        ),
        tables=(products, sub_structures),
        filename=f"dashboard-{dashboard.structure_id}.pdf",
        language=language,
    )
