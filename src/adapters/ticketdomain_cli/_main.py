"""The ``ticketdomain`` command: argparse sub-commands over the library's public API."""

from __future__ import annotations

import argparse
import getpass
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ticketdomain import (
    ActorKind,
    CreateApiKey,
    DispatchMail,
    ListFailedMail,
    LoginRelay,
    Logout,
    PrintAtOnce,
    PrintTickets,
    ProcessDueExpiries,
    RenderDashboard,
    RenderSalesReport,
    RequeueMail,
    TicketDomain,
    TicketDomainError,
    ViewDashboard,
    ViewSalesReport,
)
from ticketdomain.core.spreadsheets import Table, write_csv
from ticketdomain_cli import _wiring as w
from ticketdomain_cli._errors import (
    INTERNAL,
    INTERRUPTED,
    OK,
    REFUSED,
    CliError,
    configuration,
    usage,
)
from ticketdomain_cli._progress import Progress

PROG = "ticketdomain"

_IDENTITY = """\
Who may do what: every command acting on data takes a credential and goes through the
library's own commands, which check it: an operator's API key (--api-key or
TICKETDOMAIN_API_KEY) for the operator's commands (outbox send and requeue: the `setup`
permission; outbox failed: `personal_data`; expiries run: `sales`), a relay's session for
the relay's commands (tickets print, report). Only `db upgrade` and `operator create` act as
the host: access to the database is their credential."""

_EXIT_STATUS = """

Every failure is one line on stderr, `ticketdomain: <code>: <message>`. Exit status: 0 done,
1 refused by the library (the code says why), 2 wrong command line, 3 installation or
settings (database, mail server, files); see docs/cli.md."""

_SECRET_NOTE = (
    "prefer the environment variable: arguments are visible to other users of the machine"
)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``ticketdomain: usage: ...``), never argparse's two."""

    def error(self, message: str) -> NoReturn:
        raise usage(f"{message} (see `{self.prog} --help`)")


def _env(name: str) -> str | None:
    return w.environ(name)


