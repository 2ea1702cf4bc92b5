"""Hostile JSON at the boundary: every command type, as a front end would send it, through
``structure_command`` and ``handle()`` on a real database.

For each command type of ``TicketDomain.command_types()``, Hypothesis draws valid-looking
commands (ids of things that exist, known emails and passwords), turns them into JSON data,
then swaps some values for hostile ones (lone surrogates, NUL, 1 MB strings, homoglyphs,
right-to-left overrides, 10^19, NaN, dates out of any column's range, wrong types…) and puts a
valid token of an actor the command's rule allows in the payload. Whatever happens, only
``TicketDomainError`` subclasses may come out, and a refused command changes no table (each
table hashed before and after) and sends no mail, charges no card, stores no document.

Runs on a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it).
TICKETDOMAIN_FUZZ_EXAMPLES sets the inputs per command type and database (default 40).
"""

from __future__ import annotations

import copy
import os
import re
import secrets
import traceback
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from support.agency import Agency, relay_session, set_up_agency
from support.corporate import Corporate, set_up_corporate
from ticketdomain.core.errors import LoginFailedError, TicketDomainError
from ticketdomain.core.identity import ActorKind
from ticketdomain.core.sales import LineRequest
from ticketdomain.core.setup import PaymentMethod
from ticketdomain.ports.payment import CardPayment
from ticketdomain.serialization import structure_command, unstructure_command
from ticketdomain.services import commands as c
from ticketdomain.services.app import TicketDomain
from ticketdomain.testing import strategies as tds
from ticketdomain.testing.domain import FakeWorld, build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage, metadata

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")
EXAMPLES = int(os.environ.get("TICKETDOMAIN_FUZZ_EXAMPLES", "40"))
COMMAND_TYPES = TicketDomain.command_types()
PASSWORD = "correct horse battery staple"

Fingerprint = Mapping[str, object]


# --- the database and its state -------------------------------------------------------------


def _fingerprint_query() -> str:
    # One round trip: each table's rows as text, ordered, hashed by the server.
    rows = "md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
    parts = [
        f'(SELECT {rows} FROM "{table.name}" AS t) AS "{table.name}"'
        for table in metadata.sorted_tables
    ]
    return "SELECT " + ", ".join(parts)


@attrs.define
class Database:
    """A database with the tables of the SQLAlchemy adapter: their state compared and reset."""

    storage: SqlAlchemyStorage
    name: str
    template: dict[str, list[dict[str, Any]]] = attrs.Factory(dict)

    @property
    def engine(self) -> sa.Engine:
        return self.storage.engine

    def fingerprint(self) -> Fingerprint:
        """Every table, row by row (hashed per table on PostgreSQL)."""
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "postgresql":
                row = connection.exec_driver_sql(_fingerprint_query()).mappings().one()
                return dict(row)
            return {
                table.name: sorted(
                    (tuple(row) for row in connection.execute(sa.select(table))), key=repr
                )
                for table in metadata.sorted_tables
            }

    def keep(self) -> None:
        """Remember the current rows, to come back to with :meth:`reset`."""
        with self.engine.connect() as connection:
            self.template = {
                table.name: [dict(row) for row in connection.execute(sa.select(table)).mappings()]
                for table in metadata.sorted_tables
            }

    def reset(self) -> None:
        with self.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
            for table in metadata.sorted_tables:
                if self.template[table.name]:
                    connection.execute(table.insert(), self.template[table.name])


