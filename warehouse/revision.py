"""The schema revision a warehouse is at, and the newest one, without importing alembic.

Every ingestion pass asks whether the lake needs migrating; importing alembic for that cost ~0.4 s
(issue 14).  :data:`SCHEMA_HEAD` is the newest migration's id (a test keeps it equal to alembic's
head), so a lake at the head is never handed to alembic.
"""

from __future__ import annotations

from base.config import LakeSpec
from base.errors import WarehouseError
from warehouse.lake import open_reader

SCHEMA_HEAD = "0004_value_counts"


def current_revision(lake: LakeSpec) -> str | None:
    """The alembic revision recorded in the lake (None: no lake yet, or never migrated)."""
    catalog = lake.catalog_file
    if catalog is not None and not catalog.is_file():
        return None
    try:
        con = open_reader(lake)
    except WarehouseError as exc:
        if catalog is None and exc.code != "no_warehouse":
            raise
        return None
    try:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                           "AND table_schema = 'ingest' AND table_name = 'alembic_version'").fetchone()[0]:
            return None
        row = con.execute("SELECT version_num FROM ingest.alembic_version").fetchone()
        return row[0] if row else None
    finally:
        con.close()


__all__ = ["SCHEMA_HEAD", "current_revision"]
