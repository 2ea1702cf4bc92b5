"""Who may do what in the corporate space, the individual space and at the gate.

A relay sees and acts only on its structure's stock, and on what it handed to its
sub-structures (read-only there); a member only on their own tickets; a gate only scans. One
table crosses every use case of the corporate space with every kind of actor: each cell is
either allowed or the exact typed error, and every refusal changes nothing. Every actor is
known by its token alone: the services load who it stands for from storage.
"""

from __future__ import annotations

import shutil
import typing
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from support.agency import relay_session
from support.corporate import Corporate, set_up_corporate
from support.state import observed, refused
from ticketdomain import (
    ActorKind,
    AuthorizeStructure,
    ChangePassword,
    ContactRole,
    CreateIndividual,
    CreateStructure,
    DistributeToMember,
    DistributeToSubStructure,
    ExportBeneficiaries,
    ExportStock,
    ImportDistribution,
    LineRequest,
    ListDistributedTickets,
    ListMemberTickets,
    LoginMember,
    PaymentMethod,
    PlaceOrder,
    PrintAtOnce,
    PrintMemberTickets,
    ReclaimFromSubStructure,
    ReclaimTickets,
    RevokeStructure,
    ScanTicket,
    SearchMembers,
    SetMarketingConsent,
    TicketDomainError,
    TicketState,
    ViewDashboard,
    ViewOrder,
    ViewStock,
)
from ticketdomain.core.errors import (
    ActorNotAllowedError,
    ForeignResourceError,
    ImportRejectedError,
    LoginFailedError,
    SessionInvalidError,
)
from ticketdomain.ports.storage import Storage
from ticketdomain.services import commands as c
from ticketdomain.services import results as r
from ticketdomain.services.access import AccessControlService
from ticketdomain.services.distribution import DistributionService
from ticketdomain.services.members import MemberService
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import SqlAlchemyStorage

#: the password marc chose for the individual space
MARC_PASSWORD = "marc's own password"

# --- the scene ------------------------------------------------------------------------------


@attrs.frozen
class Scene:
    """The works council bought and distributed; every use case has a real target."""

    corporate: Corporate
    #: each actor's token: a session, or the gate's API key
    tokens: dict[str, str]
    #: the structure of each relay, and the individual behind each relay and member (a token
    #: says nothing of them: the services load them from storage)
    structures: dict[str, str]
    individuals: dict[str, str]
    #: tickets the council distributed to marc, both printed by him
    marc_tickets: tuple[str, ...]
    #: a barcode marc printed, live
    marc_barcode: str
    #: the ticket the council distributed to lea
    lea_tickets: tuple[str, ...]
    #: a ticket the club (sub-structure) distributed to one of its members
    club_distributed: str
    #: a ticket still in the council's stock
    council_in_stock: str


def _member(corporate: Corporate, first: str, email: str, structure_id: str) -> str:
    return corporate.world.domain.contacts.create_individual(
        CreateIndividual(corporate.operator, first, "Test", email, structure_id, ContactRole.MEMBER)
    ).id


