"""Operator set-up: institution, organizations, channels, sales points, catalog, quotas."""

from __future__ import annotations

import attrs

from ticketdomain.core.catalog import Activity, CatalogProfile, Performance, Product, Tariff
from ticketdomain.core.errors import CurrencyMismatchError, SetupInvalidError
from ticketdomain.core.money import VatRate
from ticketdomain.core.quotas import Quota
from ticketdomain.core.setup import (
    Institution,
    Organization,
    SalesChannel,
    SalesPoint,
    SalesPointPolicy,
)
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._context import Adapters, need


@attrs.frozen
class SetupService:
    """What the operator configures before anything is sold. Each method is one transaction.

    Raises ``NotFoundError`` for unknown ids and ``ValidationError`` subclasses for bad values.
    """

    adapters: Adapters

    def create_institution(self, command: c.CreateInstitution) -> r.InstitutionView:
        with self.adapters.storage.unit_of_work() as uow:
            item = Institution(self.adapters.ids.new_id("institution"), command.name)
            uow.institutions.add(item)
            uow.commit()
        return r.InstitutionView.of(item)

    def create_organization(self, command: c.CreateOrganization) -> r.OrganizationView:
        with self.adapters.storage.unit_of_work() as uow:
            need(
                uow.institutions.get(command.institution_id), "institution", command.institution_id
            )
            item = Organization(
                self.adapters.ids.new_id("organization"),
                command.institution_id,
                command.name,
                command.currency,
            )
            uow.organizations.add(item)
            uow.commit()
        return r.OrganizationView.of(item)

    def create_sales_channel(self, command: c.CreateSalesChannel) -> r.SalesChannelView:
        with self.adapters.storage.unit_of_work() as uow:
            need(
                uow.institutions.get(command.institution_id), "institution", command.institution_id
            )
            item = SalesChannel(
                self.adapters.ids.new_id("channel"),
                command.institution_id,
                command.name,
                command.kind,
            )
            uow.channels.add(item)
            uow.commit()
        return r.SalesChannelView.of(item)

    def create_sales_point(self, command: c.CreateSalesPoint) -> r.SalesPointView:
        with self.adapters.storage.unit_of_work() as uow:
            organization = need(
                uow.organizations.get(command.organization_id),
                "organization",
                command.organization_id,
            )
            channel = need(
                uow.channels.get(command.channel_id), "sales_channel", command.channel_id
            )
            if channel.institution_id != organization.institution_id:
                raise SetupInvalidError("The channel belongs to another institution.")
            if command.max_document_bytes < 1:
                raise SetupInvalidError("max_document_bytes must be positive.")
            item = SalesPoint(
                id=self.adapters.ids.new_id("sales_point"),
                organization_id=organization.id,
                channel_id=channel.id,
                name=command.name,
                functions=frozenset(command.functions),
                payment_methods=frozenset(command.payment_methods),
                delivery_modes=frozenset(command.delivery_modes),
                policy=SalesPointPolicy(
                    reservation_delay=command.reservation_delay,
                    reservation_cutoff=command.reservation_cutoff,
                    option_lifetime=command.option_lifetime,
                    max_document_bytes=command.max_document_bytes,
                    admit_before_settlement=command.admit_before_settlement,
                ),
            )
            uow.sales_points.add(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def set_sales_point_functions(self, command: c.SetSalesPointFunctions) -> r.SalesPointView:
        with self.adapters.storage.unit_of_work() as uow:
            item = need(
                uow.sales_points.get_for_update(command.sales_point_id),
                "sales_point",
                command.sales_point_id,
            )
            item.functions = frozenset(command.functions)
            uow.sales_points.update(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def set_admission_policy(self, command: c.SetAdmissionPolicy) -> r.SalesPointView:
        """Change the sales point's "admit before settlement" policy; gates and printing
        apply it from the next call on, to tickets already printed too."""
        with self.adapters.storage.unit_of_work() as uow:
            item = need(
                uow.sales_points.get_for_update(command.sales_point_id),
                "sales_point",
                command.sales_point_id,
            )
            item.policy = attrs.evolve(
                item.policy, admit_before_settlement=bool(command.admit_before_settlement)
            )
            uow.sales_points.update(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def authorize_structure(self, command: c.AuthorizeStructure) -> r.SalesPointView:
        """Every relay of the structure may log in on the sales point from now on."""
        with self.adapters.storage.unit_of_work() as uow:
            item = need(
                uow.sales_points.get_for_update(command.sales_point_id),
                "sales_point",
                command.sales_point_id,
            )
            need(uow.structures.get(command.structure_id), "structure", command.structure_id)
            item.authorize(command.structure_id)
            uow.sales_points.update(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def revoke_structure(self, command: c.RevokeStructure) -> r.SalesPointView:
        with self.adapters.storage.unit_of_work() as uow:
            item = need(
                uow.sales_points.get_for_update(command.sales_point_id),
                "sales_point",
                command.sales_point_id,
            )
            item.revoke(command.structure_id)
            uow.sales_points.update(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def create_activity(self, command: c.CreateActivity) -> r.ActivityView:
        with self.adapters.storage.unit_of_work() as uow:
            need(
                uow.organizations.get(command.organization_id),
                "organization",
                command.organization_id,
            )
            item = Activity(
                self.adapters.ids.new_id("activity"), command.organization_id, command.name
            )
            uow.activities.add(item)
            uow.commit()
        return r.ActivityView.of(item)

    def create_performance(self, command: c.CreatePerformance) -> r.PerformanceView:
        with self.adapters.storage.unit_of_work() as uow:
            activity = need(
                uow.activities.get(command.activity_id), "activity", command.activity_id
            )
            item = Performance(
                id=self.adapters.ids.new_id("performance"),
                organization_id=activity.organization_id,
                activity_id=activity.id,
                starts_at=command.starts_at,
                venue=command.venue,
                capacity=command.capacity,
            )
            uow.performances.add(item)
            uow.commit()
        return r.PerformanceView.of(item)

    def create_product(self, command: c.CreateProduct) -> r.ProductView:
        with self.adapters.storage.unit_of_work() as uow:
            activity = need(
                uow.activities.get(command.activity_id), "activity", command.activity_id
            )
            item = Product(
                id=self.adapters.ids.new_id("product"),
                organization_id=activity.organization_id,
                activity_id=activity.id,
                name=command.name,
                vat_rate=VatRate(command.vat_rate),
            )
            uow.products.add(item)
            uow.commit()
        return r.ProductView.of(item)

    def create_tariff(self, command: c.CreateTariff) -> r.TariffView:
        with self.adapters.storage.unit_of_work() as uow:
            product = need(uow.products.get(command.product_id), "product", command.product_id)
            organization = need(
                uow.organizations.get(product.organization_id),
                "organization",
                product.organization_id,
            )
            if command.price.currency != organization.currency:
                raise CurrencyMismatchError(
                    f"Prices of {organization.name} are in {organization.currency}.",
                    expected=organization.currency,
                    actual=command.price.currency,
                )
            item = Tariff(
                id=self.adapters.ids.new_id("tariff"),
                organization_id=product.organization_id,
                product_id=product.id,
                name=command.name,
                price=command.price,
            )
            uow.tariffs.add(item)
            uow.commit()
        return r.TariffView.of(item)

    def create_quota(self, command: c.CreateQuota) -> r.QuotaView:
        """Set places of a performance aside for a channel or a sales point; every level of the
        nesting (performance, channel, sales point) is a hard limit."""
        with self.adapters.storage.unit_of_work() as uow:
            performance = need(
                uow.performances.get(command.performance_id), "performance", command.performance_id
            )
            if command.channel_id is not None:
                need(uow.channels.get(command.channel_id), "sales_channel", command.channel_id)
            if command.sales_point_id is not None:
                sales_point = need(
                    uow.sales_points.get(command.sales_point_id),
                    "sales_point",
                    command.sales_point_id,
                )
                if sales_point.organization_id != performance.organization_id:
                    raise SetupInvalidError("The sales point belongs to another organization.")
            for existing in uow.quotas.for_performance(performance.id):
                if (existing.channel_id, existing.sales_point_id) == (
                    command.channel_id,
                    command.sales_point_id,
                ):
                    raise SetupInvalidError(
                        "This channel or sales point already has a quota for this performance.",
                        quota_id=existing.id,
                    )
            item = Quota(
                id=self.adapters.ids.new_id("quota"),
                organization_id=performance.organization_id,
                performance_id=performance.id,
                capacity=command.capacity,
                channel_id=command.channel_id,
                sales_point_id=command.sales_point_id,
            )
            uow.quotas.add(item)
            uow.commit()
        return r.QuotaView.of(item)

    def set_catalog_profile(self, command: c.SetCatalogProfile) -> r.CatalogProfileView:
        with self.adapters.storage.unit_of_work() as uow:
            need(
                uow.organizations.get(command.organization_id),
                "organization",
                command.organization_id,
            )
            if command.channel_id is not None:
                need(uow.channels.get(command.channel_id), "sales_channel", command.channel_id)
                existing = uow.profiles.for_channel(command.organization_id, command.channel_id)
            elif command.sales_point_id is not None:
                need(
                    uow.sales_points.get(command.sales_point_id),
                    "sales_point",
                    command.sales_point_id,
                )
                existing = uow.profiles.for_sales_point(command.sales_point_id)
            else:
                raise SetupInvalidError("A profile belongs to a channel or to a sales point.")
            for activity_id in command.activity_ids:
                activity = need(uow.activities.get(activity_id), "activity", activity_id)
                if activity.organization_id != command.organization_id:
                    raise SetupInvalidError("The activity belongs to another organization.")
            for conditions in command.products:
                product = need(
                    uow.products.get(conditions.product_id), "product", conditions.product_id
                )
                if product.activity_id not in command.activity_ids:
                    raise SetupInvalidError(
                        "A profiled product must belong to a profiled activity.",
                        product_id=product.id,
                    )
                for tariff_id in conditions.tariff_ids or ():
                    tariff = need(uow.tariffs.get(tariff_id), "tariff", tariff_id)
                    if tariff.product_id != product.id:
                        raise SetupInvalidError("A tariff of another product.", tariff_id=tariff_id)
            item = CatalogProfile(
                id=existing.id if existing else self.adapters.ids.new_id("profile"),
                organization_id=command.organization_id,
                channel_id=command.channel_id,
                sales_point_id=command.sales_point_id if command.channel_id is None else None,
                activity_ids=frozenset(command.activity_ids),
                products=tuple(command.products),
            )
            if existing:
                uow.profiles.update(item)
            else:
                uow.profiles.add(item)
            uow.commit()
        return r.CatalogProfileView.of(item)
