"""The ``ticketdomain`` command line against a SQLite file.

The command line upgrades the database and makes the first operator and its API key; the
organization, catalog and sales are set up through the Python API with that key (as a host's
own script would), then every command runs on what they left, the data shared by the module.
The main path of each command runs as a subprocess (no traceback can hide there); since each
costs about half a second to start, the other cases call the same entry point in process.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from support.outbox_smtp import REFUSED_DOMAIN, SENDER, CountingHandler, free_port, smtp_server
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
    DeliveryMode,
    Function,
    LineRequest,
    LoginOperator,
    Money,
    PaymentMethod,
    PlaceOrder,
    PlaceReservation,
)
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_cli import run
from ticketdomain_cli._wiring import build_domain, open_storage
from ticketdomain_sqlalchemy import SqlAlchemyStorage


@attrs.frozen
class Ran:
    status: int
    stdout: str
    stderr: str

    def values(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.stdout.splitlines() if "=" in line)


def _clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETDOMAIN_")}
    env.update(extra)
    return env


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "ticketdomain_cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_clean_environment(env or {}),
        timeout=60,
        check=False,
    )
    return Ran(done.returncode, done.stdout.decode(), done.stderr.decode())


def assert_one_line_failure(ran: Ran, status: int, code: str) -> None:
    assert ran.status == status, ran
    assert "Traceback" not in ran.stderr
    assert ran.stderr.count("\n") == 1, ran.stderr
    assert ran.stderr.startswith(f"ticketdomain: {code}: "), ran.stderr


@attrs.frozen
class Deployment:
    """What the command line and the set-up script left in the database."""

    url: str
    api_key: str
    operator_id: str
    relay_session: str
    order_id: str
    ticket_ids: tuple[str, ...]
    performance_id: str
    product_id: str
    structure_id: str
    sales_point_id: str

    def env(self, **more: str) -> dict[str, str]:
        return {"TICKETDOMAIN_DATABASE_URL": self.url, **more}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    path = tmp_path_factory.mktemp("cli") / "tickets.db"
    url = f"sqlite:///{path}"
    upgraded = run_cli("db", "upgrade", "--database-url", url)
    assert upgraded.status == 0, upgraded
    assert path.is_file()
    created = run_cli(
        "operator",
        "create",
        "--institution",
        "Riviera Culture",
        "--first-name",
        "Odile",
        "--last-name",
        "Perret",
        "--email",
        "odile@riviera-culture.ch",
        "--api-key-label",
        "scheduler",
        env={"TICKETDOMAIN_DATABASE_URL": url, "TICKETDOMAIN_OPERATOR_PASSWORD": "a long secret"},
    )
    assert created.status == 0, created
    made = created.values()
    assert made["api_key"].startswith("tdk_")
    assert "a long secret" not in created.stdout + created.stderr
    storage = SqlAlchemyStorage.sqlite(path)
    try:
        yield _set_up(storage, url, made["api_key"], made["operator_id"])
    finally:
        storage.close()


def _set_up(storage: SqlAlchemyStorage, url: str, key: str, operator_id: str) -> Deployment:
    """A works council buying on a corporate sales point, through the Python API with the
    operator's key; a reservation placed a day ago is due now."""
    now = datetime.now(UTC)
    world = build_fake_world(storage=storage, start=now - timedelta(days=1))
    d = world.domain
    organization = d.setup.create_organization(
        CreateOrganization(key, "Opéra de Lausanne", "CHF", time_zone="Europe/Zurich")
    )
    channel = d.setup.create_sales_channel(
        CreateSalesChannel(key, "Internet Entreprise", ChannelKind.CORPORATE)
    )
    sales_point = d.setup.create_sales_point(
        CreateSalesPoint(
            key,
            organization.id,
            channel.id,
            "Works councils",
            functions=frozenset({Function.OPTIONS, Function.SALES_REPORT, Function.DISTRIBUTION}),
            payment_methods=frozenset({PaymentMethod.HOLDING_ACCOUNT}),
            delivery_modes=frozenset({DeliveryMode.PRINT_AT_HOME}),
            reservation_delay=timedelta(hours=1),
            reservation_cutoff=timedelta(hours=1),
        )
    )
    council = d.contacts.create_structure(CreateStructure(key, "Works council Nestor SA"))
    # A relay's welcome mail waits in the outbox for `outbox send`.
    nina = d.contacts.create_individual(
        CreateIndividual(key, "Nina", "Keller", "nina@nestor.ch", council.id, ContactRole.RELAY)
    )
    d.setup.authorize_structure(AuthorizeStructure(key, sales_point.id, council.id))
    activity = d.setup.create_activity(CreateActivity(key, organization.id, "La Traviata"))
    performance = d.setup.create_performance(
        CreatePerformance(key, activity.id, now + timedelta(days=30), "Opéra de Lausanne", 100)
    )
    product = d.setup.create_product(CreateProduct(key, activity.id, "Stalls", Decimal("0.081")))
    tariff = d.setup.create_tariff(
        CreateTariff(key, product.id, "Works council", Money(Decimal("50.00"), "CHF"))
    )
    lines = (LineRequest(performance.id, tariff.id, 3),)
    yesterday = d.host.open_session(ActorKind.RELAY, nina.id, sales_point_id=sales_point.id)
    d.sales.place_reservation(PlaceReservation(yesterday.token, lines))
    world.clock.set(now)
    relay = d.host.open_session(ActorKind.RELAY, nina.id, sales_point_id=sales_point.id).token
    order = d.sales.place_order(PlaceOrder(relay, lines, PaymentMethod.HOLDING_ACCOUNT))
    # Into the structure's stock, for printing at once.
    d.sales.place_order(PlaceOrder(relay, lines, PaymentMethod.HOLDING_ACCOUNT))
    return Deployment(
        url=url,
        api_key=key,
        operator_id=operator_id,
        relay_session=relay,
        order_id=order.id,
        ticket_ids=tuple(t.id for t in order.tickets),
        performance_id=performance.id,
        product_id=product.id,
        structure_id=council.id,
        sales_point_id=sales_point.id,
    )