def set_the_scene(corporate: Corporate) -> Scene:
    d = corporate.world.domain
    perf, product = corporate.performance_id, corporate.product_id
    lea_id = _member(corporate, "Lea", "lea@nestor.ch", corporate.council_id)
    cleo_id = _member(corporate, "Cleo", "cleo@nestor.ch", corporate.club_id)
    # A structure authorized once, which bought, and was then revoked from the sales point.
    retired = d.contacts.create_structure(CreateStructure(corporate.operator, "Retired Corp"))
    rita_id = d.contacts.create_individual(
        CreateIndividual(
            corporate.operator,
            "Rita",
            "Roth",
            "rita@retired.ch",
            retired.id,
            ContactRole.RELAY,
        )
    ).id
    d.setup.authorize_structure(
        AuthorizeStructure(corporate.operator, corporate.sales_point_id, retired.id)
    )
    rita = relay_session(d, rita_id, corporate.sales_point_id)
    d.sales.place_order(
        PlaceOrder(
            rita, (LineRequest(perf, corporate.tariff_id, 2),), PaymentMethod.HOLDING_ACCOUNT
        )
    )
    d.setup.revoke_structure(
        RevokeStructure(corporate.operator, corporate.sales_point_id, retired.id)
    )
    # marc chooses a password for the individual space; his session stays open
    d.identity.change_password(ChangePassword(corporate.marc, MARC_PASSWORD))

    order = corporate.buy(10)
    corporate.buy(2, corporate.olga)
    nina = corporate.nina
    d.distribution.distribute_to_sub_structure(
        DistributeToSubStructure(nina, perf, product, 3, corporate.club_id)
    )
    to_marc = d.distribution.distribute_to_member(
        DistributeToMember(nina, perf, product, 2, member_id=corporate.marc_id)
    )
    to_lea = d.distribution.distribute_to_member(
        DistributeToMember(nina, perf, product, 1, member_id=lea_id)
    )
    d.distribution.print_at_once(PrintAtOnce(nina, perf, product, 1))
    d.distribution.print_at_once(PrintAtOnce(corporate.olga, perf, product, 1))
    printed = d.members.print_member_tickets(PrintMemberTickets(corporate.marc, to_marc.ticket_ids))
    to_cleo = d.distribution.distribute_to_member(
        DistributeToMember(corporate.sam, perf, product, 1, member_id=cleo_id)
    )
    tickets = d.sales.view_order(ViewOrder(nina, order.id)).tickets
    in_stock = [
        t.id
        for t in tickets
        if t.state is TicketState.BOUGHT and t.stock_structure_id == corporate.council_id
    ]
    assert len(in_stock) == 3
    barcode = corporate.world.renderer.read(printed.content)[0]["barcode"]
    return Scene(
        corporate=corporate,
        tokens={
            "nina": nina,
            "sam": corporate.sam,
            "olga": corporate.olga,
            "rita": rita,
            "marc": corporate.marc,
            "lea": d.host.open_session(ActorKind.MEMBER, lea_id).token,
            "gate": corporate.gate,
            "operator": corporate.operator,
        },
        structures={
            "nina": corporate.council_id,
            "sam": corporate.club_id,
            "olga": corporate.other_company_id,
            "rita": retired.id,
        },
        individuals={
            "nina": corporate.nina_id,
            "sam": corporate.sam_id,
            "olga": corporate.olga_id,
            "rita": rita_id,
            "marc": corporate.marc_id,
            "lea": lea_id,
        },
        marc_tickets=to_marc.ticket_ids,
        marc_barcode=barcode,
        lea_tickets=to_lea.ticket_ids,
        club_distributed=to_cleo.ticket_ids[0],
        council_in_stock=in_stock[0],
    )


# --- the use cases --------------------------------------------------------------------------

Build = Callable[[Scene, Any], object]
#: what the actor's structure held before the call
Custody = frozenset[str]
Check = Callable[[Scene, Any, Any, Custody], None]


def _stock_of(scene: Scene, ticket_ids: Iterable[str]) -> set[str]:
    """The structures whose stock holds (or distributed) the tickets."""
    with scene.corporate.world.storage.unit_of_work() as uow:
        found = uow.tickets.get_many_for_update(list(ticket_ids))
    return {t.stock_structure_id for t in found}


def _taken_back(scene: Scene, actor: str, result: Any, before: Custody) -> None:
    """Only tickets the council handed down came back from the club, into its own stock."""
    assert result.ticket_ids
    assert not set(result.ticket_ids) & before
    with scene.corporate.world.storage.unit_of_work() as uow:
        found = uow.tickets.get_many_for_update(result.ticket_ids)
    own = scene.structures[actor]
    assert {(t.structure_id, t.stock_structure_id, t.state) for t in found} == {
        (own, own, TicketState.BOUGHT)
    }


def custody_of(scene: Scene, actor: str) -> frozenset[str]:
    """The tickets in (or distributed from) the stock of a relay's structure."""
    if actor not in scene.structures:
        return frozenset()
    with scene.corporate.world.storage.unit_of_work() as uow:
        found = uow.tickets.in_custody(
            scene.corporate.organization_id, scene.structures[actor], tuple(TicketState)
        )
    return frozenset(t.id for t in found)


