"""Time the check stages 3-4 on an n-line wide file, beside DuckDB's flat ``read_csv`` of the same lines.

    python -m benchmarks.setwise_rules [n_lines]

Builds the contract's tables in DuckDB (one patient, assessment and ELISA record and six lab rows per
line, like a canonical wide export), with 1 line in 1,000 breaking a rule (SES-CD total, a repeated
line, a swapped date) and about 1 in 100 a cohort warning (colonoscopy not on the infusion day), then
times each check stage (``validators.stages``: the whole-file checks, the dictionary checks, every
rule query one by one) and, in the same run, DuckDB reading the same lines written as one wide CSV
(``CREATE TABLE ... AS SELECT * FROM read_csv(...)`` into a fresh database).  Wall and CPU seconds
(the process's, all threads: the machine is shared) for each.  Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import duckdb

from schema.relations import ENTITY_TABLES, FINDING_SQL, create_empty, entity_sql_columns
from validators import ValidationContext, register_context
from validators.dictionary_checks import compiled_sql, schema_findings_sql
from validators.registry import RULES
from validators.setwise import QUERIES, create_findings, file_findings, rule_query

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


def write_wide_csv(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """The same lines as one wide CSV (patient, assessment, ELISA and the six lab values per line)."""
    labs = ", ".join(f"max(value) FILTER (WHERE analyte = '{a}') AS {a}" for a in LABS)
    con.execute(f"""COPY (SELECT p.* EXCLUDE (source_line), a.* EXCLUDE (centre_id, patient_id, source_line),
                             e.* EXCLUDE (centre_id, patient_id, source_line), l.* EXCLUDE (source_line)
                      FROM patient p JOIN assessment a USING (source_line) JOIN elisa e USING (source_line)
                      JOIN (SELECT source_line, sample_date, {labs} FROM lab GROUP BY ALL) l USING (source_line)
                      ORDER BY p.source_line) TO '{path}' (HEADER)""")


def _timed(fn) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return round(time.perf_counter() - w, 3), round(time.process_time() - c, 3)


def main(argv: list[str]) -> dict:
    n = int(argv[0]) if argv and argv[0].isdigit() else 1_000_000
    ctx = ValidationContext(centre_id="smc")
    for e in ENTITY_TABLES:
        compiled_sql(e)                                  # compiled once per process, not part of a file's cost
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(os.path.join(tmp, "stages.duckdb"))
        build(con, n)
        csv = os.path.join(tmp, "wide.csv")
        write_wide_csv(con, csv)
        mb = os.path.getsize(csv) / 1e6
        peer = duckdb.connect(os.path.join(tmp, "peer.duckdb"))
        read = _timed(lambda: peer.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')").fetchall())
        peer.close()
        register_context(con, ctx)
        create_findings(con)
        stages = {"file_checks": _timed(lambda: file_findings(con, ctx)),
                  "dictionary_checks": _timed(lambda: schema_findings_sql(con, ctx))}
        rules = {}
        cols = ", ".join(FINDING_SQL)
        for code in QUERIES:
            r = RULES[code]
            rules[code] = _timed(lambda: con.execute(f"INSERT INTO findings ({cols}) {rule_query(code)}",
                                                     [r.name, r.severity, r.fix]).fetchall())
        stages["rules"] = (round(sum(w for w, _ in rules.values()), 3), round(sum(c for _, c in rules.values()), 3))
        counts = dict(con.execute("SELECT rule, count(*) FROM findings GROUP BY rule ORDER BY rule").fetchall())
        con.close()
    total = (round(sum(w for w, _ in stages.values()), 3), round(sum(c for _, c in stages.values()), 3))
    return {"lines": n, "csv_mb": round(mb, 1), "duckdb_read_csv_wall_cpu_s": read, "stages_wall_cpu_s": stages,
            "stages_3_4_wall_cpu_s": total, "share_of_read_wall": round(total[0] / read[0], 2),
            "rules_wall_cpu_s": rules, "findings": counts, "threads": os.cpu_count(),
            "load_average": os.getloadavg()[0]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
