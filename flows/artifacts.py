"""Prefect artifacts: each file's validation summary and each publication's cut-off table."""

from __future__ import annotations

import json

import pandas as pd
from prefect.artifacts import create_markdown_artifact, create_table_artifact


def _records(df: pd.DataFrame) -> list[dict]:
    # create_table_artifact rejects DataFrames; JSON records keep dates and NaN serialisable.
    return json.loads(df.to_json(orient="records", date_format="iso"))


def publish_ingest_artifacts(summary) -> None:
    rows = pd.DataFrame(list(summary.files))
    cols = ["centre_id", "file_name", "file_id", "status", "rows_read", "rows_loaded", "rows_warned",
            "rows_rejected", "message", "report_path"]
    table = rows.reindex(columns=cols)
    create_table_artifact(key="ingest-files", table=_records(table),
                          description="Files processed in this ingestion pass (full reports linked below).")
    lines = ["# Validation reports", ""]
    for r in table.itertuples(index=False):
        link = f"[report](file://{r.report_path})" if r.report_path else ""
        lines.append(f"- **{r.centre_id}/{r.file_name}**: {r.status}, {r.rows_loaded or 0} loaded, "
                     f"{r.rows_rejected or 0} rejected {link}")
    create_markdown_artifact(key="ingest-reports", markdown="\n".join(lines))


def publish_cutoff_artifact(publication_id: str, cutoffs: pd.DataFrame, report_path: str | None) -> None:
    create_table_artifact(key="mh-cutoff-table", table=_records(cutoffs),
                          description=f"Publication {publication_id}: IFX trough cut-offs for mucosal healing.")
    if report_path:
        create_markdown_artifact(key="publication-report",
                                 markdown=f"# Publication {publication_id}\n\n[full report](file://{report_path})")
