"""``python -m benchmarks [--quick|--full] [--only ingest,validate,analysis,e2e,publication,chunked,startup]``

Every measurement runs in a fresh interpreter (:mod:`benchmarks.worker`), peers side by side in
the same run on the same files.  Results: ``benchmarks/results/<name>.csv`` per benchmark,
``benchmarks/results/machine.json`` and ``benchmarks/results/SUMMARY.md`` (measured, peer, ratio,
target, pass/fail), also printed.  Generated inputs go to ``benchmarks/work/`` (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks import gen
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


def fmt_n(n: int) -> str:
    n = int(n)
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else str(n)


# -- machine ---------------------------------------------------------------------------------------------

def machine_info() -> dict:
    import platform

    info = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
            "platform": platform.platform(), "cores": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2)}
    try:
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        info["memory_gb"] = round(int(mem) / 1024 ** 2, 1)
        cpu = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")]
        info["cpu"] = cpu[0].split(":", 1)[1].strip() if cpu else ""
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    for pkg in ("pandas", "numpy", "pyarrow", "duckdb", "pandera", "polars", "prefect", "prefect-dask",
                "scikit-learn", "scipy", "statsmodels"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            info[pkg] = None
    r = r_versions()
    info.update(r)
    return info


def rscript() -> str | None:
    return shutil.which("Rscript")


def r_versions() -> dict:
    if not rscript():
        return {"R": None}
    try:
        p = subprocess.run([rscript(), "-e", 'cat(R.version$major, R.version$minor, " ");'
                            'for (p in c("pROC","cutpointr")) cat(p, tryCatch(as.character(packageVersion(p)),'
                            ' error=function(e) "absent"), " ")'], capture_output=True, text=True, timeout=60)
        parts = p.stdout.split()
        return {"R": ".".join(parts[:2]), "pROC": parts[3] if len(parts) > 3 else None,
                "cutpointr": parts[5] if len(parts) > 5 else None}
    except Exception:
        return {"R": None}


def run_r(script: str, *args) -> dict:
    """Run benchmarks/r/<script> and parse its ``BENCH-R k=v ...`` line; {} when R is absent."""
    if not rscript():
        return {"skipped": "Rscript not found"}
    p = subprocess.run([rscript(), str(ROOT / "r" / script), *map(str, args)], capture_output=True, text=True,
                       timeout=7200)
    for line in p.stdout.splitlines():
        if line.startswith("BENCH-R "):
            out = {}
            for kv in line[len("BENCH-R "):].split():
                k, v = kv.split("=", 1)
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
            return out
    return {"skipped": f"R failed: {(p.stderr or p.stdout)[-500:]}"}


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


# -- summary ---------------------------------------------------------------------------------------------

def _pick(df, **kw):
    if df is None or not len(df):
        return None
    m = pd.Series(True, index=df.index)
    for k, v in kw.items():
        if k not in df.columns:
            return None
        m &= df[k] == v
    return df[m].iloc[0] if m.any() else None


def summary_rows(res: dict[str, pd.DataFrame]) -> list[dict]:
    out = []

    def add(what, measured, peer, ratio, target, ok, cond=""):
        out.append({"measure": what, "measured": measured, "peer": peer, "ratio": ratio, "target": target,
                    "result": "n/a" if ok is None else ("PASS" if ok else "FAIL"), "conditions": cond})

    ing = res.get("ingest")
    if ing is not None:
        for _, r in ing.iterrows():
            if r.get("seconds") is None or pd.isna(r.get("seconds")):
                add(f"ingest {r['format']} {fmt_n(r['rows'])} rows", "skipped", f"DuckDB {r['duckdb_seconds']:.2f} s",
                    None, "", None, str(r.get("error"))[:120])
                continue
            tgt, ok = "", None
            if r["format"] == "canonical" and r["rows"] == 1_000_000:
                tgt, ok = ">= 0.75 of DuckDB (aim 0.90)", r["ratio_to_duckdb"] >= 0.75
            add(f"ingest {r['format']} {fmt_n(r['rows'])} rows: whole path",
                f"{r['seconds']:.2f} s ({r['rows_per_s']:,.0f} rows/s, peak {r['peak_rss_mb']:.0f} MB)",
                f"DuckDB read_csv {r['duckdb_seconds']:.2f} s ({r['duckdb_rows_per_s']:,.0f} rows/s)",
                r["ratio_to_duckdb"], tgt, ok, f"status {r['status']}, {r['rows_loaded']} lines loaded")
            if r.get("normalising_seconds") is not None and not pd.isna(r.get("normalising_seconds")):
                add(f"ingest {r['format']} {fmt_n(r['rows'])} rows: vs DuckDB normalising load",
                    f"{r['seconds']:.2f} s", f"DuckDB read_csv + INSERT into core.* {r['normalising_seconds']:.2f} s",
                    r["ratio_to_normalising"], "", None, "the same rows into the same 4 tables, no harmonising/checks")
    ch = res.get("chunked")
    if ch is not None:
        for _, r in ch.iterrows():
            if "peak_rss_mb" in r and not pd.isna(r.get("seconds", float("nan"))):
                big = r["rows"] >= 10_000_000
                add(f"ingest lab_long {fmt_n(r['rows'])} rows: streamed in chunks", f"{r['seconds']:.1f} s, peak "
                    f"{r['peak_rss_mb']:.0f} MB", None, None, "peak < 2 GB at 1e7" if big else "",
                    (r["peak_rss_mb"] < 2048) if big else None, f"{int(r.get('chunk_rows'))} rows/chunk, one transaction")
    val = res.get("validate")
    if val is not None:
        for _, r in val.iterrows():
            if r.get("seconds_per_million_rows") is not None and not pd.isna(r.get("seconds_per_million_rows")):
                add(f"validate {r['format']}: {r['backend']}", f"{r['seconds_per_million_rows']:.2f} s per 1e6 rows",
                    None, None, "", None, f"{r['checks']}, {int(r['entity_rows']):,} entity rows measured")
    an = res.get("analysis")
    if an is not None:
        for _, r in an.iterrows():
            boot = "bootstrap" in r["task"]
            peer = r.get("cutpointr_s") if boot else r.get("pROC_s")
            pname = "cutpointr" if boot else "pROC"
            tgt, ok = "", None
            if not boot and r["n"] == 1_000_000:
                tgt, ok = ">= 2x faster than pROC", (r["speedup_vs_R"] or 0) >= 2 if peer else None
            if boot and r["n"] == 10_000:
                tgt, ok = ">= 10x faster than cutpointr", (r["speedup_vs_R"] or 0) >= 10 if peer else None
            sk = r.get("sklearn_s")
            add(f"{'bootstrap 2000' if boot else 'ROC+DeLong+Youden'} n={fmt_n(r['n'])}",
                f"{r['ours_s']:.4g} s" if r.get("ours_s") is not None else "-",
                (f"{pname} {peer:.4g} s" if peer is not None and not pd.isna(peer) else f"{pname} -")
                + (f"; sklearn {sk:.4g} s" if sk is not None and not pd.isna(sk) else ""),
                r.get("speedup_vs_R"), tgt, ok, f"CI ours {r.get('ci_ours')} / peer {r.get('ci_peer')}")
    e2e = res.get("e2e")
    if e2e is not None and len(e2e):
        r = e2e.iloc[0]
        q = r.get("queryable_s")
        add("drop -> report -> queryable, 10,000 rows", f"report {r.get('report_s')} s, queryable {q} s", None, None,
            "< 10 s", (q is not None and not pd.isna(q) and q < 10),
            f"tdm watch loop every {r.get('interval_s')} s, empty pass {r.get('empty_pass_s')} s, "
            f"first pass after start {r.get('first_pass_s')} s")
    pub = res.get("publication")
    if pub is not None and len(pub):
        r = pub.iloc[0]
        add("full publication, demo data", f"{r['seconds']} s" if "seconds" in r and not pd.isna(r["seconds"])
            else str(r.get("skipped") or r.get("error"))[:100], None, None, "", None, "")
    st = res.get("startup")
    if st is not None:
        for _, r in st.iterrows():
            tgt = r.get("target_s")
            has = tgt is not None and not pd.isna(tgt)
            server = r.get("server_cpu_s")
            server = f" + {server} s server CPU" if server is not None and not pd.isna(server) and server else ""
            add(f"tdm start-up from the shell: {r['case']}", f"{r['wall_s']} s wall, {r['cpu_s']} s CPU{server}", None, None,
                f"<= {tgt:g} s" if has else "", (r["wall_s"] <= tgt) if has else None,
                f"median of {r['runs']} fresh process(es), max {r['wall_max_s']} s, load average {r['load_avg_1m']}")
    return out


def write_summary(res: dict[str, pd.DataFrame], info: dict, mode: str) -> str:
    rows = summary_rows(res)
    df = pd.DataFrame(rows)
    df.to_csv(RESULTS / "summary.csv", index=False)
    lines = [f"# Benchmark summary ({mode})", "",
             f"{info['when']}; {info['cores']} cores ({info.get('cpu', '')}), {info.get('memory_gb')} GB, "
             f"load average at start {info['load_avg_1m']}; Python {info['python']}, pandas {info['pandas']}, "
             f"pyarrow {info['pyarrow']}, DuckDB {info['duckdb']}, pandera {info['pandera']}, polars {info['polars']}, "
             f"Prefect {info['prefect']}, scikit-learn {info['scikit-learn']}, R {info.get('R')} "
             f"(pROC {info.get('pROC')}, cutpointr {info.get('cutpointr')}).", "",
             "Ratio: peer time / our time (ingestion: share of DuckDB's throughput; analysis: speed-up).", ""]
    cols = ["measure", "measured", "peer", "ratio", "target", "result", "conditions"]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for r in rows:
        lines.append("| " + " | ".join("" if r[c] is None else str(r[c]).replace("|", "/") for c in cols) + " |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "SUMMARY.md").write_text(text)
    return text


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
        from benchmarks.startup import bench_startup

        res["startup"] = bench_startup(WORK / "startup", repeat=3 if a.mode != "tiny" else 1)
    for name, df in res.items():
        if name in only:
            df.to_csv(RESULTS / f"{name}.csv", index=False)
    text = write_summary(res, info, a.mode)
    print(text)
    log(f"done in {time.time() - t0:.0f} s; results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
