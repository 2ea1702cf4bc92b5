"""The Alembic migrations shipped with the SQLAlchemy adapter, on SQLite and on PostgreSQL.

Two tests fail the day ``_schema.py`` changes without a migration: autogenerate's comparison
(columns, types, nullability, defaults, indexes, unique and foreign keys), and the comparison of
what the database itself reports after ``create_schema()`` (the metadata) and after ``upgrade()``
(the migrations), which also sees what autogenerate does not compare: collations, partial index
predicates, check constraints. The PostgreSQL cases need TICKETDOMAIN_TEST_PG_URL (CI sets it);
each runs in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, event, inspect

from support.agency import set_up_agency
from ticketdomain import LineRequest, PaymentMethod, PlaceOrder, ViewOrder
from ticketdomain.core.accounts import EntryKind, LedgerEntry
from ticketdomain.core.errors import ConcurrencyError
from ticketdomain.core.identity import ActorKind, token_digest
from ticketdomain.core.money import Money
from ticketdomain.core.sales import TicketState
from ticketdomain.testing.contracts import (
    a_credential,
    a_gate,
    a_login_link,
    a_session,
    an_api_key,
    an_operator,
)
from ticketdomain.testing.domain import build_fake_world
from ticketdomain_sqlalchemy import VERSION_TABLE, SqlAlchemyStorage, alembic_config, metadata
from ticketdomain_sqlalchemy._migrations import migrating

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")


def head() -> str:
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


HEAD = head()


def before_head() -> str:
    found = ScriptDirectory.from_config(alembic_config()).get_revision(HEAD)
    assert found is not None and isinstance(found.down_revision, str)
    return found.down_revision


BEFORE_HEAD = before_head()


class Database:
    """An empty database; each storage made on it has an engine of its own, as processes have."""

    def __init__(self, url: str, options: str = "") -> None:
        self.url = url
        #: PostgreSQL connection options: the search_path of the test's own schema
        self.options = options
        self.made: list[SqlAlchemyStorage] = []

    def storage(self) -> SqlAlchemyStorage:
        connect_args = {"options": self.options} if self.options else {}
        self.made.append(SqlAlchemyStorage(create_engine(self.url, connect_args=connect_args)))
        return self.made[-1]

    def close(self) -> None:
        for storage in self.made:
            storage.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        sqlite = Database(f"sqlite:///{tmp_path / 'ticketdomain.sqlite3'}")
        yield sqlite
        sqlite.close()
        return
    if not PG_URL:
        pytest.skip("set TICKETDOMAIN_TEST_PG_URL to run the migrations on PostgreSQL")
    schema = f"td_mig_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    postgresql = Database(PG_URL, f"-c search_path={schema}")
    try:
        yield postgresql
    finally:
        postgresql.close()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def storage(database: Database) -> SqlAlchemyStorage:
    return database.storage()


def differences(storage: SqlAlchemyStorage) -> list[Any]:
    """What autogenerate would write in a new migration: nothing, when the migrations are
    complete."""
    with storage.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": VERSION_TABLE,
                "compare_type": True,
                "compare_server_default": True,
            },
        )
        found: list[Any] = compare_metadata(context, metadata)
        return found


def revision(storage: SqlAlchemyStorage) -> str | None:
    with storage.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def td_tables(storage: SqlAlchemyStorage) -> set[str]:
    return {name for name in inspect(storage.engine).get_table_names() if name.startswith("td_")}


def _unquoted(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # A batch migration renames its rebuilt table into place, and SQLite then writes the new
    # name quoted in the stored CREATE TABLE: the same table.
    kind, name, table, sql = row
    if kind == "table" and sql is not None:
        sql = re.sub(rf'^CREATE TABLE "{re.escape(name)}" ', f"CREATE TABLE {name} ", sql)
    return (kind, name, table, sql)


def snapshot(storage: SqlAlchemyStorage) -> list[Any]:
    """The schema as the database itself describes it, names, types, collations and
    predicates included."""
    with storage.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            master = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
            return [[_unquoted(tuple(row)) for row in connection.exec_driver_sql(master)]]
        statements = [
            "SELECT table_name, column_name, ordinal_position, data_type,"
            " character_maximum_length, numeric_precision, numeric_scale, collation_name,"
            " is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = current_schema() ORDER BY 1, 3",
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE connamespace = current_schema()::regnamespace"
            " ORDER BY 1, 2",
            "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() ORDER BY 1, 2",
            # Triggers and their functions (revision 0009's counters); SQLite lists its
            # triggers in sqlite_master.
            "SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
            " ORDER BY 1, 2",
            "SELECT proname, pg_get_functiondef(oid) FROM pg_proc"
            " WHERE pronamespace = current_schema()::regnamespace ORDER BY 1",
        ]
        return [[tuple(row) for row in connection.exec_driver_sql(s)] for s in statements]


def test_upgrade_builds_exactly_the_tables_of_the_schema_module(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade()
    # Failing? _schema.py changed without a migration: see migrations/__init__.py.
    assert differences(storage) == []
    assert td_tables(storage) == {*metadata.tables, VERSION_TABLE}
    assert revision(storage) == HEAD


def test_upgrading_again_changes_nothing(storage: SqlAlchemyStorage) -> None:
    storage.upgrade()
    before = snapshot(storage)
    statements: list[str] = []

    def record(_c: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(storage.engine, "before_cursor_execute", record)
    storage.upgrade()
    storage.upgrade(HEAD)
    event.remove(storage.engine, "before_cursor_execute", record)
    changes = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")
    assert [s for s in statements if s.lstrip().upper().startswith(changes)] == []
    assert snapshot(storage) == before
    assert revision(storage) == HEAD


def test_downgrade_to_base_drops_every_td_table_and_upgrade_brings_them_back(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade()
    with storage.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    # Alembic keeps its version table, empty.
    assert td_tables(storage) == {VERSION_TABLE}
    assert revision(storage) is None
    storage.upgrade()
    assert differences(storage) == []


def test_create_schema_makes_the_same_tables_as_the_migrations_and_records_head(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade()
    migrated = snapshot(storage)
    storage.drop_schema()
    assert td_tables(storage) == set()
    storage.create_schema()
    # Failing? _schema.py changed in a way autogenerate does not see: write the migration by hand.
    assert snapshot(storage) == migrated
    assert revision(storage) == HEAD
    storage.upgrade()
    storage.create_schema()
    assert snapshot(storage) == migrated


def at_first_revision_without_version_table(storage: SqlAlchemyStorage) -> None:
    """What create_schema() made in 0.1: the tables of revision 0001, no version table."""
    storage.upgrade("0001")
    with storage.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE {VERSION_TABLE}")


def test_tables_made_before_migrations_existed_are_taken_as_the_first_revision(
    storage: SqlAlchemyStorage,
) -> None:
    at_first_revision_without_version_table(storage)
    assert revision(storage) is None
    storage.upgrade()
    assert revision(storage) == HEAD
    assert differences(storage) == []


# A process of a deployment: says it is ready, waits for the word, upgrades.
PROCESS = """
import sys
from sqlalchemy import create_engine
from ticketdomain_sqlalchemy import SqlAlchemyStorage

