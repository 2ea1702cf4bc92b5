"""Alembic scripts of the ``td_`` tables, shipped in the wheel and run by
``SqlAlchemyStorage.upgrade()``.

A change to ``_schema.py`` comes with a revision here (``tests/integration/test_migrations.py``
fails until it does). Generate it against a database at the previous head, then review it::

    from alembic import command
    from ticketdomain_sqlalchemy import SqlAlchemyStorage, alembic_config

    storage = SqlAlchemyStorage.sqlite("scratch.sqlite3")
    storage.upgrade()
    with storage.engine.begin() as connection:
        command.revision(
            alembic_config(connection), "add the thing", autogenerate=True, rev_id="0002"
        )

Then ``ruff format`` it. Keep each revision self-contained (plain SQLAlchemy types, explicit
names, nothing imported from ``_schema``) and valid on both databases: generated on SQLite, it
uses ``batch_alter_table``, which rebuilds the table there and is plain ALTERs on PostgreSQL.
Autogenerate does not see collations, partial index predicates or check constraints: write those
by hand (the migrations test compares them too).
"""
