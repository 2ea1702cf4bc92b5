"""The composition root: the adapters a command needs, imported only when it needs them (a
missing extra is then one line naming it, and a command that does not need it still runs)."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ticketdomain import TicketDomain
from ticketdomain.core.documents import AcceptanceDocument
from ticketdomain.core.mail import MailMessage
from ticketdomain.core.money import Money
from ticketdomain.ports.documents import DocumentRenderer, DocumentStore, TicketRenderer
from ticketdomain.ports.mail import MailDeliveryError, Mailer
from ticketdomain.ports.payment import CardPayment, PaymentGateway, PaymentReceipt
from ticketdomain.ports.security import PasswordHasher
from ticketdomain_cli._errors import INTERNAL, CliError, configuration, missing_extra

if TYPE_CHECKING:
    from ticketdomain_sqlalchemy import SqlAlchemyStorage


def import_extra(module: str, extra: str) -> Any:
    """``module``, or a ``missing_extra`` error naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(exc.name or module, extra) from exc


# --- storage --------------------------------------------------------------------------------


def open_storage(
    resources: ExitStack, url: str | None, *, must_exist: bool = True
) -> SqlAlchemyStorage:
    """The storage at ``url``, its engine disposed when ``resources`` closes. ``must_exist``:
    a SQLite file that is not there yet is an error (only ``db upgrade`` creates one)."""
    if not url:
        raise configuration(
            "database_url_missing",
            "no database: pass --database-url or set TICKETDOMAIN_DATABASE_URL "
            "(for instance sqlite:///tickets.db)",
        )
    import_extra("sqlalchemy", "sqlalchemy")
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise configuration(
            "database_url_invalid",
            "not a database URL (expected for instance sqlite:///tickets.db or "
            "postgresql+psycopg://user@host/db)",
        ) from exc
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise configuration(
                "database_url_invalid", f"{shown}: a SQLite database must be a file path"
            )
        if must_exist and not Path(database).is_file():
            raise configuration(
                "database_missing",
                f"no database file at {database}: run `ticketdomain db upgrade` first",
            )
    storage_module = import_extra("ticketdomain_sqlalchemy", "sqlalchemy")
    try:
        engine = create_engine(parsed)
    except NoSuchModuleError as exc:
        raise configuration(
            "database_url_invalid", f"{shown}: unknown database kind {parsed.drivername!r}"
        ) from exc
    except ImportError as exc:
        driver = exc.name or parsed.drivername
        if parsed.get_backend_name() == "postgresql":
            raise configuration(
                "missing_extra",
                f"the driver {driver} is not installed: use postgresql+psycopg:// with "
                "pip install 'ticketdomain[postgresql]'",
            ) from exc
        raise configuration(
            "missing_extra", f"the database driver {driver} is not installed"
        ) from exc
    resources.callback(engine.dispose)
    storage: SqlAlchemyStorage = storage_module.SqlAlchemyStorage(engine)
    return storage


@contextmanager
def database_errors() -> Iterator[None]:
    """Database failures (unreachable server, missing tables, wrong password) as one line."""
    try:
        yield
    except Exception as exc:
        sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
        if sqlalchemy_exc is None or not isinstance(exc, sqlalchemy_exc.SQLAlchemyError):
            raise
        _database_failure(exc)


def _database_failure(exc: Exception) -> NoReturn:
    original = getattr(exc, "orig", None) or exc
    text = " ".join(str(original).split("\n")[0].split())
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        raise configuration(
            "database_not_upgraded",
            f"the ticketdomain tables are missing ({text}): run `ticketdomain db upgrade`",
        ) from exc
    raise configuration("database_error", text or type(exc).__name__) from exc


# --- adapters the command line builds -------------------------------------------------------


