"""``tdm demo``: generate a synthetic multicentre study, ingest it through the flows, analyse, summarise."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from base.config import Settings
from base.errors import ConfigError
from centres import install_builtin_profiles
from centres.privacy import load_key
from centres.profile import load_profiles
from rich.console import Console
from rich.table import Table
from synth import generate_cohort, write_exports
from warehouse.init import init_warehouse


def reset_home(settings: Settings) -> None:
    """Demo mode only: start from an empty home so the demo is repeatable."""
    if settings.mode != "demo":
        raise ConfigError("tdm demo refuses to reset a production home", value=str(settings.home),
                          hint="run the demo with TDM_MODE=demo and a separate TDM_HOME")
    for sub in ("inbox", "archive", "reports", "published", "synth", "centres"):
        shutil.rmtree(settings.home / sub, ignore_errors=True)
    catalog = settings.lake.catalog_file
    if catalog is not None and settings.home in catalog.parents:    # only an embedded lake is the demo's
        shutil.rmtree(settings.home / "lake", ignore_errors=True)
    for f in (settings.legacy_warehouse, settings.home / "warehouse.read.duckdb"):
        f.unlink(missing_ok=True)


def run_demo(settings: Settings, *, patients: int, seed: int, error_rate: float,
             echo: Callable[[str], None] = print) -> dict:
    # lazy: the flows import Prefect, which reads its settings once the CLI started its server
    from flows.analyse import analyse_flow
    from flows.ingest import ingest_flow

    t0 = time.monotonic()
    echo(f"[1/4] preparing a fresh demo home at {settings.home}")
    reset_home(settings)
    init_warehouse(settings)
    load_key(settings, create=True)      # demo mode: the home's one key, kept across demo runs
    centres = install_builtin_profiles(settings)
    profiles = load_profiles(settings.centres_dir)

    echo(f"[2/4] generating {patients} synthetic patients across {', '.join(centres)} "
         f"(seed {seed}, {error_rate:.0%} rows with export errors)")
    cohort = generate_cohort(patients, centres, seed)
    manifest = write_exports(cohort, profiles, settings.inbox, error_rate=error_rate, seed=seed)
    n_files = sum(1 for _ in settings.inbox.rglob("*") if _.is_file())
    echo(f"      wrote {n_files} export file(s) into {settings.inbox}; "
         f"{len(manifest.injected)} injected error(s) recorded")

    echo("[3/4] ingesting through the Prefect flow (read -> harmonise -> validate -> report -> load -> archive)")
    summary = ingest_flow(home=str(settings.home), stable_seconds=0)
    for f in summary.files:
        echo(f"      {f['centre_id']}/{f['file_name']}: {f['status']}, {f['rows_read']} read, "
             f"{f['rows_loaded']} loaded, {f['rows_rejected']} rejected")

    echo("[4/4] running the study's analyses and publishing them")
    pub = analyse_flow(home=str(settings.home))

    console = Console()
    cut = getattr(pub, "cutoff_table", None)
    if cut is not None and len(cut):
        console.print(cutoff_summary_table(cut))
    loaded = sum(f["rows_loaded"] or 0 for f in summary.files)
    rejected = sum(f["rows_rejected"] or 0 for f in summary.files)
    echo(f"files: {len(summary.files)}; rows loaded: {loaded}; rows rejected: {rejected}")
    echo(f"validation reports: {settings.reports}/<centre>/index.html")
    echo(f"publication: {getattr(pub, 'folder', settings.published)}")
    if getattr(pub, "pdf_message", ""):
        echo(f"      {pub.pdf_message}")
    echo(f"warehouse: the lake {settings.lake.url} (analysts: tdm sql \"SELECT * FROM analysis.cohort LIMIT 5\"; "
         "their own DuckDB, Python or R session: tdm connect --print)")
    echo(f"done in {time.monotonic() - t0:.0f} s")
    return {"files": summary.files, "publication": pub}


SOURCE_LABELS = {"fixed": "", "youden": "Youden", "target_specificity": "spec>=target",
                 "target_sensitivity": "sens>=target"}


def cutoff_summary_table(cut):
    """The MH cut-off table as a clinician reads it (percentages, counts), for the terminal."""
    table = Table(title="IFX trough cut-offs for mucosal healing (SES-CD = 0), rule: trough >= cut-off")
    for col in ("cut-off ug/mL", "source", "TP", "FP", "TN", "FN", "sens %", "spec %", "PPV %", "NPV %"):
        table.add_column(col, justify="right", overflow="fold")   # fold, never truncate

    def pct(v):
        return "-" if v is None or v != v else f"{100 * v:.1f}"

    for r in cut.to_dict("records"):
        labels = (SOURCE_LABELS.get(x, x) for x in str(r.get("source", "")).split("+"))
        source = ", ".join(x for x in labels if x)
        table.add_row(f"{r['cutoff']:g}", source, *(str(int(r[k])) for k in ("tp", "fp", "tn", "fn")),
                      pct(r["sensitivity"]), pct(r["specificity"]), pct(r["ppv"]), pct(r["npv"]))
    return table
