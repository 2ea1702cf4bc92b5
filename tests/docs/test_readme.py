"""The README's snippets run, in order, against a real SQLite storage: the host builds the
domain, bootstraps an operator, a relay sells in Python, and a front end's JSON body (the one
shown) goes through ``domain.handle()``."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ticketdomain import (
    ActorKind,
    AuthorizeStructure,
    ChannelKind,
    ContactRole,
    CreateActivity,
    CreateIndividual,
    CreateOrganization,
    CreatePerformance,
    CreateProduct,
    CreateSalesChannel,
    CreateSalesPoint,
    CreateStructure,
    CreateTariff,
    Money,
    PaymentMethod,
    TicketDomain,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.S)


def run(snippet: str, namespace: dict[str, Any]) -> None:
    exec(compile(snippet, str(README), "exec"), namespace)


def set_up_sales(domain: TicketDomain, operator: str) -> dict[str, Any]:
    """What the snippets take as given: a sales point, a relay with a password, a tariff."""
    organization = domain.setup.create_organization(CreateOrganization(operator, "Opera", "CHF"))
    channel = domain.setup.create_sales_channel(
        CreateSalesChannel(operator, "Agencies", ChannelKind.AGENCY)
    )
    sales_point = domain.setup.create_sales_point(
        CreateSalesPoint(
            operator,
            organization.id,
            channel.id,
            "Hotels",
            payment_methods=frozenset({PaymentMethod.HOLDING_ACCOUNT}),
        )
    )
    hotel = domain.contacts.create_structure(CreateStructure(operator, "Hotel"))
    alice = domain.contacts.create_individual(
        CreateIndividual(
            operator, "Alice", "Martin", "alice@hotel.example", hotel.id, ContactRole.RELAY
        )
    )
    domain.setup.authorize_structure(AuthorizeStructure(operator, sales_point.id, hotel.id))
    password = "the relay's own passphrase"
    domain.host.set_password(ActorKind.RELAY, alice.id, password)
    activity = domain.setup.create_activity(CreateActivity(operator, organization.id, "Opera"))
    performance = domain.setup.create_performance(
        CreatePerformance(
            operator, activity.id, datetime.now(UTC) + timedelta(days=30), "Hall", 100
        )
    )
    product = domain.setup.create_product(
        CreateProduct(operator, activity.id, "Seat", Decimal("0.081"))
    )
    tariff = domain.setup.create_tariff(
        CreateTariff(operator, product.id, "Agency", Money(Decimal("50.00"), "CHF"))
    )
    return {
        "sales_point_id": sales_point.id,
        "password": password,
        "performance_id": performance.id,
        "tariff_id": tariff.id,
    }


def test_the_snippets_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build, bootstrap, sell, front_end = blocks("python")
    (body,) = blocks("json")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}

    run(build, namespace)
    domain = namespace["domain"]
    assert isinstance(domain, TicketDomain)
    assert os.path.exists(tmp_path / "tickets.sqlite3")
    assert len(build.strip().splitlines()) <= 25

    run(bootstrap, namespace)
    assert domain.host.who(namespace["operator"]).kind is ActorKind.OPERATOR

    namespace.update(set_up_sales(domain, namespace["operator"]))
    run(sell, namespace)
    assert namespace["order"].total == Money(Decimal("100.00"), "CHF")

    run(front_end, namespace)
    api: Callable[[bytes], dict[str, Any]] = namespace["api"]
    sent = (
        body.replace("tds_…", namespace["relay"])
        .replace("performance_…", namespace["performance_id"])
        .replace("tariff_…", namespace["tariff_id"])
    )
    answer = api(sent.encode())
    assert answer["result"]["total"] == {"amount": "100.00", "currency": "CHF"}
    # The same body with a made-up token, or with no token at all, changes nothing.
    forged = api(body.replace("tds_…", "tds_" + "x" * 43).encode())
    assert forged["error"]["code"] == "session_invalid"
    data = json.loads(body)
    del data["data"]["token"]
    assert api(json.dumps(data).encode())["error"]["code"] == "payload_invalid"
