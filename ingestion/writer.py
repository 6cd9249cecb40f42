"""The single-writer stage: for one file, under the lock, claim it, read it into the writer
connection's temporary tables, then in ONE DuckLake transaction check and decide it
(``ingestion.pipeline``), write its report, load it and record it.

The validation context is read inside that transaction from the live warehouse, so a patient another
centre committed a moment ago is seen (``patient_in_other_centre``) whatever the interleaving.  A
crash (even SIGKILL) before ``COMMIT`` leaves nothing: the file, still in the inbox, runs again.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace
from pathlib import Path

import duckdb

from base.config import Settings
from ingestion.discovery import Candidate
from ingestion.files import (DIRECT_IDENTIFIER, Committed, archive_file, archive_target, deferred, not_ready,
                              report_stem, unchanged_since_discovery)
from ingestion.pipeline import Prepared, decide_read, prepare, read_file
from ingestion.reports import write_file_report_for
from base.version import code_version
from warehouse.connection import transaction
from warehouse.lake import open_writer
from warehouse.load import (FileMeta, LoadOutcome, duplicate_outcome, error_outcome, find_loaded_checksum,
                                find_recorded,
                                load_decided, plan_outcome, record_duplicate, record_file_error, reserve_file_id)

# One writer per process; the lake's writers' lock (flock) serialises writers across processes.
WRITE_LOCK = threading.Lock()


def write_report(settings: Settings, meta: FileMeta, outcome: LoadOutcome, prepared: Prepared, stem: str,
                 con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Write the data managers' report (HTML + CSV + JSON) and refresh the centre's index; the centre's
    earlier files are read through the writer's ``con`` (no second lake connection per file)."""
    write_file_report_for(settings, meta, outcome, prepared, stem, con)


def _claim_file(con: duckdb.DuckDBPyConnection, settings: Settings, cand: Candidate, meta: FileMeta):
    """Under the writer lock, before anything is written for a file: a ``Committed`` to return at
    once (processed by a concurrent run, replaced meanwhile, or already loaded by a run that crashed
    before archiving it), else ``(file_id, meta with archive and report paths, report stem, earlier)``
    where ``earlier`` is the first file with the same content, if any."""
    state = unchanged_since_discovery(cand)      # a concurrent run may have archived it,
    if state is None:                            # or the sender replaced it meanwhile
        return deferred(cand, status="already_processed")
    if not state:
        return deferred(cand, not_ready(cand))
    earlier = find_loaded_checksum(con, meta.checksum_sha256)
    if earlier is not None and earlier[1] and not Path(earlier[1]).exists() and cand.path.exists():
        # Loaded by a run that crashed before archiving: archive it now, record nothing new.
        return Committed(cand.centre_id, cand.path.name, earlier[0], "already_loaded", 0, 0, 0, 0,
                         "completed the archiving of an earlier interrupted run", None, earlier[1])
    for file_id, archive in find_recorded(con, cand.centre_id, cand.path.name, meta.checksum_sha256):
        if archive and not Path(archive).exists():   # recorded by a concurrent or crashed run, not yet moved
            return Committed(cand.centre_id, cand.path.name, file_id, "already_loaded", 0, 0, 0, 0,
                             "completed the archiving of an earlier run", None, archive)
    file_id = reserve_file_id(con)
    stem = report_stem(cand, meta.checksum_sha256)
    meta = replace(meta, archive_path=str(archive_target(settings, cand, file_id)),
                   report_path=str(settings.reports / cand.centre_id / f"{stem}.html"))
    return file_id, meta, stem, earlier


def _committed(cand: Candidate, outcome: LoadOutcome, meta: FileMeta, discard: bool) -> Committed:
    return Committed(cand.centre_id, cand.path.name, outcome.file_id, outcome.status, outcome.rows_read,
                     outcome.rows_loaded, outcome.rows_warned, outcome.rows_rejected, outcome.message,
                     meta.report_path, meta.archive_path, discarded=discard)