def _own_stock_only(scene: Scene, actor: str, result: Any, before: Custody) -> None:
    """The tickets acted on were in the relay's structure's custody."""
    assert result.ticket_ids
    assert set(result.ticket_ids) <= before


def _shows(structure: Callable[[Corporate], str] | None) -> Check:
    def check(scene: Scene, actor: str, result: Any, before: Custody) -> None:
        expected = scene.structures[actor] if structure is None else structure(scene.corporate)
        if isinstance(result, tuple):
            assert result
            assert {view.stock_structure_id for view in result} == {expected}
        else:
            assert result.structure_id == expected

    return check


def _exports_own_stock(scene: Scene, actor: str, result: r.StockSheet, before: Custody) -> None:
    assert result.structure_id == scene.structures[actor]
    ids = [line.split(",", 1)[0] for line in result.content.splitlines()[1:]]
    assert len(ids) == result.tickets > 0
    assert set(ids) <= before
    assert _stock_of(scene, ids) == {scene.structures[actor]}


def _own_tickets_only(scene: Scene, actor: str, result: Any, before: Custody) -> None:
    expected = scene.marc_tickets if actor == "marc" else scene.lea_tickets
    assert sorted(view.ticket_id for view in result) == sorted(expected)


def _is_own_record(scene: Scene, actor: str, result: r.IndividualView, before: Custody) -> None:
    assert result.id == scene.individuals[actor]
    assert result.marketing_consent


def _accepted(scene: Scene, actor: str, result: r.ScanResult, before: Custody) -> None:
    assert result.accepted
    assert result.gate == "North gate"
    assert result.ticket_id in scene.marc_tickets


def _sheet(scene: Scene) -> bytes:
    return (
        "ticket_id,first_name,last_name,email\r\n"
        f"{scene.council_in_stock},Ann,Meyer,ann@nestor.ch\r\n"
    ).encode()


def _council(corporate: Corporate) -> str:
    return corporate.council_id


def _club(corporate: Corporate) -> str:
    return corporate.club_id


@attrs.frozen
class UseCase:
    command: type[Any]
    build: Build
    check: Check | None = None


def _perf(s: Scene) -> tuple[str, str]:
    return s.corporate.performance_id, s.corporate.product_id


def _own_contacts_only(
    scene: Scene, actor: str, result: tuple[r.IndividualView, ...], before: Custody
) -> None:
    assert scene.individuals[actor] in {view.id for view in result}
    assert {view.structure_id for view in result} == {scene.structures[actor]}


def _logged_in_as_marc(scene: Scene, actor: str, result: r.SessionView, before: Custody) -> None:
    assert (result.actor_kind, result.actor_id) == (ActorKind.MEMBER, scene.corporate.marc_id)
    who = scene.corporate.world.domain.host.who(result.token)
    assert (who.kind, who.id) == (ActorKind.MEMBER, scene.corporate.marc_id)


def _lists_beneficiaries(
    scene: Scene, actor: str, result: r.BeneficiariesExport, before: Custody
) -> None:
    assert {row.email for row in result.rows} >= {"marc@nestor.ch", "lea@nestor.ch"}


def _imported(scene: Scene, actor: str, result: r.ImportReport, before: Custody) -> None:
    assert result.count(r.ImportOutcome.DISTRIBUTED) == 1
    assert {row.ticket_id for row in result.rows} <= before


