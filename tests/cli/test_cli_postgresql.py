"""``ticketdomain db upgrade`` on PostgreSQL, in a schema of its own (dropped at the end), so
that it never touches the tables of other tests sharing the database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from ticketdomain_sqlalchemy import VERSION_TABLE, metadata

PG_URL = os.environ.get("TICKETDOMAIN_TEST_PG_URL")

pytestmark = pytest.mark.postgresql


@pytest.fixture
def schema() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("set TICKETDOMAIN_TEST_PG_URL to run `db upgrade` on PostgreSQL")
    name = f"td_cli_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


def test_db_upgrade_builds_every_table_in_the_schema_named_by_the_url(schema: str) -> None:
    assert PG_URL is not None
    # libpq's connection options, carried by the URL as a host's would be.
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETDOMAIN_")}
    env["TICKETDOMAIN_DATABASE_URL"] = url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-m", "ticketdomain_cli", "db", "upgrade"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    engine = create_engine(PG_URL)
    try:
        tables = set(inspect(engine).get_table_names(schema=schema))
    finally:
        engine.dispose()
    assert tables == {*metadata.tables, VERSION_TABLE}
