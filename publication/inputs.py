"""What a publication reads from the lake (one read-only snapshot): the cohort, its source files, earlier cut-offs."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from analytics.drift import CUTOFF_HISTORY_COLUMNS, cutoff_history
from base.config import Settings
from publication.study import PRIMARY_OUTCOME, PublicationParameters
from warehouse.lake import current_snapshot, open_reader

# The files the cohort's current rows came from (the data snapshot), with what a reader audits.
_SOURCE_FILES_SQL = """
WITH ids AS (
  SELECT patient_file_id AS fid FROM analysis.cohort
  UNION SELECT assessment_file_id FROM analysis.cohort
  UNION SELECT elisa_file_id FROM analysis.cohort
  UNION SELECT l.file_id FROM core.lab_results l
        JOIN analysis.cohort c ON c.centre_id = l.centre_id AND c.patient_id = l.patient_id
        WHERE l.is_current
)
SELECT DISTINCT f.checksum_sha256 AS checksum, f.centre_id, f.file_name, f.received_at, f.rows_loaded
FROM ingest.files f JOIN ids ON f.file_id = ids.fid ORDER BY f.checksum_sha256"""

SOURCE_FILE_COLUMNS = ("checksum", "centre_id", "file_name", "received_at", "rows_loaded")


@dataclass(frozen=True)
class Inputs:
    """The cohort, its source files (one row per file, :data:`SOURCE_FILE_COLUMNS`) and the
    earlier publications' cut-off history (None before the first publication)."""

    cohort: pd.DataFrame
    source_files: pd.DataFrame
    history: pd.DataFrame | None
    lake_snapshot: int | None = None     # the lake snapshot all of it was read from

    @property
    def checksums(self) -> list[str]:
        return [str(c) for c in self.source_files["checksum"]]


def read_inputs(settings: Settings, snapshot_version: int | None = None) -> Inputs:
    """Cohort, source files and the earlier publications' cut-off history, all from one lake
    snapshot: the latest, or ``snapshot_version`` (a publication recomputed as of its data).

    The history is :func:`analytics.drift.cutoff_history` rows built from every earlier
    publication's stored ``roc_summary`` and ``bootstrap_cutoffs`` rows and its recorded target
    specificity; empty when no publication had an ROC summary.
    """
    con = open_reader(settings.lake, snapshot_version=snapshot_version)
    try:
        snapshot = current_snapshot(con)
        cohort = con.execute("SELECT * FROM analysis.cohort ORDER BY centre_id, patient_id").df()
        files = con.execute(_SOURCE_FILES_SQL).df()
        pubs = con.execute("SELECT publication_id, created_at, parameters FROM published.publications "
                           "ORDER BY created_at, publication_id").fetchall()
        rows = con.execute("SELECT publication_id, table_name, row_json FROM published.tables WHERE table_name IN "
                           "('roc_summary', 'bootstrap_cutoffs') ORDER BY publication_id, table_name, "
                           "row_number").fetchall()
    finally:
        con.close()
    if not pubs:
        return Inputs(cohort, files, None, snapshot)
    by_pub: dict[tuple[str, str], list[dict]] = {}
    for pid, name, js in rows:
        by_pub.setdefault((pid, name), []).append(json.loads(js))
    parts = []
    for pid, created, params_json in pubs:
        roc = by_pub.get((pid, "roc_summary"))
        if not roc:
            continue
        boot = by_pub.get((pid, "bootstrap_cutoffs"))
        target = (json.loads(params_json) if params_json else {}).get(
            "target_specificity", PublicationParameters.target_specificity)
        parts.append(cutoff_history(pd.DataFrame(roc), pd.DataFrame(boot) if boot else None, publication_id=pid,
                                    created_at=created, target_specificity=target, bootstrap_outcome=PRIMARY_OUTCOME))
    history = (pd.concat(parts, ignore_index=True) if parts
               else pd.DataFrame(columns=list(CUTOFF_HISTORY_COLUMNS)))
    return Inputs(cohort, files, history, snapshot)


def latest_table(settings: Settings, table_name: str) -> tuple[str | None, pd.DataFrame]:
    """The latest publication's id and one of its tables (from the read snapshot)."""
    con = open_reader(settings.lake)
    try:
        prev = con.execute("SELECT publication_id FROM published.publications "
                           "ORDER BY created_at DESC, publication_id DESC LIMIT 1").fetchone()
        if not prev:
            return None, pd.DataFrame()
        rows = con.execute("SELECT row_json FROM published.tables WHERE publication_id = ? AND table_name = ? "
                           "ORDER BY row_number", [prev[0], table_name]).fetchall()
    finally:
        con.close()
    return prev[0], pd.DataFrame([json.loads(r[0]) for r in rows])