USE_CASES: dict[str, UseCase] = {
    "ViewStock(own)": UseCase(c.ViewStock, lambda s, a: ViewStock(a), _shows(None)),
    "ViewStock(club)": UseCase(
        c.ViewStock, lambda s, a: ViewStock(a, s.corporate.club_id), _shows(_club)
    ),
    "ViewStock(council)": UseCase(
        c.ViewStock, lambda s, a: ViewStock(a, s.corporate.council_id), _shows(_council)
    ),
    "ViewDashboard(own)": UseCase(c.ViewDashboard, lambda s, a: ViewDashboard(a), _shows(None)),
    "ViewDashboard(club)": UseCase(
        c.ViewDashboard, lambda s, a: ViewDashboard(a, s.corporate.club_id), _shows(_club)
    ),
    "ViewDashboard(council)": UseCase(
        c.ViewDashboard, lambda s, a: ViewDashboard(a, s.corporate.council_id), _shows(_council)
    ),
    "ListDistributed(own)": UseCase(
        c.ListDistributedTickets, lambda s, a: ListDistributedTickets(a), _shows(None)
    ),
    "ListDistributed(club)": UseCase(
        c.ListDistributedTickets,
        lambda s, a: ListDistributedTickets(a, s.corporate.club_id),
        _shows(_club),
    ),
    "ListDistributed(council)": UseCase(
        c.ListDistributedTickets,
        lambda s, a: ListDistributedTickets(a, s.corporate.council_id),
        _shows(_council),
    ),
    "SearchMembers(@)": UseCase(
        c.SearchMembers, lambda s, a: SearchMembers(a, "@"), _own_contacts_only
    ),
    "DistributeToMember(marc)": UseCase(
        c.DistributeToMember,
        lambda s, a: DistributeToMember(a, *_perf(s), 1, member_id=s.corporate.marc_id),
        _own_stock_only,
    ),
    "DistributeToSub(club)": UseCase(
        c.DistributeToSubStructure,
        lambda s, a: DistributeToSubStructure(a, *_perf(s), 1, s.corporate.club_id),
        _own_stock_only,
    ),
    "PrintAtOnce": UseCase(
        c.PrintAtOnce, lambda s, a: PrintAtOnce(a, *_perf(s), 1), _own_stock_only
    ),
    "ExportStock": UseCase(c.ExportStock, lambda s, a: ExportStock(a), _exports_own_stock),
    "ImportDistribution(council)": UseCase(
        c.ImportDistribution, lambda s, a: ImportDistribution(a, _sheet(s)), _imported
    ),
    "ReclaimTickets(marc's)": UseCase(
        c.ReclaimTickets, lambda s, a: ReclaimTickets(a, s.marc_tickets), _own_stock_only
    ),
    # cleo's ticket came to her from the club's stock, which the council had handed down
    "ReclaimTickets(cleo's)": UseCase(
        c.ReclaimTickets, lambda s, a: ReclaimTickets(a, (s.club_distributed,)), _own_stock_only
    ),
    "ReclaimFromSub(club)": UseCase(
        c.ReclaimFromSubStructure,
        lambda s, a: ReclaimFromSubStructure(a, s.corporate.club_id, *_perf(s), 1),
        _taken_back,
    ),
    # No token: whoever knows marc's email and password logs in as marc, whatever they hold.
    "LoginMember(marc)": UseCase(
        c.LoginMember,
        lambda s, a: LoginMember(s.corporate.institution_id, "marc@nestor.ch", MARC_PASSWORD),
        _logged_in_as_marc,
    ),
    "LoginMember(unknown)": UseCase(
        c.LoginMember,
        lambda s, a: LoginMember(s.corporate.institution_id, "nobody@nestor.ch", MARC_PASSWORD),
    ),
    "ListMemberTickets": UseCase(
        c.ListMemberTickets, lambda s, a: ListMemberTickets(a), _own_tickets_only
    ),
    "PrintMemberTickets(marc's)": UseCase(
        c.PrintMemberTickets, lambda s, a: PrintMemberTickets(a, s.marc_tickets, "Anna Dupont")
    ),
    "SetMarketingConsent": UseCase(
        c.SetMarketingConsent, lambda s, a: SetMarketingConsent(a, True), _is_own_record
    ),
    "ScanTicket(marc's)": UseCase(
        c.ScanTicket,
        lambda s, a: ScanTicket(a, s.corporate.performance_id, s.marc_barcode),
        _accepted,
    ),
    "ExportBeneficiaries": UseCase(
        c.ExportBeneficiaries,
        lambda s, a: ExportBeneficiaries(a, s.corporate.organization_id),
        _lists_beneficiaries,
    ),
}