url, options = sys.argv[1:]
engine = create_engine(url, connect_args={"options": options} if options else {})
storage = SqlAlchemyStorage(engine)
print("ready", flush=True)
sys.stdin.readline()
storage.upgrade()
"""


def test_processes_starting_together_migrate_once(database: Database) -> None:
    # Without the lock, PostgreSQL refuses all but one with a duplicate table.
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, database.url, database.options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        errors = [process.communicate(timeout=60)[1] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [process.returncode for process in processes] == [0] * len(processes), errors
    storage = database.storage()
    assert revision(storage) == HEAD
    assert differences(storage) == []


def test_threads_migrating_different_databases_keep_to_their_own(tmp_path: Path) -> None:
    # Alembic's proxies are process-wide: without one migration at a time, tables of one
    # database get created in another.
    storages = [SqlAlchemyStorage.sqlite(tmp_path / f"td{i}.sqlite3") for i in range(4)]
    start = threading.Barrier(len(storages))
    failures: list[BaseException] = []

    def run(storage: SqlAlchemyStorage) -> None:
        start.wait()
        try:
            storage.upgrade()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in storages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for storage in storages:
        assert differences(storage) == []
        storage.close()


def test_the_services_run_on_a_migrated_database(storage: SqlAlchemyStorage) -> None:
    storage.upgrade()
    agency = set_up_agency(build_fake_world(storage))
    sales = agency.world.domain.sales
    order = sales.place_order(
        PlaceOrder(
            agency.alice,
            (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),),
            PaymentMethod.HOLDING_ACCOUNT,
        )
    )
    assert len(order.tickets) == 2
    assert sales.view_order(ViewOrder(agency.alice, order.id)) == order


# Rows written at revision 0001 with plain SQL: accounts had no running total then.
ACCOUNT_AT_0001 = """
INSERT INTO td_holding_accounts (id, organization_id, structure_id, currency,
    credit_limit_amount, credit_limit_currency, unallocated_credit_amount,
    unallocated_credit_currency, version)
