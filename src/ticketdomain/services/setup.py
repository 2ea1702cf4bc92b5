"""Operator set-up: institution, organizations, channels, sales points, catalog, quotas."""

from __future__ import annotations

import attrs

from ticketdomain.core.catalog import Activity, CatalogProfile, Performance, Product, Tariff
from ticketdomain.core.errors import CurrencyMismatchError, NotFoundError, SetupInvalidError
from ticketdomain.core.identity import OperatorActor
from ticketdomain.core.languages import DEFAULT_LANGUAGE
from ticketdomain.core.money import VatRate
from ticketdomain.core.quotas import Quota
from ticketdomain.core.setup import (
    Organization,
    SalesChannel,
    SalesPoint,
    SalesPointPolicy,
)
from ticketdomain.core.timezones import DEFAULT_TIME_ZONE
from ticketdomain.ports.storage import UnitOfWork
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services._auth import (
    Authenticator,
    organization_for,
    require_institution_wide,
    require_organization,
)
from ticketdomain.services._context import Adapters, need


@attrs.frozen
class SetupService:
    """What the operator configures before anything is sold. Each method is one transaction.

    Raises ``NotFoundError`` for unknown ids and ``ValidationError`` subclasses for bad values.
    """

    adapters: Adapters

    @property
    def _auth(self) -> Authenticator:
        return Authenticator(self.adapters)

    def _sales_point(
        self, uow: UnitOfWork, operator: OperatorActor, command: object, id: str
    ) -> SalesPoint:
        item = need(uow.sales_points.get_for_update(id), "sales_point", id)
        require_organization(uow, operator, command, item.organization_id, "sales_point", id)
        return item

    def _activity(
        self, uow: UnitOfWork, operator: OperatorActor, command: object, id: str
    ) -> Activity:
        item = need(uow.activities.get(id), "activity", id)
        require_organization(uow, operator, command, item.organization_id, "activity", id)
        return item

    def _channel(self, uow: UnitOfWork, operator: OperatorActor, id: str) -> SalesChannel:
        item = uow.channels.get(id)
        if item is None or item.institution_id != operator.institution_id:
            raise NotFoundError("sales_channel", id)
        return item

    def create_organization(self, command: c.CreateOrganization) -> r.OrganizationView:
        """An organization of the operator's institution (an operator of every organization).

        Raises ``PermissionMissingError`` for an operator of some organizations only,
        ``TimeZoneUnknownError`` for a zone not in the IANA database and
        ``LanguageUnsupportedError`` for a language mail is not written in.
        """
        with self._auth.operator(command) as (uow, operator):
            require_institution_wide(operator, command)
            item = Organization(
                self.adapters.ids.new_id("organization"),
                operator.institution_id,
                command.name,
                command.currency,
                DEFAULT_TIME_ZONE if command.time_zone is None else command.time_zone,
                language=DEFAULT_LANGUAGE if command.language is None else command.language,
            )
            uow.organizations.add(item)
            uow.commit()
        return r.OrganizationView.of(item)

    def create_sales_channel(self, command: c.CreateSalesChannel) -> r.SalesChannelView:
        """A channel of the operator's institution (an operator of every organization).

        Raises ``PermissionMissingError`` for an operator of some organizations only.
        """
        with self._auth.operator(command) as (uow, operator):
            require_institution_wide(operator, command)
            item = SalesChannel(
                self.adapters.ids.new_id("channel"),
                operator.institution_id,
                command.name,
                command.kind,
            )
            uow.channels.add(item)
            uow.commit()
        return r.SalesChannelView.of(item)

    def create_sales_point(self, command: c.CreateSalesPoint) -> r.SalesPointView:
        with self._auth.operator(command) as (uow, operator):
            organization = organization_for(uow, operator, command, command.organization_id)
            channel = self._channel(uow, operator, command.channel_id)
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
        with self._auth.operator(command) as (uow, operator):
            item = self._sales_point(uow, operator, command, command.sales_point_id)
            item.functions = frozenset(command.functions)
            uow.sales_points.update(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def set_admission_policy(self, command: c.SetAdmissionPolicy) -> r.SalesPointView:
        """Change the sales point's "admit before settlement" policy; gates and printing
        apply it from the next call on, to tickets already printed too."""
        with self._auth.operator(command) as (uow, operator):
            item = self._sales_point(uow, operator, command, command.sales_point_id)
            item.policy = attrs.evolve(
                item.policy, admit_before_settlement=bool(command.admit_before_settlement)
            )
            uow.sales_points.update(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def authorize_structure(self, command: c.AuthorizeStructure) -> r.SalesPointView:
        """Every relay of the structure may log in on the sales point from now on.

        Raises ``NotFoundError`` for a sales point or a structure not the operator's (another
        institution's structure included).
        """
        with self._auth.operator(command) as (uow, operator):
            item = self._sales_point(uow, operator, command, command.sales_point_id)
            structure = uow.structures.get(command.structure_id)
            if structure is None or structure.institution_id != operator.institution_id:
                raise NotFoundError("structure", command.structure_id)
            item.authorize(command.structure_id)
            uow.sales_points.update(item)
            uow.commit()
        return r.SalesPointView.of(item)

    def revoke_structure(self, command: c.RevokeStructure) -> r.SalesPointView:
        """Withdraw the authorization; the structure's relays' sessions on the sales point end
        at once. Raises ``NotFoundError``."""
        with self._auth.operator(command) as (uow, operator):
            item = self._sales_point(uow, operator, command, command.sales_point_id)
            item.revoke(command.structure_id)
            uow.sales_points.update(item)
            relays = [
                person.id
                for person in uow.individuals.search(command.structure_id, "", 10**6)
                if person.is_relay
            ]
            uow.sessions.revoke_for_relays(relays, item.id, self.adapters.clock.now())
            uow.commit()
        return r.SalesPointView.of(item)

    def create_activity(self, command: c.CreateActivity) -> r.ActivityView:
        with self._auth.operator(command) as (uow, operator):
            organization_for(uow, operator, command, command.organization_id)
            item = Activity(
                self.adapters.ids.new_id("activity"), command.organization_id, command.name
            )
            uow.activities.add(item)
            uow.commit()
        return r.ActivityView.of(item)

    def create_performance(self, command: c.CreatePerformance) -> r.PerformanceView:
        """A performance held in its venue's zone (the organization's unless named).

        Raises ``TimeZoneUnknownError`` for an unknown zone and ``SetupInvalidError`` for a
        wall-clock start the zone skips (the night the clocks go forward).
        """
        with self._auth.operator(command) as (uow, operator):
            activity = self._activity(uow, operator, command, command.activity_id)
            organization = need(
                uow.organizations.get(activity.organization_id),
                "organization",
                activity.organization_id,
            )
            item = Performance(
                id=self.adapters.ids.new_id("performance"),
                organization_id=activity.organization_id,
                activity_id=activity.id,
                starts_at=command.starts_at,
                venue=command.venue,
                capacity=command.capacity,
                time_zone=(
                    organization.time_zone if command.time_zone is None else command.time_zone
                ),
            )
            uow.performances.add(item)
            uow.commit()
        return r.PerformanceView.of(item)

    def create_product(self, command: c.CreateProduct) -> r.ProductView:
        with self._auth.operator(command) as (uow, operator):
            activity = self._activity(uow, operator, command, command.activity_id)
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
        with self._auth.operator(command) as (uow, operator):
            product = need(uow.products.get(command.product_id), "product", command.product_id)
            organization = require_organization(
                uow, operator, command, product.organization_id, "product", command.product_id
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
        with self._auth.operator(command) as (uow, operator):
            performance = need(
                uow.performances.get(command.performance_id), "performance", command.performance_id
            )
            require_organization(
                uow, operator, command, performance.organization_id, "performance", performance.id
            )
            if command.channel_id is not None:
                self._channel(uow, operator, command.channel_id)
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
        with self._auth.operator(command) as (uow, operator):
            organization_for(uow, operator, command, command.organization_id)
            if command.channel_id is not None:
                self._channel(uow, operator, command.channel_id)
                existing = uow.profiles.for_channel(command.organization_id, command.channel_id)
            elif command.sales_point_id is not None:
                sales_point = need(
                    uow.sales_points.get(command.sales_point_id),
                    "sales_point",
                    command.sales_point_id,
                )
                if sales_point.organization_id != command.organization_id:
                    raise NotFoundError("sales_point", command.sales_point_id)
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
                if product.organization_id != command.organization_id:
                    raise NotFoundError("product", conditions.product_id)
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
