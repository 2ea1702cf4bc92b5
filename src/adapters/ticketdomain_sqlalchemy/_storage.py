"""The storage and its unit of work: one SQLAlchemy connection and transaction each."""

from __future__ import annotations

import os
import sqlite3
import time
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker

from ticketdomain.core.identity import Credential
from ticketdomain.core.setup import Institution, Organization, SalesChannel
from ticketdomain.ports.storage import (
    ActivityRepository,
    ApiKeyRepository,
    GateRepository,
    HoldingAccountRepository,
    IndividualRepository,
    InvoiceRepository,
    InvoiceSequenceRepository,
    LoginLinkRepository,
    OperatorRepository,
    OptionRepository,
    OrderRepository,
    Outbox,
    PerformanceRepository,
    ProductRepository,
    ProfileRepository,
    QuotaRepository,
    Repository,
    ReservationRepository,
    SalesPointRepository,
    SessionRepository,
    StructureRepository,
    TariffRepository,
    TicketRepository,
)
from ticketdomain_sqlalchemy import _migrations
from ticketdomain_sqlalchemy import _repositories as r
from ticketdomain_sqlalchemy._errors import translated
from ticketdomain_sqlalchemy._migrations import VERSION_TABLE
from ticketdomain_sqlalchemy._schema import metadata