VALUES (:id, 'org-1', :structure_id, 'CHF', 500.00, 'CHF', 10.00, 'CHF', :version)
"""
ENTRY_AT_0001 = sa.text("""
INSERT INTO td_ledger_entries (account_id, sequence, at, kind, amount_amount, amount_currency,
    order_id, reference)
VALUES (:account_id, :sequence, :at, :kind, :amount, 'CHF', :order_id, :reference)
""").bindparams(
    sa.bindparam("at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("amount", type_=sa.Numeric(14, 2)),
)
OPEN_INVOICE_AT_0001 = """
INSERT INTO td_open_invoices (account_id, invoice_id, number, remaining_amount, remaining_currency)
VALUES ('acc-busy', 'inv-1', 1, 90.10, 'CHF')
"""

AT = datetime(2026, 3, 14, 11, 0, tzinfo=UTC)


def chf(amount: str) -> Money:
    return Money(Decimal(amount), "CHF")


# Amounts whose sum a float would not carry exactly.
LEDGER_AT_0001 = [
    LedgerEntry(1, AT, EntryKind.ORDER_CHARGED, chf("100.10"), "ord-1"),
    LedgerEntry(2, AT, EntryKind.ORDER_CHARGED, chf("0.20"), "ord-2"),
    LedgerEntry(3, AT, EntryKind.ORDER_CANCELLED, chf("-0.20"), "ord-2"),
    LedgerEntry(4, AT, EntryKind.PAYMENT_RECEIVED, chf("-10.00"), None, "B1"),
    LedgerEntry(5, AT, EntryKind.ORDER_CHARGED, chf("0.10"), "ord-3"),
]


def test_upgrading_fills_the_running_totals_from_the_ledger(storage: SqlAlchemyStorage) -> None:
    storage.upgrade("0001")
    naive_utc = AT.replace(tzinfo=None)
    with storage.engine.begin() as connection:
        connection.execute(
            sa.text(ACCOUNT_AT_0001),
            [
                {"id": "acc-busy", "structure_id": "str-busy", "version": 6},
                {"id": "acc-idle", "structure_id": "str-idle", "version": 0},
            ],
        )
        connection.execute(
            ENTRY_AT_0001,
            [
                {
                    "account_id": "acc-busy",
                    "sequence": e.sequence,
                    # As the adapter writes it: UTC, naive on SQLite.
                    "at": e.at if connection.dialect.name == "postgresql" else naive_utc,
                    "kind": e.kind.value,
                    "amount": e.amount.amount,
                    "order_id": e.order_id,
                    "reference": e.reference,
                }
                for e in LEDGER_AT_0001
            ],
        )
        connection.execute(sa.text(OPEN_INVOICE_AT_0001))

    storage.upgrade()
    assert revision(storage) == HEAD
    assert differences(storage) == []
    accounts = metadata.tables["td_holding_accounts"]
    with storage.engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                accounts.c.id,
                accounts.c.balance_amount,
                accounts.c.balance_currency,
                accounts.c.entry_count,
            ).order_by(accounts.c.id)
        ).all()
    assert [tuple(row) for row in rows] == [
        ("acc-busy", Decimal("90.20"), "CHF", 5),
        ("acc-idle", Decimal("0.00"), "CHF", 0),
    ]

    # The storage loads the accounts from their new columns, the ledger from its rows, kept
    # whole through the rebuild of the accounts table on SQLite.
    with storage.unit_of_work() as uow:
        busy = uow.accounts.for_structure_for_update("org-1", "str-busy")
        idle = uow.accounts.get("acc-idle")
        assert busy is not None and idle is not None
        assert (busy.outstanding, busy.entry_count, busy.version) == (chf("90.20"), 5, 6)
        assert busy.credit_limit == chf("500.00") and busy.credit == chf("10.00")
        assert busy.remaining_on("inv-1") == chf("90.10")
        assert busy.new_entries == []
        assert uow.accounts.ledger("acc-busy") == LEDGER_AT_0001
        assert Money.sum((e.amount for e in LEDGER_AT_0001), "CHF") == busy.outstanding
        assert (idle.outstanding, idle.entry_count) == (chf("0.00"), 0)
        assert uow.accounts.ledger("acc-idle") == []
        # The next entry follows the ledger's last one.
        busy.charge("ord-4", chf("9.80"), AT)
        uow.accounts.update(busy)
        uow.commit()
    with storage.unit_of_work() as uow:
        assert [e.sequence for e in uow.accounts.ledger("acc-busy")] == [1, 2, 3, 4, 5, 6]
        reloaded = uow.accounts.get("acc-busy")
        assert reloaded is not None
        assert (reloaded.outstanding, reloaded.entry_count) == (chf("100.00"), 6)


def test_downgrading_to_the_first_revision_keeps_the_ledger(storage: SqlAlchemyStorage) -> None:
    storage.upgrade()
    agency = set_up_agency(build_fake_world(storage))
    lines = (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),)
    agency.world.domain.sales.place_order(
        PlaceOrder(agency.alice, lines, PaymentMethod.HOLDING_ACCOUNT)
    )
    with storage.unit_of_work() as uow:
        account = uow.accounts.for_structure(agency.organization_id, agency.hotel_id)
        assert account is not None
        ledger = uow.accounts.ledger(account.id)
    with migrating(storage.engine) as connection:
        command.downgrade(alembic_config(connection), "0001")
    assert "balance_amount" not in {
        c["name"] for c in inspect(storage.engine).get_columns("td_holding_accounts")
    }
    storage.upgrade()
    with storage.unit_of_work() as uow:
        again = uow.accounts.get(account.id)
        assert again is not None
        assert (again.outstanding, again.entry_count) == (account.outstanding, len(ledger))
        assert uow.accounts.ledger(account.id) == ledger


# Rows written at revision 0002 with plain SQL: tickets had no beneficiary nor control then.
TICKET_AT_0002 = """
INSERT INTO td_tickets (id, organization_id, order_id, order_line_id, sales_point_id,
    performance_id, product_id, tariff_id, structure_id, stock_structure_id, state, holder_id,
    version)
