"""What a file does to its centre's queries (:mod:`warehouse.queries`), inside the load.

:func:`sync_file` runs in the loader's transaction for every file (loaded or rejected:
``warehouse.load.insert_file_row``), after its rows and issues are written: new
findings open queries, findings seen again keep theirs, queries about a record the file carried
without the finding close as superseded.  Set-wise: the file's findings and the centre's queries
are small frames; the file's rows are matched where they are, in DuckDB.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from schema.dictionary import ENTITIES
from schema.models import record_label_sql
from warehouse.keys import next_ids
from warehouse.queries import (ACCEPTED, ANSWERED, CLOSED, CONFIRMED, IDENTITY, OPEN, QUERY_COLUMNS, ROW_SCOPE,
                                   SUPERSEDED, SYSTEM_ACTOR, append_events, insert_frame, reopen_rows, stamp)

# file kinds with one line per patient carrying all of the patient's records (the canonical template)
WHOLE_PATIENT_KINDS = ("wide",)


def sync_file(con: duckdb.DuckDBPyConnection, file_id: int, confirmed: pd.DataFrame | None = None, *,
              now: dt.datetime | None = None) -> dict[str, int]:
    """Bring the queries up to date with file ``file_id`` (its ``ingest.files`` row, loaded rows and
    ``ingest.issues`` already written), inside the caller's transaction.

    ``confirmed``: the warnings validation left out because they were confirmed (same value).
    New findings open queries; findings seen again keep theirs (reopened if closed, or if a confirmed
    value changed); queries about a record this file carried without the finding are closed as
    superseded.  Returns counts of ``opened``, ``reopened``, ``closed``."""
    meta = con.execute("SELECT centre_id, file_kind, file_name, status FROM ingest.files WHERE file_id = ?",
                       [file_id]).fetchone()
    if meta is None or meta[3] == "duplicate":
        return {"opened": 0, "reopened": 0, "closed": 0}
    centre_id, kind, name = meta[0], meta[1], meta[2]
    now = stamp(now)
    found = _findings(con, file_id, kind, confirmed)
    known = con.execute(f"SELECT {', '.join(QUERY_COLUMNS)} FROM ingest.queries WHERE centre_id = ?",
                        [centre_id]).df()
    found["_k"], known["_k"] = _keys(found), _keys(known)
    m = found.merge(known[["_k", "query_id", "state", "answer", "answered_value", "closed_reason"]],
                    on="_k", how="left")
    new = m[m["query_id"].isna()]
    seen = m[m["query_id"].notna()].copy()
    seen["query_id"] = seen["query_id"].astype("int64")
    # seen again: a confirmed value that is the same stays as it is; anything else closed, or a
    # confirmed value that changed, reopens
    same_confirmed = (seen["answer"] == CONFIRMED) & (seen["value"].astype("object") == seen["answered_value"])
    reopen = ((seen["state"] == CLOSED) & ~(same_confirmed & (seen["closed_reason"] == ACCEPTED))) | \
             ((seen["state"] == ANSWERED) & (seen["answer"] == CONFIRMED) & ~same_confirmed)
    _insert_new(con, new, centre_id, file_id, name, now)
    _update_seen(con, seen, file_id, now)
    if reopen.any():
        r = seen[reopen]
        reopen_rows(con, r["query_id"].tolist(), now)
        changed = (r["answer"] == CONFIRMED) & (r["value"].astype("object") != r["answered_value"])
        text = pd.Series(f"found again in file {file_id} ({name})", index=r.index)
        text = text.where(~changed, "the confirmed value " + r["answered_value"].astype("str") + " is now "
                          + r["value"].astype("str") + f" in file {file_id} ({name})")
        append_events(con, r["query_id"], now, SYSTEM_ACTOR, "reopened", r["state"], OPEN, text, file_id)
    closed = _close_superseded(con, file_id, name, kind, found, known, now)
    return {"opened": len(new), "reopened": int(reopen.sum()), "closed": closed}


def _findings(con, file_id: int, kind: str | None, confirmed: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["entity", "patient_id", "record", "rule", "column_name", "severity", "value", "message", "expected",
            "fix", "source_line"]
    df = con.execute(f"SELECT {', '.join(cols)} FROM ingest.issues WHERE file_id = ? "
                     "ORDER BY source_line NULLS FIRST", [file_id]).df()
    if confirmed is not None and len(confirmed):
        df = pd.concat([df, confirmed.reindex(columns=cols)], ignore_index=True)
    df = df.astype({c: "object" for c in cols if c != "source_line"})
    df = df.where(df.notna(), None)
    # a finding without a patient (a whole-file one, or a line whose study number is missing) cannot be
    # followed to a record: it is about the file kind, and the next file of that kind settles it
    on_record = df["entity"].notna() & df["patient_id"].notna()
    df["scope"] = pd.Series(ROW_SCOPE, index=df.index, dtype="object").where(on_record, "file:" + (kind or ""))
    df["source_line"] = pd.to_numeric(df["source_line"], errors="coerce").astype("Int64")
    return df.drop_duplicates(subset=list(IDENTITY), keep="first").reset_index(drop=True)


def _keys(df: pd.DataFrame) -> pd.Series:
    if not len(df):
        return pd.Series([], dtype="str", index=df.index)
    parts = [df[c].astype("object").where(df[c].notna(), "\x00").astype("str") for c in IDENTITY]
    out = parts[0]
    for p in parts[1:]:
        out = out + "\x1f" + p
    return out


def _insert_new(con, new: pd.DataFrame, centre_id: str, file_id: int, name: str, now: dt.datetime) -> None:
    if not len(new):
        return
    ids = next_ids(con, "ingest.queries", "query_id", len(new))
    rows = new.assign(query_id=ids, centre_id=centre_id, first_file_id=file_id, last_file_id=file_id, state=OPEN,
                      opened_at=now, updated_at=now)
    cols = ["query_id", "centre_id", "scope", "entity", "patient_id", "record", "rule", "column_name", "severity",
            "value", "message", "expected", "fix", "first_file_id", "last_file_id", "source_line", "state",
            "opened_at", "updated_at"]
    insert_frame(con, "ingest.queries", rows[cols])
    where = pd.Series(f"found in file {file_id} ({name})", index=rows.index)
    line = rows["source_line"]
    where = where.where(line.isna(), where + ", line " + line.astype("str"))
    append_events(con, rows["query_id"], now, SYSTEM_ACTOR, "opened", None, OPEN, where, file_id)


def _update_seen(con, seen: pd.DataFrame, file_id: int, now: dt.datetime) -> None:
    if not len(seen):
        return
    cols = ["query_id", "severity", "value", "message", "expected", "fix", "source_line"]
    con.register("_seen", seen[cols])
    try:
        con.execute("UPDATE ingest.queries q SET last_file_id = ?, updated_at = ?, severity = s.severity, "
                    "value = s.value, message = s.message, expected = s.expected, fix = s.fix, "
                    "source_line = s.source_line FROM _seen s WHERE q.query_id = s.query_id", [file_id, now]).fetchall()
    finally:
        con.unregister("_seen")


def _close_superseded(con, file_id: int, name: str, kind: str | None, found: pd.DataFrame,
                      known: pd.DataFrame, now: dt.datetime) -> int:
    """Close the open or answered queries this file answers by carrying their record without them."""
    live = known[known["state"].isin([OPEN, ANSWERED]) & ~known["_k"].isin(found["_k"])]
    if not len(live):
        return 0
    row = live[live["scope"] == ROW_SCOPE]
    # A wide export carries each patient's whole record on their line: a patient's query is settled
    # by the patient's line even when the correction changed the record itself (a trough time).
    whole = kind in WHOLE_PATIENT_KINDS
    # carried by a finding of this file (another rule on the same record) ...
    have = found[found["entity"].notna()]
    by_finding = _pair(row, "record").isin(_pair(have, "record")) | \
        ((row["record"].isna() | whole) & _pair(row, None).isin(_pair(have, None)))
    # ... or by a row it loaded (matched where the rows are: a large file's rows never leave DuckDB)
    ids = set(row.loc[by_finding, "query_id"].astype("int64")) | _carried_by_rows(con, file_id, row[~by_finding],
                                                                                 whole)
    file_scope = live[(live["scope"] != ROW_SCOPE) & live["scope"].isin([f"file:{kind or ''}", "file:"])]
    ids |= set(file_scope["query_id"].astype("int64"))
    if not ids:
        return 0
    ids = pd.Series(sorted(ids), dtype="int64")
    states = known.set_index("query_id").loc[ids, "state"]
    con.register("_ids", pd.DataFrame({"query_id": ids.to_numpy()}))
    try:
        con.execute("UPDATE ingest.queries SET state = ?, closed_reason = ?, closed_by_file_id = ?, updated_at = ? "
                    "WHERE query_id IN (SELECT query_id FROM _ids)", [CLOSED, SUPERSEDED, file_id, now]).fetchall()
    finally:
        con.unregister("_ids")
    append_events(con, ids, now, SYSTEM_ACTOR, "closed", states.to_numpy(), CLOSED,
            f"superseded: file {file_id} ({name}) carried the record without this finding", file_id)
    return len(ids)


def _carried_by_rows(con, file_id: int, row: pd.DataFrame, whole: bool) -> set[int]:
    """Ids of the row queries whose record (without a record, or with ``whole``: whose patient's rows
    of that entity) this file loaded."""
    out: set[int] = set()
    for entity, qs in row.groupby("entity"):
        e = ENTITIES[str(entity)]
        con.register("_live", qs[["query_id", "patient_id", "record"]].astype({"query_id": "int64"}))
        try:
            hits = con.execute(
                f"SELECT q.query_id FROM _live q WHERE EXISTS (SELECT 1 FROM core.{e.table} r WHERE r.file_id = ? "
                f"AND r.patient_id = q.patient_id AND (? OR q.record IS NULL OR {record_label_sql(str(entity), 'r')} "
                "= q.record))", [file_id, whole]).fetchall()
        finally:
            con.unregister("_live")
        out |= {int(h[0]) for h in hits}
    return out


def _pair(df: pd.DataFrame, record: str | None) -> pd.MultiIndex:
    cols = ["entity", "patient_id"] + ([record] if record else [])
    return pd.MultiIndex.from_arrays([df[c].astype("object").where(df[c].notna(), "\x00").astype("str")
                                      for c in cols])


__all__ = ["sync_file"]
