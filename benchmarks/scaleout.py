"""Scale-out demo: the same ingestion flow with Prefect's DaskTaskRunner (prefect-dask) instead of the
built-in thread pool, on two centres' inboxes.  ``python -m benchmarks.scaleout``.

Each centre's files run as one ``ingest-centre`` task on a Dask worker process; writes still go
through DuckDB's file lock (``open_writer`` waits), so loads serialise while reading, harmonising
and validating run in parallel.  On this 2-core machine expect no gain (stack-notes); the point is
that the flow runs unchanged on a Dask cluster (a ``dask.distributed`` scheduler address instead
of the local cluster on a bigger machine or several).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from benchmarks import gen
from benchmarks.tasks.common import fresh_home, place
import ingestion as st
from base.runtime import quiet_prefect_environment

WORK = Path(__file__).resolve().parent / "work"


def run(runner: str, rows: int = 10_000) -> dict:
    home = WORK / "homes" / f"scaleout-{runner}"
    fresh_home(str(home))
    os.environ["PREFECT_HOME"] = str(home / ".prefect")
    quiet_prefect_environment(home)
    # lazy: Prefect reads PREFECT_HOME and its settings when imported, so they are set first (above)
    from flows.ingest import ingest_flow

    data = WORK / "data"
    smc = data / f"scaleout_smc_{rows}.csv"
    base, labs = data / "scaleout_knuh_baseline.csv", data / f"scaleout_knuh_lis_labs_{rows}.csv"
    if not smc.exists():
        gen.write_smc(smc, rows)
        gen.write_knuh_baseline(base, max(1000, rows // 100))
        gen.write_knuh_labs(labs, rows, max(1000, rows // 100))
    settings, profiles, key = st.setup(str(home))
    for centre, f in (("smc", smc), ("knuh", base), ("knuh", labs)):
        place(settings, centre, str(f))
    flow = ingest_flow
    if runner == "dask":
        from prefect_dask import DaskTaskRunner    # lazy: optional (the bench extra); only this runner needs it

        flow = ingest_flow.with_options(task_runner=DaskTaskRunner(
            cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True}))
    t0 = time.perf_counter()
    summary = flow(home=str(home), stable_seconds=0, publish_artifacts=False)
    t = time.perf_counter() - t0
    return {"runner": runner, "seconds": round(t, 2), "files": [(f["file_name"], f["status"], f["rows_loaded"])
                                                               for f in summary.files]}


if __name__ == "__main__":
    which = sys.argv[1:] or ["thread", "dask"]
    out = [run(w) for w in which]
    print(json.dumps(out, indent=1))
    (Path(__file__).resolve().parent / "results").mkdir(exist_ok=True)
    (Path(__file__).resolve().parent / "results" / "scaleout.json").write_text(json.dumps(out, indent=1))