VALUES (:id, 'org-1', 'ord-1', 'ord-1-l1', 'sp-1', 'perf-1', 'prod-1', 'tar-1', 'str-buyer',
    'str-branch', :state, :holder_id, 3)
"""
BARCODE_AT_0002 = """
INSERT INTO td_barcodes (value, ticket_id, revoked, position)
VALUES (:value, :ticket_id, :revoked, :position)
"""


def test_upgrading_keeps_the_tickets_without_beneficiary_nor_control(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade("0002")
    with storage.engine.begin() as connection:
        connection.execute(
            sa.text(TICKET_AT_0002),
            [
                {"id": "tkt-printed", "state": "printed", "holder_id": "ind-1"},
                {"id": "tkt-stock", "state": "bought", "holder_id": None},
            ],
        )
        connection.execute(
            sa.text(BARCODE_AT_0002),
            [
                {"value": "BC-OLD", "ticket_id": "tkt-printed", "revoked": True, "position": 0},
                {"value": "BC-LIVE", "ticket_id": "tkt-printed", "revoked": False, "position": 1},
                {"value": "BC-STOCK", "ticket_id": "tkt-stock", "revoked": False, "position": 0},
            ],
        )

    storage.upgrade()
    assert revision(storage) == HEAD
    assert differences(storage) == []
    # The barcodes stay with their tickets through the rebuild of td_tickets on SQLite.
    with storage.unit_of_work() as uow:
        printed = uow.tickets.by_barcode("BC-OLD")
        assert printed is not None
        assert (printed.id, printed.state, printed.holder_id) == (
            "tkt-printed",
            TicketState.PRINTED,
            "ind-1",
        )
        assert (printed.barcode, printed.revoked_barcodes, printed.version) == (
            "BC-LIVE",
            ("BC-OLD",),
            3,
        )
        assert (printed.beneficiary, printed.controlled_at, printed.controlled_gate) == (
            None,
            None,
            None,
        )
        stock = uow.tickets.in_custody("org-1", "str-branch", [TicketState.BOUGHT])
        assert [(t.id, t.barcode, t.beneficiary) for t in stock] == [
            ("tkt-stock", "BC-STOCK", None)
        ]
        printed.control(AT, "gate-north")
        uow.tickets.update(printed)
        uow.commit()
    with storage.unit_of_work() as uow:
        controlled = uow.tickets.get("tkt-printed")
        assert controlled is not None
        assert (controlled.controlled_at, controlled.controlled_gate) == (AT, "gate-north")


def test_downgrading_before_the_ticket_columns_keeps_the_tickets(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade()
    with storage.engine.begin() as connection:
        connection.execute(
            sa.text(TICKET_AT_0002), [{"id": "tkt-1", "state": "printed", "holder_id": "ind-1"}]
        )
        connection.execute(
            sa.text(BARCODE_AT_0002),
            [{"value": "BC-1", "ticket_id": "tkt-1", "revoked": False, "position": 0}],
        )
    with storage.unit_of_work() as uow:
        ticket = uow.tickets.get("tkt-1")
        assert ticket is not None
        ticket.print("Marie Curie")
        uow.tickets.update(ticket)
        uow.commit()
    with migrating(storage.engine) as connection:
        command.downgrade(alembic_config(connection), "0002")
    columns = {c["name"] for c in inspect(storage.engine).get_columns("td_tickets")}
    assert columns.isdisjoint({"beneficiary", "controlled_at", "controlled_gate"})
    indexes = {i["name"] for i in inspect(storage.engine).get_indexes("td_tickets")}
    assert indexes.isdisjoint({"ix_td_tickets_custody", "ix_td_tickets_holders"})
    storage.upgrade()
    with storage.unit_of_work() as uow:
        again = uow.tickets.get("tkt-1")
        assert again is not None
        assert (again.barcode, again.state, again.beneficiary) == (
            "BC-1",
            TicketState.PRINTED,
            None,
        )


# Revision 0004 adds these tables and changes no other.
IDENTITY_TABLES = {
    "td_operators",
    "td_operator_permissions",
    "td_operator_organizations",
    "td_gates",
    "td_gate_performances",
    "td_credentials",
    "td_sessions",
    "td_login_links",
    "td_api_keys",
}
# Rows written at revision 0003 with plain SQL: nobody could log in then.
INDIVIDUAL_AT_0003 = """
INSERT INTO td_individuals (id, institution_id, first_name, last_name, email, first_name_key,
    last_name_key, email_key, structure_id, role, marketing_consent)
