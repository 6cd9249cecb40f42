"""Stages 1-2 of the one path, wired: any export read set-wise into the contract's tables.

:func:`read_into_tables` is :data:`ingestion.pipeline.READ_STAGE`: DuckDB reads the file as text
cells (:func:`centres.raw.read_raw`: CSV through ``read_csv``, a workbook through calamine to
Arrow, a non-UTF-8 file transcoded block by block) and the centre profile compiled to SQL types it
(:func:`centres.sql_harmonise.harmonise_raw`), leaving ``patient``, ``assessment``, ``elisa``,
``lab`` and the cell ``findings`` in the connection's temporary tables (``raw`` is dropped then: no later
stage reads it).  The whole file is one set
(every later stage sees all of it); memory is DuckDB's, bounded by ``Settings.limits.writer_memory_limit``
and spilled to ``Settings.spill_directory`` beyond it (:func:`bound_memory`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from centres.profile import CentreProfile, FileSpec
from centres.raw import drop_raw, read_raw
from centres.sql_harmonise import harmonise_raw
from base.config import Settings
from ingestion.discovery import Candidate
from ingestion.files import not_ready, unchanged_since_discovery


def bound_memory(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Cap ``con``'s DuckDB memory at ``settings.limits.writer_memory_limit`` and let it spill under
    ``settings.spill_directory``: the temporary tables of a 1e7-line file live on disk beyond the cap.
    Whoever opens a connection gives it a folder of its own there (the writer: ``open_writer(spill_root=)``,
    a dry run: :func:`ingestion.pipeline.dry_run`), so two DuckDB instances never share spill files;
    a connection with none spills into the directory itself."""
    spill = settings.spill_directory
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET memory_limit = '{settings.limits.writer_memory_limit}'").fetchall()
    current = con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    if not current or spill not in (Path(current), Path(current).parent):
        con.execute("SET temp_directory = '" + str(spill).replace("'", "''") + "'").fetchall()


def read_into_tables(con: duckdb.DuckDBPyConnection, settings: Settings, profile: CentreProfile, spec: FileSpec,
                     candidate: Candidate, key: bytes) -> None:
    """Read and harmonise one file into ``con``'s temporary tables (module docstring).  Raises the file's
    ``TdmError`` (``FileRejected``, ``PrivacyError``, ``MappingError``) when it cannot be read as a whole,
    and ``FileNotReady`` when the file changed while it was read (the checksum and the rows must be of
    the same bytes).

    ``raw`` is dropped once harmonised: the file's text cells are its largest table, and while it
    existed the buffer pool stayed full of table blocks DuckDB did not evict, so at 2 GB (46 million
    lines) under a 256 MB limit the checks' large aggregates (``duplicate_row``, the decision's line
    count) failed with "Out of Memory" (measured 2 December 2026, DuckDB 1.5.5: 107-243 MB of
    ``IN_MEMORY_TABLE`` resident with ``raw``, 40-54 MB without; docs/LAKE.md "Writer memory")."""
    bound_memory(con, settings)
    raw = read_raw(con, candidate.path, spec, candidate.path.name, limits=settings.limits)
    try:
        harmonise_raw(con, raw, spec, profile, key)
    finally:
        drop_raw(con)
    if not unchanged_since_discovery(candidate):
        raise not_ready(candidate)


__all__ = ["bound_memory", "read_into_tables"]