class LazyArgon2:
    """Argon2 (the ``passwords`` extra) loaded at the first password: commands that check no
    password run without it."""

    def __init__(self) -> None:
        self._hasher: PasswordHasher | None = None

    def _get(self) -> PasswordHasher:
        if self._hasher is None:
            module = import_extra("ticketdomain_argon2", "passwords")
            self._hasher = module.Argon2PasswordHasher()
        return self._hasher

    def hash(self, password: str) -> str:
        return self._get().hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        return self._get().verify(encoded, password)


class NoPaymentGateway:
    """No card provider configured: a refund still due stays due (the next run with a gateway
    retries it), and the command says so."""

    def charge(self, amount: Money, card: CardPayment, idempotency_key: str) -> PaymentReceipt:
        raise configuration("payment_gateway_missing", "no payment gateway configured")

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> PaymentReceipt:
        raise configuration("payment_gateway_missing", "no payment gateway configured")


class NoDocumentStore:
    """No directory for uploaded documents: none of the commands of the command line stores
    one, and reading finds none."""

    def put(self, document_id: str, document: AcceptanceDocument) -> None:
        raise CliError("documents_missing", "this command stores no document", INTERNAL)

    def get(self, document_id: str) -> AcceptanceDocument | None:
        return None

    def delete(self, document_id: str) -> None:
        return None


class NoMailer:
    """Mail is sent only by ``outbox send``, which is given a real mailer."""

    def send(self, message: MailMessage) -> None:
        raise MailDeliveryError("no mailer configured", permanent=False, reason="no_mailer")


class NoRenderer:
    """Tickets are rendered only by ``tickets print``, which is given a real renderer."""

    media_type = "application/pdf"

    def render(self, tickets: Any) -> bytes:
        raise CliError("renderer_missing", "this command renders no ticket", INTERNAL)


def load_object(spec: str, what: str) -> Any:
    """``module:attribute`` imported; a class or factory is called without arguments."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise configuration(f"{what}_invalid", f"{spec!r}: expected module:attribute")
    try:
        module = importlib.import_module(module_name)
        found = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise configuration(f"{what}_invalid", f"{spec!r} cannot be imported: {exc}") from exc
    try:
        return found() if callable(found) else found
    except CliError:
        raise
    except Exception as exc:
        raise configuration(f"{what}_invalid", f"{spec!r} failed to start: {exc}") from exc


def payment_gateway(spec: str | None) -> PaymentGateway:
    if not spec:
        return NoPaymentGateway()
    gateway: PaymentGateway = load_object(spec, "payment_gateway")
    return gateway


def build_domain(
    storage: SqlAlchemyStorage,
    *,
    payments: PaymentGateway | None = None,
    documents: DocumentStore | None = None,
    renderer: TicketRenderer | None = None,
    mailer: Mailer | None = None,
    document_renderer: DocumentRenderer | None = None,
) -> TicketDomain:
    """The library over ``storage`` with the production system adapters (real clock, random
    ids, barcodes and tokens, argon2 passwords) and what the command needs."""
    from ticketdomain_system import (
        SecretsBarcodeGenerator,
        SecretsTokenGenerator,
        SystemClock,
        UuidIdGenerator,
    )

    return TicketDomain(
        storage=storage,
        clock=SystemClock(),
        ids=UuidIdGenerator(),
        barcodes=SecretsBarcodeGenerator(),
        payments=payments if payments is not None else NoPaymentGateway(),
        documents=documents if documents is not None else NoDocumentStore(),
        renderer=renderer if renderer is not None else NoRenderer(),
        mailer=mailer if mailer is not None else NoMailer(),
        passwords=LazyArgon2(),
        tokens=SecretsTokenGenerator(),
        document_renderer=document_renderer,
    )


def environ(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


__all__ = [
    "LazyArgon2",
    "NoDocumentStore",
    "NoMailer",
    "NoPaymentGateway",
    "NoRenderer",
    "build_domain",
    "database_errors",
    "environ",
    "import_extra",
    "load_object",
    "open_storage",
    "payment_gateway",
]