VALUES ('ind-elodie', 'inst-geneva', 'Élodie', 'Dupont', 'Elodie.Dupont@example.ch', 'élodie',
    'dupont', 'elodie.dupont@example.ch', 'str-1', 'relay', :consent)
"""


def identity_samples() -> dict[str, list[Any]]:
    """One record of each identity repository, with its sets, Nones and aware datetimes."""
    return {
        "operators": [
            an_operator(),
            an_operator("op-all", "all@example.ch", organization_ids=None),
        ],
        "gates": [a_gate(), a_gate("gate-all", performance_ids=None)],
        "credentials": [a_credential()],
        "sessions": [a_session()],
        "login_links": [a_login_link()],
        "api_keys": [an_api_key()],
    }


def store_identity(storage: SqlAlchemyStorage) -> dict[str, list[Any]]:
    samples = identity_samples()
    with storage.unit_of_work() as uow:
        for name, items in samples.items():
            for item in items:
                getattr(uow, name).add(item)
        uow.commit()
    return samples


def assert_identity_stored(storage: SqlAlchemyStorage, samples: dict[str, list[Any]]) -> None:
    with storage.unit_of_work() as uow:
        for name, items in samples.items():
            for item in items:
                assert getattr(uow, name).get(item.id) == item
        assert uow.operators.find_by_email("inst-geneva", "CLAIRE.rochat@example.ch") == (
            an_operator()
        )
        assert uow.sessions.find_by_digest(token_digest("tds_ses-1")) == a_session()
        assert uow.api_keys.for_actor(ActorKind.OPERATOR, "op-claire") == [an_api_key()]


def test_upgrading_adds_the_identity_tables_and_keeps_the_rest(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade("0003")
    assert td_tables(storage).isdisjoint(IDENTITY_TABLES)
    with storage.engine.begin() as connection:
        connection.execute(sa.text(INDIVIDUAL_AT_0003), {"consent": True})
        connection.execute(
            sa.text(TICKET_AT_0002), [{"id": "tkt-1", "state": "bought", "holder_id": None}]
        )
        connection.execute(
            sa.text(BARCODE_AT_0002),
            [{"value": "BC-1", "ticket_id": "tkt-1", "revoked": False, "position": 0}],
        )

    storage.upgrade()
    assert revision(storage) == HEAD
    assert differences(storage) == []
    assert td_tables(storage) >= IDENTITY_TABLES
    with storage.unit_of_work() as uow:
        individual = uow.individuals.find_by_email("inst-geneva", "elodie.dupont@EXAMPLE.ch")
        assert individual is not None and individual.marketing_consent
        ticket = uow.tickets.by_barcode("BC-1")
        assert ticket is not None and (ticket.id, ticket.version) == ("tkt-1", 3)
    assert_identity_stored(storage, store_identity(storage))
    # The unique index of the migration: a digest opens one session.
    twin = attrs.evolve(a_session("ses-twin"), token_digest=token_digest("tds_ses-1"))
    with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
        uow.sessions.add(twin)


def test_downgrading_before_the_identity_tables_drops_them_only(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade()
    with storage.engine.begin() as connection:
        connection.execute(sa.text(INDIVIDUAL_AT_0003), {"consent": False})
    store_identity(storage)
    with migrating(storage.engine) as connection:
        command.downgrade(alembic_config(connection), "0003")
    assert revision(storage) == "0003"
    assert td_tables(storage).isdisjoint(IDENTITY_TABLES)
    # td_places_sold came with revision 0009, after 0003.
    assert td_tables(storage) == {*metadata.tables, VERSION_TABLE} - IDENTITY_TABLES - {
        "td_places_sold"
    }
    # Read raw: the repositories read the columns of the newest revision (0011's language).
    with storage.engine.connect() as connection:
        query = sa.text("SELECT id FROM td_individuals WHERE id = 'ind-elodie'")
        assert connection.execute(query).scalar() == "ind-elodie"
    storage.upgrade()
    assert differences(storage) == []
    with storage.unit_of_work() as uow:
        assert uow.operators.for_institution("inst-geneva") == []
        assert uow.sessions.find_by_digest(token_digest("tds_ses-1")) is None
    assert_identity_stored(storage, store_identity(storage))


def add_column(connection: Connection, table: str, column: str) -> None:
    """A batch migration, as on SQLite: the table is copied, dropped and renamed."""
    operations = Operations(MigrationContext.configure(connection))
    with operations.batch_alter_table(table, recreate="always") as batch:
        batch.add_column(sa.Column(column, sa.Text(), nullable=True))


def test_on_sqlite_a_batch_migration_keeps_the_rows_of_child_tables(tmp_path: Path) -> None:
    storage = SqlAlchemyStorage.sqlite(tmp_path / "td.sqlite3")
    storage.upgrade()
    agency = set_up_agency(build_fake_world(storage))
    sales = agency.world.domain.sales
    lines = (LineRequest(agency.performance_id, agency.agency_tariff_id, 2),)
    order = sales.place_order(PlaceOrder(agency.alice, lines, PaymentMethod.HOLDING_ACCOUNT))
    order_lines = sa.select(sa.func.count()).select_from(metadata.tables["td_order_lines"])

    with migrating(storage.engine) as connection:
        add_column(connection, "td_orders", "note")
    assert sales.view_order(ViewOrder(agency.alice, order.id)) == order

    # Why upgrade() switches foreign keys off: with them on, dropping the old td_orders
    # cascades to its order lines.
    with storage.engine.begin() as connection:
        add_column(connection, "td_orders", "remark")
        assert connection.execute(order_lines).scalar_one() == 0
    storage.close()


def test_the_sql_can_be_written_for_a_dba_without_a_database() -> None:
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://")
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE td_institutions" in sql
    assert 'id VARCHAR COLLATE "C" NOT NULL' in sql
    assert "WHERE NOT revoked" in sql
    assert "UPDATE td_holding_accounts SET" in sql  # 0002 fills the running totals
    assert "ALTER TABLE td_tickets ADD COLUMN controlled_at TIMESTAMP WITH TIME ZONE" in sql
    assert "CREATE INDEX ix_td_tickets_custody ON td_tickets" in sql  # 0003
    assert "CREATE TABLE td_operators" in sql  # 0004
    assert "CREATE UNIQUE INDEX ix_td_sessions_token_digest ON td_sessions (token_digest)" in sql
    assert "CREATE TRIGGER td_tickets_sold_insert AFTER INSERT ON td_tickets" in sql  # 0009
    assert f"INSERT INTO {VERSION_TABLE} (version_num) VALUES ('0001')" in sql
    assert sql.rstrip().endswith(
        f"UPDATE {VERSION_TABLE} SET version_num='{HEAD}' WHERE {VERSION_TABLE}.version_num ="
        f" '{BEFORE_HEAD}';\n\nCOMMIT;"
    )


def test_the_environment_needs_a_connection_to_run_online() -> None:
    with pytest.raises(RuntimeError, match=r"SqlAlchemyStorage\.upgrade"):
        command.upgrade(alembic_config(), "head")


OUTBOX_AT_0005 = (
    "INSERT INTO td_outbox (message_id, recipient, subject, body, queued_at, attempts, "
    "last_error, sent_at) VALUES (:id, 'zoe@example.org', 'Hello', 'Text', :queued_at, "
    ":attempts, :last_error, :sent_at)"
)


def test_upgrading_gives_the_queued_mail_its_state_and_due_time(
    storage: SqlAlchemyStorage,
) -> None:
    from ticketdomain.core.mail import OutboxState

    storage.upgrade("0005")
    with storage.engine.begin() as connection:
        connection.execute(
            sa.text(OUTBOX_AT_0005),
            [
                {
                    "id": "mail-sent",
                    "queued_at": AT,
                    "attempts": 1,
                    "last_error": None,
                    "sent_at": AT,
                },
                {
                    "id": "mail-queued",
                    "queued_at": AT,
                    "attempts": 3,
                    "last_error": "timeout",
                    "sent_at": None,
                },
            ],
        )
        connection.execute(
            sa.text(
                "INSERT INTO td_outbox_attachments (message_id, position, filename, "
                "media_type, content) VALUES ('mail-queued', 0, 'a.txt', 'text/plain', :c)"
            ),
            {"c": b"data"},
        )
    storage.upgrade()
    assert revision(storage) == HEAD
    assert differences(storage) == []
    with storage.unit_of_work() as uow:
        sent, queued = uow.outbox.get("mail-sent"), uow.outbox.get("mail-queued")
        assert sent is not None and queued is not None
        assert (sent.state, sent.due_at, sent.sent_at) == (OutboxState.SENT, AT, AT)
        assert (queued.state, queued.due_at, queued.attempts, queued.last_error) == (
            OutboxState.QUEUED,
            AT,
            3,
            "timeout",
        )
        # The attachments stay through the rebuild of td_outbox on SQLite.
        assert [a.filename for a in queued.message.attachments] == ["a.txt"]
        assert queued.message.institution_id is None
        assert [i.message.id for i in uow.outbox.claim("d-1", AT, AT, 10)] == ["mail-queued"]
    with storage.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0005")
    with storage.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT message_id, sent_at IS NULL FROM td_outbox ORDER BY message_id")
        ).all()
    assert [tuple(row) for row in rows] == [("mail-queued", 1), ("mail-sent", 0)]


# Orders written at revision 0006 with plain SQL: a refund that failed then was not kept.
ORDER_AT_0006 = sa.text("""
INSERT INTO td_orders (id, organization_id, sales_point_id, structure_id, placed_by,
    placed_by_operator, purchasing_contact_id, payment_method, delivery_mode, placed_at,
    currency, state, payment_reference, cancelled_at)
