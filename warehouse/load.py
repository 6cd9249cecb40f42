"""The atomic, idempotent loader: one file's everything commits together or not at all.

For one file, in ONE DuckDB transaction: its ``ingest.files`` lineage row, its accepted rows in
``core.*`` (each with file id and source line), the superseding of earlier current rows with the
same entity key (history kept: ``is_current = false``, ``superseded_by_file_id``), its quarantined
rows and its issues.  A crash (even SIGKILL) before ``COMMIT`` leaves nothing: the lake's catalog
never saw the transaction (Parquet files it had begun to write are unreferenced), and the file,
still in the inbox, is processed again.  DuckLake enforces no key: the file id is taken under the
writers' lock and the current rows' entity keys are checked before the commit (:mod:`warehouse.keys`).

Rows go in with ``INSERT ... SELECT`` from the relations ``accepted_<entity>``: the decision's views over
the file's own tables (:func:`load_decided`, the one ingestion path), or registered frames
(:func:`load_file`, for fixtures and tools); never row-by-row SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import duckdb
import pandas as pd

from schema.dictionary import ENTITIES, entity_columns
from schema.tables import issues as issues_table
from schema.tables import quarantine_rows
from warehouse.connection import transaction as _transaction
from warehouse.keys import check_unique, next_ids
from warehouse.query_sync import sync_file
from warehouse.value_counts import record_value_counts
from base.errors import WarehouseError

ISSUE_COLUMNS = [c.name for c in issues_table.columns if c.name != "file_id"]
QUARANTINE_COLUMNS = [c.name for c in quarantine_rows.columns if c.name != "file_id"]

STATUS_LOADED = "loaded"
STATUS_PARTIAL = "loaded_with_rejections"
STATUS_REJECTED = "rejected"
STATUS_DUPLICATE = "duplicate"


@dataclass(frozen=True)
class FileMeta:
    """What we know about a received file before loading it."""

    centre_id: str
    file_name: str
    checksum_sha256: str
    size_bytes: int
    received_at: dt.datetime
    code_version: str
    file_kind: str | None = None
    report_path: str | None = None
    archive_path: str | None = None


@dataclass(frozen=True)
class LoadOutcome:
    """What a load did (immutable summary, as recorded in ``ingest.files``)."""

    file_id: int
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_warned: int = 0
    rows_rejected: int = 0
    superseded: dict[str, int] = field(default_factory=dict)
    message: str | None = None
    error_code: str | None = None
    duplicate_of_file_id: int | None = None


def find_loaded_checksum(con: duckdb.DuckDBPyConnection, checksum: str) -> tuple[int, str | None, str | None] | None:
    """The first non-duplicate file with this content, as (file_id, archive_path, error_code), if any."""
    rows = _exec(
        con,
        "SELECT file_id, archive_path, error_code FROM ingest.files WHERE checksum_sha256 = ? AND status <> ? "
        "ORDER BY file_id LIMIT 1",
        [checksum, STATUS_DUPLICATE],
    )
    return None if not rows else (int(rows[0][0]), rows[0][1], rows[0][2])


def find_recorded(con: duckdb.DuckDBPyConnection, centre_id: str, file_name: str,
                  checksum: str) -> list[tuple[int, str | None]]:
    """``(file_id, archive_path)`` of every file row already recorded for this very name and content
    (a concurrent run may have recorded it and not yet moved it out of the inbox)."""
    return [(int(r[0]), r[1]) for r in _exec(
        con, "SELECT file_id, archive_path FROM ingest.files WHERE centre_id = ? AND file_name = ? "
             "AND checksum_sha256 = ? ORDER BY file_id", [centre_id, file_name, checksum])]


def _exec(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    """Execute and consume the whole result (DuckDB 2 refuses new work on an unfinished result)."""
    return con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()


def reserve_file_id(con: duckdb.DuckDBPyConnection) -> int:
    """The next file id (the writer holds the writers' lock until the file's row is committed; a
    crash before that leaves the number free for the rerun)."""
    return next_ids(con, "ingest.files", "file_id")[0]


def insert_file_row(con, file_id: int, meta: FileMeta, outcome: LoadOutcome, confirmed=None) -> None:
    """The file's ``ingest.files`` row, last in its transaction (its rows and issues are written),
    and what the file does to the centre's queries (``warehouse.queries.sync_file``);
    ``confirmed``: the warnings validation held back as confirmed.  Refuses a file id already recorded."""
    if _exec(con, "SELECT count(*) FROM ingest.files WHERE file_id = ?", [file_id])[0][0]:
        raise WarehouseError(f"refused: file id {file_id} is already recorded", code="duplicate_key_in_warehouse",
                             hint="nothing of this file was committed; it is processed again on the next pass")
    _exec(
        con,
        """INSERT INTO ingest.files (file_id, centre_id, file_name, file_kind, checksum_sha256, size_bytes,
               received_at, processed_at, status, rows_read, rows_loaded, rows_warned, rows_rejected,
               message, error_code, report_path, archive_path, duplicate_of_file_id, code_version)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [file_id, meta.centre_id, meta.file_name, meta.file_kind, meta.checksum_sha256, meta.size_bytes,
         meta.received_at, dt.datetime.now(), outcome.status, outcome.rows_read, outcome.rows_loaded,
         outcome.rows_warned, outcome.rows_rejected, outcome.message, outcome.error_code,
         meta.report_path, meta.archive_path, outcome.duplicate_of_file_id, meta.code_version],
    )
    sync_file(con, file_id, confirmed)


