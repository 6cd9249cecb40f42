"""``tdm init`` for the warehouse: convert a pre-DuckLake home once, then migrate the lake to the head.

A home made before issue 16 holds ``warehouse.duckdb`` (and the read copy ``warehouse.read.duckdb``).
It is converted once: the file is migrated to the head with the same alembic scripts, the lake is
migrated, and every table of ``schema.tables.metadata`` is copied in ONE lake transaction whose row
counts are compared table by table before it commits; then the file is renamed
``warehouse.duckdb.converted`` (kept, never read again) and the read copy removed.  A crash before
the commit leaves the lake empty and the file in place (the next ``tdm init`` converts again); a
crash between the commit and the rename is finished by the next ``tdm init`` (counts equal: rename).
"""

from __future__ import annotations

from dataclasses import dataclass

from schema.tables import metadata
from base.config import Settings
from base.errors import WarehouseError
from warehouse.connection import transaction
from warehouse.lake import open_writer, quote
from warehouse.migrate import upgrade, upgrade_file
from warehouse.revision import current_revision

CONVERTED_SUFFIX = ".converted"


@dataclass(frozen=True)
class InitResult:
    """What ``init_warehouse`` did: the lake's revision and, for a converted home, rows per table."""

    revision: str | None
    converted: dict[str, int] | None = None

    def lines(self) -> list[str]:
        if self.converted is None:
            return []
        total = sum(self.converted.values())
        return [f"converted the single-file warehouse into the lake: {total} rows in {len(self.converted)} tables "
                "(counts checked table by table; the old file is kept as warehouse.duckdb.converted)"]


def _table_names() -> list[str]:
    return [f"{t.schema}.{t.name}" for t in metadata.sorted_tables]


def _counts(con, catalog: str) -> dict[str, int]:
    return {t: int(con.execute(f"SELECT count(*) FROM {catalog}.{t}").fetchone()[0]) for t in _table_names()}


def convert_legacy(settings: Settings) -> dict[str, int] | None:
    """Copy ``warehouse.duckdb`` into the (migrated, empty) lake; rows per table, or None if there is none."""
    legacy = settings.legacy_warehouse
    if not legacy.is_file():
        return None
    upgrade_file(legacy)
    with open_writer(settings.lake, home=settings.home, memory_limit=settings.limits.writer_memory_limit) as con:
        con.execute(f"ATTACH {quote(str(legacy))} AS legacy (READ_ONLY)")
        try:
            source = _counts(con, "legacy")
            target = _counts(con, "lake")
            if any(target.values()):
                if target != source:
                    raise WarehouseError(
                        "the lake already holds rows and the single-file warehouse differs from it: not converted",
                        file=str(legacy), code="conversion_conflict",
                        hint="move warehouse.duckdb away if the lake is the warehouse to keep")
            else:
                with transaction(con):
                    for t in metadata.sorted_tables:
                        cols = ", ".join(c.name for c in t.columns)
                        con.execute(f"INSERT INTO lake.{t.schema}.{t.name} ({cols}) "
                                    f"SELECT {cols} FROM legacy.{t.schema}.{t.name}")
                    copied = _counts(con, "lake")
                    if copied != source:
                        bad = [t for t in source if copied[t] != source[t]]
                        raise WarehouseError(f"conversion refused: row counts differ in {', '.join(bad)}",
                                             file=str(legacy), code="conversion_mismatch")
        finally:
            con.execute("USE lake")
            con.execute("DETACH legacy")
    legacy.rename(legacy.with_name(legacy.name + CONVERTED_SUFFIX))
    for stale in (settings.home / "warehouse.read.duckdb", legacy.with_name(legacy.name + ".wal")):
        stale.unlink(missing_ok=True)
    return source


def init_warehouse(settings: Settings) -> InitResult:
    """Idempotent: create folders, migrate the lake to head, convert a single-file warehouse once."""
    settings.ensure_dirs()
    upgrade(settings.lake, home=settings.home)
    converted = convert_legacy(settings)
    return InitResult(current_revision(settings.lake), converted)


__all__ = ["InitResult", "convert_legacy", "init_warehouse"]
