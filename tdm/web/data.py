"""What the pages show, read from the lake read-only (``warehouse.lake.open_reader``), so a page
never waits for ingestion, never blocks it, and shows every file as soon as it commits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from base.config import Settings
from base.errors import QueryNotFound
from warehouse import queries as Q
from warehouse.lake import lake_exists, open_reader

FILE_COLUMNS = ("file_id, file_name, file_kind, received_at, processed_at, status, rows_read, rows_loaded, "
                "rows_warned, rows_rejected, message, error_code, report_path, duplicate_of_file_id")


def configured_centres(settings: Settings) -> list[str]:
    """Centre ids with a profile in the home (the only centres a URL may name)."""
    d = settings.centres_dir
    return sorted(p.stem for p in list(d.glob("*.yaml")) + list(d.glob("*.yml"))) if d.exists() else []


def _query(settings: Settings, sql: str, params: list | None = None) -> pd.DataFrame:
    return _on_lake(settings, lambda con: con.execute(sql, params or []).df(), pd.DataFrame())


def centre_files(settings: Settings, centre_id: str) -> list[dict]:
    """Every file received from a centre, newest first, with the report's file name for the link."""
    df = _query(settings, f"SELECT {FILE_COLUMNS} FROM ingest.files WHERE centre_id = ? "
                          "ORDER BY received_at DESC, file_id DESC", [centre_id])
    return [_file_record(r) for r in df.to_dict("records")]


def file_row(settings: Settings, centre_id: str, file_id: int) -> dict | None:
    """One ``ingest.files`` row, only if it belongs to ``centre_id``."""
    df = _query(settings, f"SELECT {FILE_COLUMNS} FROM ingest.files WHERE centre_id = ? AND file_id = ?",
                [centre_id, file_id])
    return _file_record(df.iloc[0].to_dict()) if len(df) else None


def _file_record(r: dict) -> dict:
    out = {k: (None if (not isinstance(v, (list, dict)) and pd.isna(v)) else v) for k, v in r.items()}
    for k in ("file_id", "rows_read", "rows_loaded", "rows_warned", "rows_rejected", "duplicate_of_file_id"):
        out[k] = None if out.get(k) is None else int(out[k])
    out["report_name"] = Path(out["report_path"]).name if out.get("report_path") else None
    return out


def publications(settings: Settings) -> list[dict]:
    """Every publication, newest first (id, creation time, patients, code version)."""
    df = _query(settings, "SELECT publication_id, created_at, code_version, n_patients, seed "
                          "FROM published.publications ORDER BY created_at DESC")
    return df.to_dict("records")


def publication_ids(settings: Settings) -> set[str]:
    return {p["publication_id"] for p in publications(settings)}


def _on_lake(settings: Settings, read, default):
    if not lake_exists(settings.lake):
        return default
    con = open_reader(settings.lake)
    try:
        return read(con)
    finally:
        con.close()


def centre_queries(settings: Settings, centre_id: str | None, states: list[str] | None = None,
                   file_id: int | None = None) -> list:
    """A centre's queries (every centre's when None), open first (:func:`warehouse.queries.list_queries`)."""
    return _on_lake(settings, lambda con: Q.list_queries(con, centre_id=centre_id, states=states,
                                                             file_id=file_id), [])


def query_and_trail(settings: Settings, centre_id: str, query_id: int):
    """(query, its audit trail), only if the query is ``centre_id``'s (else QueryNotFound)."""
    def read(con):
        return Q.get_query(con, query_id, centre_id=centre_id), Q.audit_trail(con, query_id, centre_id=centre_id)
    found = _on_lake(settings, read, None)
    if found is None:
        raise QueryNotFound(f"there is no query {query_id}", value=query_id)
    return found


def query_summary(settings: Settings) -> list[dict]:
    """Per centre: open / answered / closed counts and the age of the open ones."""
    return _on_lake(settings, lambda con: Q.open_query_summary(con).to_dict("records"), [])


__all__ = ["centre_queries", "query_and_trail", "query_summary", "configured_centres", "centre_files", "file_row", "publications", "publication_ids"]
