"""A front end speaks JSON: commands in, results and typed errors out, through handle()."""

from __future__ import annotations

import json
from typing import Any

from support.agency import Agency
from support.state import refused
from ticketdomain import LineRequest, OrderView, PaymentMethod, PlaceOrder, TicketDomainError
from ticketdomain.core.errors import QuotaExhaustedError, SessionInvalidError
from ticketdomain.serialization import (
    structure_command,
    unstructure,
    unstructure_command,
    unstructure_error,
)


def send(agency: Agency, payload: str) -> str:
    """What a host's HTTP endpoint does with the body it received."""
    try:
        command = structure_command(json.loads(payload))
        return json.dumps({"ok": unstructure(agency.world.domain.handle(command))})
    except TicketDomainError as error:
        return json.dumps({"error": unstructure_error(error)})


def place(agency: Agency, quantity: int) -> str:
    command = PlaceOrder(
        agency.alice,
        (LineRequest(agency.performance_id, agency.agency_tariff_id, quantity),),
        PaymentMethod.HOLDING_ACCOUNT,
    )
    return json.dumps(unstructure_command(command))


def test_an_order_placed_from_json_comes_back_as_json(agency: Agency) -> None:
    answer: dict[str, Any] = json.loads(send(agency, place(agency, 2)))["ok"]
    assert answer["total"] == {"amount": "130.00", "currency": "CHF"}
    assert [t["state"] for t in answer["tickets"]] == ["bought", "bought"]
    from ticketdomain.serialization import structure

    assert isinstance(structure(answer, OrderView), OrderView)


def test_a_refusal_comes_back_as_a_typed_error_and_changes_nothing(agency: Agency) -> None:
    agency.world.domain.handle(json_command(place(agency, 10)))
    agency.world.domain.handle(json_command(place(agency, 10)))
    with refused(agency.world, QuotaExhaustedError):
        agency.world.domain.handle(json_command(place(agency, 1)))
    answer = json.loads(send(agency, place(agency, 1)))["error"]
    assert answer["code"] == "quota_exhausted"
    assert answer["details"]["remaining"] == 0
    assert answer["message"]


def json_command(payload: str) -> object:
    return structure_command(json.loads(payload))


def test_malformed_json_commands_get_typed_errors(agency: Agency) -> None:
    payload = json.loads(place(agency, 1))
    payload["data"]["lines"][0]["quantity"] = "lots"
    assert json.loads(send(agency, json.dumps(payload)))["error"]["code"] == "payload_invalid"
    payload["data"]["lines"][0]["quantity"] = -3
    assert json.loads(send(agency, json.dumps(payload)))["error"]["code"] == "quantity_invalid"
    unknown = json.dumps({"type": "DropTables", "data": {}})
    assert json.loads(send(agency, unknown))["error"]["code"] == "command_type_unknown"


def test_who_sends_a_json_command_is_only_what_its_token_opens(agency: Agency) -> None:
    payload = json.loads(place(agency, 1))
    assert payload["data"]["token"] == agency.alice
    # a session described in the payload, as the old API took it, is not a token
    payload["data"]["token"] = {
        "relay_id": agency.alice_id,
        "structure_id": agency.hotel_id,
        "sales_point_id": agency.sales_point_id,
    }
    assert json.loads(send(agency, json.dumps(payload)))["error"]["code"] == "payload_invalid"
    for forged in ("tds_token000999", agency.alice_id, "", "tds_" + "x" * 500):
        payload["data"]["token"] = forged
        with refused(agency.world, SessionInvalidError):
            agency.world.domain.handle(json_command(json.dumps(payload)))
        answer = json.loads(send(agency, json.dumps(payload)))["error"]
        assert answer["code"] == "session_invalid"
    # the host's trusted calls are no commands: a front end cannot reach them
    bootstrap = {"type": "Bootstrap", "data": {"institution_name": "Mine"}}
    assert json.loads(send(agency, json.dumps(bootstrap)))["error"]["code"] == (
        "command_type_unknown"
    )
