"""The lake's targets (issue 16): ``python -m benchmarks.lake [--sizes 1e4,1e6,1e7] [--ingest-rows 1e6]``.

(a) **Commit-to-visible latency of a 10-line file against the warehouse size.**  A lake is seeded
with N lab rows directly in SQL (``INSERT ... SELECT`` from ``range()``, not through ingestion),
then a 10-line SMC file is ingested by ``run_pass`` while another process polls the lake with one
read-only connection every 10 ms.  Recorded: the pass's seconds, when the poller first saw the file
(seconds after the pass started; ``visible - pass_end`` <= 0 means it was visible before the pass
had even returned, i.e. at its COMMIT), and a fresh reader's open + query after the pass.
(b) **An analyst's query loop during a 1e6-line ingest.**  A 1e6-line KNUH LIS file is ingested
into fresh lakes: alone (first and last, to show the noise), and with another process running
``tdm sql``-style queries on the ``analysis`` views in a loop (``run_readonly_query``: the guarded
path, a cursor of the process's kept reader database per query), once per ``--paces`` value: 0 runs them back to back (a process that keeps
one of the two cores busy), 1 starts one per second (an analyst or a dashboard).  Recorded: ingest
seconds each way, queries run, errors, and the slowest query (a wait for the writer would show as one).

Results: ``results/lake_latency.csv``, ``results/lake_query_loop.csv`` (docs/PERFORMANCE.md, README).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from base.config import load_settings
from benchmarks import gen
from benchmarks.tasks.common import fresh_home, place
from centres import install_builtin_profiles
from ingestion import run_pass
from validators.dictionary_checks import warm_cache
from warehouse.init import init_warehouse
from warehouse.lake import open_reader, open_writer
from warehouse.value_counts import record_value_counts

HERE = Path(__file__).resolve().parent
WORK, RESULTS, ROOT = HERE / "work" / "lake", HERE / "results", HERE.parent
KEY = "benchmark-lake-key-0123456789"

POLLER = """
import sys, time; sys.path.insert(0, {root!r})
from base.config import load_settings
from warehouse.lake import open_reader
con = open_reader(load_settings({home!r}).lake)
print("ready", flush=True)
while True:
    n = con.execute("SELECT count(*) FROM ingest.files WHERE centre_id = 'smc'").fetchone()[0]
    if n:
        print(time.time(), flush=True)
        break
    time.sleep(0.01)
"""

QUERY_LOOP = """
import sys, time; sys.path.insert(0, {root!r})
from base.config import load_settings
from warehouse.readonly import run_readonly_query
lake, stop, pace = load_settings({home!r}).lake, {stop!r}, {pace!r}
import os
queries = ["SELECT count(*) AS n FROM analysis.cohort",
           "SELECT centre_id, count(*) AS n FROM analysis.cohort GROUP BY ALL",
           "SELECT count(*) AS n, avg(value) AS v FROM core.lab_results WHERE is_current"]
n = errors = 0; first_error = ""
while not os.path.exists(stop):
    t0, t = time.time(), time.perf_counter()
    try:
        run_readonly_query(lake, queries[n % len(queries)])
        ok = 1
    except Exception as exc:
        errors += 1; ok = 0; first_error = first_error or repr(exc)[:200]
    print("q", t0, time.perf_counter() - t, ok, flush=True); n += 1
    time.sleep(max(0.0, t0 + pace - time.time()))      # an analyst's pace: one query started every `pace` s
