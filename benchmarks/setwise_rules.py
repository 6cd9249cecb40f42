"""Time the set-wise rules (validators/setwise) on an n-line wide file, against the pandas rules.

    python -m benchmarks.setwise_rules [n_lines] [--pandas]

Builds the contract's tables in DuckDB (one patient, assessment and ELISA record and six lab rows per
line, like a canonical wide export), with 1 line in 1,000 breaking a rule (SES-CD total, a repeated
line, a swapped date) and about 1 in 100 a cohort warning (colonoscopy not on the infusion day), then
times ``rule_findings`` (all rules, one query each) and, with ``--pandas``, today's pandas rules on the
same rows.  Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

import duckdb

from schema.relations import ENTITY_TABLES, create_empty, entity_sql_columns, tables_to_frames
from validators import ValidationContext
from validators.rules import ROW_RULES
from validators.setwise import rule_findings

LABS = {"wbc_per_ul": 7000.0, "haematocrit_pct": 38.0, "platelets_10e3_ul": 300.0, "albumin_g_dl": 4.0,
        "esr_mm_h": 15.0, "crp_mg_dl": 0.2}


def build(con: duckdb.DuckDBPyConnection, n: int) -> None:
    for e in ENTITY_TABLES:
        create_empty(con, e, entity_sql_columns(e))
    g = f"FROM range({n}) t(i)"
    pid = "'P' || lpad(CAST(i AS VARCHAR), 8, '0')"
    birth = "DATE '2005-03-15' + CAST(i % 300 AS INTEGER)"
    line = "i + 2"
    # every 1000th line: diagnosis before birth (date_order); every 1000th + 500: a repeat of the line before
    con.execute(f"""INSERT INTO patient SELECT 'smc', {pid}, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END, {birth},
        CASE WHEN i % 1000 = 7 THEN {birth} - 10 ELSE {birth} + 3650 END, 'CD', 'A1b', 'L3', 'none', 'B1', false, 'G0',
        false, {birth} + 3710, 'luminal', true, {line} {g}""")
    colo = f"({birth} + 4210)"
    con.execute(f"""INSERT INTO assessment SELECT 'smc', {pid}, {colo},
        CASE WHEN i % 100 = 3 THEN {colo} + 2 ELSE {colo} END, 10, false, true, false, false, 7.5,
        CASE WHEN i % 1000 = 11 THEN 4 ELSE 3 END, 2, 1, 0, 0, 0, {line} {g}""")
    con.execute(f"""INSERT INTO elisa SELECT 'smc', {pid}, CAST({colo} AS TIMESTAMP) + INTERVAL 8 HOUR,
        'Shikari Q-INFLIXI', 4.2, '=', 0.3, 45.0, 'negative', 2.0, 5.0, {line} {g}""")
    for analyte, v in LABS.items():
        con.execute(f"INSERT INTO lab SELECT 'smc', {pid}, {colo}, '{analyte}', {v}, {line} {g}")
    # a repeated line every 1000 lines: line i+2 copied as a new line n+2+k
    for e in ENTITY_TABLES:
        con.execute(f"INSERT INTO {e} SELECT * REPLACE (source_line + {n} AS source_line) FROM {e} WHERE source_line % 1000 = 500")


def main(argv: list[str]) -> dict:
    n = int(argv[0]) if argv and argv[0].isdigit() else 1_000_000
    con = duckdb.connect()
    t0 = time.perf_counter()
    build(con, n)
    t1 = time.perf_counter()
    ctx = ValidationContext(centre_id="smc")
    rule_findings(con, ctx)
    t2 = time.perf_counter()
    counts = dict(con.execute("SELECT rule, count(*) FROM findings GROUP BY rule ORDER BY rule").fetchall())
    out = {"lines": n, "build_s": round(t1 - t0, 2), "sql_rules_s": round(t2 - t1, 2),
           "sql_lines_per_s": round(n / (t2 - t1)), "findings": counts}
    if "--pandas" in argv:
        frames = tables_to_frames(con)
        t3 = time.perf_counter()
        n_pandas = sum(len(fn(frames, ctx)) for fn in ROW_RULES.values())
        out["pandas_rules_s"] = round(time.perf_counter() - t3, 2)
        out["pandas_findings"] = n_pandas
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
