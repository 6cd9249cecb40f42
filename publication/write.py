"""Writing a publication: the folder (CSV, PNG, HTML, PDF, JSON) and, in one transaction, its rows.

The folder is built under a temporary name and renamed into place inside the warehouse
transaction, so a publication is either complete on disk and in ``published.*`` or absent from both.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from base.config import Settings
from warehouse.lake import open_writer


def jsonable(v):
    """A JSON-safe scalar: NaN/NA -> None, inf -> "inf", timestamps -> ISO text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return v.isoformat()
    return v if isinstance(v, (int, str)) else str(v)


def table_json_rows(df: pd.DataFrame) -> list[str]:
    """One JSON object per row, full float precision (NaN -> null, inf -> "inf")."""
    cols = [str(c) for c in df.columns]
    return [json.dumps(dict(zip(cols, (jsonable(v) for v in r))), ensure_ascii=False)
            for r in df.itertuples(index=False, name=None)]


def stage_folder(settings: Settings, pub_id: str) -> Path:
    """An empty temporary folder for the publication's files (next to where it will live)."""
    settings.published.mkdir(parents=True, exist_ok=True)
    tmp = settings.published / f".tmp-{pub_id}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def write_files(tmp: Path, *, tables: dict[str, pd.DataFrame], skipped, figures: dict[str, bytes], html: str,
                manifest: dict) -> None:
    """CSV tables (full precision, machine names), not_computed.csv, PNG figures, report.html, publication.json."""
    for name, t in tables.items():
        t.to_csv(tmp / f"{name}.csv", index=False)
    if skipped:
        pd.DataFrame(list(skipped)).to_csv(tmp / "not_computed.csv", index=False)
    for name, png in figures.items():
        (tmp / f"{name}.png").write_bytes(png)
    (tmp / "report.html").write_text(html, encoding="utf-8")
    (tmp / "publication.json").write_text(json.dumps(manifest, indent=2, default=jsonable), encoding="utf-8")


def commit(settings: Settings, tmp: Path, *, pub_id: str, created: dt.datetime, version: str, checksums: list[str],
           parameters: dict, seed: int, n_patients: int, tables: dict[str, pd.DataFrame], skipped,
           lake_snapshot: int | None = None) -> Path:
    """Insert the publication and its rows and move ``tmp`` into place, all or nothing."""
    folder = settings.published / pub_id
    rows = [(pub_id, name, i, js) for name, t in tables.items() for i, js in enumerate(table_json_rows(t), start=1)]
    rows += [(pub_id, "not_computed", i, json.dumps(s, ensure_ascii=False)) for i, s in enumerate(skipped, start=1)]
    rows_df = pd.DataFrame(rows, columns=["publication_id", "table_name", "row_number", "row_json"])
    rows_df["row_number"] = rows_df["row_number"].astype("int32")
    try:
        with open_writer(settings.lake, home=settings.home,
                         memory_limit=settings.limits.writer_memory_limit) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(
                    "INSERT INTO published.publications (publication_id, created_at, code_version, data_snapshot, "
                    "parameters, seed, n_patients, folder, lake_snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [pub_id, created.replace(tzinfo=None), version, json.dumps(checksums),
                     json.dumps(parameters, sort_keys=True), seed, n_patients, str(folder), lake_snapshot])
                con.register("_pub_rows", rows_df)
                con.execute("INSERT INTO published.tables (publication_id, table_name, row_number, row_json) "
                            "SELECT publication_id, table_name, row_number, row_json FROM _pub_rows")
                con.unregister("_pub_rows")
                tmp.rename(folder)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                if folder.exists() and not tmp.exists():
                    folder.rename(tmp)
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