def _no_sync(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.execute("PRAGMA synchronous = OFF")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        storage = SqlAlchemyStorage.sqlite(tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3")
        # Durability is not under test: commits need not wait for the disk.
        sa.event.listen(storage.engine, "connect", _no_sync)
        storage.create_schema()
        try:
            yield Database(storage, "sqlite")
        finally:
            storage.close()
        return
    if not PG_URL:
        pytest.skip("set TICKETDOMAIN_TEST_PG_URL to fuzz the JSON boundary on PostgreSQL")
    schema = f"td_fuzz_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = sa.create_engine(
        PG_URL, connect_args={"options": f"-c search_path={schema} -c synchronous_commit=off"}
    )
    try:
        storage = SqlAlchemyStorage(engine)
        storage.create_schema()
        yield Database(storage, "postgresql")
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


# --- the world the commands run in ----------------------------------------------------------

_ID = re.compile(r"^([a-z_]+)-[0-9]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]+$")
_BARCODE = re.compile(r"^BC[0-9]{6}$")
_LINK = re.compile(r"tdl_token[0-9]+")


@attrs.define
class Tokens:
    """A valid token per kind of actor, for one side of the world."""

    operator: str
    relay: str
    member: str
    gate: str


@attrs.define
class World:
    """An agency and a works council in two institutions on one database, with orders,
    options, a reservation, distributed and printed tickets, an invoice and passwords."""

    fake: FakeWorld
    database: Database
    agency: Agency
    corporate: Corporate
    sides: tuple[Tokens, Tokens]
    known: dict[str, list[str]]

    def fresh_token(self, kind: ActorKind) -> str:
        """A new session, for commands that end sessions (``Logout``, ``ChangePassword``)."""
        host, co = self.fake.domain.host, self.corporate
        if kind is ActorKind.OPERATOR:
            return host.open_session(kind, co.operator_id).token
        if kind is ActorKind.RELAY:
            return relay_session(self.fake.domain, co.nina_id, co.sales_point_id)
        return host.open_session(kind, co.marc_id).token


def _build(database: Database) -> World:
    fake = build_fake_world(database.storage)
    d = fake.domain
    agency, co = set_up_agency(fake), set_up_corporate(fake)

    # Passwords, so a drawn login can succeed; setting one ends the sessions opened so far.
    host = d.host
    for kind, actor_id in [
        (ActorKind.OPERATOR, agency.operator_id),
        (ActorKind.OPERATOR, co.operator_id),
        (ActorKind.RELAY, agency.alice_id),
        (ActorKind.RELAY, co.nina_id),
        (ActorKind.MEMBER, co.marc_id),
    ]:
        host.set_password(kind, actor_id, PASSWORD)
    sides = (
        Tokens(
            host.open_session(ActorKind.OPERATOR, agency.operator_id).token,
            relay_session(d, agency.alice_id, agency.sales_point_id),
            host.open_session(ActorKind.MEMBER, co.marc_id).token,
            co.gate,
        ),
        Tokens(
            host.open_session(ActorKind.OPERATOR, co.operator_id).token,
            relay_session(d, co.nina_id, co.sales_point_id),
            host.open_session(ActorKind.MEMBER, co.marc_id).token,
            co.gate,
        ),
    )
    agency_side, co_side = sides

    # Something of everything, for commands to name.
    order = d.handle(
        c.PlaceOrder(
            co_side.relay,
            (LineRequest(co.performance_id, co.tariff_id, 6),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    d.handle(c.DistributeToMember(co_side.relay, co.performance_id, co.product_id, 2, co.marc_id))
    d.handle(
        c.DistributeToSubStructure(co_side.relay, co.performance_id, co.product_id, 1, co.club_id)
    )
    marcs = d.handle(c.ListMemberTickets(co_side.member))
    d.handle(c.PrintMemberTickets(co_side.member, tuple(t.ticket_id for t in marcs)[:1]))
    d.handle(c.IssueInvoice(co_side.operator, co.organization_id, co.council_id))
    lines = (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),)
    d.handle(c.RequestOption(agency_side.relay, lines))
    d.handle(c.PlaceReservation(agency_side.relay, lines))
    d.handle(
        c.PlaceOrder(agency_side.relay, lines, PaymentMethod.CARD, card=CardPayment("tok_visa"))
    )
    d.handle(c.RequestLoginLink(co.institution_id, "marc@nestor.ch"))
    assert order.id

    database.keep()
    known: dict[str, set[str]] = {}
    for rows in database.template.values():
        for row in rows:
            for value in row.values():
                if not isinstance(value, str):
                    continue
                # the link of the login-link mail still waiting in the outbox
                known.setdefault("link_token", set()).update(_LINK.findall(value))
                if match := _ID.match(value):
                    known.setdefault(match.group(1), set()).add(value)
                elif _EMAIL.match(value):
                    known.setdefault("email", set()).add(value)
                elif _BARCODE.match(value):
                    known.setdefault("barcode", set()).add(value)
    known["password"] = known["current_password"] = {PASSWORD}
    known["text"] = {"nestor", "Dupont", "@", "a"}
    return World(fake, database, agency, co, sides, {k: sorted(v) for k, v in known.items() if v})


@pytest.fixture(scope="module")
def world(database: Database) -> World:
    return _build(database)


# --- hostile payloads -----------------------------------------------------------------------


def _slots(value: object, path: str = "$") -> Iterator[tuple[Any, Any, str]]:
    """Every place in JSON data a value can be swapped: (container, key or index, path)."""
    if isinstance(value, dict):
        for key in sorted(value):
            if path == "$" and key == "token":
                continue  # a valid token is put in last: the point is to get past it
            yield value, key, f"{path}.{key}"
            yield from _slots(value[key], f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index, f"{path}[{index}]"
            yield from _slots(item, f"{path}[{index}]")


def _json_kind(value: object) -> str:
    return "int" if isinstance(value, int) and not isinstance(value, bool) else type(value).__name__


# Hostile values by JSON type: most swaps keep a field's type, so that they get past the
# converter's type checks into handle(); the others try every type.
_HOSTILE_LIKE = {
    kind: st.sampled_from([v for v in tds.HOSTILE_JSON if _json_kind(v) == kind])
    for kind in ("str", "int", "dict", "list")
}


def _hostile_like(value: object) -> st.SearchStrategy[object]:
    same = _HOSTILE_LIKE.get(_json_kind(value))
    return tds.hostile_json() if same is None else st.one_of(same, same, same, tds.hostile_json())


@st.composite
def payloads(draw: st.DrawFn, commands: st.SearchStrategy[Any]) -> dict[str, Any]:
    """A command as JSON data, valid-looking, then with up to three values made hostile (a
    sixth of the time none, so valid commands run too)."""
    command = draw(commands)
    payload = unstructure_command(command)
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2, 3]))):
        data = payload["data"]
        slots = list(_slots(data))
        move = draw(st.sampled_from(["swap"] * 12 + ["drop", "add", "whole"]))
        if move == "whole" or not slots:
            payload["data"] = draw(tds.hostile_json()) if move == "whole" else data
            continue
        container, key, _ = draw(st.sampled_from(slots))
        if move == "drop" and isinstance(container, dict):
            del container[key]
        elif move == "add" and isinstance(container, dict):
            container[draw(st.sampled_from(["extra", "\ud800", "__class__"]))] = 1
        else:
            container[key] = copy.deepcopy(draw(_hostile_like(container[key])))
    return payload


