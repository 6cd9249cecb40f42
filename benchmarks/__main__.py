"""``python -m benchmarks [--quick|--full] [--only ingest,validate,analysis,e2e,publication,chunked,startup]``

Every measurement runs in a fresh interpreter (:mod:`benchmarks.worker`), peers side by side in
the same run on the same files.  Results: ``benchmarks/results/<name>.csv`` per benchmark,
``benchmarks/results/machine.json`` and ``benchmarks/results/SUMMARY.md`` (measured, peer, ratio,
target, pass/fail), also printed.  Generated inputs go to ``benchmarks/work/`` (gitignored).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks import gen
from benchmarks.machine import machine_info, run_r
from benchmarks.startup import bench_startup
from benchmarks.summary import fmt_n, write_summary
from benchmarks.worker import run_in_subprocess

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work"
RESULTS = ROOT / "results"

SIZES = {"quick": [10_000, 100_000, 1_000_000], "full": [10_000, 100_000, 1_000_000, 10_000_000],
         "tiny": [2_000]}
ROC_SIZES = {"quick": [1_000, 10_000, 100_000, 1_000_000], "full": [1_000, 10_000, 100_000, 1_000_000],
             "tiny": [1_000]}
ALL = ("ingest", "validate", "analysis", "e2e", "publication", "chunked", "startup")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- inputs ----------------------------------------------------------------------------------------------

def smc_file(n: int) -> Path:
    p = WORK / "data" / f"smc_tdm_export_{fmt_n(n)}.csv"
    if not p.exists():
        log(f"generating canonical wide CSV, {n:,} rows")
        gen.write_smc(p.with_suffix(".tmp"), n)
        p.with_suffix(".tmp").rename(p)
    return p


def knuh_patients(n_rows: int) -> int:
    return max(1_000, n_rows // 100)


def knuh_files(n: int) -> tuple[Path, Path]:
    d = WORK / "data"
    P = knuh_patients(n)
    base = d / f"knuh_baseline_{P}.csv"
    labs = d / f"knuh_lis_labs_{fmt_n(n)}.csv"
    if not base.exists():
        gen.write_knuh_baseline(base.with_suffix(".tmp"), P)
        base.with_suffix(".tmp").rename(base)
    if not labs.exists():
        log(f"generating long LIS lab export, {n:,} rows over {P:,} patients")
        gen.write_knuh_labs(labs.with_suffix(".tmp"), n, P)
        labs.with_suffix(".tmp").rename(labs)
    return base, labs


def roc_file(n: int) -> Path:
    p = WORK / "data" / f"roc_{fmt_n(n)}.csv"
    if not p.exists():
        gen.write_roc_csv(p, n)
    return p


def mem_budget_mb() -> float:
    try:
        avail = [ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemAvailable")]
        return int(avail[0].split()[1]) / 1024
    except (OSError, IndexError):
        return 8_000


# -- benchmarks ------------------------------------------------------------------------------------------

def bench_ingest(sizes: list[int], repeat_small: int) -> pd.DataFrame:
    rows = []
    home = WORK / "homes" / "ingest"
    for fmt in ("canonical", "lab_long"):
        for n in sizes:
            if fmt == "canonical":
                f, pre = smc_file(n), []
                centre = "smc"
                need_mb = 1.5e-3 * n + 300          # measured: ~1.3 GB at 1e6 wide rows (columnar path)
            else:
                base, f = knuh_files(n)
                pre, centre = [str(base)], "knuh"
                need_mb = 0.9e-3 * n + 300
            reps = repeat_small if n <= 100_000 else 1
            peer = [run_in_subprocess("duckdb_load", dict(path=str(f), db=str(WORK / "peer.duckdb")))
                    for _ in range(reps)]
            peer_s = statistics.median(p["seconds"] for p in peer if "seconds" in p)
            if need_mb > 0.8 * mem_budget_mb():
                res = [{"error": f"skipped: the in-memory path would need ~{need_mb / 1024:.0f} GB "
                                 f"(> 80% of the {mem_budget_mb() / 1024:.0f} GB available); see the chunked path"}]
            else:
                log(f"ingest {fmt} {n:,} rows x{reps} (+ DuckDB read_csv {peer_s:.2f} s)")
                res = [run_in_subprocess("ingest_whole", dict(path=str(f), centre=centre, home=str(home), pre=pre))
                       for _ in range(reps)]
            ceiling_s = None
            if fmt == "canonical":      # the same rows into the same four tables, no check at all
                ceil = [run_in_subprocess("duckdb_normalising_load", dict(path=str(f), db=str(WORK / "ceil.duckdb")))
                        for _ in range(reps)]
                ceiling_s = statistics.median(c["seconds"] for c in ceil if "seconds" in c) \
                    if any("seconds" in c for c in ceil) else None
            ok = [r for r in res if "seconds" in r]
            s = statistics.median(r["seconds"] for r in ok) if ok else None
            best = min(ok, key=lambda r: abs(r["seconds"] - s)) if ok else res[0]
            rows.append({
                "format": fmt, "rows": n, "file_mb": round(f.stat().st_size / 1e6, 1), "seconds": s,
                "rows_per_s": round(n / s) if s else None, "duckdb_seconds": peer_s,
                "duckdb_rows_per_s": round(n / peer_s), "ratio_to_duckdb": round(peer_s / s, 3) if s else None,
                "normalising_seconds": ceiling_s,
                "ratio_to_normalising": round(ceiling_s / s, 3) if s and ceiling_s else None,
                "peak_rss_mb": best.get("peak_rss_mb"), "duckdb_peak_rss_mb": statistics.median(
                    p.get("peak_rss_mb", 0) for p in peer),
                "status": best.get("status"), "rows_loaded": best.get("rows_loaded"),
                "rows_rejected": best.get("rows_rejected"), "repeats": len(ok),
                **{f"stage_{k}_s": v for k, v in (best.get("stages") or {}).items()},
                "error": best.get("error"),
            })
    shutil.rmtree(home, ignore_errors=True)
    return pd.DataFrame(rows)


def bench_validate(n: int) -> pd.DataFrame:
    rows = []
    for fmt, centre in (("canonical", "smc"), ("lab_long", "knuh")):
        if fmt == "canonical":
            f = smc_file(n)
        else:
            _, f = knuh_files(n)
        log(f"validation backends on {fmt} {n:,} rows")
        r = run_in_subprocess("validate_backends", dict(path=str(f), centre=centre,
                                                        home=str(WORK / "homes" / "validate")))
        if "error" in r:
            rows.append({"format": fmt, "rows": n, "backend": "all", "error": r["error"][:300]})
            continue
        per_m = 1e6 / r["rows"]
        for backend, key, what in (
                ("validate_file (pandera pandas + rules)", "validate_file_s", "the project's full validation"),
                ("pandera on pandas (models only)", "pandera_pandas_s", "column checks"),
                ("pandera on polars (incl. conversion)", "pandera_polars_s", "column checks"),
                ("DuckDB SQL (in-database)", "duckdb_sql_s", "column checks")):
            s = r.get(key)
            rows.append({"format": fmt, "lines": r["lines"], "entity_rows": r["rows"], "backend": backend,
                         "checks": what, "seconds": s, "seconds_per_million_rows": round(s * per_m, 3) if s else None,
                         "note": r.get("pandera_polars_note") if key == "pandera_polars_s" else None})
    return pd.DataFrame(rows)


def bench_analysis(sizes: list[int], mode: str) -> pd.DataFrame:
    rows = []
    cut_max = 10_000 if mode != "full" else 100_000
    for n in sizes:
        f = roc_file(n)
        log(f"analysis n={n:,}")
        py = run_in_subprocess("analysis_python", dict(csv=str(f), repeat=3 if n <= 100_000 else 1))
        pr = run_r("proc.R", f, 3 if n <= 100_000 else 1)
        cp = run_r("cutpointr.R", f, 2000) if n <= cut_max else {"skipped": f"cutpointr only up to n={cut_max:,}"}
        rows.append({"n": n, "task": "ROC + DeLong CI + Youden", "ours_s": py.get("roc_s"),
                     "pROC_s": pr.get("seconds"), "sklearn_s": py.get("sklearn_roc_s"),
                     "speedup_vs_R": _ratio(pr.get("seconds"), py.get("roc_s")),
                     "auc_ours": py.get("auc"), "auc_peer": pr.get("auc"),
                     "ci_ours": _ci(py.get("ci_low"), py.get("ci_high")), "ci_peer": _ci(pr.get("ci_low"), pr.get("ci_high")),
                     "note": "sklearn: roc_curve + roc_auc_score + argmax J, no CI (no DeLong in sklearn)"
                     + ("" if "skipped" not in pr else f"; pROC {pr['skipped']}"), "error": py.get("error")})
        rows.append({"n": n, "task": "2,000 stratified bootstrap resamples (Youden cut-off)", "ours_s": py.get("boot_s"),
                     "pROC_s": None, "cutpointr_s": cp.get("seconds"), "sklearn_s": py.get("sklearn_boot_s"),
                     "speedup_vs_R": _ratio(cp.get("seconds"), py.get("boot_s")),
                     "ci_ours": _ci(py.get("boot_ci_low"), py.get("boot_ci_high")),
                     "ci_peer": _ci(cp.get("ci_low"), cp.get("ci_high")),
                     "note": "; ".join(x for x in ("cutpointr " + cp["skipped"] if "skipped" in cp else "",
                                                   "sklearn: python loop of roc_curve, n <= 1e4 only") if x),
                     "error": py.get("error")})
    return pd.DataFrame(rows)


def _ratio(peer, ours):
    return round(peer / ours, 1) if peer and ours else None


def _ci(lo, hi):
    return None if lo is None or hi is None else f"{lo:.4g}-{hi:.4g}"


def bench_e2e() -> pd.DataFrame:
    f = smc_file(10_000)
    log("end-to-end latency (tdm watch loop, Prefect flow) for a 10,000-row file")
    r = run_in_subprocess("e2e_latency", dict(path=str(f), centre="smc", home=str(WORK / "homes" / "e2e")))
    return pd.DataFrame([{"rows": 10_000, **{k: v for k, v in r.items() if k not in ("traceback",)}}])


def bench_publication() -> pd.DataFrame:
    log("full publication on the demo data")
    r = run_in_subprocess("publication_demo", dict(home=str(WORK / "homes" / "publication")))
    return pd.DataFrame([{k: v for k, v in r.items() if k != "traceback"}])


def bench_chunked(sizes: list[int]) -> pd.DataFrame:
    rows = []
    for n in sizes:
        base, f = knuh_files(n)
        log(f"streamed (chunked) lab ingestion {n:,} rows")
        r = run_in_subprocess("chunked_labs", dict(path=str(f), baseline=str(base),
                                                   home=str(WORK / "homes" / "chunked")))
        rows.append({"rows": n, **{k: v for k, v in r.items() if k not in ("traceback",)}})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    global RESULTS
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", dest="mode", const="quick",
                   help="ingestion 1e4-1e6 rows, analysis 1e3-1e6 (default)")
    g.add_argument("--full", action="store_const", dest="mode", const="full", help="adds 1e7-row files")
    g.add_argument("--tiny", action="store_const", dest="mode", const="tiny", help="smoke run (tests)")
    ap.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("--results", default=None, help="results folder (default benchmarks/results)")
    ap.set_defaults(mode="quick")
    a = ap.parse_args(argv)
    RESULTS = Path(a.results) if a.results else ROOT / "results"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (WORK / "data").mkdir(parents=True, exist_ok=True)
    only = [x.strip() for x in a.only.split(",") if x.strip()]
    info = machine_info()
    info["mode"] = a.mode
    (RESULTS / "machine.json").write_text(json.dumps(info, indent=2))
    sizes = SIZES[a.mode]
    res: dict[str, pd.DataFrame] = {}
    # keep earlier results of benchmarks not run now, so SUMMARY.md stays complete
    for name in ALL:
        p = RESULTS / f"{name}.csv"
        if name not in only and p.exists():
            res[name] = pd.read_csv(p)
    t0 = time.time()
    if "ingest" in only:
        res["ingest"] = bench_ingest(sizes if a.mode != "full" else [s for s in sizes], 3 if a.mode != "tiny" else 1)
    if "chunked" in only:
        res["chunked"] = bench_chunked([s for s in sizes if s >= 1_000_000] or sizes[-1:])
    if "validate" in only:
        res["validate"] = bench_validate(100_000 if a.mode == "quick" else (1_000_000 if a.mode == "full" else sizes[0]))
    if "analysis" in only:
        res["analysis"] = bench_analysis(ROC_SIZES[a.mode], a.mode)
    if "e2e" in only:
        res["e2e"] = bench_e2e()
    if "publication" in only:
        res["publication"] = bench_publication()
    if "startup" in only:
        res["startup"] = bench_startup(WORK / "startup", repeat=3 if a.mode != "tiny" else 1)
    for name, df in res.items():
        if name in only:
            df.to_csv(RESULTS / f"{name}.csv", index=False)
    text = write_summary(res, info, a.mode, RESULTS)
    print(text)
    log(f"done in {time.time() - t0:.0f} s; results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