#: use cases that change the stored state when allowed: each such cell gets a scene of its own
WRITING = frozenset(
    {
        "DistributeToMember(marc)",
        "DistributeToSub(club)",
        "PrintAtOnce",
        "ImportDistribution(council)",
        "ReclaimTickets(marc's)",
        "ReclaimTickets(cleo's)",
        "ReclaimFromSub(club)",
        "PrintMemberTickets(marc's)",
        "SetMarketingConsent",
        "ScanTicket(marc's)",
        "LoginMember(marc)",  # a session is stored
    }
)

# --- the expected outcomes ------------------------------------------------------------------


@attrs.frozen
class Outcome:
    """Allowed (``error`` None), or refused with this error class and code."""

    error: type[TicketDomainError] | None = None


OK = Outcome()
KIND = Outcome(ActorNotAllowedError)  # the wrong kind of actor for this command
GONE = Outcome(SessionInvalidError)  # the session ended when the structure was revoked
FRGN = Outcome(ForeignResourceError)  # another structure's or another member's resource
UNKN = Outcome(LoginFailedError)  # no such individual (or not their password)
REJ = Outcome(ImportRejectedError)  # the rows name a ticket not in the relay's stock

ACTORS = ("nina", "sam", "olga", "rita", "marc", "lea", "gate", "operator")
"""nina: relay of the works council; sam: relay of its sports club (a sub-structure); olga:
relay of another company; rita: relay of a structure revoked from the sales point (which
ended her session there); marc: a member of the works council holding tickets; lea: another
member; the gate (its API key); the operator."""


def _row(*outcomes: Outcome) -> dict[str, Outcome]:
    return dict(zip(ACTORS, outcomes, strict=True))


# fmt: off
EXPECTED: dict[str, dict[str, Outcome]] = {
    #                                   nina  sam   olga  rita  marc  lea   gate  operator
    "ViewStock(own)":              _row(OK,   OK,   OK,   GONE, KIND, KIND, KIND, KIND),
    "ViewStock(club)":             _row(OK,   OK,   FRGN, GONE, KIND, KIND, KIND, KIND),
    "ViewStock(council)":          _row(OK,   FRGN, FRGN, GONE, KIND, KIND, KIND, KIND),
    "ViewDashboard(own)":          _row(OK,   OK,   OK,   GONE, KIND, KIND, KIND, KIND),
    "ViewDashboard(club)":         _row(OK,   OK,   FRGN, GONE, KIND, KIND, KIND, KIND),
    "ViewDashboard(council)":      _row(OK,   FRGN, FRGN, GONE, KIND, KIND, KIND, KIND),
    "ListDistributed(own)":        _row(OK,   OK,   OK,   GONE, KIND, KIND, KIND, KIND),
    "ListDistributed(club)":       _row(OK,   OK,   FRGN, GONE, KIND, KIND, KIND, KIND),
    "ListDistributed(council)":    _row(OK,   FRGN, FRGN, GONE, KIND, KIND, KIND, KIND),
    "SearchMembers(@)":            _row(OK,   OK,   OK,   GONE, KIND, KIND, KIND, KIND),
    "DistributeToMember(marc)":    _row(OK,   FRGN, FRGN, GONE, KIND, KIND, KIND, KIND),
    "DistributeToSub(club)":       _row(OK,   FRGN, FRGN, GONE, KIND, KIND, KIND, KIND),
    "PrintAtOnce":                 _row(OK,   OK,   OK,   GONE, KIND, KIND, KIND, KIND),
    "ExportStock":                 _row(OK,   OK,   OK,   GONE, KIND, KIND, KIND, KIND),
    "ImportDistribution(council)": _row(OK,   REJ,  REJ,  GONE, KIND, KIND, KIND, KIND),
    "ReclaimTickets(marc's)":      _row(OK,   FRGN, FRGN, GONE, KIND, KIND, KIND, KIND),
    "ReclaimTickets(cleo's)":      _row(FRGN, OK,   FRGN, GONE, KIND, KIND, KIND, KIND),
    "ReclaimFromSub(club)":        _row(OK,   FRGN, FRGN, GONE, KIND, KIND, KIND, KIND),
    "LoginMember(marc)":           _row(OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK),
    "LoginMember(unknown)":        _row(UNKN, UNKN, UNKN, UNKN, UNKN, UNKN, UNKN, UNKN),
    "ListMemberTickets":           _row(KIND, KIND, KIND, GONE, OK,   OK,   KIND, KIND),
    "PrintMemberTickets(marc's)":  _row(KIND, KIND, KIND, GONE, OK,   FRGN, KIND, KIND),
    "SetMarketingConsent":         _row(KIND, KIND, KIND, GONE, OK,   OK,   KIND, KIND),
    "ScanTicket(marc's)":          _row(KIND, KIND, KIND, GONE, KIND, KIND, OK,   KIND),
    "ExportBeneficiaries":         _row(KIND, KIND, KIND, GONE, KIND, KIND, KIND, OK),
}
# fmt: on

