"""Which pandera backend runs the dictionary's checks on the one path: measured, memory included.

``python -m benchmarks.dictionary_backends [--rows 1000000] [--lab-rows 1000000,10000000]`` (needs the
``bench`` extra: polars, pandera[polars])

The harmonised entity tables live in DuckDB (``schema.relations``).  On the same tables (one line in
1,000 broken), each candidate runs in a fresh interpreter (peak RSS above its own start-up is its
memory):

``pandera_ibis``     stock lazy ``validate`` of the ``pandera.ibis`` declaration on the DuckDB table
``pandera_polars``   the table fetched as Arrow, zero-copy to polars, lazy ``validate`` of the same
                     declaration for ``pandera.polars``
``findings_sql``     the one path's stage 3 (``validators.dictionary_checks.schema_findings_sql``):
                     the ``pandera.ibis`` checks compiled into one ``INSERT ... SELECT`` of every
                     finding with its source line, message and rule (compile time reported apart)
``fetch_arrow``      the peer floor of the polars route: only fetching the table as Arrow

Results: ``benchmarks/results/dictionary_backends.csv`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import ibis
import pandera.ibis as pi
import pandera.polars as pp
import polars as pl

from schema.dictionary import ANALYTES
from schema.ibis_models import entity_model_ibis
from schema.models import Backend, declare
from schema.relations import create_empty, entity_sql_columns
from validators.context import ValidationContext
from validators.dictionary_checks import schema_findings_sql
from validators.dictionary_compile import findings_sql

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work"
TODAY = dt.date(2026, 11, 1)
CANDIDATES = ("pandera_ibis", "pandera_polars", "findings_sql", "fetch_arrow")


def build(db: Path, entity: str, rows: int) -> None:
    """``entity`` with ``rows`` valid rows, one in 1,000 out of range (SES-CD 99; a lab value 10x its max)."""
    con = duckdb.connect(str(db))
    cols = entity_sql_columns(entity)
    con.execute(f"CREATE TABLE {entity} (" + ", ".join(f"{c} {t}" for c, t in cols.items()) + ")")
    if entity == "assessment":
        select = ("'smc', 'P' || i, DATE '2020-01-01' + CAST(i % 1000 AS INTEGER), DATE '2020-01-01' + "
                  "CAST(i % 1000 AS INTEGER), 10, false, true, false, false, CAST(i % 100 AS DOUBLE), "
                  "CASE WHEN i % 1000 = 0 THEN 99 ELSE i % 50 END, i % 12, i % 12, i % 12, i % 12, i % 12, i + 2")
    else:
        names = list(ANALYTES)
        an = "CASE i % 7 " + " ".join(f"WHEN {k} THEN '{n}'" for k, n in enumerate(names)) + " END"
        val = "CASE i % 7 " + " ".join(
            f"WHEN {k} THEN CASE WHEN i % 1000 = 0 THEN {ANALYTES[n].max * 10!r} ELSE {(ANALYTES[n].min + ANALYTES[n].max) / 2!r} END"
            for k, n in enumerate(names)) + " END"
        select = f"'smc', 'P' || (i // 7), DATE '2020-01-01' + CAST(i % 1000 AS INTEGER), {an}, {val}, i // 7 + 2"
    con.execute(f"INSERT INTO {entity} SELECT {select} FROM range({rows}) r(i)")
    con.close()


def _polars_backend() -> Backend:
    """The dictionary's declaration for ``pandera.polars`` (benchmark only: the two hand-written checks
    spelled for polars)."""
    def not_future(today):
        limit = (today or dt.date.today()) + dt.timedelta(days=1)
        return lambda data: data.lazyframe.select(pl.col(data.key).is_null() | (pl.col(data.key) < pl.lit(limit)))

    def lab_range(data):
        lo = pl.col("analyte").replace_strict({k: a.min for k, a in ANALYTES.items()}, default=None)
        hi = pl.col("analyte").replace_strict({k: a.max for k, a in ANALYTES.items()}, default=None)
        v = pl.col("value")
        return data.lazyframe.select((v.is_null() | lo.is_null() | ((v >= lo) & (v <= hi))).alias("ok"))

    dtypes = {"str": pl.Utf8, "code": pl.Utf8, "bool": pl.Boolean, "int": pl.Int64, "float": pl.Float64,
              "date": pl.Date, "datetime": pl.Datetime("us")}
    return Backend(api=pp, dtypes=dtypes, source_line_dtype=pl.Int64, not_future=not_future,
                   lab_value_in_range=lab_range, coerce=False)


def run_one(candidate: str, db: str, entity: str) -> dict:
    """One measurement in this (fresh) interpreter: seconds, findings/failure cases, peak RSS above start."""
    con = duckdb.connect(db, read_only=candidate != "findings_sql")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = {"compile_s": None}
    t0 = time.perf_counter()
    if candidate == "pandera_ibis":
        table = ibis.duckdb.from_connection(con).table(entity)
        try:
            entity_model_ibis(entity, TODAY).validate(table, lazy=True)
            out["failures"] = 0
        except pi.errors.SchemaErrors as exc:
            out["failures"] = int(len(exc.failure_cases))
    elif candidate == "pandera_polars":
        frame = pl.from_arrow(con.execute(f"SELECT * FROM {entity}").to_arrow_table())
        try:
            declare(_polars_backend(), entity, TODAY).validate(frame, lazy=True)
            out["failures"] = 0
        except pp.errors.SchemaErrors as exc:
            out["failures"] = int(len(exc.failure_cases))
    elif candidate == "findings_sql":
        for e in ("patient", "assessment", "elisa", "lab"):
            findings_sql(e)
        out["compile_s"] = round(time.perf_counter() - t0, 3)
        for e in ("patient", "assessment", "elisa", "lab"):
            if e != entity:                   # the measured table is main.<entity>; the others empty
                create_empty(con, e, entity_sql_columns(e))
        t0 = time.perf_counter()
        schema_findings_sql(con, ValidationContext(centre_id="smc", file_name="bench", today=TODAY))
        out["failures"] = con.execute("SELECT count(*) FROM findings").fetchone()[0]
    else:
        out["failures"] = con.execute(f"SELECT * FROM {entity}").to_arrow_table().num_rows
    out["seconds"] = round(time.perf_counter() - t0, 3)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["peak_rss_mb"] = round((peak - base) / 1024, 1)      # above the interpreter with its imports
    out["peak_rss_total_mb"] = round(peak / 1024, 1)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="assessment rows")
    ap.add_argument("--lab-rows", default="1000000,10000000", help="lab table sizes, comma-separated")
    ap.add_argument("--candidates", default=",".join(CANDIDATES), help="comma-separated subset of " + ", ".join(CANDIDATES))
    args = ap.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    runs = [("assessment", args.rows)] + [("lab", int(n)) for n in args.lab_rows.split(",") if n]
    rows = []
    for entity, n in runs:
        db = WORK / f"dictionary_{entity}_{n}.duckdb"
        db.unlink(missing_ok=True)
        build(db, entity, n)
        for cand in [c for c in CANDIDATES if c in args.candidates.split(",")]:
            work = WORK / f"dictionary_{cand}.duckdb"
            work.write_bytes(db.read_bytes())
            proc = subprocess.run([sys.executable, "-m", "benchmarks.dictionary_backends", "--one", cand, str(work),
                                   entity], capture_output=True, text=True)
            res = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {"error": proc.stderr[-300:]}
            rows.append({"entity": entity, "rows": n, "candidate": cand, **res})
            print(json.dumps(rows[-1]), flush=True)
            work.unlink(missing_ok=True)
        db.unlink(missing_ok=True)
    out = ROOT / "results" / ("dictionary_backends.csv" if args.candidates == ",".join(CANDIDATES)
                              else "dictionary_backends_partial.csv")
    keys = ["entity", "rows", "candidate", "seconds", "compile_s", "peak_rss_mb", "peak_rss_total_mb", "failures",
            "error"]
    lines = [",".join(keys)] + [",".join(str(r.get(k, "")) for k in keys) for r in rows]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(run_one(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        main()