VALUES (:id, 'org-1', 'sp-1', 'str-1', 'ind-1', :false, NULL, :method, 'transfer', :at, 'CHF',
    :state, :payment, :cancelled_at)
""").bindparams(
    sa.bindparam("at", type_=sa.DateTime(timezone=True)),
    sa.bindparam("cancelled_at", type_=sa.DateTime(timezone=True)),
)
ORDER_LINE_AT_0006 = sa.text("""
INSERT INTO td_order_lines (order_id, position, id, performance_id, product_id, tariff_id,
    quantity, unit_price_amount, unit_price_currency, vat_rate)
VALUES (:order_id, :position, :id, 'perf-1', 'prod-1', 'tar-1', :quantity, :price, 'CHF', 0.081)
""").bindparams(sa.bindparam("price", type_=sa.Numeric(14, 2)))


def test_upgrading_makes_the_refund_of_every_cancelled_card_order_due(
    storage: SqlAlchemyStorage,
) -> None:
    from ticketdomain.core.sales import Refund, RefundState

    storage.upgrade("0006")
    with storage.engine.begin() as connection:
        at = AT if connection.dialect.name == "postgresql" else AT.replace(tzinfo=None)
        orders = [
            ("ord-cancelled-card", "card", "cancelled", "ch_1"),
            ("ord-live-card", "card", "confirmed", "ch_2"),
            ("ord-cancelled-account", "holding_account", "cancelled", None),
        ]
        connection.execute(
            ORDER_AT_0006,
            [
                {
                    "id": id,
                    "false": False,
                    "method": method,
                    "at": at,
                    "state": state,
                    "payment": payment,
                    "cancelled_at": at if state == "cancelled" else None,
                }
                for id, method, state, payment in orders
            ],
        )
        # Amounts whose sum a float would not carry exactly.
        connection.execute(
            ORDER_LINE_AT_0006,
            [
                {"order_id": id, "position": n, "id": f"{id}-{n}", "quantity": q, "price": p}
                for id, *_ in orders
                for n, (q, p) in enumerate([(3, Decimal("0.10")), (1, Decimal("0.20"))])
            ],
        )
    storage.upgrade()
    assert revision(storage) == HEAD
    assert differences(storage) == []
    with storage.unit_of_work() as uow:
        due = uow.orders.get("ord-cancelled-card")
        assert due is not None and len(due.lines) == 2
        assert due.refund == Refund(chf("0.50"), "cancel-ord-cancelled-card")
        assert [o.id for o in uow.orders.refunds_due(10)] == ["ord-cancelled-card"]
        for id in ("ord-live-card", "ord-cancelled-account"):
            other = uow.orders.get(id)
            assert other is not None and other.refund is None
        due.record_refund("re_1", AT)
        uow.orders.update(due)
        uow.commit()
    with storage.unit_of_work() as uow:
        refunded = uow.orders.get("ord-cancelled-card")
        assert refunded is not None and refunded.refund is not None
        assert (refunded.refund.state, refunded.refund.reference) == (RefundState.REFUNDED, "re_1")
    with migrating(storage.engine) as connection:
        command.downgrade(alembic_config(connection), "0006")
    columns = {c["name"] for c in inspect(storage.engine).get_columns("td_orders")}
    assert columns.isdisjoint({"refund_state", "refund_reference", "refunded_at"})
    with storage.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT o.id, COUNT(l.id) FROM td_orders o JOIN td_order_lines l"
                " ON l.order_id = o.id GROUP BY o.id ORDER BY o.id"
            )
        ).all()
    # The orders and their lines stay through the rebuild of td_orders on SQLite.
    assert [tuple(row) for row in rows] == [
        ("ord-cancelled-account", 2),
        ("ord-cancelled-card", 2),
        ("ord-live-card", 2),
    ]


TICKET_AT_0008 = """
INSERT INTO td_tickets (id, organization_id, order_id, order_line_id, sales_point_id,
    performance_id, product_id, tariff_id, structure_id, stock_structure_id, state, holder_id,
    version)
