"""The publication's figures and HTML report from an analysis bundle (via :mod:`analytics.render`).

No exception is caught here: a figure or table that cannot be drawn is a bug, and the
publication fails before anything is written.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics import render
from publication.run import AnalysisBundle
from publication.study import FIGURE1_OUTCOMES, MARKER, PARAMETER_LABELS

TITLE = "IFX trough levels and mucosal healing: analysis publication"


def _figures(bundle: AnalysisBundle) -> dict[str, bytes]:
    t, fd = bundle.tables, bundle.figure_data
    figures: dict[str, bytes] = {}
    if "trough_by_outcome" in t:
        p = dict(zip(t["trough_by_outcome"].outcome, t["trough_by_outcome"].p_value))
        outs = [o for o in FIGURE1_OUTCOMES if o in fd["cohort"].columns]
        figures["figure1_trough_by_outcome"] = render.figure_trough_boxplots(fd["cohort"], MARKER, outs, p)
    if "mh_by_quartile" in t or "mh_by_band" in t:
        figures["figure2_mh_rate"] = render.figure_rate_bars(t.get("mh_by_quartile"), t.get("mh_by_band"),
                                                             curve=t.get("concentration_response_curve"),
                                                             window=t.get("concentration_response"))
    if fd.get("roc_curves"):
        figures["figure3_roc"] = render.figure_roc_curves(fd["roc_curves"], fd["roc_summaries"])
    return figures


def display_table(tables: dict[str, pd.DataFrame], name: str, layout: str, parameters: dict) -> render.DisplayTable:
    """The table ``name`` as the report shows it (``layout``: the plan's; Tables 1-4 as the paper)."""
    t, k = tables[name], int(parameters.get("suppression_k", 5))
    if layout == "table1":
        return render.table1_layout(t)
    if layout == "table2":
        return render.table2_layout(t, tables.get("table2_stepwise_model"))
    if layout == "table3":
        return render.table3_layout(t, tables.get("table3_cutoffs"))
    if layout == "table4":
        return render.table4_layout(t, target_specificity=parameters.get("target_specificity"))
    if layout == "roc_summary":
        return render.roc_summary_layout(t)
    if layout == "trough":
        return render.trough_layout(t)
    if layout == "roc_by_centre":
        return render.roc_by_centre_layout(t, k=k)
    if layout == "loco":
        return render.loco_layout(t, k=k)
    if layout == "optimism":
        return render.optimism_layout(t)
    if layout == "meta":
        return render.meta_layout(t)
    return render.generic_layout(t, k=k)


def _parameter_text(v) -> str:
    return "none" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def render_outputs(bundle: AnalysisBundle, *, publication_id: str, created: dt.datetime, version: str,
                   parameters: dict, source_files: pd.DataFrame,
                   lake_snapshot: int | None = None) -> tuple[dict[str, bytes], str]:
    """Figures (name -> PNG) and the HTML report."""
    figures = _figures(bundle)
    meta = [("Publication", publication_id), ("Created (UTC)", created.strftime("%Y-%m-%d %H:%M:%S")),
            ("Code version", version), ("Seed", bundle.seed), ("Patients in the analysis cohort", bundle.n_patients),
            ("Source files", f"{len(source_files)} (listed below; full SHA-256 in publication.json)"),
            ("Warehouse snapshot", "not recorded" if lake_snapshot is None else
             f"lake snapshot {lake_snapshot} (tdm analyse --as-of {publication_id} recomputes from it)")]
    params = [(PARAMETER_LABELS.get(k, k), _parameter_text(v)) for k, v in parameters.items()]
    files = [{"centre": r["centre_id"], "file": r["file_name"],
              "received": pd.Timestamp(r["received_at"]).strftime("%Y-%m-%d %H:%M") if pd.notna(r["received_at"])
              else "", "rows": "" if pd.isna(r["rows_loaded"]) else int(r["rows_loaded"]),
              "checksum": str(r["checksum"])[:12]} for r in source_files.to_dict("records")]
    sections = [render.Section(name, bundle.titles.get(name, name),
                               display_table(bundle.tables, name, bundle.layouts.get(name, "generic"), parameters),
                               bundle.notes.get(name, "")) for name in bundle.tables
                if bundle.layouts.get(name) != "csv"]
    html = render.render_report(title=TITLE, meta=meta, parameters=params, source_files=files, sections=sections,
                                figures=figures, skipped=bundle.skipped)
    return figures, html