def _append(con, table: str, columns: list[str], df, extra: dict[str, object]) -> None:
    """Insert the frame ``df`` with ``extra`` constants; columns of ``columns`` that ``df`` lacks are NULL."""
    if df is None or not len(df):
        return
    cols = [c for c in columns if c in df.columns]
    frame = df[cols]
    con.register("_incoming", frame)
    try:
        names = ", ".join(cols + list(extra))
        values = ", ".join(cols + ["?"] * len(extra))
        _exec(con, f"INSERT INTO {table} ({names}) SELECT {values} FROM _incoming", list(extra.values()))
    finally:
        con.unregister("_incoming")


def _supersede_keys(con, entity: str, keys_from: str, key_params: list, file_id: int) -> int:
    """Mark current rows of other files whose entity key is among ``SELECT <key> FROM <keys_from>``
    as superseded by ``file_id``; return how many (DISTINCT in DuckDB: the keys never leave Arrow)."""
    e = ENTITIES[entity]
    table, key = f"core.{e.table}", list(e.key)
    keys = f"(SELECT DISTINCT {', '.join(key)} FROM {keys_from})"
    where = " AND ".join(f"t.{k} = k.{k}" for k in key) + " AND t.is_current AND t.file_id <> ?"
    params = [*key_params, file_id]
    n = int(_exec(con, f"SELECT count(*) FROM {table} t JOIN {keys} k ON {where}", params)[0][0])
    if n:
        _exec(con, f"UPDATE {table} t SET is_current = false, superseded_by_file_id = ? FROM {keys} k "
                   f"WHERE {where}", [file_id, *params])
    return n


def duplicate_outcome(file_id: int, duplicate_of: int) -> LoadOutcome:
    return LoadOutcome(file_id, STATUS_DUPLICATE, duplicate_of_file_id=duplicate_of, error_code="duplicate_file",
                       message=f"identical content was already received as file {duplicate_of}; nothing loaded")


def error_outcome(file_id: int, error, rows_read: int = 0) -> LoadOutcome:
    return LoadOutcome(file_id, STATUS_REJECTED, rows_read=rows_read, rows_rejected=rows_read,
                       message=str(error), error_code=getattr(error, "code", "file_rejected"))


def record_duplicate(con: duckdb.DuckDBPyConnection, file_id: int, meta: FileMeta, duplicate_of: int) -> LoadOutcome:
    """Record a file whose content was already loaded: nothing new is loaded."""
    outcome = duplicate_outcome(file_id, duplicate_of)
    with _transaction(con):
        insert_file_row(con, file_id, meta, outcome)
    return outcome


def plan_outcome(file_id: int, result) -> LoadOutcome:
    """The outcome a load of ``result`` will record (known before loading, for the report)."""
    if result.file_error is not None:
        err = result.file_error
        return LoadOutcome(file_id, STATUS_REJECTED, rows_read=result.rows_read, rows_rejected=result.rows_read,
                           message=str(err), error_code=getattr(err, "code", "file_rejected"))
    status = STATUS_PARTIAL if result.rows_rejected else STATUS_LOADED
    return LoadOutcome(file_id, status, rows_read=result.rows_read, rows_loaded=result.rows_loaded,
                       rows_warned=result.rows_warned, rows_rejected=result.rows_rejected)


def supersede_earlier(con, entity: str, centre_id: str, keys_from: str, key_params: list, file_id: int) -> int:
    """:func:`_supersede_keys`, skipping the key join when the centre has no current row of another file
    (a first load, the common case for large files)."""
    table = f"core.{ENTITIES[entity].table}"
    if not _exec(con, f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE centre_id = ? AND is_current "
                      "AND file_id <> ? LIMIT 1)", [centre_id, file_id])[0][0]:
        return 0
    return _supersede_keys(con, entity, keys_from, key_params, file_id)