def _file_error(con, settings: Settings, meta: FileMeta, file_id: int, prepared: Prepared, stem: str):
    """Report and record a file that could not be read; returns (outcome, meta)."""
    if prepared.error.code == DIRECT_IDENTIFIER:      # never archived: it holds what the rejection protects
        meta = replace(meta, archive_path=None)
    write_report(settings, meta, error_outcome(file_id, prepared.error, prepared.rows_read), prepared, stem, con)
    return record_file_error(con, file_id, meta, prepared.error, prepared.rows_read), meta


def _load(con, settings: Settings, meta: FileMeta, file_id: int, prepared: Prepared, stem: str):
    """The pipeline and the load: the file read into the connection's temporary tables, then checks,
    decision, report and load in one transaction; (outcome, meta), or raises ``_Unread`` with the
    file error (nothing written to the warehouse) for the caller to record."""
    read = read_file(con, settings, prepared)
    if read.error is not None:
        raise _Unread(read)
    with transaction(con):
        decided = decide_read(con, settings, read, con)
        if decided.error is not None:
            raise _Unread(decided)
        # The report is written before the load commits: a crash in between re-runs the file and
        # overwrites the same report (its name is fixed by the content), so no report is ever lost.
        write_report(settings, meta, plan_outcome(file_id, decided.result), decided, stem, con)
        return load_decided(con, file_id, meta, decided.result), meta


class _Unread(Exception):
    """Rolls the file's transaction back when it cannot be read (carries what to record instead)."""

    def __init__(self, prepared: Prepared):
        super().__init__(str(prepared.error))
        self.prepared = prepared


def commit(settings: Settings, prepared: Prepared) -> Committed:
    """The single-writer stage for one file: duplicate check, pipeline, report, atomic load (one lake
    transaction: readers see the file the moment it commits)."""
    cand = prepared.candidate
    if prepared.error is not None and prepared.error.transient:
        return deferred(cand, prepared.error)
    meta = FileMeta(centre_id=cand.centre_id, file_name=cand.path.name, checksum_sha256=prepared.checksum,
                    size_bytes=cand.size_bytes, received_at=dt.datetime.fromtimestamp(cand.mtime),
                    code_version=code_version(), file_kind=prepared.file_kind)
    with WRITE_LOCK, open_writer(settings.lake, home=settings.home, memory_limit=settings.limits.writer_memory_limit,
                                 spill_root=settings.spill_directory) as con:
        slot = _claim_file(con, settings, cand, meta)
        if isinstance(slot, Committed):
            return slot
        file_id, meta, stem, earlier = slot
        discard = False
        if earlier is not None:    # identical content again; a copy of a file with identifiers goes too
            discard = earlier[2] == DIRECT_IDENTIFIER or getattr(prepared.error, "code", None) == DIRECT_IDENTIFIER
            meta = replace(meta, archive_path=None) if discard else meta
            write_report(settings, meta, duplicate_outcome(file_id, earlier[0]), prepared, stem, con)
            outcome = record_duplicate(con, file_id, meta, earlier[0])
        else:
            if prepared.error is None:
                try:
                    outcome, meta = _load(con, settings, meta, file_id, prepared, stem)
                except _Unread as unread:
                    prepared = unread.prepared
            if prepared.error is not None and prepared.error.transient:
                return deferred(cand, prepared.error)
            if prepared.error is not None:
                outcome, meta = _file_error(con, settings, meta, file_id, prepared, stem)
                discard = prepared.error.code == DIRECT_IDENTIFIER
    return _committed(cand, outcome, meta, discard)


def process_file(settings: Settings, profile, candidate: Candidate, key: bytes) -> Committed:
    """All stages for one file, as plain calls (the flow runs the same two stages as tasks)."""
    committed = commit(settings, prepare(settings, profile, candidate, key))
    archive_file(candidate, committed)
    return committed


__all__ = ["WRITE_LOCK", "commit", "process_file", "write_report"]