# --- the run --------------------------------------------------------------------------------


@attrs.define
class Totals:
    command_types: set[str] = attrs.Factory(set)
    inputs: int = 0
    handled: int = 0
    accepted: int = 0
    refused: Counter[str] = attrs.Factory(Counter)
    untyped: list[str] = attrs.Factory(list)
    changed: list[str] = attrs.Factory(list)


TOTALS: dict[str, Totals] = {}


def _short(value: object, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _side_effects(fake: FakeWorld) -> tuple[int, ...]:
    return (
        len(fake.payments.charges),
        len(fake.payments.refunds),
        len(fake.mailer.outbox),
        len(fake.documents.documents),
    )


def _token(
    world: World, command_type: type[Any], side: Tokens, fresh: bool, data: st.DataObject
) -> str | None:
    rule = command_type.rule
    if rule.public:
        return None
    kind = data.draw(st.sampled_from(sorted(rule.actors, key=lambda kind: kind.value)))
    if fresh:
        # Logging out and changing a password end sessions: each input gets its own.
        return world.fresh_token(kind)
    return {
        ActorKind.OPERATOR: side.operator,
        ActorKind.RELAY: side.relay,
        ActorKind.MEMBER: side.member,
        ActorKind.GATE: side.gate,
    }[kind]


def _fuzz(world: World, command_type: type[Any], totals: Totals) -> None:
    d, database = world.fake.domain, world.database
    name = command_type.__name__
    totals.command_types.add(name)
    fresh = name in {"Logout", "ChangePassword"}
    state: dict[str, Fingerprint] = {}
    inputs = payloads(tds.commands(command_type, world.known))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        side = data.draw(st.sampled_from(world.sides))
        payload = data.draw(inputs)
        token = _token(world, command_type, side, fresh, data)
        if token is not None and isinstance(payload["data"], dict):
            payload["data"]["token"] = token
        if fresh or "before" not in state:
            state["before"] = database.fingerprint()
        totals.inputs += 1
        effects = _side_effects(world.fake)
        try:
            command = structure_command(payload)
        except TicketDomainError as error:
            # Structuring touches no storage: nothing to compare.
            totals.refused[f"{error.code} (structure)"] += 1
            return
        except Exception as error:
            totals.untyped.append(f"structure_command: {_describe(error, payload)}")
            return
        totals.handled += 1
        try:
            d.handle(command)
        except TicketDomainError as error:
            totals.refused[error.code] += 1
            after = database.fingerprint()
            changed = sorted(k for k in after if after[k] != state["before"][k])
            if isinstance(error, LoginFailedError) and set(changed) <= {"td_credentials"}:
                changed = []  # a wrong password counts towards the lock-out, as documented
            if changed or _side_effects(world.fake) != effects:
                totals.changed.append(
                    f"{name} refused with {error.code} changed {changed or 'a fake'}: "
                    f"{_short(payload)}"
                )
            state["before"] = after
            return
        except Exception as error:
            totals.untyped.append(f"handle: {_describe(error, payload)}")
            state.pop("before")
            return
        totals.accepted += 1
        state["before"] = database.fingerprint()

    run()


def _describe(error: BaseException, payload: object) -> str:
    where = traceback.extract_tb(error.__traceback__)[-3:]
    frames = " < ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(where))
    return (
        f"{type(error).__name__}: {_short(str(error), 200)} at {frames}; payload {_short(payload)}"
    )


@pytest.mark.parametrize("command_type", COMMAND_TYPES, ids=lambda cls: cls.__name__)
def test_hostile_json_meets_typed_errors_only_and_refusals_change_nothing(
    world: World, command_type: type[Any]
) -> None:
    world.database.reset()
    totals = TOTALS.setdefault(world.database.name, Totals())
    untyped, changed = len(totals.untyped), len(totals.changed)
    _fuzz(world, command_type, totals)
    assert totals.untyped[untyped:] == []
    assert totals.changed[changed:] == []


def test_the_fuzzing_run_covered_every_command_type(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    totals = TOTALS.get(world.database.name)
    if totals is None:
        pytest.skip("the fuzzing tests did not run in this session")
    refused = sum(totals.refused.values())
    with capsys.disabled():
        print(
            f"\nboundary fuzz on {world.database.name}: {len(totals.command_types)} command "
            f"types, {totals.inputs} inputs ({totals.handled} through handle(), "
            f"{totals.accepted} accepted, {refused} refused), "
            f"{len(totals.untyped)} untyped errors, {len(totals.changed)} refusals that "
            "changed state\n  refusals by code: "
            + ", ".join(f"{code} {n}" for code, n in totals.refused.most_common())
        )
    assert totals.untyped == [] and totals.changed == []
    if len(totals.command_types) < len(COMMAND_TYPES):
        pytest.skip("only some command types were fuzzed in this session")
    assert totals.command_types == {cls.__name__ for cls in COMMAND_TYPES}
    assert totals.inputs >= len(COMMAND_TYPES) * EXAMPLES // 2
