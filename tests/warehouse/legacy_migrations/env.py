"""alembic environment for the DuckDB warehouse.

alembic has no DuckDB implementation of its own: the ``DefaultImpl`` subclass below with
``__dialect__ = "duckdb"`` (defining it registers it) is enough for our hand-written migrations.
The connection is passed in by :func:`warehouse.migrate.upgrade` (``config.attributes``) so the
migration runs inside the caller's process and lock; a URL is the fallback for the alembic CLI.
"""

from __future__ import annotations

from alembic import context
from alembic.ddl.impl import DefaultImpl
from sqlalchemy import create_engine

from schema.tables import metadata


class DuckDBImpl(DefaultImpl):
    """alembic's implementation for the 'duckdb' dialect (registered by being defined)."""

    __dialect__ = "duckdb"
    transactional_ddl = True


config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # alembic keeps its version table in ``ingest``; it must exist before the first migration.
        connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS ingest")
        context.configure(connection=connection, target_metadata=target_metadata,
                          version_table_schema="ingest", transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS ingest")
        context.configure(connection=conn, target_metadata=target_metadata, version_table_schema="ingest")
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported for DuckDB")
run_migrations_online()
