"""Create and upgrade the warehouse through alembic, then (re)create the curated views.

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
from tdm.errors import WarehouseError
from tdm.warehouse.connection import open_writer, publish_snapshot

MIGRATIONS = Path(schema.__file__).parent / "migrations"


def alembic_config(url: str, script_location: Path = MIGRATIONS) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"duckdb:///{path}", poolclass=sa.pool.NullPool)


def upgrade(path: Path, revision: str = "head", *, script_location: Path = MIGRATIONS) -> None:
    """Run alembic migrations up to ``revision`` in this process, views dropped around them."""
    engine = _engine(path)
    try:
        with engine.begin() as conn:
            for stmt in drop_views_sql():
                if _has_schema(conn, "analysis"):
                    conn.exec_driver_sql(stmt)
            cfg = alembic_config(f"duckdb:///{path}", script_location)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            if revision == "head":
                for stmt in create_views_sql():
                    conn.exec_driver_sql(stmt)
    except Exception as exc:  # surface as one clear error; alembic/sqlalchemy tracebacks are noise
        raise WarehouseError(f"migration failed: {exc}", file=str(path)) from exc
    finally:
        engine.dispose()


def _has_schema(conn, name: str) -> bool:
    return bool(conn.exec_driver_sql(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", (name,)
    ).scalar())


def head_revision(script_location: Path = MIGRATIONS) -> str:
    """The newest migration's revision id (what ``upgrade`` brings a warehouse to)."""
    return ScriptDirectory.from_config(alembic_config("duckdb://", script_location)).get_current_head()


def current_revision(path: Path) -> str | None:
    """The alembic revision of the warehouse at ``path`` (None when absent or never migrated)."""
    if not Path(path).exists():
        return None
    # waits for a concurrent writer (another ingestion pass) instead of failing on DuckDB's file lock
    with open_writer(Path(path)) as con:
        rows = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'ingest' AND table_name = 'alembic_version'").fetchall()
        if not rows[0][0]:
            return None
        rows = con.execute("SELECT version_num FROM ingest.alembic_version").fetchall()
        return rows[0][0] if rows else None


def init_warehouse(settings) -> str | None:
    """Idempotent: create folders, migrate the warehouse to head, publish the read snapshot."""
    settings.ensure_dirs()
    upgrade(settings.warehouse)
    with open_writer(settings.warehouse,
                     memory_limit=settings.limits.writer_memory_limit) as con:
        publish_snapshot(con, settings.warehouse, settings.snapshot)
    return current_revision(settings.warehouse)
