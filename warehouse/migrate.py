"""Create and upgrade the warehouse through alembic, then (re)create the curated views.

alembic drives the lake through SQLAlchemy (duckdb-engine): each pooled connection is an in-memory
DuckDB whose ``connect`` event attaches the lake and ``USE``s it (:func:`warehouse.lake.connect`'s
steps), so the migrations' unqualified ``core.*``/``ingest.*`` names are the lake's.  The version
table carries no primary key (DuckLake has none).  The same scripts upgrade a pre-DuckLake
single-file warehouse before :mod:`warehouse.convert` copies it into the lake.
alembic's DuckDB implementation lives with the migrations (``schema/migrations/env.py``).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import schema
from schema.views import create_views_sql, drop_views_sql
from base.config import LakeSpec
from base.errors import WarehouseError
from warehouse import lake as L

MIGRATIONS = Path(schema.__file__).parent / "migrations"


def alembic_config(url: str, script_location: Path = MIGRATIONS) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def lake_engine(lake: LakeSpec) -> sa.Engine:
    """A SQLAlchemy engine whose every connection is the lake (attached and in use)."""
    engine = sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.NullPool,
                              connect_args={"config": dict(L.NO_AUTOLOAD)})

    @sa.event.listens_for(engine, "connect")
    def _attach(dbapi_connection, _record) -> None:
        L.attach(dbapi_connection, lake, read_only=False)

    return engine


def file_engine(path: Path) -> sa.Engine:
    """An engine on a single-file DuckDB warehouse (the pre-DuckLake layout)."""
    return sa.create_engine(f"duckdb:///{path}", poolclass=sa.pool.NullPool)


def run_upgrade(engine: sa.Engine, revision: str = "head", *, script_location: Path = MIGRATIONS,
                where: str = "") -> None:
    """alembic up to ``revision`` on ``engine`` in one transaction, the views dropped around it."""
    try:
        with engine.begin() as conn:
            if _has_schema(conn, "analysis"):
                for stmt in drop_views_sql():
                    conn.exec_driver_sql(stmt)
            cfg = alembic_config("duckdb://", script_location)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            if revision == "head":
                for stmt in create_views_sql():
                    conn.exec_driver_sql(stmt)
    except WarehouseError:
        raise
    except Exception as exc:  # surface as one clear error; alembic/sqlalchemy tracebacks are noise
        raise WarehouseError(f"migration failed: {str(exc).splitlines()[0]}", file=where) from exc
    finally:
        engine.dispose()


def upgrade(lake: LakeSpec, revision: str = "head", *, home: Path | None = None,
            script_location: Path = MIGRATIONS) -> None:
    """Migrate the lake to ``revision`` under the writers' lock (no file loads meanwhile)."""
    with L.lake_writer_lock(lake, home):
        catalog = lake.catalog_file
        if lake.url.startswith("ducklake:sqlite:") and catalog is not None and catalog.exists():
            L.sqlite_wal(catalog)        # a catalog made before WAL mode (tdm init / the next pass)
        run_upgrade(lake_engine(lake), revision, script_location=script_location, where=lake.url)


def upgrade_file(path: Path, revision: str = "head", *, script_location: Path = MIGRATIONS) -> None:
    """Migrate a single-file DuckDB warehouse (before its conversion into the lake)."""
    run_upgrade(file_engine(path), revision, script_location=script_location, where=str(path))


def _has_schema(conn, name: str) -> bool:
    return bool(conn.exec_driver_sql(
        "SELECT count(*) FROM information_schema.schemata WHERE catalog_name = current_database() "
        "AND schema_name = ?", (name,)).scalar())


def head_revision(script_location: Path = MIGRATIONS) -> str:
    """The newest migration's revision id (what ``upgrade`` brings a warehouse to)."""
    return ScriptDirectory.from_config(alembic_config("duckdb://", script_location)).get_current_head()


__all__ = ["MIGRATIONS", "head_revision", "lake_engine", "run_upgrade", "upgrade", "upgrade_file"]
