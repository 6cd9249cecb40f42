"""Runs through Prefect: the publication on the demo data and the end-to-end latency of ``tdm watch``.

Prefect reads its settings when it is imported, so it is configured first (its home under the
task's home, telemetry off) and ``flows`` (which imports Prefect) is imported inside the task, after
that; nothing else imported here imports Prefect.
"""

from __future__ import annotations

import os
import shutil
import statistics
import threading
import time
from pathlib import Path

import ingestion as st
from benchmarks.tasks.common import fresh_home, median_time
from base.config import load_settings
from tdm.demo import run_demo
from publication import build_publication
from base.runtime import quiet_prefect_environment
from warehouse.lake import lake_exists, open_reader


def publication_demo(home: str, patients: int = 300, seed: int = 42) -> dict:
    """The full publication on the demo data: synthetic cohort -> flows ingestion (untimed) ->
    ``publication.build_publication`` (timed)."""
    quiet_prefect_environment(Path(home))      # before run_demo imports Prefect (through flows)
    settings = load_settings(home, "demo")
    settings.home.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run_demo(settings, patients=patients, seed=seed, error_rate=0.05, echo=lambda *_: None)
    t1 = time.perf_counter()
    t, pub = median_time(lambda: build_publication(settings), 1)
    return {"seconds": round(t, 3), "demo_total_s": round(t1 - t0, 3), "patients": patients,
            "publication": str(getattr(pub, "folder", ""))}


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
    fresh_home(home)
    os.environ["PREFECT_HOME"] = str(Path(home) / ".prefect")
    quiet_prefect_environment(Path(home))
    # lazy: Prefect reads PREFECT_HOME and its settings when imported, so they are set first (above)
    import flows.ingest as fi
    from flows.watch import watch

    settings, profiles, key = st.setup(home)
    stop = threading.Event()
    passes: list[tuple[float, float, int]] = []   # (start, end, files) of every ingestion flow run
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
            con = open_reader(settings.lake)
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
