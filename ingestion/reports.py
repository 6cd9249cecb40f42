"""Writing the validation reports (the I/O half; the renderers are :mod:`validators.report`).

Layout under the home's ``reports/`` folder::

    reports/<centre>/<stem>.html   the data managers' page for one file
    reports/<centre>/<stem>.csv    every issue (formulas neutralised)
    reports/<centre>/<stem>.json   metadata, counts, rules, issues
    reports/<centre>/index.html    every file received, newest first
    reports/<centre>/scorecard.html (``tdm scorecard``)

Every file is written to a temporary name and moved into place, so a reader never sees half a page.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd

from schema.dictionary import ENTITIES
from warehouse.lake import lake_exists, open_reader
from warehouse.load import error_outcome, plan_outcome
from validators.report import ReportMeta, Supersedes, issues_csv, render_html, report_json
from validators.report_index import INDEX_COLUMNS, render_index
from validators.resubmission import resubmission_diff
from validators.scorecard import build_scorecard, render_scorecard_html


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _stem(meta: ReportMeta) -> str:
    base = Path(meta.file_name).stem
    return f"{meta.file_id:06d}-{base}" if meta.file_id is not None else f"{base}-{meta.checksum[:10]}"


def write_file_report(result, meta: ReportMeta, reports_dir: Path, stem: str | None = None) -> Path:
    """Write HTML + CSV + JSON under ``reports_dir/<centre>/``; returns the HTML path."""
    return _write_into(Path(reports_dir) / meta.centre_id, result, meta, stem or _stem(meta))


def write_index(centre_id: str, files_df: pd.DataFrame, reports_dir: Path, notice: str | None = None) -> Path:
    """Write ``reports_dir/<centre>/index.html`` listing ``files_df`` (ingest.files rows) newest first."""
    path = Path(reports_dir) / centre_id / "index.html"
    _atomic_write(path, render_index(files_df, centre_id, notice))
    return path


def write_held_notice(settings, centre_id: str, notice: str) -> Path:
    """Refresh a centre's index with ``notice`` on top (its profile is invalid; its files wait)."""
    files, _, _ = _snapshot_frames(settings, centre_id, None)
    return write_index(centre_id, files, settings.reports, notice)


# ------------------------------------------------------------------------------- the lead's entry point
def _snapshot_frames(settings, centre_id: str, file_kind: str | None,
                     con=None) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """(files of the centre, quarantine rows of the previous file of the same kind, its ingest.files row),
    read through ``con`` (the writer's, which sees what a reader would: nothing of the file is written
    before its report) or else a reader of its own (each lake connection costs ~0.4 s CPU)."""
    empty = pd.DataFrame(columns=INDEX_COLUMNS)
    if con is not None:
        return _frames(con, centre_id, file_kind)
    if not lake_exists(settings.lake):
        return empty, None, {}
    con = open_reader(settings.lake)
    try:
        return _frames(con, centre_id, file_kind)
    finally:
        con.close()


def _frames(con, centre_id: str, file_kind: str | None) -> tuple[pd.DataFrame, pd.DataFrame | None, dict]:
    """The centre's ingest.files rows, and the quarantine rows and row of its previous file of ``file_kind``."""
    files = con.execute(
        "SELECT f.file_id, f.file_name, f.file_kind, f.received_at, f.status, f.rows_read, f.rows_loaded, "
        "f.rows_warned, f.rows_rejected, f.message, f.report_path FROM ingest.files f WHERE f.centre_id = ? "
        "ORDER BY f.received_at DESC, f.file_id DESC", [centre_id]).df()
    prev = files[(files["file_kind"].astype("object") == file_kind) & (files["status"] != "duplicate")] \
        if file_kind else files.iloc[0:0]
    if not len(prev):
        return files, None, {}
    p = prev.iloc[0].to_dict()
    rows = con.execute("SELECT entity, source_line, centre_id, patient_id, record_json, reasons "
                       "FROM quarantine.rows WHERE file_id = ?", [int(p["file_id"])]).df()
    return files, rows, p


