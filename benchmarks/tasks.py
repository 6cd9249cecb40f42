"""The measured functions; each runs in a fresh interpreter through :mod:`benchmarks.worker`.

Every function returns a dict of plain values (seconds, counts, flags); the worker adds peak RSS.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import statistics
import time
from pathlib import Path


def warm_imports(task: str) -> None:
    """Import what a task needs before the baseline RSS is taken (imports are not the work)."""
    if task.startswith("ingest") or task.startswith("validate") or task.startswith("e2e"):
        import tdm.centres.harmonise  # noqa: F401
        import tdm.centres.readers  # noqa: F401
        import tdm.ingest  # noqa: F401
        import tdm.reports  # noqa: F401
        import tdm.warehouse.load  # noqa: F401
        import validators  # noqa: F401
    if task.startswith("duckdb"):
        import duckdb  # noqa: F401


# -- ingestion ---------------------------------------------------------------------------------------------

class StageTimer:
    """Wraps module functions to add their wall time to named buckets (patched for one run)."""

    def __init__(self):
        self.t: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, module, name: str, bucket: str) -> None:
        orig = getattr(module, name)

        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                self.t[bucket] = self.t.get(bucket, 0.0) + time.perf_counter() - t0

        setattr(module, name, timed)
        self._undo.append((module, name, orig))

    def restore(self) -> None:
        for module, name, orig in reversed(self._undo):
            setattr(module, name, orig)
        self._undo.clear()


def _fresh_home(home: str) -> Path:
    p = Path(home)
    shutil.rmtree(p, ignore_errors=True)
    p.mkdir(parents=True)
    return p


def _place(settings, centre: str, src: str) -> Path:
    inbox = settings.centre_inbox(centre)
    inbox.mkdir(parents=True, exist_ok=True)
    dst = inbox / Path(src).name
    with contextlib.suppress(FileNotFoundError):
        dst.unlink()
    try:
        os.link(src, dst)           # same file system: no copy, the source stays for the next run
    except OSError:
        shutil.copyfile(src, dst)
    old = time.time() - 60
    os.utime(dst, (old, old))
    return dst


def ingest_whole(path: str, centre: str, home: str, pre: list[str] | None = None) -> dict:
    """The whole ingestion path for one file (discover -> prepare -> in one writer transaction: read,
    harmonise, checks, decision, report, load -> snapshot -> archive), exactly the stages
    ``flows.ingest`` runs, with per-stage times.

    ``pre`` files (e.g. the baseline a lab file's patients need) are ingested first, untimed.
    """
    os.environ.setdefault("TDM_MODE", "demo")
    import tdm.centres.readers as R
    import tdm.ingest as st
    import tdm.privacy as P

    _fresh_home(home)
    settings, profiles, key = st.setup(home)
    profile = profiles[centre]
    for f in pre or []:
        _place(settings, centre, f)
    if pre:
        for cand in st.discover(settings, [centre], stable_seconds=0).ready:
            c = st.process_file(settings, profile, cand, key)
            if c.status not in ("loaded", "loaded_with_rejections"):
                return {"error": f"pre-load {cand.path.name}: {c.status} {c.message}"}
    _place(settings, centre, path)
    import tdm.ingest.pipeline as PL
    import tdm.ingest.read as RD
    import tdm.ingest.writer as W
    import validators.checks as VC
    import validators.decision as VD

    timer = StageTimer()
    timer.wrap(PL, "sha256_file", "checksum")
    timer.wrap(R, "read_export", "read")
    timer.wrap(R, "iter_csv_chunks", "read_chunks")
    timer.wrap(P, "scan_identifiers", "scan")
    timer.wrap(RD, "harmonise", "harmonise")
    timer.wrap(PL, "load_context", "context")
    timer.wrap(VC, "frame_findings", "checks")
    timer.wrap(VD, "decide", "decide")
    timer.wrap(W, "write_report", "report")
    timer.wrap(W, "load_decided", "load")
    timer.wrap(W, "publish_snapshot", "snapshot")
    try:
        t0 = time.perf_counter()
        cand = [c for c in st.discover(settings, [centre], stable_seconds=0).ready
                if c.path.name == Path(path).name][0]
        t1 = time.perf_counter()
        prepared = st.prepare(settings, profile, cand, key)
        t2 = time.perf_counter()
        committed = st.commit(settings, prepared)
        t4 = time.perf_counter()
        st.archive_file(cand, committed)
        t5 = time.perf_counter()
    finally:
        timer.restore()
    stages = {k: round(v, 4) for k, v in timer.t.items()}
    stages.update(discover=round(t1 - t0, 4), prepare=round(t2 - t1, 4), commit=round(t4 - t2, 4),
                  archive=round(t5 - t4, 4))
    from tdm.warehouse.connection import open_reader

    con = open_reader(settings.snapshot)
    from schema.dictionary import ENTITIES

    counts = {e: con.execute(f"SELECT count(*) FROM core.{ENTITIES[e].table} WHERE is_current").fetchone()[0]
              for e in ENTITIES}
    con.close()
    return {"seconds": round(t5 - t0, 4), "status": committed.status, "rows_read": committed.rows_read,
            "rows_loaded": committed.rows_loaded, "rows_rejected": committed.rows_rejected,
            "message": committed.message, "stages": stages, "warehouse_rows": counts,
            "file_mb": round(os.path.getsize(path) / 1e6, 1)}


def duckdb_load(path: str, db: str, threads: int | None = None) -> dict:
    """DuckDB's own ``read_csv`` of the same file into a table of a fresh database file (durable:
    CREATE TABLE AS + CHECKPOINT), the practical upper bound for a CSV load on this machine."""
    import duckdb

    with contextlib.suppress(FileNotFoundError):
        os.unlink(db)
    con = duckdb.connect(db)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}')")
    t1 = time.perf_counter()
    con.execute("CHECKPOINT")
    t2 = time.perf_counter()
    n = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    os.unlink(db)
    return {"seconds": round(t2 - t0, 4), "load_s": round(t1 - t0, 4), "checkpoint_s": round(t2 - t1, 4),
            "rows": n, "threads": threads or os.cpu_count()}


def duckdb_normalising_load(path: str, db: str) -> dict:
    """The ceiling for any loader of the canonical wide CSV into this warehouse: DuckDB's own
    ``read_csv`` (types sniffed) and four ``INSERT ... SELECT`` into the real ``core.*`` tables (the
    wide line fanned out to patient, visit, ELISA and one row per lab value), one transaction,
    CHECKPOINT - with no harmonising, no pseudonymisation and no check at all."""
    import duckdb

    from schema.dictionary import ANALYTES, BY_ENTITY, ENTITIES, LAB_DATE_COLUMN, entity_columns
    from tdm.warehouse.migrate import upgrade

    for f in (db, db + ".wal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f)
    upgrade(Path(db))
    con = duckdb.connect(db)
    t0 = time.perf_counter()
    con.begin()
    con.execute(f"CREATE TEMP TABLE r AS SELECT * FROM read_csv('{path}')").fetchall()
    base = con.execute("SELECT min(rowid) FROM r").fetchone()[0]
    line = f"CAST(rowid - {base} + 2 AS INTEGER)"
    for entity, e in ENTITIES.items():
        cols = entity_columns(entity)
        if entity == "lab":
            sel = " UNION ALL ".join(
                f"SELECT 'smc', CAST(patient_id AS VARCHAR), CAST({LAB_DATE_COLUMN} AS DATE), '{a}', "
                f"CAST({a} AS DOUBLE), {line}, 1, true FROM r WHERE {a} IS NOT NULL" for a in ANALYTES)
        else:
            own = {v.name for v in BY_ENTITY[entity]}
            special = {"centre_id": "'smc'", "trough_censor": "NULL",     # the trough as a plain number
                       "trough_ug_ml": "TRY_CAST(ltrim(trough_ug_ml, '<>') AS DOUBLE)"}
            exprs = [special.get(c, c) for c in cols if c in own]
            sel = f"SELECT {', '.join(exprs)}, {line}, 1, true FROM r"
        con.execute(f"INSERT INTO core.{e.table} ({', '.join(cols)}, source_line, file_id, is_current) {sel}"
                    ).fetchall()
    con.commit()
    t1 = time.perf_counter()
    con.execute("CHECKPOINT").fetchall()
    t2 = time.perf_counter()
    n = con.execute("SELECT count(*) FROM core.lab_results").fetchone()[0]
    con.close()
    for f in (db, db + ".wal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f)
    return {"seconds": round(t2 - t0, 4), "load_s": round(t1 - t0, 4), "checkpoint_s": round(t2 - t1, 4),
            "lab_rows": n}


# -- validation ----------------------------------------------------------------------------------------------

def _harmonised(path: str, centre: str, home: str):
    os.environ.setdefault("TDM_MODE", "demo")
    import tdm.ingest as st

    _fresh_home(home)
    settings, profiles, key = st.setup(home)
    profile = profiles[centre]
    dst = _place(settings, centre, path)
    from tdm.centres.harmonise import harmonise
    from tdm.centres.readers import read_export

    spec = profile.match(dst.name)
    return settings, profile, spec.kind, harmonise(read_export(dst, spec), spec, profile, key, file_name=dst.name)


def validate_backends(path: str, centre: str, home: str, repeat: int = 3) -> dict:
    """Validation of the same harmonised frames: the project's ``validate_file`` (pandera on pandas +
    the cross-field rules), pandera's schema checks alone on pandas, the same column checks in
    pandera.polars, and the same checks as one SQL aggregate in DuckDB (in-database)."""
    from benchmarks import backends
    import tdm.ingest as st
    import validators

    settings, profile, kind, harmonised = _harmonised(path, centre, home)
    frames = harmonised.frames
    ctx = st.load_context(None, centre, Path(path).name, kind, 0.5)
    rows = sum(len(df) for df in frames.values())
    out = {"rows": rows, "lines": harmonised.rows_read}

    def med(fn):
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return round(statistics.median(ts), 4)

    res = validators.validate_file(frames, harmonised.cell_issues, ctx)
    out["validate_file_s"] = med(lambda: validators.validate_file(frames, harmonised.cell_issues, ctx))
    out["validate_file_issues"] = int(len(res.issues))
    out["pandera_pandas_s"] = med(lambda: backends.pandera_pandas(frames, ctx))
    try:
        out["pandera_polars_s"] = med(lambda: backends.pandera_polars(frames, ctx))
        out["polars_convert_s"] = med(lambda: backends.to_polars(frames))
    except ImportError as exc:
        out["pandera_polars_s"] = None
        out["pandera_polars_note"] = f"not installed: {exc}"
    out["duckdb_sql_s"] = med(lambda: backends.duckdb_checks(frames, ctx))
    out["failures"] = {"pandera_pandas": backends.pandera_pandas(frames, ctx),
                       "duckdb_sql": backends.duckdb_checks(frames, ctx)}
    return out


# -- analysis ------------------------------------------------------------------------------------------------

def _median_time(fn, repeat: int) -> tuple[float, object]:
    ts, res = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        res = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), res


def analysis_python(csv: str, repeat: int = 3, boot: bool = True, boot_repeat: int = 1,
                    sklearn_boot_max_n: int = 10_000) -> dict:
    """ROC + DeLong CI + Youden (analytics.roc.roc_analysis, which also builds the curve and the
    target-specificity cut-off) and 2,000 stratified bootstrap resamples of the Youden cut-off
    (analytics.bootstrap), next to scikit-learn's roc_curve + roc_auc_score + argmax(J) (no CI:
    scikit-learn has no DeLong) and a plain scikit-learn bootstrap loop for small n."""
    import numpy as np
    import pandas as pd

    from analytics.bootstrap import bootstrap_cutoff
    from analytics.roc import roc_analysis

    d = pd.read_csv(csv)
    x = d["marker"].to_numpy(dtype=float)
    y = d["outcome"].to_numpy().astype(bool)
    out: dict = {"n": int(len(d))}
    t, r = _median_time(lambda: roc_analysis(x, y), repeat)
    out.update(roc_s=round(t, 5), auc=r.auc, ci_low=r.ci_low, ci_high=r.ci_high, youden_cutoff=r.youden.cutoff
               if hasattr(r.youden, "cutoff") else None)
    if boot:
        t, b = _median_time(lambda: bootstrap_cutoff(x, y, n_resamples=2000, seed=1), boot_repeat)
        out.update(boot_s=round(t, 4), boot_cutoff=b.cutoff, boot_ci_low=b.cutoff_ci_low,
                   boot_ci_high=b.cutoff_ci_high)
    try:
        from sklearn.metrics import roc_auc_score, roc_curve
    except ImportError:
        out["sklearn"] = "not installed"
        return out

    def sk():
        fpr, tpr, thr = roc_curve(y, x)
        auc = roc_auc_score(y, x)
        k = int(np.argmax(tpr - fpr))
        return auc, thr[k]

    t, (auc, thr) = _median_time(sk, repeat)
    out.update(sklearn_roc_s=round(t, 5), sklearn_auc=float(auc), sklearn_youden=float(thr))
    if boot and len(d) <= sklearn_boot_max_n:
        rng = np.random.default_rng(1)
        pos, neg = np.flatnonzero(y), np.flatnonzero(~y)

        def skboot():
            cuts = np.empty(2000)
            for i in range(2000):
                idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
                fpr, tpr, thr = roc_curve(y[idx], x[idx])
                cuts[i] = thr[int(np.argmax(tpr - fpr))]
            return cuts

        t, cuts = _median_time(skboot, 1)
        out.update(sklearn_boot_s=round(t, 4), sklearn_boot_ci=[float(np.quantile(cuts, 0.025)),
                                                               float(np.quantile(cuts, 0.975))])
    return out


def publication_demo(home: str, patients: int = 300, seed: int = 42) -> dict:
    """The full publication on the demo data: synthetic cohort -> flows ingestion (untimed) ->
    ``tdm.publication.build_publication`` (timed)."""
    os.environ.setdefault("TDM_MODE", "demo")
    from tdm.runtime import quiet_prefect_environment

    quiet_prefect_environment(Path(home))
    try:
        from tdm.publication import build_publication
        from tdm.synth import generate_cohort, write_exports  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"not available yet: {exc}"}
    from tdm.config import load_settings
    from tdm.demo import run_demo

    settings = load_settings(home, "demo")
    settings.home.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run_demo(settings, patients=patients, seed=seed, error_rate=0.05, echo=lambda *_: None)
    t1 = time.perf_counter()
    t, pub = _median_time(lambda: build_publication(settings), 1)
    return {"seconds": round(t, 3), "demo_total_s": round(t1 - t0, 3), "patients": patients,
            "publication": str(getattr(pub, "folder", ""))}


# -- end to end ----------------------------------------------------------------------------------------------

def e2e_latency(path: str, centre: str, home: str, interval: float = 1.0, stable_seconds: float = 5.0,
                timeout: float = 300.0) -> dict:
    """File dropped -> report written -> rows queryable, with ``tdm watch``'s loop running the real
    Prefect ingestion flow every ``interval`` seconds (Prefect's temporary server, warmed up by one
    empty pass first, as a long-running ``tdm watch`` is).

    The file is dropped the way a transfer tool finishes: written under a temporary name
    (``*.part``, ignored by discovery) and renamed into the inbox, its modification time that of
    the finished upload (``stable_seconds`` old).  A file still being written additionally waits
    ``stable_seconds`` after its last write.  Post-load analysis is off (measured separately).
    """
    import threading

    os.environ.setdefault("TDM_MODE", "demo")
    _fresh_home(home)
    from tdm.runtime import quiet_prefect_environment

    os.environ["PREFECT_HOME"] = str(Path(home) / ".prefect")
    quiet_prefect_environment(Path(home))
    import tdm.ingest as st
    from flows.watch import watch
    from tdm.warehouse.connection import open_reader

    settings, profiles, key = st.setup(home)
    stop = threading.Event()
    passes: list[tuple[float, float, int]] = []   # (start, end, files) of every ingestion flow run
    import flows.ingest as fi

    real_flow = fi.ingest_flow

    def timed_flow(*a, **kw):
        t = time.perf_counter()
        summary = real_flow(*a, **kw)
        passes.append((t, time.perf_counter(), len(summary.files)))
        return summary

    fi.ingest_flow = timed_flow          # watch() imports it at call time
    th = threading.Thread(target=watch, kwargs=dict(home=home, interval=interval, stable_seconds=stable_seconds,
                                                    analyse_after_load=False, cron="0 2 1 1 *", stop=stop,
                                                    echo=lambda *_: None), daemon=True)
    t_start = time.perf_counter()
    th.start()
    deadline = time.perf_counter() + timeout
    while len(passes) < 2 and time.perf_counter() < deadline:   # Prefect start-up paid, loop steady
        time.sleep(0.05)
    first_pass = passes[0][1] - t_start if passes else None
    inbox = settings.centre_inbox(centre)
    inbox.mkdir(parents=True, exist_ok=True)
    tmp = inbox / (Path(path).name + ".part")
    shutil.copyfile(path, tmp)
    old = time.time() - stable_seconds - 1
    os.utime(tmp, (old, old))
    t0 = time.perf_counter()
    os.replace(tmp, inbox / Path(path).name)
    t_report = t_query = None
    rows = 0
    reports = settings.reports / centre
    while time.perf_counter() - t0 < timeout:
        if t_report is None and reports.exists() and any(p.suffix == ".html" and p.name != "index.html"
                                                         for p in reports.iterdir()):
            t_report = time.perf_counter() - t0
        try:
            con = open_reader(settings.snapshot)
            try:
                rows = con.execute("SELECT count(*) FROM core.assessments WHERE is_current").fetchall()[0][0]
            finally:
                con.close()
        except Exception:
            rows = 0
        if rows and t_query is None:
            t_query = time.perf_counter() - t0
            break
        time.sleep(0.05)
    stop.set()
    th.join(timeout=60)
    fi.ingest_flow = real_flow
    empty = [e - b for b, e, n in passes if n == 0][1:]
    loaded = [(b - t0, e - b) for b, e, n in passes if n > 0]
    return {"report_s": None if t_report is None else round(t_report, 3),
            "empty_pass_s": round(statistics.median(empty), 3) if empty else None,
            "loading_pass_start_s": round(loaded[0][0], 3) if loaded else None,
            "loading_pass_s": round(loaded[0][1], 3) if loaded else None,
            "queryable_s": None if t_query is None else round(t_query, 3), "rows_queryable": int(rows),
            "interval_s": interval, "stable_seconds": stable_seconds,
            "first_pass_s": None if first_pass is None else round(first_pass, 3)}


# -- chunked (streamed) ingestion: the production path of tdm.ingest for large CSV files ------------------

def chunked_labs(path: str, baseline: str, home: str, chunk_rows: int = 500_000) -> dict:
    """Ingest a long lab export through ``tdm.ingest.process_file`` read in chunks whatever its size:
    chunks are read and harmonised into the file's tables inside ONE DuckDB transaction, checked in
    windows, decided and loaded, so memory is bounded by the chunk (peak RSS: the caller's subprocess)."""
    os.environ.setdefault("TDM_MODE", "demo")
    import tdm.ingest as st

    _fresh_home(home)
    settings, profiles, key = st.setup(home)
    profile = profiles["knuh"]
    _place(settings, "knuh", baseline)
    for cand in st.discover(settings, ["knuh"], stable_seconds=0).ready:
        st.process_file(settings, profile, cand, key)
    _place(settings, "knuh", path)
    settings = dataclasses.replace(settings, chunk_threshold_bytes=0, chunk_rows=chunk_rows)  # chunks whatever the size
    (cand,) = st.discover(settings, ["knuh"], stable_seconds=0).ready
    t0 = time.perf_counter()
    out = st.process_file(settings, profile, cand, key)
    total = time.perf_counter() - t0
    return {"seconds": round(total, 3), "rows_per_s": round(out.rows_read / total) if total else None,
            "chunk_rows": chunk_rows, "status": out.status, "rows_read": out.rows_read,
            "rows_loaded": out.rows_loaded, "rows_rejected": out.rows_rejected}