def test_outbox_send_writes_every_due_mail_into_the_directory(
    deployment: Deployment, tmp_path: Path
) -> None:
    mail_dir = tmp_path / "mail"
    ran = run_cli(
        "outbox",
        "send",
        "--mail-dir",
        str(mail_dir),
        env=deployment.env(TICKETDOMAIN_API_KEY=deployment.api_key),
    )
    assert ran.status == 0, ran
    sent = int(ran.values()["sent"])
    files = sorted(mail_dir.glob("*.eml"))
    assert sent >= 1 and len(files) == sent
    recipients = {
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["To"] for f in files
    }
    assert "nina@nestor.ch" in recipients
    # Not a terminal: the bar is plain lines on stderr, the last one complete.
    assert ran.stderr.splitlines()[-1].endswith(f"{sent}/{sent}")


def test_expiries_run_expires_the_reservation_that_is_due(deployment: Deployment) -> None:
    ran = run_cli("expiries", "run", env=deployment.env(TICKETDOMAIN_API_KEY=deployment.api_key))
    assert ran.status == 0, ran
    assert ran.values()["reservations_expired"] == "1"


def test_tickets_print_writes_every_ticket_of_the_order_into_one_pdf(
    deployment: Deployment, tmp_path: Path
) -> None:
    output = tmp_path / "tickets.pdf"
    ran = run_cli(
        "tickets",
        "print",
        "--order",
        deployment.order_id,
        "--output",
        str(output),
        env=deployment.env(TICKETDOMAIN_SESSION=deployment.relay_session),
    )
    assert ran.status == 0, ran
    count = len(deployment.ticket_ids)
    assert ran.values()["tickets"] == str(count)
    assert ran.stderr.splitlines()[-1] == f"tickets [{'#' * 30}] {count}/{count}"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(output.read_bytes())).pages)
    for ticket_id in deployment.ticket_ids:
        assert ticket_id in text


def test_report_sales_as_csv_lists_the_orders(deployment: Deployment) -> None:
    ran = run_cli(
        "report",
        "sales",
        "--format",
        "csv",
        env=deployment.env(TICKETDOMAIN_SESSION=deployment.relay_session),
    )
    assert ran.status == 0, ran
    header, *rows = ran.stdout.splitlines()
    assert header.startswith("placed_at,order_id,")
    assert len(rows) == 2
    assert any(deployment.order_id in row for row in rows)


def test_a_wrong_api_key_is_refused_in_one_line(deployment: Deployment, tmp_path: Path) -> None:
    ran = run_cli(
        "expiries",
        "run",
        "--api-key",
        "tdk_" + "x" * 43,
        env=deployment.env(),
    )
    assert_one_line_failure(ran, 1, "session_invalid")


def test_a_bad_database_url_is_a_configuration_error() -> None:
    ran = run_cli("expiries", "run", "--database-url", "not a url", "--api-key", "tdk_x")
    assert_one_line_failure(ran, 3, "database_url_invalid")


