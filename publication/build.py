"""``build_publication``: read the snapshot, run the plan, render, print the PDF, write - in that order.

Nothing is written until every analysis has run and the report is rendered: a bug anywhere before
the write raises and leaves no folder and no ``published.*`` row behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from base.config import Settings
from publication.inputs import read_inputs
from publication.pdf import write_pdf
from publication.report import render_outputs
from publication.run import run_analyses
from publication.study import PublicationParameters
from publication.write import commit, stage_folder, write_files
from base.version import code_version


@dataclass(frozen=True)
class PublicationSummary:
    """What a publication produced (immutable)."""

    publication_id: str
    created_at: dt.datetime
    folder: Path
    report_path: Path
    n_patients: int
    seed: int
    code_version: str
    data_snapshot: tuple[str, ...]
    parameters: dict
    tables: tuple[str, ...]
    figures: tuple[str, ...]
    skipped: tuple[dict, ...]
    pdf_path: Path | None = None
    pdf_message: str = ""
    cutoff_table: pd.DataFrame | None = field(default=None, repr=False)


def build_publication(settings: Settings, *, parameters: dict | PublicationParameters | None = None,
                      now: dt.datetime | None = None) -> PublicationSummary:
    """Run the analyses on the current snapshot and write a new, versioned publication.

    Parameters
    ----------
    settings : the TDM home.
    parameters : :class:`PublicationParameters` or a dict of its fields (unknown keys raise
        ValueError naming the valid ones).
    now : creation time (UTC; for tests).

    Returns
    -------
    PublicationSummary
        ``pdf_path`` is None when no PDF could be printed; ``pdf_message`` says why.
    """
    params = parameters if isinstance(parameters, PublicationParameters) else \
        PublicationParameters.from_mapping(parameters)
    inputs = read_inputs(settings)
    created = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    bundle = run_analyses(inputs.cohort, params, previous_cutoffs=inputs.history, created_at=created)
    version = code_version()
    checksums = inputs.checksums
    params_json = {**asdict(params), "seed": bundle.seed}
    digest = hashlib.sha256(json.dumps([checksums, params_json, version, created.isoformat()],
                                       sort_keys=True).encode()).hexdigest()[:8]
    pub_id = f"pub-{created.strftime('%Y%m%dT%H%M%SZ')}-{digest}"
    figures, html = render_outputs(bundle, publication_id=pub_id, created=created, version=version,
                                   parameters=params_json, source_files=inputs.source_files,
                                   lake_snapshot=inputs.lake_snapshot)

    tmp = stage_folder(settings, pub_id)
    manifest = {"publication_id": pub_id, "created_at": created.isoformat(), "code_version": version,
                "data_snapshot": checksums, "lake_snapshot": inputs.lake_snapshot, "source_files": inputs.source_files.to_dict("records"),
                "parameters": params_json, "seed": bundle.seed, "n_patients": bundle.n_patients,
                "tables": list(bundle.tables), "figures": list(figures), "not_computed": list(bundle.skipped)}
    write_files(tmp, tables=bundle.tables, skipped=bundle.skipped, figures=figures, html=html, manifest=manifest)
    pdf = write_pdf(tmp / "report.html", tmp / "report.pdf", settings.chromium)
    manifest["pdf"] = pdf.message
    (tmp / "publication.json").write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    folder = commit(settings, tmp, pub_id=pub_id, created=created, version=version, checksums=checksums,
                    parameters=params_json, seed=bundle.seed, n_patients=bundle.n_patients, tables=bundle.tables,
                    skipped=bundle.skipped, lake_snapshot=inputs.lake_snapshot)
    return PublicationSummary(
        publication_id=pub_id, created_at=created, folder=folder, report_path=folder / "report.html",
        n_patients=bundle.n_patients, seed=bundle.seed, code_version=version, data_snapshot=tuple(checksums),
        parameters=params_json, tables=tuple(bundle.tables), figures=tuple(figures), skipped=bundle.skipped,
        pdf_path=folder / "report.pdf" if pdf.path else None, pdf_message=pdf.message,
        cutoff_table=bundle.tables.get("table4_cutoffs"),
    )
