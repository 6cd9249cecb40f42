"""What the pages show, read from the analysts' read-only snapshot (never the writer's file), so a
page never waits for ingestion and never blocks it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tdm.config import Settings
from tdm.warehouse.connection import open_reader

FILE_COLUMNS = ("file_id, file_name, file_kind, received_at, processed_at, status, rows_read, rows_loaded, "
                "rows_warned, rows_rejected, message, error_code, report_path, duplicate_of_file_id")


def configured_centres(settings: Settings) -> list[str]:
    """Centre ids with a profile in the home (the only centres a URL may name)."""
    d = settings.centres_dir
    return sorted(p.stem for p in list(d.glob("*.yaml")) + list(d.glob("*.yml"))) if d.exists() else []


def _query(settings: Settings, sql: str, params: list | None = None) -> pd.DataFrame:
    if not settings.snapshot.exists():
        return pd.DataFrame()
    con = open_reader(settings.snapshot)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


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


__all__ = ["configured_centres", "centre_files", "file_row", "publications", "publication_ids"]
