"""Stages 1-2 as they are today (the bridge): the pandas reader and harmonise, chunk by chunk, into the
contract's tables.

The file is read in chunks (a CSV above ``Settings.limits.stream_threshold_bytes`` in ``stream_chunk_rows`` lines,
anything else whole), each chunk harmonised and appended to the entity tables ``patient``,
``assessment``, ``elisa``, ``lab``, its cell issues to ``findings``: memory is bounded by one chunk and
every later stage sees the whole file.  c15's set-wise reader and harmoniser (``read_raw`` +
``harmonise_raw``) replace this module: same tables, same findings.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd

from schema.relations import ENTITY_TABLES, FINDING_SQL, FINDINGS_TABLE, append_frame, create_empty, entity_sql_columns
from tdm.centres.harmonise import harmonise
from tdm.centres.profile import CentreProfile, FileSpec
from tdm.centres import readers
from tdm.config import Settings
from tdm.ingest.discovery import Candidate
from tdm.ingest.files import not_ready, unchanged_since_discovery
from tdm.privacy import refuse_identifiers
from validators.checks import append_findings, file_error_finding, missing_columns, normalise, to_issues
from validators.results import CELL_ISSUE_COLUMNS


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The contract's empty entity tables and findings, for one file."""
    for entity in ENTITY_TABLES:
        create_empty(con, entity, entity_sql_columns(entity))
    create_empty(con, FINDINGS_TABLE, FINDING_SQL)


def raw_chunks(settings: Settings, spec: FileSpec, candidate: Candidate) -> Iterator[pd.DataFrame]:
    """The export as raw text frames (``source_line`` counting across chunks)."""
    path = candidate.path
    if candidate.size_bytes > settings.limits.stream_threshold_bytes and spec.reading_format(path.name) == "csv":
        yield from readers.iter_csv_chunks(path, spec, settings.limits.stream_chunk_rows, limits=settings.limits)
    else:
        yield readers.read_export(path, spec, limits=settings.limits)


def read_into_tables(con: duckdb.DuckDBPyConnection, settings: Settings, profile: CentreProfile, spec: FileSpec,
                     candidate: Candidate, key: bytes) -> None:
    """Read, refuse direct identifiers, harmonise and append one file to the tables (see the module
    docstring).  Raises the file-level error of a file that cannot be read (``TdmError``)."""
    name = candidate.path.name
    create_tables(con)
    for i, raw in enumerate(raw_chunks(settings, spec, candidate)):
        if i == 0:
            refuse_identifiers(raw, name)
        h = harmonise(raw, spec, profile, key, file_name=name)
        del raw
        if i == 0:
            missing = missing_columns(h.frames, name)
            if missing is not None:           # the whole file is rejected: one finding says why
                append_findings(con, file_error_finding(missing))
        norm, dtype_found = {}, []
        for ent in ENTITY_TABLES:
            norm[ent], _, found = normalise(ent, h.frames.get(ent))
            dtype_found.append(found)
        for ent in ENTITY_TABLES:
            append_frame(con, ent, norm[ent])
        if len(h.cell_issues):
            append_findings(con, h.cell_issues.reindex(columns=CELL_ISSUE_COLUMNS))
        dtf = pd.concat(dtype_found, ignore_index=True)
        if len(dtf):
            append_findings(con, to_issues("dtype", dtf, norm).reindex(columns=list(FINDING_SQL)))
    if not unchanged_since_discovery(candidate):      # the checksum and the rows must be of the same bytes
        raise not_ready(candidate)


__all__ = ["create_tables", "raw_chunks", "read_into_tables"]
