"""Data-clarification queries: every error and warning of a file, followed across resubmissions.

A query is one finding (centre, patient, record, rule, column) and lives in ``ingest.queries``:

``open``      found in a file, nobody answered yet
``answered``  a data manager confirmed the value as true (``confirmed``, with a reason) or said it
              ``will_correct`` it
``closed``    a later file carried the record without the finding (``superseded``), or the study
              coordinator ``accepted`` the answer

Every change is a row of ``ingest.query_events`` (who, when, old and new state, reason, file),
which is only ever appended to.  ``query_sync.sync_file`` is what a newly loaded (or rejected) file does
to the queries, inside the loader's transaction (:mod:`warehouse.query_sync`); the writers here (:func:`answer_query`,
:func:`close_query`, :func:`reopen_query`) each run in their own transaction on a writer
connection, readers take any connection (the read-only snapshot for pages and listings).

A confirmed value hides exactly that finding in later files (:func:`confirmed_findings` feeds
``ValidationContext.reviews``); when a later file has another value the query reopens.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import duckdb
import pandas as pd

from base.errors import QueryNotFound, QueryStateError, TdmError
from warehouse.connection import transaction as _transaction
from warehouse.keys import next_ids
from warehouse.lake import open_writer

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"
STATES = (OPEN, ANSWERED, CLOSED)
CONFIRMED, WILL_CORRECT = "confirmed", "will_correct"
ANSWERS = (CONFIRMED, WILL_CORRECT)
SUPERSEDED, ACCEPTED = "superseded", "accepted"
SYSTEM_ACTOR = "tdm ingest"
# A query's identity: what it is about, whatever file it was found in.
IDENTITY = ("scope", "entity", "patient_id", "record", "rule", "column_name")
ROW_SCOPE = "row"

Answer = Literal["confirmed", "will_correct"]
State = Literal["open", "answered", "closed"]


@dataclass(frozen=True)
class Query:
    """One query as stored in ``ingest.queries`` (see the table's column comments)."""

    query_id: int
    centre_id: str
    scope: str                  # "row", or "file:<kind>" (a whole-file finding, or one without a patient)
    entity: str | None
    patient_id: str | None
    record: str | None
    rule: str
    column_name: str | None
    severity: str
    value: str | None
    message: str
    expected: str | None
    fix: str | None
    first_file_id: int
    last_file_id: int
    source_line: int | None
    state: str
    answer: str | None
    answer_reason: str | None
    answered_value: str | None
    answered_by: str | None
    answered_at: dt.datetime | None
    closed_reason: str | None
    closed_by_file_id: int | None
    opened_at: dt.datetime
    updated_at: dt.datetime

    def age_days(self, now: dt.datetime | None = None) -> float:
        """Days since the query was (last) opened."""
        return ((now or dt.datetime.now()) - self.opened_at).total_seconds() / 86400.0


@dataclass(frozen=True)
class QueryEvent:
    """One audit row of ``ingest.query_events``."""

    event_id: int
    query_id: int
    event_at: dt.datetime
    actor: str
    action: str
    old_state: str | None
    new_state: str
    reason: str
    file_id: int | None


QUERY_COLUMNS = [f.name for f in fields(Query)]
_EVENT_COLUMNS = [f.name for f in fields(QueryEvent)]


def _none(v):
    return None if v is None or (isinstance(v, float) and v != v) or v is pd.NaT else v


def _as_query(row: tuple) -> Query:
    return Query(*[_none(v) for v in row])


# ------------------------------------------------------------------------------------------ reading
def list_queries(con: duckdb.DuckDBPyConnection, *, centre_id: str | None = None, file_id: int | None = None,
                 states: Sequence[str] | str | None = None, patient_id: str | None = None,
                 rule: str | None = None, column_name: str | None = None, record: str | None = None,
                 severity: str | None = None) -> list[Query]:
    """Queries matching every filter given, open ones first, oldest first.

    ``file_id`` selects the queries found in that file (first or latest) or closed by it."""
    where, params = [], []
    for col, val in (("centre_id", centre_id), ("patient_id", patient_id), ("rule", rule),
                     ("column_name", column_name), ("record", record), ("severity", severity)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    if file_id is not None:
        where.append("(first_file_id = ? OR last_file_id = ? OR closed_by_file_id = ? OR query_id IN "
                     "(SELECT query_id FROM ingest.query_events WHERE file_id = ?))")
        params += [file_id] * 4
    if states is not None:
        states = [states] if isinstance(states, str) else list(states)
        _check_states(states)
        where.append(f"state IN ({', '.join('?' * len(states))})")
        params += states
    sql = f"SELECT {', '.join(QUERY_COLUMNS)} FROM ingest.queries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY CASE state WHEN 'open' THEN 0 WHEN 'answered' THEN 1 ELSE 2 END, opened_at, query_id"
    return [_as_query(r) for r in con.execute(sql, params).fetchall()]


def get_query(con: duckdb.DuckDBPyConnection, query_id: int, *, centre_id: str | None = None) -> Query:
    """The query ``query_id``; with ``centre_id``, only if it is that centre's (else QueryNotFound,
    so a centre cannot tell another centre's query from a missing one)."""
    row = con.execute(f"SELECT {', '.join(QUERY_COLUMNS)} FROM ingest.queries WHERE query_id = ?",
                      [int(query_id)]).fetchone()
    if row is None or (centre_id is not None and row[1] != centre_id):
        where = f" of centre '{centre_id}'" if centre_id else ""
        raise QueryNotFound(f"there is no query {query_id}{where}", value=query_id,
                            hint="list the queries with 'tdm queries list --centre <centre>'")
    return _as_query(row)


def audit_trail(con: duckdb.DuckDBPyConnection, query_id: int, *, centre_id: str | None = None) -> list[QueryEvent]:
    """Every change of one query, in the order made (checks the query exists and, if given, its centre)."""
    get_query(con, query_id, centre_id=centre_id)
    rows = con.execute(f"SELECT {', '.join(_EVENT_COLUMNS)} FROM ingest.query_events WHERE query_id = ? "
                       "ORDER BY event_id", [int(query_id)]).fetchall()
    return [QueryEvent(*[_none(v) for v in r]) for r in rows]


def open_query_summary(con: duckdb.DuckDBPyConnection, *, centre_id: str | None = None,
                       now: dt.datetime | None = None) -> pd.DataFrame:
    """Per centre: ``open``, ``answered`` (awaiting the coordinator), ``closed`` counts and the age in
    days of the open ones (``oldest_open_days``, ``median_open_days``; NaN without open queries)."""
    now = now or dt.datetime.now()
    sql = ("SELECT centre_id, count(*) FILTER (state = 'open') AS open, "
           "count(*) FILTER (state = 'answered') AS answered, count(*) FILTER (state = 'closed') AS closed, "
           "max(date_diff('second', opened_at, ?::TIMESTAMP)) FILTER (state = 'open') / 86400.0 AS oldest_open_days, "
           "median(date_diff('second', opened_at, ?::TIMESTAMP)) FILTER (state = 'open') / 86400.0 "
           "AS median_open_days FROM ingest.queries")
    params: list = [now, now]
    if centre_id is not None:
        sql += " WHERE centre_id = ?"
        params.append(centre_id)
    df = con.execute(sql + " GROUP BY centre_id ORDER BY centre_id", params).df()
    for c in ("open", "answered", "closed"):
        df[c] = df[c].astype("int64")
    return df


def confirmed_findings(con: duckdb.DuckDBPyConnection, centre_id: str) -> pd.DataFrame:
    """The findings of ``centre_id`` confirmed as true values (answered, or accepted by the
    coordinator), in the shape of ``ValidationContext.reviews``: a later warning matching one
    exactly is not reported again."""
    return con.execute(
        "SELECT centre_id, entity, patient_id, record, rule, column_name, answered_value AS value "
        "FROM ingest.queries WHERE centre_id = ? AND answer = 'confirmed' AND "
        "(state = 'answered' OR (state = 'closed' AND closed_reason = 'accepted'))", [centre_id]).df()


# ------------------------------------------------------------------------------------------ writing
@contextlib.contextmanager
def write_session(settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short writer connection on the lake (readers see each committed change at once).  Raises
    WarehouseBusy while an ingestion holds the writers' lock beyond its wait."""
    with open_writer(settings.lake, home=settings.home, memory_limit=settings.limits.writer_memory_limit) as con:
        yield con


def answer_query(con: duckdb.DuckDBPyConnection, query_id: int, *, answer: Answer, reason: str, actor: str,
                 centre_id: str | None = None, now: dt.datetime | None = None) -> Query:
    """A data manager answers an open query: ``confirmed`` (the value is true; warnings only) or
    ``will_correct`` (a corrected file will follow).  An answered query may be answered again."""
    reason, actor = _required(reason, "reason"), _required(actor, "actor")
    if answer not in ANSWERS:
        raise QueryStateError(f"'{answer}' is not an answer", value=answer, hint=f"use one of: {', '.join(ANSWERS)}")
    q = get_query(con, query_id, centre_id=centre_id)
    if q.state == CLOSED:
        raise QueryStateError(f"query {q.query_id} is closed ({q.closed_reason}); nothing to answer",
                              value=q.query_id, hint="a closed query reopens by itself if a later file has the finding")
    if answer == CONFIRMED and q.severity != "warning":
        raise QueryStateError(
            f"query {q.query_id} is an {q.severity.replace('_', ' ')}: the line was not loaded, so there is no value "
            "to confirm", value=q.query_id, hint="answer 'will_correct' and send a corrected file")
    now = stamp(now)
    with _transaction(con):
        con.execute("UPDATE ingest.queries SET state = ?, answer = ?, answer_reason = ?, answered_value = ?, "
                    "answered_by = ?, answered_at = ?, updated_at = ? WHERE query_id = ?",
                    [ANSWERED, answer, reason, q.value if answer == CONFIRMED else None, actor, now, now, q.query_id])
        text = (f"confirmed as a true value ({q.value}): {reason}" if answer == CONFIRMED
                else f"will be corrected: {reason}")
        _event(con, q.query_id, now, actor, "answered", q.state, ANSWERED, text)
    return get_query(con, q.query_id)


def close_query(con: duckdb.DuckDBPyConnection, query_id: int, *, reason: str, actor: str,
                now: dt.datetime | None = None) -> Query:
    """The study coordinator accepts an answered query's answer and closes it."""
    reason, actor = _required(reason, "reason"), _required(actor, "actor")
    q = get_query(con, query_id)
    if q.state != ANSWERED:
        raise QueryStateError(f"query {q.query_id} is {q.state}; only an answered query can be closed",
                              value=q.query_id, hint="wait for the centre's answer, or a corrected file")
    now = stamp(now)
    with _transaction(con):
        con.execute("UPDATE ingest.queries SET state = ?, closed_reason = ?, updated_at = ? WHERE query_id = ?",
                    [CLOSED, ACCEPTED, now, q.query_id])
        _event(con, q.query_id, now, actor, "closed", q.state, CLOSED, f"answer accepted: {reason}")
    return get_query(con, q.query_id)


def reopen_query(con: duckdb.DuckDBPyConnection, query_id: int, *, reason: str, actor: str,
                 centre_id: str | None = None, now: dt.datetime | None = None) -> Query:
    """Revoke an answer (or an acceptance): the query is open again and its value no longer hidden.
    A query closed by a corrected file cannot be reopened by hand (nothing is left to answer)."""
    reason, actor = _required(reason, "reason"), _required(actor, "actor")
    q = get_query(con, query_id, centre_id=centre_id)
    if q.state == OPEN or q.closed_reason == SUPERSEDED:
        why = "already open" if q.state == OPEN else "closed by a corrected file"
        raise QueryStateError(f"query {q.query_id} is {why}; there is no answer to revoke", value=q.query_id)
    now = stamp(now)
    with _transaction(con):
        reopen_rows(con, [q.query_id], now)
        _event(con, q.query_id, now, actor, "revoked", q.state, OPEN, reason)
    return get_query(con, q.query_id)


# ------------------------------------------------------------------------------------------ helpers
def reopen_rows(con, ids: list[int], now: dt.datetime) -> None:
    con.register("_ids", pd.DataFrame({"query_id": pd.Series(ids, dtype="int64")}))
    try:
        con.execute("UPDATE ingest.queries SET state = ?, answer = NULL, answer_reason = NULL, answered_value = NULL, "
                    "answered_by = NULL, answered_at = NULL, closed_reason = NULL, closed_by_file_id = NULL, "
                    "opened_at = ?, updated_at = ? WHERE query_id IN (SELECT query_id FROM _ids)",
                    [OPEN, now, now]).fetchall()
    finally:
        con.unregister("_ids")


def _event(con, query_id: int, at, actor, action, old_state, new_state, reason, file_id=None) -> None:
    append_events(con, pd.Series([query_id]), at, actor, action, [old_state], new_state, reason, file_id)


def append_events(con, ids, at, actor, action, old_state, new_state, reason, file_id) -> None:
    """Append audit rows: the only statement ever run on ``ingest.query_events`` (here and by
    :mod:`warehouse.query_sync`)."""
    ids = pd.Series(ids).astype("int64").to_numpy()
    frame = pd.DataFrame({"event_id": next_ids(con, "ingest.query_events", "event_id", len(ids)),
                          "query_id": ids, "event_at": at, "actor": actor, "action": action,
                          "old_state": pd.Series(old_state if not isinstance(old_state, str) and old_state is not None
                                                 else [old_state] * len(ids), dtype="object").to_numpy(),
                          "new_state": new_state,
                          "reason": pd.Series(reason).to_numpy() if not isinstance(reason, str) else reason,
                          "file_id": pd.Series([file_id] * len(ids), dtype="Int64").to_numpy()})
    insert_frame(con, "ingest.query_events", frame)


def insert_frame(con, table: str, frame: pd.DataFrame) -> None:
    con.register("_rows", frame)
    try:
        cols = ", ".join(frame.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows").fetchall()
    finally:
        con.unregister("_rows")


def _required(text: str | None, what: str) -> str:
    if text is None or not str(text).strip():
        raise TdmError(f"a {what} is required", code="query_incomplete", hint=f"give a non-empty {what}")
    return str(text).strip()


def _check_states(states: Sequence[str]) -> None:
    bad = [s for s in states if s not in STATES]
    if bad:
        raise QueryStateError(f"unknown query state(s): {', '.join(bad)}", value=bad[0],
                              hint=f"use one of: {', '.join(STATES)}")


def stamp(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now()).replace(microsecond=0)


__all__ = ["Query", "QueryEvent", "STATES", "ANSWERS", "OPEN", "ANSWERED", "CLOSED", "CONFIRMED", "WILL_CORRECT",
           "SUPERSEDED", "ACCEPTED", "list_queries", "get_query", "audit_trail", "open_query_summary",
           "confirmed_findings", "write_session", "answer_query", "close_query", "reopen_query",
           "IDENTITY", "ROW_SCOPE", "SYSTEM_ACTOR", "QUERY_COLUMNS", "append_events", "insert_frame", "reopen_rows",
           "stamp"]
