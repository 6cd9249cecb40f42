"""The one per-file pipeline: read + harmonise -> checks -> set-wise decision (docs/ONE_PATH.md).

Every file, clean or not, large or small, goes the same way, inside one DuckDB transaction on the
connection it is given: the reading stage fills the contract's entity tables and ``findings``, each
check stage adds findings, the decision (:func:`validators.decision.decide`) settles every line.  A
stage is a function ``(con, ctx) -> None``; replacing a bridge by its set-wise version is a one-line
change in :func:`check_stages` (p15: pandera where the data is; r15: every rule as SQL) or
:data:`READ_STAGE` (c15).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from centres.profile import CentreProfile
from base.config import Settings
from base.errors import FileRejected, TdmError
from ingestion.context import load_context, quarantined_patients
from ingestion.discovery import Candidate
from ingestion.files import as_file_error, not_ready, sha256_file, unchanged_since_discovery, unreadable, \
    unreadable_checksum
from ingestion.read import read_into_tables
from warehouse.lake import lake_exists, open_reader
from validators import ValidationContext, ValidationResult
from validators.setwise.context import register_context
from validators.decision import accepted_frames, decide
from validators.stages import Stage, check_stages as validator_stages

#: Stages 1-2: ``read_raw`` + ``harmonise_raw`` set-wise into the connection's temporary tables.
READ_STAGE = read_into_tables


def check_stages(settings: Settings) -> tuple[Stage, ...]:
    """Stages 3-4 in order (:func:`validators.stages.check_stages`: the whole-file checks, the
    dictionary's pandera checks in DuckDB with their compiled SQL cached under ``settings.cache``,
    the set-wise rules), each over the whole file."""
    return validator_stages(settings.cache)


@dataclass(frozen=True)
class Prepared:
    """One file identified before the writer stage (checksum, kind), and after it its decision.

    ``error`` is a file-level error found before any row was read (gone, unreadable, no matching
    export pattern); ``result`` the decision once the pipeline ran (the report's input)."""

    candidate: Candidate
    checksum: str
    file_kind: str | None
    result: ValidationResult | None = None
    error: TdmError | None = None
    rows_read: int = 0
    profile: CentreProfile | None = field(default=None, repr=False, compare=False)
    key: bytes | None = field(default=None, repr=False, compare=False)


def prepare(settings: Settings, profile: CentreProfile, candidate: Candidate, key: bytes) -> Prepared:
    """The lock-free part: is the file still as discovered, its checksum, its export pattern."""
    spec = profile.match(candidate.path.name)
    kind = getattr(spec, "kind", None)
    if not unchanged_since_discovery(candidate):
        return Prepared(candidate, "", kind, error=not_ready(candidate))
    try:
        checksum = sha256_file(candidate.path)
    except PermissionError:
        return Prepared(candidate, unreadable_checksum(candidate), kind, error=unreadable(candidate))
    except OSError:
        return Prepared(candidate, "", kind, error=not_ready(candidate))
    if spec is None:
        return Prepared(candidate, checksum, kind, error=FileRejected(
            f"the file name matches none of centre '{candidate.centre_id}' export patterns",
            code="no_matching_spec", file=candidate.path.name,
            hint="rename the file to one of the patterns in the centre profile, or add a pattern"))
    return Prepared(candidate, checksum, kind, profile=profile, key=key)


def read_file(con: duckdb.DuckDBPyConnection, settings: Settings, prepared: Prepared) -> Prepared:
    """Stages 1-2 into the file's temporary tables on ``con``, outside any transaction: each statement
    commits to the connection's own temporary tables (invisible to every other connection, gone with
    it), which DuckDB spills to disk beyond its memory limit (rows written inside a transaction are
    held in memory until it ends).  Returns ``prepared``, with its file ``error`` when it cannot be read."""
    cand, profile = prepared.candidate, prepared.profile
    try:
        READ_STAGE(con, settings, profile, profile.match(cand.path.name), cand, prepared.key)
    except Exception as exc:
        return replace(prepared, error=exc if isinstance(exc, TdmError) and exc.transient
                       else as_file_error(exc, cand))
    return prepared


def decide_read(con: duckdb.DuckDBPyConnection, settings: Settings, prepared: Prepared,
                context_con: duckdb.DuckDBPyConnection | None) -> Prepared:
    """Stages 3-5 for a file :func:`read_file` read, on ``con`` (inside the caller's transaction); the
    context is read from ``context_con`` (the writer itself, or a read-only lake connection for a dry run)."""
    cand, profile = prepared.candidate, prepared.profile
    ctx = load_context(context_con, cand.centre_id, cand.path.name, prepared.file_kind,
                       getattr(profile, "max_error_fraction", 0.5))
    try:
        register_context(con, ctx)
        for stage in check_stages(settings):
            stage(con, ctx)
        result = decide(con, ctx)
    except Exception as exc:
        return replace(prepared, error=as_file_error(exc, cand))
    if result.file_error is None:    # what the report's resubmission diff can match, bounded by the quarantine
        result = replace(result, accepted=accepted_frames(con, quarantined_patients(context_con, cand.centre_id)))
    return replace(prepared, result=result, rows_read=result.rows_read)


def decide_file(con: duckdb.DuckDBPyConnection, settings: Settings, prepared: Prepared,
                context_con: duckdb.DuckDBPyConnection | None) -> Prepared:
    """The whole pipeline on ``con``: :func:`read_file` then :func:`decide_read`."""
    read = read_file(con, settings, prepared)
    return read if read.error is not None else decide_read(con, settings, read, context_con)


def dry_run(settings: Settings, profile: CentreProfile, path: Path, key: bytes) -> Prepared:
    """What ingesting ``path`` for ``profile``'s centre would decide, with nothing written: the same
    pipeline on a private in-memory database, the context read from the lake (read-only)."""
    st = os.stat(path)
    prepared = prepare(settings, profile, Candidate(profile.centre_id, Path(path), st.st_size, st.st_mtime), key)
    if prepared.error is not None:
        return prepared
    snapshot = open_reader(settings.lake) if lake_exists(settings.lake) else None
    settings.spill_directory.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="tdm-dry-run-spill-", dir=settings.spill_directory) as spill:
            con = duckdb.connect()
            try:
                con.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")   # its own (bound_memory)
                return decide_file(con, settings, prepared, snapshot)
            finally:
                con.close()
    finally:
        if snapshot is not None:
            snapshot.close()


__all__ = ["Prepared", "READ_STAGE", "Stage", "check_stages", "decide_file", "decide_read", "dry_run", "prepare",
           "read_file"]
