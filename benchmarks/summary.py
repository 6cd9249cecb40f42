"""The benchmark summary: each measure with its peer, ratio, target and pass/fail (SUMMARY.md, summary.csv)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def fmt_n(n: int) -> str:
    n = int(n)
    return f"1e{len(str(n)) - 1}" if str(n).strip("0") == "1" else str(n)


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
                add(f"ingest lab_long {fmt_n(r['rows'])} rows: the one path", f"{r['seconds']:.1f} s, peak "
                    f"{r['peak_rss_mb']:.0f} MB", None, None, "peak < 1.5 GB at 1e7" if big else "",
                    (r["peak_rss_mb"] < 1536) if big else None, "set-wise, one transaction")
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


def write_summary(res: dict[str, pd.DataFrame], info: dict, mode: str, results: Path) -> str:
    """``results``/summary.csv and SUMMARY.md (also returned): every measure against its peer and target."""
    rows = summary_rows(res)
    df = pd.DataFrame(rows)
    df.to_csv(results / "summary.csv", index=False)
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
    (results / "SUMMARY.md").write_text(text)
    return text


__all__ = ["fmt_n", "summary_rows", "write_summary"]