#: how long a SQLite writer waits for another one before giving up, in seconds
DEFAULT_BUSY_TIMEOUT = 30.0


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _use_wal(cursor: Any, busy_timeout: float) -> None:
    # Switching a new file to WAL needs an exclusive lock, and SQLite refuses it at once,
    # without waiting, while another process writes (as when processes start together on a
    # new file and one is migrating it): retry until the busy timeout. Once WAL, it stays.
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def configure_sqlite(engine: Engine, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
    """Make a SQLite engine fit for concurrent units of work (once; later calls do nothing).

    Every transaction starts with ``BEGIN IMMEDIATE``, so that reads are isolated and writers
    queue up (for at most ``busy_timeout`` seconds) instead of failing when a read transaction
    tries to write; the journal is WAL so that readers outside units of work do not block the
    writer; foreign keys are enforced. :class:`SqlAlchemyStorage` applies this to every SQLite
    engine it is given, since without it pysqlite runs SELECTs outside any transaction.
    """
    if event.contains(engine, "begin", _begin_immediate):
        return

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        legacy = getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", None)  # Python 3.12+
        if legacy is not None:
            dbapi_connection.autocommit = legacy
        # pysqlite must not emit its own BEGIN: the "begin" hook does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            _use_wal(cursor, busy_timeout)
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", _begin_immediate)


class SqlAlchemyUnitOfWork:
    """One database transaction: rolled back on leaving the ``with`` block unless committed.

    After a :class:`~ticketdomain.core.errors.ConcurrencyError` the transaction may be
    unusable (PostgreSQL aborts it): leave the block and retry in a new unit of work.
    """

    institutions: Repository[Institution]
    organizations: Repository[Organization]
    channels: Repository[SalesChannel]
    sales_points: SalesPointRepository
    structures: StructureRepository
    individuals: IndividualRepository
    activities: ActivityRepository
    performances: PerformanceRepository
    products: ProductRepository
    tariffs: TariffRepository
    profiles: ProfileRepository
    quotas: QuotaRepository
    options: OptionRepository
    reservations: ReservationRepository
    orders: OrderRepository
    tickets: TicketRepository
    accounts: HoldingAccountRepository
    invoices: InvoiceRepository
    invoice_sequences: InvoiceSequenceRepository
    outbox: Outbox
    operators: OperatorRepository
    gates: GateRepository
    credentials: Repository[Credential]
    sessions: SessionRepository
    login_links: LoginLinkRepository
    api_keys: ApiKeyRepository

    def __init__(
        self, engine: Engine, session_factory: sessionmaker[Session] | None = None
    ) -> None:
        db = self._db = r.Db(engine, session_factory)
        self.institutions = r.Institutions(db)
        self.organizations = r.Organizations(db)
        self.channels = r.Channels(db)
        self.sales_points = r.SalesPoints(db)
        self.structures = r.Structures(db)
        self.individuals = r.Individuals(db)
        self.activities = r.Activities(db)
        self.performances = r.Performances(db)
        self.products = r.Products(db)
        self.tariffs = r.Tariffs(db)
        self.profiles = r.Profiles(db)
        self.quotas = r.Quotas(db)
        self.options = r.Options(db)
        self.reservations = r.Reservations(db)
        self.orders = r.Orders(db)
        self.tickets = r.Tickets(db)
        self.accounts = r.Accounts(db)
        self.invoices = r.Invoices(db)
        self.invoice_sequences = r.InvoiceSequences(db)
        self.outbox = r.Outbox(db)
        self.operators = r.Operators(db)
        self.gates = r.Gates(db)
        self.credentials = r.Credentials(db)
        self.sessions = r.Sessions(db)
        self.login_links = r.LoginLinks(db)
        self.api_keys = r.ApiKeys(db)

    @property
    def session(self) -> Session:
        """The SQLAlchemy session of this unit of work (only inside the ``with`` block): the
        host's, from its ``session_factory``, else one joined to the unit of work's
        transaction, which :meth:`commit` commits."""
        return self._db.joined_session()

    def __enter__(self) -> Self:
        if self._db.active:
            raise RuntimeError("This unit of work is already in use.")
        self._db.active = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing rolls back whatever was not committed and returns the connection.
        self._db.close()

    def commit(self) -> None:
        self._require_active()
        with translated():
            self._db.commit()

    def rollback(self) -> None:
        self._require_active()
        self._db.rollback()

    def _require_active(self) -> None:
        if not self._db.active:
            raise RuntimeError("Use the unit of work inside a `with` block.")


class SqlAlchemyStorage:
    """Storage in a relational database through SQLAlchemy Core (SQLite or PostgreSQL).

    ``engine`` is where the tables live (a SQLite engine gets :func:`configure_sqlite`);
    ``session_factory`` lets a host hand in its own configured ``sessionmaker`` (each unit of
    work opens one session from it and runs on its connection); by default a unit of work
    runs on a Core connection of the engine, with no ORM session (quicker). Nothing is
    created at import and no global state is kept.
    """

    def __init__(
        self, engine: Engine, *, session_factory: sessionmaker[Session] | None = None
    ) -> None:
        if engine.dialect.name == "sqlite":
            configure_sqlite(engine)
        self._engine = engine
        self._session_factory = session_factory
        self._owns_engine = False

    @classmethod
    def sqlite(
        cls, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> Self:
        """The embedded default: a SQLite file database, WAL journal, foreign keys on, writers
        serialized with ``BEGIN IMMEDIATE``. Call :meth:`upgrade` (or :meth:`create_schema`)
        before use."""
        database = os.fspath(path)
        if database in ("", ":memory:"):
            # Each pooled connection would get its own empty database.
            raise ValueError("SqlAlchemyStorage.sqlite needs a file; use InMemoryStorage instead.")
        engine = create_engine(
            URL.create("sqlite+pysqlite", database=database),
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
        )
        configure_sqlite(engine, busy_timeout=busy_timeout)
        storage = cls(engine)
        storage._owns_engine = True
        return storage

    @property
    def engine(self) -> Engine:
        return self._engine

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the ``td_`` tables to ``revision`` (by default the newest) with Alembic.

        What a host runs at each deployment, before serving: it creates the tables in an empty
        database, applies the revisions shipped since the one recorded in
        ``td_alembic_version``, and does nothing when that one is already ``revision``. Tables
        made by :meth:`create_schema` of a release without migrations are taken as revision
        ``0001``. All of it is one transaction; on PostgreSQL an advisory lock makes processes
        that start together wait for each other instead of migrating twice.
        """
        _migrations.upgrade(self._engine, revision)

    def create_schema(self) -> None:
        """Make the ``td_`` tables: the quickest way for tests and the embedded SQLite default.

        An empty database gets the current tables in one go and is recorded as migrated to the
        newest revision, so that :meth:`upgrade` takes over from there; on a database that
        already has tables this is :meth:`upgrade`.
        """
        _migrations.create_schema(self._engine)

    def drop_schema(self) -> None:
        """Drop every ``td_`` table, with its data, and the record of migrations."""
        with self._engine.begin() as connection:
            metadata.drop_all(connection)
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {VERSION_TABLE}")

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        """A new unit of work; use it as a context manager."""
        return SqlAlchemyUnitOfWork(self._engine, self._session_factory)

    def close(self) -> None:
        """Close the pooled connections of an engine this storage created itself."""
        if self._owns_engine:
            self._engine.dispose()