CASES = [(use_case, actor) for use_case in EXPECTED for actor in ACTORS]


def _issue_3_commands() -> set[type[Any]]:
    """The commands whose handlers are the corporate space's, the individual space's and the
    gate's services, logging in to the individual space, and the operator's beneficiaries
    export."""
    found: set[type[Any]] = {c.ExportBeneficiaries, c.LoginMember}
    for service in (DistributionService, MemberService, AccessControlService):
        for name, method in vars(service).items():
            if name.startswith("_") or not callable(method):
                continue
            found.add(typing.get_type_hints(method)["command"])
    return found


def test_the_table_covers_every_use_case_and_every_actor() -> None:
    assert set(EXPECTED) == set(USE_CASES)
    assert {case.command for case in USE_CASES.values()} == _issue_3_commands()
    assert all(set(row) == set(ACTORS) for row in EXPECTED.values())
    assert set(USE_CASES) >= WRITING


def _storage(kind: str, folder: Path, empty_sqlite: Path) -> Storage:
    if kind == "memory":
        return InMemoryStorage()
    path = folder / "scene.sqlite3"
    shutil.copyfile(empty_sqlite, path)
    return SqlAlchemyStorage.sqlite(path)


def _close(storage: Storage) -> None:
    if isinstance(storage, SqlAlchemyStorage):
        storage.close()


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def shared_scene(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, empty_sqlite: Path
) -> Iterator[Scene]:
    """One scene per storage for every cell that must change nothing (each cell proves it)."""
    storage = _storage(request.param, tmp_path_factory.mktemp("scene"), empty_sqlite)
    yield set_the_scene(set_up_corporate(build_fake_world(storage)))
    _close(storage)


@pytest.mark.parametrize(("use_case", "actor"), CASES, ids=[f"{u}-{a}" for u, a in CASES])
def test_who_may_do_what(
    shared_scene: Scene, use_case: str, actor: str, tmp_path: Path, empty_sqlite: Path
) -> None:
    case, expected = USE_CASES[use_case], EXPECTED[use_case][actor]
    if expected.error is not None:
        scene = shared_scene
        with refused(scene.corporate.world, expected.error, expected.error.code):
            scene.corporate.world.domain.handle(case.build(scene, scene.tokens[actor]))
        return
    if use_case not in WRITING:
        scene = shared_scene
        unchanged = observed(scene.corporate.world)
        _allowed(scene, case, actor)
        assert observed(scene.corporate.world) == unchanged
        return
    on_memory = isinstance(shared_scene.corporate.world.storage, InMemoryStorage)
    storage = _storage("memory" if on_memory else "sqlite", tmp_path, empty_sqlite)
    try:
        _allowed(set_the_scene(set_up_corporate(build_fake_world(storage))), case, actor)
    finally:
        _close(storage)


def _allowed(scene: Scene, case: UseCase, actor: str) -> None:
    before = custody_of(scene, actor)
    result = scene.corporate.world.domain.handle(case.build(scene, scene.tokens[actor]))
    if case.check is not None:
        case.check(scene, actor, result, before)