def write_file_report_for(settings, meta, outcome, prepared, stem: str, con=None) -> Path:
    """Write one file's report and refresh its centre's index (called by ``ingestion.commit``).

    ``meta`` is the loader's ``FileMeta``, ``outcome`` the planned ``LoadOutcome`` and ``prepared``
    the read/validate stage's ``Prepared`` (its ``result`` is None when the file failed earlier).
    When an earlier file of the same centre and kind had quarantined rows, the report shows what
    this file changed (:func:`validators.resubmission.resubmission_diff`).
    """
    result = getattr(prepared, "result", None)
    error = getattr(prepared, "error", None)
    message = getattr(outcome, "message", None) or (str(error) if error is not None else None)
    if con is not None:     # the writer's: a failure here is the file's (its transaction is aborted)
        files, prev_rows, prev = _snapshot_frames(settings, meta.centre_id, getattr(meta, "file_kind", None), con)
    else:
        try:
            files, prev_rows, prev = _snapshot_frames(settings, meta.centre_id, getattr(meta, "file_kind", None))
        except Exception:  # the report must not fail because the snapshot is unavailable
            files, prev_rows, prev = pd.DataFrame(columns=INDEX_COLUMNS), None, {}
    supersedes = None
    if result is not None and prev and getattr(outcome, "status", "") != "duplicate":
        diff = resubmission_diff(prev_rows if prev_rows is not None else pd.DataFrame(), result)
        same_name = prev.get("file_name") == meta.file_name
        if same_name or diff.newly_accepted or diff.still_rejected:
            received = prev.get("received_at")
            supersedes = Supersedes(previous_file_id=int(prev["file_id"]), previous_file_name=prev.get("file_name"),
                                    previous_received_at=None if pd.isna(received) else received, diff=diff)
    rmeta = ReportMeta(
        centre_id=meta.centre_id, file_name=meta.file_name, file_id=getattr(outcome, "file_id", None),
        checksum=meta.checksum_sha256, size=meta.size_bytes, received_at=meta.received_at,
        status=getattr(outcome, "status", "validated"), file_kind=getattr(meta, "file_kind", None),
        message=message, error_code=getattr(outcome, "error_code", None), supersedes=supersedes,
    )
    html = write_file_report(result, rmeta, settings.reports, stem)
    current = pd.DataFrame([{
        "file_id": rmeta.file_id, "file_name": meta.file_name, "file_kind": rmeta.file_kind,
        "received_at": meta.received_at, "status": rmeta.status,
        "rows_read": getattr(outcome, "rows_read", None), "rows_loaded": getattr(outcome, "rows_loaded", None),
        "rows_warned": getattr(outcome, "rows_warned", None), "rows_rejected": getattr(outcome, "rows_rejected", None),
        "message": message, "report_path": str(html),
    }])
    if len(files):
        files = files[files["file_id"] != rmeta.file_id]
        # mark the earlier file this one supersedes
        if supersedes is not None:
            files = files.copy()
            files["superseded_by"] = None
            files.loc[files["file_id"] == supersedes.previous_file_id, "superseded_by"] = \
                f"{meta.file_name} (#{rmeta.file_id})"
    all_files = pd.concat([current, files], ignore_index=True) if len(files) else current
    write_index(meta.centre_id, all_files, settings.reports)
    return html


def write_dry_run_report(settings, prepared, out_dir: Path | None = None) -> Path:
    """Write the report a dry run (``tdm centres --file``) would give, under ``out_dir`` (default:
    ``reports/<centre>/dry-run/``); the centre's index is not touched."""
    cand = prepared.candidate
    result = getattr(prepared, "result", None)
    outcome = plan_outcome(None, result) if result is not None else error_outcome(None, prepared.error,
                                                                                  prepared.rows_read)
    meta = ReportMeta(centre_id=cand.centre_id, file_name=cand.path.name, checksum=prepared.checksum,
                      size=cand.size_bytes, received_at=dt.datetime.fromtimestamp(cand.mtime).replace(microsecond=0),
                      status=outcome.status, file_kind=prepared.file_kind, message=outcome.message,
                      error_code=outcome.error_code, dry_run=True)
    folder = Path(out_dir) if out_dir is not None else settings.reports / cand.centre_id / "dry-run"
    stem = f"{Path(cand.path.name).stem}-{(prepared.checksum or 'unread')[:10]}"
    return _write_into(folder, result, meta, stem)


def _write_into(folder: Path, result, meta: ReportMeta, stem: str) -> Path:
    meta = replace(meta, csv_name=f"{stem}.csv", json_name=f"{stem}.json")
    _atomic_write(folder / f"{stem}.csv", issues_csv(result, meta))
    _atomic_write(folder / f"{stem}.json", report_json(result, meta))
    html = folder / f"{stem}.html"
    _atomic_write(html, render_html(result, meta))
    return html


def write_scorecard(settings, centre_id: str, out_dir: Path | None = None, now: dt.datetime | None = None) -> Path:
    """Read one centre's state from the snapshot and write its scorecard HTML."""
    con = open_reader(settings.lake)
    try:
        tables = {}
        for ent, e in ENTITIES.items():
            tables[ent] = con.execute(f"SELECT * FROM core.{e.table} WHERE is_current AND centre_id = ?",
                                      [centre_id]).df()
        files = con.execute("SELECT * FROM ingest.files WHERE centre_id = ?", [centre_id]).df()
        issues = con.execute(
            "SELECT i.file_id, i.source_line, i.rule, i.severity FROM ingest.issues i "
            "JOIN ingest.files f USING (file_id) WHERE f.centre_id = ?", [centre_id]).df()
        queries = con.execute("SELECT state, answer, opened_at FROM ingest.queries WHERE centre_id = ?",
                              [centre_id]).df()
    finally:
        con.close()
    card = build_scorecard(centre_id, tables, files, issues, queries, now=now)
    path = Path(out_dir or settings.reports / centre_id) / "scorecard.html"
    if out_dir is not None:
        path = Path(out_dir) / f"scorecard-{centre_id}.html"
    _atomic_write(path, render_scorecard_html(card))
    return path


__all__ = ["write_file_report", "write_index", "write_held_notice", "write_file_report_for", "write_dry_run_report",
           "write_scorecard"]