def test_a_missing_argument_is_a_usage_error() -> None:
    ran = run_cli("operator", "create", "--institution", "Opera")
    assert_one_line_failure(ran, 2, "usage")
    assert "--first-name" in ran.stderr


def test_a_missing_extra_is_named_in_one_line(tmp_path: Path) -> None:
    # SQLAlchemy made unimportable, as on an installation without the extra.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['sqlalchemy'] = None; "
            "from ticketdomain_cli import main; main()",
            "db",
            "upgrade",
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
        ],
        capture_output=True,
        env=_clean_environment({}),
        timeout=60,
        check=False,
    )
    ran = Ran(done.returncode, done.stdout.decode(), done.stderr.decode())
    assert_one_line_failure(ran, 3, "missing_extra")
    assert "ticketdomain[sqlalchemy]" in ran.stderr


# --- in process: the same entry point, without a subprocess's start-up ----------------------


@pytest.fixture
def environment(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    for name in [name for name in os.environ if name.startswith("TICKETDOMAIN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TICKETDOMAIN_DATABASE_URL", deployment.url)
    return deployment


def run_here(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Ran:
    status = run(argv)
    out, err = capsys.readouterr()
    return Ran(status, out, err)


def test_tickets_print_takes_tickets_from_the_stock(
    environment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "stock.pdf"
    argv = ["tickets", "print", "--session", environment.relay_session, "-o", str(output)]
    argv += ["--performance", environment.performance_id, "--product", environment.product_id]
    ran = run_here([*argv, "--quantity", "2", "--tickets-per-page", "2"], capsys)
    assert ran.status == 0, ran
    assert ran.values()["tickets"] == "2"
    assert len(PdfReader(output).pages) == 1


def test_an_unknown_order_is_not_found(
    environment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["tickets", "print", "--session", environment.relay_session, "--order", "order_x"]
    ran = run_here([*argv, "-o", str(tmp_path / "none.pdf")], capsys)
    assert_one_line_failure(ran, 1, "not_found")
    assert not (tmp_path / "none.pdf").exists()


def test_report_dashboard_as_csv_counts_the_tickets(
    environment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = run_here(["report", "dashboard", "--session", environment.relay_session], capsys)
    assert ran.status == 0, ran
    header, *rows = ran.stdout.splitlines()
    assert header.split(",")[:4] == ["product_id", "product", "activity", "bought"]
    total = dict(zip(header.split(","), rows[-1].split(","), strict=True))
    assert (total["product"], total["bought"]) == ("total", "6")


def test_report_dashboard_as_xlsx_holds_the_same_counts(
    environment: Deployment, tmp_path: Path
) -> None:
    output = tmp_path / "dashboard.xlsx"
    assert (
        run(["report", "dashboard", "--session", environment.relay_session, "-o", str(output)]) == 0
    )
    sheet = load_workbook(output, read_only=True).worksheets[0]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    total = dict(zip(header, rows[-1], strict=True))
    assert (total["product"], total["bought"]) == ("total", 6)


def test_a_dashboard_of_another_structure_is_not_found(
    environment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", "dashboard", "--session", environment.relay_session, "--structure", "x"]
    assert run(argv) == 1
    assert capsys.readouterr().err.startswith("ticketdomain: not_found: ")


def test_an_unreachable_smtp_server_is_reported_before_any_mail_is_claimed(
    environment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    argv = ["outbox", "send", "--api-key", environment.api_key, "--smtp-host", "127.0.0.1"]
    argv += ["--smtp-port", str(port), "--sender", "tickets@example.org"]
    assert run(argv) == 3
    err = capsys.readouterr().err
    assert err.startswith("ticketdomain: smtp_unreachable: ") and err.count("\n") == 1


def test_a_relay_logs_in_with_its_password_for_one_command_or_for_a_session(
    environment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A relay of its own: setting a password ends the relay's other sessions.
    with ExitStack() as resources:
        domain = build_domain(open_storage(resources, environment.url))
        relay = domain.contacts.create_individual(
            CreateIndividual(
                environment.api_key,
                "Nora",
                "Keller",
                "nora@nestor.ch",
                environment.structure_id,
                ContactRole.RELAY,
            )
        )
        domain.host.set_password(ActorKind.RELAY, relay.id, "nora's long secret")
    monkeypatch.setattr("sys.stdin", io.StringIO("nora's long secret\n"))
    login = ["login", "relay", "--email", "nora@nestor.ch", "--password-stdin"]
    assert run([*login, "--sales-point", environment.sales_point_id]) == 0
    assert capsys.readouterr().out.startswith("session=tds_")
    monkeypatch.setenv("TICKETDOMAIN_PASSWORD", "nora's long secret")
    argv = ["report", "sales", "--relay-email", "nora@nestor.ch"]
    assert run([*argv, "--sales-point", environment.sales_point_id]) == 0
    assert environment.order_id in capsys.readouterr().out
    monkeypatch.setenv("TICKETDOMAIN_PASSWORD", "not nora's secret")
    assert run([*argv, "--sales-point", environment.sales_point_id]) == 1
    assert capsys.readouterr().err.startswith("ticketdomain: login_failed: ")


def test_reports_as_pdf_show_the_same_figures(environment: Deployment, tmp_path: Path) -> None:
    session = ["--session", environment.relay_session]
    sales, dashboard = tmp_path / "sales.pdf", tmp_path / "dashboard.pdf"
    assert run(["report", "sales", *session, "-o", str(sales)]) == 0
    assert run(["report", "dashboard", *session, "--format", "pdf", "-o", str(dashboard)]) == 0
    assert environment.order_id in "".join(p.extract_text() for p in PdfReader(sales).pages)
    assert "Total" in "".join(p.extract_text() for p in PdfReader(dashboard).pages)


def test_outbox_send_by_smtp_reports_a_refused_recipient(
    environment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    with ExitStack() as resources:
        domain = build_domain(open_storage(resources, environment.url))
        for first, address in (("Sam", "sam@nestor.ch"), ("Ghost", f"ghost@{REFUSED_DOMAIN}")):
            domain.contacts.create_individual(
                CreateIndividual(
                    environment.api_key,
                    first,
                    "Rey",
                    address,
                    environment.structure_id,
                    ContactRole.RELAY,
                )
            )
    handler = CountingHandler()
    port = free_port()
    argv = ["outbox", "send", "--api-key", environment.api_key, "--smtp-host", "127.0.0.1"]
    argv += ["--smtp-port", str(port), "--sender", SENDER, "--quiet"]
    with smtp_server(port, handler):
        assert run(argv) == 1
    out, err = capsys.readouterr()
    values = dict(line.split("=", 1) for line in out.splitlines())
    assert handler.refused == 1 and values["failed"] == "1"
    assert int(values["sent"]) == len(handler.received) >= 1
    assert err.startswith("ticketdomain: delivery_failed: ") and err.count("\n") == 1


def test_operator_create_reads_the_password_from_stdin_and_never_shows_it(
    environment: Deployment, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("another long secret\n"))
    argv = ["operator", "create", "--institution", "Lake Culture", "--first-name", "Léa"]
    argv += ["--last-name", "Rossi", "--email", "lea@lake.ch", "--password-stdin"]
    ran = run_here(argv, capsys)
    assert ran.status == 0, ran
    assert "another long secret" not in ran.stdout + ran.stderr
    made = ran.values()
    assert set(made) == {"institution_id", "operator_id"}
    with ExitStack() as resources:
        domain = build_domain(open_storage(resources, environment.url))
        session = domain.identity.login_operator(
            LoginOperator(made["institution_id"], "lea@lake.ch", "another long secret")
        )
    assert session.actor_id == made["operator_id"]


def test_a_mail_given_up_is_listed_and_queued_again(
    environment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    with ExitStack() as resources:
        domain = build_domain(open_storage(resources, environment.url))
        domain.contacts.create_individual(
            CreateIndividual(
                environment.api_key,
                "Nobody",
                "Here",
                f"nobody@{REFUSED_DOMAIN}",
                environment.structure_id,
                ContactRole.RELAY,
            )
        )
    port = free_port()
    send = ["outbox", "send", "--api-key", environment.api_key, "--quiet"]
    send += ["--smtp-host", "127.0.0.1", "--smtp-port", str(port), "--sender", SENDER]
    with smtp_server(port, CountingHandler()):
        assert run(send) == 1
    capsys.readouterr()
    assert run(["outbox", "failed", "--api-key", environment.api_key]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    (mail,) = [row for row in rows if row["to"] == f"nobody@{REFUSED_DOMAIN}"]
    assert mail["last_error"].startswith("The SMTP server refused the recipient")
    assert run(["outbox", "requeue", "--api-key", environment.api_key, mail["mail_id"]]) == 0
    assert capsys.readouterr().out == f"requeued={mail['mail_id']}\n"
