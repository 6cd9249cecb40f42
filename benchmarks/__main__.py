"""``python -m benchmarks [--quick|--full] [--only ingest,validate,analysis,e2e,publication,startup]``

Every measurement runs in a fresh interpreter (:mod:`benchmarks.worker`), peers side by side in
the same run on the same files.  Results: ``benchmarks/results/<name>.csv`` per benchmark,
``benchmarks/results/machine.json`` and ``benchmarks/results/SUMMARY.md`` (measured, peer, ratio,
target, pass/fail), also printed.  Generated inputs go to ``benchmarks/work/`` (gitignored).
"""

from __future__ import annotations

import argparse
import json
import shutil
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
ALL = ("ingest", "validate", "analysis", "e2e", "publication", "startup")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- inputs ----------------------------------------------------------------------------------------------

def _generated(p: Path, what: str, write) -> Path:
    if not p.exists():
        log(f"generating {what}")
        write(p.with_name(p.name + ".tmp"))
        p.with_name(p.name + ".tmp").rename(p)
    return p


def smc_file(n: int, noisy: bool = False) -> Path:
    name = f"smc_tdm_export_{fmt_n(n)}{'_noisy' if noisy else ''}.csv"
    return _generated(WORK / "data" / name, f"canonical wide CSV{' (noisy)' if noisy else ''}, {n:,} rows",
                      lambda t: gen.write_smc(t, n, noisy=noisy))


def sch_file(n: int) -> Path:
    return _generated(WORK / "data" / f"sch_ifx_tdm_{fmt_n(n)}.xlsx", f"sch workbook, {n:,} rows",
                      lambda t: gen.write_sch_workbook(t, n))


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


# -- benchmarks ------------------------------------------------------------------------------------------

def ingest_plan(mode: str) -> list[tuple[str, int]]:
    """(format, lines) measured by ``bench_ingest``: the clean canonical export at every size, its noisy
    twin at 1e6, the long LIS export up to 1e7 (its memory and flatness target), the sch workbook at 1e5."""
    sizes = SIZES[mode]
    if mode == "tiny":
        return [(f, sizes[0]) for f in ("canonical", "canonical_noisy", "lab_long", "workbook")]
    return ([("canonical", n) for n in sizes] + [("canonical_noisy", 1_000_000)]
            + [("lab_long", n) for n in sorted(set(sizes) | {10_000_000})] + [("workbook", 100_000)])


def ingest_input(fmt: str, n: int) -> tuple[Path, list[str], str, list[tuple[str, str, dict]]]:
    """The file, the files ingested first (untimed), the centre and the peers ``(name, task, args)``."""
    if fmt in ("canonical", "canonical_noisy"):
        f = smc_file(n, noisy=fmt == "canonical_noisy")
        return f, [], "smc", [("DuckDB read_csv", "duckdb_load", dict(path=str(f), db=str(WORK / "peer.duckdb"))),
                              ("normalising", "duckdb_normalising_load", dict(path=str(f), db=str(WORK / "ceil.duckdb")))]
    if fmt == "lab_long":
        base, f = knuh_files(n)
        return f, [str(base)], "knuh", [("DuckDB read_csv", "duckdb_load",
                                         dict(path=str(f), db=str(WORK / "peer.duckdb")))]
    f = sch_file(n)
    return f, [], "sch", [("calamine read", "calamine_read", dict(path=str(f), sheet="IFX"))]


def _median_run(task: str, args: dict, reps: int) -> dict:
    """The run of median wall time of ``reps`` fresh-interpreter runs (an error if none succeeded)."""
    runs = [run_in_subprocess(task, args) for _ in range(reps)]
    ok = sorted((r for r in runs if "seconds" in r), key=lambda r: r["seconds"])
    return ok[len(ok) // 2] if ok else runs[0]


def bench_ingest(plan: list[tuple[str, int]], repeat_small: int) -> pd.DataFrame:
    rows = []
    home = WORK / "homes" / "ingest"
    for fmt, n in plan:
        f, pre, centre, peers = ingest_input(fmt, n)
        reps = repeat_small if n <= 100_000 else 1
        got = {name: _median_run(task, args, reps) for name, task, args in peers}
        peer_name = peers[0][0]
        peer, norm = got[peer_name], got.get("normalising", {})
        log(f"ingest {fmt} {n:,} rows x{reps} (+ {peer_name} {peer.get('seconds')} s)")
        best = _median_run("ingest_whole", dict(path=str(f), centre=centre, home=str(home), pre=pre), reps)
        s, c = best.get("seconds"), best.get("cpu_s")

        def share(p, key):
            return round(p[key] / best[key], 3) if s and p.get(key) else None
        rows.append({
            "format": fmt, "rows": n, "file_mb": round(f.stat().st_size / 1e6, 1), "seconds": s, "cpu_s": c,
            "rows_per_s": round(n / s) if s else None, "peer": peer_name,
            "peer_seconds": peer.get("seconds"), "peer_cpu_s": peer.get("cpu_s"),
            "ratio_to_peer": share(peer, "seconds"), "cpu_ratio_to_peer": share(peer, "cpu_s"),
            "normalising_seconds": norm.get("seconds"), "normalising_cpu_s": norm.get("cpu_s"),
            "ratio_to_normalising": share(norm, "seconds"), "cpu_ratio_to_normalising": share(norm, "cpu_s"),
            "peak_rss_mb": best.get("peak_rss_mb"), "peer_peak_rss_mb": peer.get("peak_rss_mb"),
            "status": best.get("status"), "rows_loaded": best.get("rows_loaded"),
            "rows_rejected": best.get("rows_rejected"), "repeats": reps,
            **{f"stage_{k}_s": v for k, v in (best.get("stages") or {}).items()},
            "error": best.get("error") or peer.get("error") or norm.get("error"),
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
        res["ingest"] = bench_ingest(ingest_plan(a.mode), 3 if a.mode != "tiny" else 1)
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