print("end", n, errors, first_error, flush=True)
"""


def _home(name: str):

    os.environ["TDM_PSEUDONYM_KEY"] = KEY
    os.environ.pop("TDM_LAKE", None)
    home = fresh_home(str(WORK / name))
    settings = load_settings(home)
    settings.ensure_dirs()
    install_builtin_profiles(settings)
    init_warehouse(settings)
    warm_cache(settings.cache)           # as `tdm init` leaves a home: the dictionary checks' SQL compiled
    return settings


def seed_labs(settings, n: int) -> float:
    """``n`` lab rows (and the file row they belong to) straight into the lake, in one transaction."""

    t = time.perf_counter()
    with open_writer(settings.lake, home=settings.home) as con:
        con.execute("BEGIN")
        con.execute("INSERT INTO ingest.files (file_id, centre_id, file_name, checksum_sha256, size_bytes, "
                    "received_at, status, code_version) VALUES (1, 'seed', 'seed.csv', 'seed', 0, now(), "
                    "'loaded', 'seed')")
        con.execute(f"""INSERT INTO core.lab_results (centre_id, patient_id, sample_date, analyte, value, file_id,
                        source_line, is_current) SELECT 'seed', 'S' || (range // 50), DATE '2020-01-01' +
                        CAST(range % 50 AS INTEGER), 'crp_mg_dl', (range % 97) / 10.0, 1, CAST(range + 2 AS INTEGER),
                        true FROM range({int(n)})""")
        record_value_counts(con, 1)                          # what the writer keeps beside every file's rows
        con.execute("COMMIT")
    return time.perf_counter() - t


def latency(n_rows: int) -> dict:

    settings = _home(f"latency-{n_rows}")
    seeded = seed_labs(settings, n_rows)
    src = WORK / "smc_10.csv"
    if not src.exists():
        gen.write_smc(src, 10)
    poller = subprocess.Popen([sys.executable, "-c", textwrap.dedent(POLLER.format(root=str(ROOT),
                              home=str(settings.home)))], stdout=subprocess.PIPE, text=True)
    assert poller.stdout.readline().strip() == "ready"
    place(settings, "smc", str(src))
    start = time.time()
    (result,) = run_pass(str(settings.home), stable_seconds=0)
    end = time.time()
    seen = float(poller.stdout.readline())
    poller.wait(30)
    t = time.perf_counter()
    con = open_reader(settings.lake)
    n = con.execute("SELECT count(*) FROM ingest.files WHERE centre_id = 'smc'").fetchone()[0]
    con.close()
    fresh = time.perf_counter() - t
    assert result.status == "loaded" and n == 1, (result, n)
    return {"lab_rows_loaded": n_rows, "seed_seconds": round(seeded, 2), "pass_seconds": round(end - start, 3),
            "visible_after_start_seconds": round(seen - start, 3), "visible_minus_pass_end_seconds": round(seen - end, 3),
            "fresh_reader_seconds": round(fresh, 3)}


def ingest_with_loop(rows: int, loop: bool, pace: float = 0.0) -> dict:
    """``pace`` 0: queries back to back (a CPU-bound process); > 0: one query started every ``pace`` s."""

    settings = _home(f"loop-{int(loop)}")
    base, labs = WORK / "knuh_baseline.csv", WORK / f"knuh_lis_labs_{rows}.csv"
    if not labs.exists():
        gen.write_knuh_baseline(base, max(1000, rows // 100))
        gen.write_knuh_labs(labs, rows, max(1000, rows // 100))
    run_pass(str(settings.home), stable_seconds=0)          # nothing yet: the analysis views exist, empty
    place(settings, "knuh", str(base))
    run_pass(str(settings.home), stable_seconds=0)          # the patients the labs belong to
    stop = WORK / "stop"
    stop.unlink(missing_ok=True)
    proc = None
    if loop:
        proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(QUERY_LOOP.format(
            root=str(ROOT), home=str(settings.home), stop=str(stop), pace=pace))], stdout=subprocess.PIPE, text=True)
        time.sleep(10)                                       # the loop alone first: its baseline latency
    place(settings, "knuh", str(labs))
    start, t, cpu = time.time(), time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    results = run_pass(str(settings.home), stable_seconds=0)
    seconds, end = time.perf_counter() - t, time.time()
    used = resource.getrusage(resource.RUSAGE_SELF)
    row = {"query_loop": loop, "pace_seconds": pace if loop else "", "lines": rows, "ingest_seconds": round(seconds, 2),
           "ingest_cpu_seconds": round(used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime, 2),
           "status": ";".join(r.status for r in results)}
    if proc is not None:
        stop.touch()
        lines = proc.communicate(timeout=120)[0].splitlines()
        queries = [tuple(map(float, q.split()[1:])) for q in lines if q.startswith("q ")]
        alone = [d for t0, d, _ in queries if t0 + d < start]
        during = [d for t0, d, _ in queries if t0 >= start and t0 + d <= end]
        _, n, errors, *first = lines[-1].split(maxsplit=3)
        row |= {"queries": int(n), "errors": int(errors), "queries_during_ingest": len(during),
                "median_query_alone_seconds": round(statistics.median(alone), 3) if alone else "",
                "median_query_during_ingest_seconds": round(statistics.median(during), 3) if during else "",
                "slowest_query_during_ingest_seconds": round(max(during), 3) if during else "",
                "first_error": first[0] if first else ""}
    return row


def _write(name: str, rows: list[dict]) -> None:
    RESULTS.mkdir(exist_ok=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(RESULTS / name, "w", newline="") as f:
        w = csv.DictWriter(f, keys)
        w.writeheader()
        w.writerows(rows)
    print(name, *rows, sep="\n", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.lake", description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e4,1e6,1e7", help="lab rows already loaded (comma-separated)")
    ap.add_argument("--ingest-rows", default="1e6", help="lines of the file ingested during the query loop")
    ap.add_argument("--only", default="latency,loop", help="latency, loop or both")
    ap.add_argument("--paces", default="0,1", help="seconds between query starts of the loop (0: back to back)")
    a = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    load = os.getloadavg()[0]
    if "latency" in a.only:
        latency(1000)                    # warm-up, not recorded: this process's imports and first connections
        _write("lake_latency.csv", [latency(int(float(n))) | {"load_average": round(load, 1)}
                                    for n in a.sizes.split(",")])
    if "loop" in a.only:
        rows = int(float(a.ingest_rows))
        runs = [(False, 0.0)] + [(True, float(p)) for p in a.paces.split(",")] + [(False, 0.0)]
        _write("lake_query_loop.csv", [ingest_with_loop(rows, loop, pace) | {"load_average": round(os.getloadavg()[0], 1)}
                                       for loop, pace in runs])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