def _load_accepted(con: duckdb.DuckDBPyConnection, file_id: int, columns: dict[str, list[str]],
                   centre_id: str | None = None) -> dict[str, int]:
    """``INSERT ... SELECT`` every entity's rows from the relation ``accepted_<entity>`` (its ``columns``),
    superseding earlier current rows with the same keys first. Returns superseded counts.
    ``centre_id``: every row is of this centre (the one path's ``wrong_centre`` check), which lets a
    first delivery skip the key join."""
    superseded: dict[str, int] = {}
    for entity, cols in columns.items():
        relation = f"accepted_{entity}"
        superseded[entity] = _supersede_keys(con, entity, relation, [], file_id) if centre_id is None else \
            supersede_earlier(con, entity, centre_id, relation, [], file_id)
        names = ", ".join(cols)
        n = _exec(con, f"INSERT INTO core.{ENTITIES[entity].table} ({names}, file_id, is_current) "
                       f"SELECT {names}, ?, true FROM {relation}", [file_id])[0][0]
        if n:
            check_current_keys(con, entity, file_id)
    record_value_counts(con, file_id)
    return superseded


def check_current_keys(con: duckdb.DuckDBPyConnection, entity: str, file_id: int) -> None:
    """No two current rows share an entity key among the keys file ``file_id`` loaded (the lake
    has no UNIQUE constraint; superseding and the ``duplicate_key`` rule keep this true)."""
    e = ENTITIES[entity]
    # every entity key starts with centre_id (tests/warehouse/test_lake.py), so only the rows of the
    # centres the file loaded can share a key with its rows
    check_unique(con, f"core.{e.table} t", [f"t.{k}" for k in e.key],
                 f"t.is_current AND t.centre_id IN (SELECT DISTINCT centre_id FROM core.{e.table} WHERE file_id = ?)",
                 [file_id, file_id], having="bool_or(t.file_id = ?)")


def load_decided(con: duckdb.DuckDBPyConnection, file_id: int, meta: FileMeta, result) -> LoadOutcome:
    """Load a file the one path decided, inside the caller's transaction: its rows from the decision's
    ``accepted_<entity>`` views over the file's tables (``validators.decision``), its quarantined rows,
    its issues and its ``ingest.files`` row."""
    outcome = plan_outcome(file_id, result)
    if result.file_error is None:
        cols = {e: entity_columns(e) + ["source_line", "warnings"] for e in ENTITIES}
        outcome = replace(outcome, superseded=_load_accepted(con, file_id, cols, meta.centre_id))
        _append(con, "quarantine.rows", QUARANTINE_COLUMNS, result.rejected, {"file_id": file_id})
    _append(con, "ingest.issues", ISSUE_COLUMNS, result.issues, {"file_id": file_id})
    insert_file_row(con, file_id, meta, outcome, result.confirmed)
    return outcome


def load_file(con: duckdb.DuckDBPyConnection, file_id: int, meta: FileMeta, result) -> LoadOutcome:
    """Load a ``validators.ValidationResult`` whose ``accepted`` holds frames, atomically (fixtures,
    tools): the frames become the ``accepted_<entity>`` relations :func:`load_decided` reads (columns a
    frame lacks are NULL).  A file with ``result.file_error`` records the file as rejected with its
    issues and loads no row."""
    registered = []
    try:
        with _transaction(con):
            if result.file_error is not None:
                return load_decided(con, file_id, meta, result)
            columns = {}
            for entity, df in result.accepted.items():
                wanted = entity_columns(entity) + ["source_line", "warnings"]
                if not len(df):
                    df = pd.DataFrame({c: pd.Series(dtype="object") for c in wanted})
                columns[entity] = [c for c in wanted if c in df.columns]
                con.register(f"accepted_{entity}", df[columns[entity]])
                registered.append(f"accepted_{entity}")
            outcome = replace(plan_outcome(file_id, result), superseded=_load_accepted(con, file_id, columns))
            _append(con, "quarantine.rows", QUARANTINE_COLUMNS, result.rejected, {"file_id": file_id})
            _append(con, "ingest.issues", ISSUE_COLUMNS, result.issues, {"file_id": file_id})
            insert_file_row(con, file_id, meta, outcome, getattr(result, "confirmed", None))
            return outcome
    finally:
        for name in registered:
            con.unregister(name)


def record_file_error(con: duckdb.DuckDBPyConnection, file_id: int, meta: FileMeta, error,
                      rows_read: int = 0) -> LoadOutcome:
    """Record a file rejected before validation (unreadable, identifiers, no matching spec...)."""
    outcome = error_outcome(file_id, error, rows_read)
    with _transaction(con):
        issue = pd.DataFrame([{
            "source_line": getattr(error, "line", None), "entity": None, "patient_id": None,
            "record": None, "column_name": getattr(error, "column", None),
            "value": None if getattr(error, "code", "") == "direct_identifier" else
            (None if getattr(error, "value", None) is None else str(error.value)),
            "rule": getattr(error, "code", "file_rejected"), "severity": "file_error",
            "message": getattr(error, "message", str(error)), "expected": None,
            "fix": getattr(error, "hint", None),
        }])
        _append(con, "ingest.issues", ISSUE_COLUMNS, issue, {"file_id": file_id})
        insert_file_row(con, file_id, meta, outcome)
    return outcome