def _env_flag(name: str) -> bool:
    return (os.environ.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


# --- output ---------------------------------------------------------------------------------


def _say(**values: object) -> None:
    """Results on stdout, one ``key=value`` per line (easy to read and to parse)."""
    for key, value in values.items():
        print(f"{key}={value}")


def _warn(code: str, message: str) -> None:
    print(f"{PROG}: warning: {code}: {message}", file=sys.stderr)


class _Output:
    """Where a command's file goes: stdout (``-``) or a file, written through a temporary file
    made before the command runs: an unwritable place fails before anything changes (printing
    takes tickets from the stock), and a failure never leaves half a file."""

    def __init__(self, target: str, resources: ExitStack) -> None:
        self.target = target
        self._temporary: Path | None = None
        if target == "-":
            return
        path = Path(target)
        try:
            handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        except OSError as exc:
            raise self._unwritable(exc) from exc
        os.close(handle)
        self._temporary = Path(name)
        resources.callback(self._discard)

    def write(self, content: bytes) -> str:
        """Write ``content``; returns where it went."""
        if self._temporary is None:
            sys.stdout.buffer.write(content)
            sys.stdout.buffer.flush()
            return "-"
        try:
            self._temporary.write_bytes(content)
            # mkstemp made it private; the file gets the permissions any new file would.
            umask = os.umask(0)
            os.umask(umask)
            self._temporary.chmod(0o666 & ~umask)
            os.replace(self._temporary, self.target)
        except OSError as exc:
            raise self._unwritable(exc) from exc
        self._temporary = None
        return self.target

    def _unwritable(self, exc: OSError) -> CliError:
        return configuration(
            "output_unwritable", f"cannot write {self.target}: {exc.strerror or exc}"
        )

    def _discard(self) -> None:
        if self._temporary is not None:
            with suppress(OSError):
                self._temporary.unlink()


def _binary_target(target: str, kind: str) -> None:
    if target == "-" and sys.stdout.isatty():
        raise usage(f"a {kind} is not written to a terminal: pass --output FILE")


# --- credentials ----------------------------------------------------------------------------


def _read_password(args: argparse.Namespace, env: str, *, confirm: bool) -> str | None:
    """From stdin (``--password-stdin``), the environment, or a prompt (never echoed)."""
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    from_env = _env(env)
    if from_env is not None:
        return from_env
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password again: ") != password:
            raise usage("the two passwords differ")
        return password
    return None


def _api_key(args: argparse.Namespace) -> str:
    key: str | None = args.api_key or _env("TICKETDOMAIN_API_KEY")
    if not key:
        raise usage("this command needs an operator's API key: --api-key or TICKETDOMAIN_API_KEY")
    return key


def _relay_credential(args: argparse.Namespace) -> str | LoginRelay:
    """A relay's session token (``--session``), or the login that opens one for this command
    (read before anything is opened, so a missing credential is a usage error)."""
    given: str | None = args.session or _env("TICKETDOMAIN_SESSION")
    if given:
        return given
    email: str | None = args.relay_email or _env("TICKETDOMAIN_RELAY_EMAIL")
    if not email:
        raise usage(
            "this command needs a relay's session (--session or TICKETDOMAIN_SESSION) or "
            "its login (--relay-email and --sales-point, the password from a prompt or "
            "TICKETDOMAIN_PASSWORD)"
        )
    sales_point: str | None = args.sales_point or _env("TICKETDOMAIN_SALES_POINT")
    if not sales_point:
        raise usage("--relay-email needs --sales-point (or TICKETDOMAIN_SALES_POINT)")
    password = _read_password(args, "TICKETDOMAIN_PASSWORD", confirm=False)
    if password is None:
        raise usage("no password: set TICKETDOMAIN_PASSWORD, use --password-stdin or a terminal")
    return LoginRelay(sales_point, email, password)


@contextmanager
def _relay_session(domain: TicketDomain, credential: str | LoginRelay) -> Iterator[str]:
    """The session token; a login's session is closed after the command."""
    if isinstance(credential, str):
        yield credential
        return
    session = domain.identity.login_relay(credential)
    try:
        yield session.token
    finally:
        domain.identity.logout(Logout(session.token))


# --- db upgrade -----------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    storage = w.open_storage(args.resources, args.database_url, must_exist=False)
    from alembic.util.exc import CommandError
    from sqlalchemy import text

    from ticketdomain_sqlalchemy import VERSION_TABLE

    try:
        storage.upgrade(args.revision)
    except CommandError as exc:
        raise usage(str(exc), code="revision_unknown") from exc
    with storage.engine.connect() as connection:
        reached = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    _say(revision=reached)
    return OK


# --- operator create ------------------------------------------------------------------------


def _operator_create(args: argparse.Namespace) -> int:
    if args.no_password:
        password = None
    else:
        password = _read_password(args, "TICKETDOMAIN_OPERATOR_PASSWORD", confirm=True)
        if password is None:
            raise usage(
                "no password: set TICKETDOMAIN_OPERATOR_PASSWORD, use --password-stdin or a "
                "terminal, or pass --no-password (an API key only)"
            )
    domain = w.build_domain(w.open_storage(args.resources, args.database_url))
    made = domain.host.bootstrap(
        institution_name=args.institution,
        first_name=args.first_name,
        last_name=args.last_name,
        email=args.email,
        password=password,
    )
    # Shown at once: should issuing the key fail, the operator exists all the same.
    _say(institution_id=made.institution.id, operator_id=made.operator.id)
    sys.stdout.flush()
    if args.api_key_label:
        # The host's trusted session, for this one call: the key is made by the library's
        # own CreateApiKey, as any later one would be.
        session = domain.host.open_session(ActorKind.OPERATOR, made.operator.id)
        try:
            issued = domain.identity.create_api_key(
                CreateApiKey(session.token, made.operator.id, args.api_key_label)
            )
        finally:
            domain.identity.logout(Logout(session.token))
        _say(api_key_id=issued.key_id, api_key=issued.token)
    return OK


# --- outbox send ----------------------------------------------------------------------------


class _CountingMailer:
    """The real mailer, with a tick of the progress bar per message handed to it."""

    def __init__(self, inner: Any, progress: Any) -> None:
        self._inner = inner
        self._progress = progress

    def send(self, message: Any) -> None:
        try:
            self._inner.send(message)
        finally:
            self._progress.advance()


def _smtp_settings(args: argparse.Namespace) -> dict[str, Any] | None:
    host = args.smtp_host or _env("TICKETDOMAIN_SMTP_HOST")
    if not host:
        return None
    starttls = args.smtp_starttls or _env_flag("TICKETDOMAIN_SMTP_STARTTLS")
    port_text = args.smtp_port or _env("TICKETDOMAIN_SMTP_PORT") or ("587" if starttls else "25")
    try:
        port = int(port_text)
    except ValueError:
        raise usage(f"the SMTP port is a number, not {port_text!r}") from None
    return {
        "host": host,
        "port": port,
        "username": args.smtp_user or _env("TICKETDOMAIN_SMTP_USER"),
        "password": args.smtp_password or _env("TICKETDOMAIN_SMTP_PASSWORD"),
        "starttls": starttls,
        "timeout": args.smtp_timeout,
    }


def _check_smtp(settings: dict[str, Any]) -> None:
    """Talk to the server once before claiming any mail: an unreachable server or a refused
    login is a setting to fix, not a delivery failure to count against every queued mail."""
    import smtplib
    import ssl

    where = f"{settings['host']}:{settings['port']}"
    try:
        with smtplib.SMTP(settings["host"], settings["port"], timeout=settings["timeout"]) as smtp:
            if settings["starttls"]:
                smtp.starttls(context=ssl.create_default_context())
            if settings["username"]:
                smtp.login(settings["username"], settings["password"] or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise configuration(
            "smtp_login_failed", f"the SMTP server {where} refused the login ({exc.smtp_code})"
        ) from exc
    except (OSError, smtplib.SMTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise configuration(
            "smtp_unreachable", f"cannot talk to the SMTP server {where}: {reason}"
        ) from exc


def _mailer(args: argparse.Namespace) -> Any:
    smtp = _smtp_settings(args)
    directory = args.mail_dir or _env("TICKETDOMAIN_MAIL_DIR")
    sender = args.sender or _env("TICKETDOMAIN_MAIL_SENDER")
    if smtp and directory:
        raise usage("give either an SMTP server or a mail directory, not both")
    if smtp:
        if not sender:
            raise usage("SMTP needs a sender address: --sender or TICKETDOMAIN_MAIL_SENDER")
        module = w.import_extra("ticketdomain_smtp", "cli")
        _check_smtp(smtp)
        return module.SmtpMailer(
            smtp["host"],
            smtp["port"],
            sender=sender,
            username=smtp["username"],
            password=smtp["password"],
            starttls=smtp["starttls"],
            timeout=smtp["timeout"],
        )
    if directory:
        path = Path(directory)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise configuration(
                "mail_dir_unwritable", f"cannot use {directory}: {exc.strerror or exc}"
            ) from exc
        if not os.access(path, os.W_OK):
            raise configuration("mail_dir_unwritable", f"cannot write into {directory}")
        module = w.import_extra("ticketdomain_maildir", "cli")
        if sender:
            return module.MailDirectoryMailer(path, sender=sender)
        return module.MailDirectoryMailer(path)
    raise configuration(
        "mail_transport_missing",
        "no way to send mail: give an SMTP server (--smtp-host, TICKETDOMAIN_SMTP_HOST) or a "
        "mail directory (--mail-dir, TICKETDOMAIN_MAIL_DIR)",
    )


def _outbox_send(args: argparse.Namespace) -> int:
    token = _api_key(args)
    mailer = _mailer(args)
    storage = w.open_storage(args.resources, args.database_url)
    # Only the bar's length: what is sent, and whether the key may send it, is DispatchMail's.
    with storage.unit_of_work() as uow:
        total = len(uow.outbox.pending(args.limit))
    progress = Progress("mail", total or None, quiet=args.quiet)
    domain = w.build_domain(
        storage,
        mailer=_CountingMailer(mailer, progress),
    )
    try:
        result = domain.mail.dispatch_mail(DispatchMail(token, limit=args.limit))
    finally:
        progress.finish()
    _say(
        sent=len(result.sent),
        failed=len(result.failed),
        given_up=len(result.given_up),
        overtaken=len(result.overtaken),
    )
    if result.failed:
        raise CliError(
            "delivery_failed",
            f"{len(result.failed)} mail(s) could not be delivered "
            f"({len(result.given_up)} given up for good, the others retried later)",
            REFUSED,
        )
    return OK


def _outbox_failed(args: argparse.Namespace) -> int:
    token = _api_key(args)
    domain = w.build_domain(w.open_storage(args.resources, args.database_url))
    failed = domain.mail.list_failed_mail(ListFailedMail(token, limit=args.limit))
    columns = ("mail_id", "to", "subject", "queued_at", "attempts", "last_error")
    rows = (
        (m.mail_id, m.to, m.subject, m.queued_at.isoformat(), m.attempts, m.last_error)
        for m in failed.mails
    )
    sys.stdout.write(write_csv(columns, rows, line_end="\n"))
    return OK


def _outbox_requeue(args: argparse.Namespace) -> int:
    token = _api_key(args)
    domain = w.build_domain(w.open_storage(args.resources, args.database_url))
    for mail_id in args.mail_ids:
        requeued = domain.mail.requeue_mail(RequeueMail(token, mail_id))
        _say(requeued=requeued.mail_id)
    return OK


# --- expiries run ---------------------------------------------------------------------------


def _expiries_run(args: argparse.Namespace) -> int:
    token = _api_key(args)
    gateway_spec = args.payment_gateway or _env("TICKETDOMAIN_PAYMENT_GATEWAY")
    payments = w.payment_gateway(gateway_spec)
    storage = w.open_storage(args.resources, args.database_url)
    domain = w.build_domain(storage, payments=payments)
    result = domain.sales.process_due_expiries(ProcessDueExpiries(token, limit=args.limit))
    _say(
        options_lapsed=len(result.options_lapsed),
        reservations_expired=len(result.reservations_expired),
        refunds_settled=len(result.refunds_settled),
        refunds_pending=len(result.refunds_pending),
    )
    if result.refunds_pending and not gateway_spec:
        _warn(
            "payment_gateway_missing",
            f"{len(result.refunds_pending)} card refund(s) still due: pass --payment-gateway "
            "(or TICKETDOMAIN_PAYMENT_GATEWAY) to retry them",
        )
    return OK


# --- tickets print --------------------------------------------------------------------------


class _ProgressRenderer:
    """The ticket renderer, its batch API driving the progress bar."""

    def __init__(self, inner: Any, progress: Progress) -> None:
        self._inner = inner
        self._progress = progress
        self.media_type: str = inner.media_type

    def render(self, tickets: Sequence[Any]) -> bytes:
        self._progress.set(0, len(tickets))
        buffer = io.BytesIO()
        self._inner.render_to(buffer, tickets, progress=self._progress.set)
        return buffer.getvalue()


def _font_set(args: argparse.Namespace) -> Any:
    """The host's font (``--font``) with the embedded fallbacks for other scripts, or
    ``None``: the embedded fonts."""
    font = args.font or _env("TICKETDOMAIN_FONT")
    if not font:
        return None
    fpdf = w.import_extra("ticketdomain_fpdf", "documents")
    try:
        return fpdf.FontSet(fpdf.FontFamily(font), fpdf.FontSet.embedded().fallbacks)
    except (OSError, ValueError) as exc:
        raise configuration("font_invalid", f"{font}: {exc}") from exc


def _ticket_renderer(args: argparse.Namespace) -> Any:
    fpdf = w.import_extra("ticketdomain_fpdf", "documents")
    return fpdf.FpdfTicketRenderer(layout=args.tickets_per_page, fonts=_font_set(args))


def _tickets_print(args: argparse.Namespace) -> int:
    _binary_target(args.output, "PDF")
    if args.order is None and args.performance is None:
        raise usage("name an order (--order) or the stock to print (--performance, --product)")
    if args.order is not None and args.performance is not None:
        raise usage("print either an order (--order) or the stock (--performance), not both")
    if args.performance is not None and (args.product is None or args.quantity is None):
        raise usage("printing from the stock needs --product and --quantity")
    credential = _relay_credential(args)
    output = _Output(args.output, args.resources)
    progress = Progress("tickets", quiet=args.quiet)
    renderer = _ProgressRenderer(_ticket_renderer(args), progress)
    domain = w.build_domain(w.open_storage(args.resources, args.database_url), renderer=renderer)
    with _relay_session(domain, credential) as token:
        try:
            if args.order is not None:
                document: Any = domain.sales.print_tickets(PrintTickets(token, args.order))
            else:
                document = domain.distribution.print_at_once(
                    PrintAtOnce(token, args.performance, args.product, args.quantity)
                )
        finally:
            progress.finish()
    where = output.write(document.content)
    if where != "-":
        _say(tickets=len(document.ticket_ids), output=where)
    return OK


# --- reports --------------------------------------------------------------------------------


_FORMATS = ("csv", "xlsx", "pdf")


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        fmt: str = args.format
        return fmt
    suffix = Path(args.output).suffix.lower().lstrip(".")
    return suffix if suffix in _FORMATS else "csv"


def _moment(text: str | None, zone: str, option: str) -> datetime | None:
    """An ISO date or date-time; without an offset, in ``zone``."""
    if text is None:
        return None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise usage(f"--time-zone {zone!r} is not an IANA time zone") from None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise usage(f"{option} {text!r} is not an ISO date (2026-12-01) or date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


_TALLY_COLUMNS = (
    "bought",
    "received",
    "in_stock",
    "distributed",
    "to_individuals",
    "handed_over",
    "to_sub_structures",
    "printed",
    "controlled",
    "cancelled",
)


def _dashboard_table(dashboard: Any) -> Table:
    """The dashboard's counts per product, then the total (sub-structures summed)."""

    def counts(tally: Any) -> tuple[int, ...]:
        return tuple(
            sum(s.count for s in tally.to_sub_structures)
            if name == "to_sub_structures"
            else getattr(tally, name)
            for name in _TALLY_COLUMNS
        )

    rows = tuple(
        (item.product_id, item.product, item.activity, *counts(item.tally))
        for item in dashboard.products
    )
    return Table(
        "Dashboard",
        ("product_id", "product", "activity", *_TALLY_COLUMNS),
        (*rows, ("", "total", "", *counts(dashboard.total))),
    )


def _csv(table: Table) -> bytes:
    return write_csv(table.columns, table.rows, line_end="\n").encode()


def _xlsx(table: Table) -> bytes:
    """The table as a workbook, through the spreadsheet codec of ``ticketdomain_openpyxl``."""
    codec = w.import_extra("ticketdomain_openpyxl", "spreadsheets").OpenpyxlSpreadsheetCodec
    content: bytes = codec().write(table)
    return content


def _document_renderer(args: argparse.Namespace) -> Any:
    """The PDF renderer of reports (and invoices) of ``ticketdomain_fpdf``."""
    fpdf = w.import_extra("ticketdomain_fpdf", "documents")
    return fpdf.FpdfDocumentRenderer(fonts=_font_set(args))


def _report(args: argparse.Namespace, kind: str) -> int:
    fmt = _format_of(args)
    if fmt != "csv":
        _binary_target(args.output, fmt)
    sales = kind == "sales_report"
    if sales:
        zone = args.time_zone or _env("TICKETDOMAIN_TIME_ZONE") or "UTC"
        period = (
            _moment(args.period_from, zone, "--from"),
            _moment(args.period_until, zone, "--until"),
        )
    credential = _relay_credential(args)
    output = _Output(args.output, args.resources)
    renderer = _document_renderer(args) if fmt == "pdf" else None
    storage = w.open_storage(args.resources, args.database_url)
    domain = w.build_domain(storage, document_renderer=renderer)
    content: bytes
    with _relay_session(domain, credential) as token:
        if fmt == "pdf" and sales:
            content = domain.reports.render_sales_report(RenderSalesReport(token, *period)).content
        elif fmt == "pdf":
            content = domain.reports.render_dashboard(
                RenderDashboard(token, args.structure)
            ).content
        else:
            if sales:
                table = domain.reports.sales_report(ViewSalesReport(token, *period)).to_table()
            else:
                table = _dashboard_table(
                    domain.distribution.view_dashboard(ViewDashboard(token, args.structure))
                )
            content = _csv(table) if fmt == "csv" else _xlsx(table)
    where = output.write(content)
    if where != "-":
        _say(output=where)
    return OK


def _report_sales(args: argparse.Namespace) -> int:
    return _report(args, "sales_report")


def _report_dashboard(args: argparse.Namespace) -> int:
    return _report(args, "dashboard")


# --- login relay ----------------------------------------------------------------------------


def _login_relay(args: argparse.Namespace) -> int:
    password = _read_password(args, "TICKETDOMAIN_PASSWORD", confirm=False)
    if password is None:
        raise usage("no password: set TICKETDOMAIN_PASSWORD, use --password-stdin or a terminal")
    domain = w.build_domain(w.open_storage(args.resources, args.database_url))
    session = domain.identity.login_relay(LoginRelay(args.sales_point, args.email, password))
    _say(session=session.token, expires_at=session.expires_at.isoformat())
    return OK


# --- the parser -----------------------------------------------------------------------------


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 10000")
    return value


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--database-url",
        default=_env("TICKETDOMAIN_DATABASE_URL"),
        metavar="URL",
        help="SQLAlchemy URL, e.g. sqlite:///tickets.db (env TICKETDOMAIN_DATABASE_URL)",
    )
    common.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    common.add_argument(
        "--debug",
        action="store_true",
        default=_env_flag("TICKETDOMAIN_DEBUG"),
        help="show the traceback of an unexpected failure (env TICKETDOMAIN_DEBUG=1)",
    )
    return common


def _operator_options() -> argparse.ArgumentParser:
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"an operator's API key (env TICKETDOMAIN_API_KEY; {_SECRET_NOTE})",
    )
    return parent


def _relay_options() -> argparse.ArgumentParser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("relay credential")
    group.add_argument(
        "--session",
        metavar="TOKEN",
        help=f"a relay's session token (env TICKETDOMAIN_SESSION; {_SECRET_NOTE})",
    )
    group.add_argument(
        "--relay-email",
        metavar="EMAIL",
        help="or log in as this relay for this command (env TICKETDOMAIN_RELAY_EMAIL); the "
        "password from a prompt, TICKETDOMAIN_PASSWORD or --password-stdin",
    )
    group.add_argument(
        "--sales-point",
        metavar="ID",
        help="the sales point to log in on (env TICKETDOMAIN_SALES_POINT)",
    )
    group.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    return parent


def _output_options(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--output",
        "-o",
        default=default,
        metavar="FILE",
        help=f"where to write (default {default})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line (also what ``--help`` shows)."""
    common = _common()
    operator = _operator_options()
    relay = _relay_options()
    parser = _Parser(
        prog=PROG,
        description="Run ticketdomain from a shell or a scheduler.",
        epilog=_IDENTITY + _EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    def group(name: str, help: str) -> Any:
        sub = groups.add_parser(name, help=help, description=help)
        return sub.add_subparsers(dest="action", required=True, metavar="ACTION")

    def leaf(
        actions: Any,
        name: str,
        help: str,
        handler: Callable[[argparse.Namespace], int],
        parents: Sequence[argparse.ArgumentParser] = (),
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(
            name, help=help, description=help, parents=[common, *parents]
        )
        sub.set_defaults(handler=handler)
        return sub

    db = group("db", "the database")
    upgrade = leaf(
        db,
        "upgrade",
        "create the tables or apply the migrations not applied yet (host level: access to "
        "the database is the credential)",
        _db_upgrade,
    )
    upgrade.add_argument("--revision", default="head", help="the revision to reach (default head)")

    operators = group("operator", "operators")
    create = leaf(
        operators,
        "create",
        "a new institution and its first operator, with every permission (host level: "
        "access to the database is the credential); prints the ids",
        _operator_create,
    )
    create.add_argument("--institution", required=True, metavar="NAME")
    create.add_argument("--first-name", required=True)
    create.add_argument("--last-name", required=True)
    create.add_argument("--email", required=True)
    password = create.add_mutually_exclusive_group()
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (else TICKETDOMAIN_OPERATOR_PASSWORD, else a prompt)",
    )
    password.add_argument(
        "--no-password", action="store_true", help="no password: the operator uses API keys"
    )
    create.add_argument(
        "--api-key-label",
        metavar="LABEL",
        help="also issue an API key with this label and print it (shown once: keep it secret)",
    )

    outbox = group("outbox", "the queued mail")
    send = leaf(
        outbox,
        "send",
        "send the queued mail that is due, by SMTP or into a mail directory (operator with "
        "the `setup` permission)",
        _outbox_send,
        [operator],
    )
    send.add_argument("--limit", type=_limit, default=1000, help="at most this many (1 to 10000)")
    send.add_argument("--smtp-host", help="env TICKETDOMAIN_SMTP_HOST")
    send.add_argument(
        "--smtp-port", help="env TICKETDOMAIN_SMTP_PORT (default 25, 587 with STARTTLS)"
    )
    send.add_argument("--smtp-user", help="env TICKETDOMAIN_SMTP_USER")
    send.add_argument("--smtp-password", help=f"env TICKETDOMAIN_SMTP_PASSWORD ({_SECRET_NOTE})")
    send.add_argument(
        "--smtp-starttls", action="store_true", help="env TICKETDOMAIN_SMTP_STARTTLS=1"
    )
    send.add_argument("--smtp-timeout", type=float, default=10.0, help="seconds (default 10)")
    send.add_argument("--sender", help="the From address (env TICKETDOMAIN_MAIL_SENDER)")
    send.add_argument(
        "--mail-dir",
        metavar="DIR",
        help="write .eml files there instead of sending (env TICKETDOMAIN_MAIL_DIR)",
    )

    failed = leaf(
        outbox,
        "failed",
        "the mails the outbox gave up on, as CSV (operator with the `personal_data` "
        "permission: recipients are personal data)",
        _outbox_failed,
        [operator],
    )
    failed.add_argument("--limit", type=_limit, default=100, help="at most this many")
    requeue = leaf(
        outbox,
        "requeue",
        "queue failed mails again, due now (operator with the `setup` permission)",
        _outbox_requeue,
        [operator],
    )
    requeue.add_argument("mail_ids", nargs="+", metavar="MAIL_ID")

    expiries = group("expiries", "options, reservations and refunds whose time has come")
    run = leaf(
        expiries,
        "run",
        "lapse due options, expire due reservations, retry due card refunds (operator with "
        "the `sales` permission)",
        _expiries_run,
        [operator],
    )
    run.add_argument("--limit", type=_limit, default=1000, help="refunds retried (1 to 10000)")
    run.add_argument(
        "--payment-gateway",
        metavar="MODULE:ATTR",
        help="the card provider's gateway, imported (a class or factory is called) "
        "(env TICKETDOMAIN_PAYMENT_GATEWAY)",
    )

    tickets = group("tickets", "tickets")
    print_ = leaf(
        tickets,
        "print",
        "an order's tickets (printing again revokes the barcodes printed before) or tickets "
        "from the structure's stock, into one PDF (a relay)",
        _tickets_print,
        [relay],
    )
    print_.add_argument("--order", metavar="ID", help="print this order's tickets")
    print_.add_argument("--performance", metavar="ID", help="print from the stock for this")
    print_.add_argument("--product", metavar="ID")
    print_.add_argument("--quantity", type=int)
    print_.add_argument(
        "--tickets-per-page", type=int, choices=(1, 2, 4), default=1, help="(default 1)"
    )
    print_.add_argument(
        "--output", "-o", required=True, metavar="FILE", help="the PDF ('-': stdout)"
    )

    reports = group("report", "reports of a relay's structure")
    sales = leaf(
        reports,
        "sales",
        "the structure's sales report (a relay, where the sales point has the sales report "
        "function)",
        _report_sales,
        [relay],
    )
    sales.add_argument("--from", dest="period_from", metavar="DATE", help="ISO date or date-time")
    sales.add_argument("--until", dest="period_until", metavar="DATE", help="excluded")
    sales.add_argument(
        "--time-zone",
        metavar="ZONE",
        help="for dates given without an offset (env TICKETDOMAIN_TIME_ZONE, default UTC)",
    )
    dashboard = leaf(
        reports,
        "dashboard",
        "the structure's distribution dashboard (a relay, where the sales point has the "
        "distribution function)",
        _report_dashboard,
        [relay],
    )
    dashboard.add_argument(
        "--structure", metavar="ID", help="a structure below the relay's own (read-only)"
    )
    for sub in (print_, sales, dashboard):
        sub.add_argument(
            "--font",
            metavar="TTF",
            help="a TrueType font for the PDF, the shipped ones as fallbacks for other "
            "scripts (env TICKETDOMAIN_FONT)",
        )
    for sub in (sales, dashboard):
        sub.add_argument("--format", choices=_FORMATS, help="default: from --output, else csv")
        _output_options(sub, "-")

    login = group("login", "sessions")
    relay_login = leaf(
        login,
        "relay",
        "log a relay in on a sales point and print its session token (for --session)",
        _login_relay,
    )
    relay_login.add_argument("--email", required=True)
    relay_login.add_argument("--sales-point", required=True, metavar="ID")
    relay_login.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (else TICKETDOMAIN_PASSWORD, else a prompt)",
    )
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{PROG} {version('ticketdomain')}"
    except PackageNotFoundError:
        return f"{PROG} (not installed)"


# --- running --------------------------------------------------------------------------------


def _fail(code: str, message: str) -> None:
    print(f"{PROG}: {code}: {' '.join(message.split())}", file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status (what :func:`main` exits with)."""
    debug = _env_flag("TICKETDOMAIN_DEBUG")
    try:
        args = build_parser().parse_args(argv)
        debug = debug or args.debug
        # What a command opens (engines and their pooled connections) is closed after it.
        with ExitStack() as resources, w.database_errors():
            args.resources = resources
            status: int = args.handler(args)
        return status
    except CliError as exc:
        _fail(exc.code, exc.message)
        return exc.status
    except TicketDomainError as exc:
        _fail(exc.code, exc.message)
        return REFUSED
    except KeyboardInterrupt:
        _fail("interrupted", "stopped")
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (| head): nothing left to say to it.
        return OK
    except Exception as exc:
        if debug:
            raise
        _fail("internal_error", f"{type(exc).__name__}: {exc} (TICKETDOMAIN_DEBUG=1 shows where)")
        return INTERNAL


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script ``ticketdomain``."""
    status = run(argv)
    with suppress(BrokenPipeError):
        sys.stdout.flush()
    sys.exit(status)