VALUES (:id, 'org-1', 'ord-1', 'ord-1-l1', :sales_point, :performance, 'prod-1', 'tar-1',
    'str-1', 'str-1', :state, NULL, 1)
"""


def places_sold(storage: SqlAlchemyStorage) -> dict[tuple[str, str], int]:
    with storage.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT performance_id, sales_point_id, sold FROM td_places_sold"
        ).all()
    return {(p, sp): sold for p, sp, sold in rows}


def sold_triggers(storage: SqlAlchemyStorage) -> list[str]:
    with storage.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
        else:
            query = (
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                " WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
                " UNION ALL SELECT proname FROM pg_proc"
                " WHERE pronamespace = current_schema()::regnamespace ORDER BY 1"
            )
        return [row[0] for row in connection.exec_driver_sql(query)]


def test_upgrading_counts_the_places_sold_and_downgrading_drops_the_counters(
    storage: SqlAlchemyStorage,
) -> None:
    storage.upgrade("0008")
    tickets = [
        ("tkt-1", "perf-1", "sp-1", "bought"),
        ("tkt-2", "perf-1", "sp-1", "printed"),
        ("tkt-3", "perf-1", "sp-1", "cancelled"),
        ("tkt-4", "perf-1", "sp-2", "controlled"),
        ("tkt-5", "perf-2", "sp-1", "distributed"),
        ("tkt-6", "perf-2", "sp-2", "cancelled"),
    ]
    with storage.engine.begin() as connection:
        connection.execute(
            sa.text(TICKET_AT_0008),
            [
                {"id": id, "performance": p, "sales_point": sp, "state": state}
                for id, p, sp, state in tickets
            ],
        )
    storage.upgrade()
    assert revision(storage) == HEAD
    assert differences(storage) == []
    assert places_sold(storage) == {
        ("perf-1", "sp-1"): 2,
        ("perf-1", "sp-2"): 1,
        ("perf-2", "sp-1"): 1,
    }
    # From now on the triggers keep the counters.
    with storage.unit_of_work() as uow:
        ticket = uow.tickets.get("tkt-1")
        assert ticket is not None
        ticket.cancel()
        uow.tickets.update(ticket)
        uow.commit()
    assert places_sold(storage)[("perf-1", "sp-1")] == 1

    with migrating(storage.engine) as connection:
        command.downgrade(alembic_config(connection), "0008")
    assert revision(storage) == "0008"
    assert "td_places_sold" not in td_tables(storage)
    assert sold_triggers(storage) == []
    # The tickets stay, and writing them needs no counter any more.
    with storage.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE td_tickets SET state = 'cancelled' WHERE id = 'tkt-2'")
        count = connection.exec_driver_sql("SELECT COUNT(*) FROM td_tickets").scalar_one()
    assert count == len(tickets)
    storage.upgrade()
    assert places_sold(storage) == {("perf-1", "sp-2"): 1, ("perf-2", "sp-1"): 1}
