"""The ceiling: DuckDB's ``read_csv`` fanned out into the real ``core.*`` tables with no check at all."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import duckdb

from benchmarks.tasks.common import cpu

from schema.dictionary import ANALYTES, BY_ENTITY, ENTITIES, LAB_DATE_COLUMN, entity_columns
from warehouse.migrate import upgrade_file


def duckdb_normalising_load(path: str, db: str) -> dict:
    """The ceiling for any loader of the canonical wide CSV into this warehouse: DuckDB's own
    ``read_csv`` (types sniffed) and four ``INSERT ... SELECT`` into the real ``core.*`` tables (the
    wide line fanned out to patient, visit, ELISA and one row per lab value), one transaction,
    CHECKPOINT - with no harmonising, no pseudonymisation and no check at all (a cell that does not
    cast, as in the noisy export, is loaded as NULL)."""
    for f in (db, db + ".wal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f)
    upgrade_file(Path(db))   # the ceiling is measured on a plain DuckDB file (the same schema)
    con = duckdb.connect(db)
    t0, c0 = time.perf_counter(), cpu()
    con.begin()
    con.execute(f"CREATE TEMP TABLE r AS SELECT * FROM read_csv('{path}')").fetchall()
    base = con.execute("SELECT min(rowid) FROM r").fetchone()[0]
    line = f"CAST(rowid - {base} + 2 AS INTEGER)"
    for entity, e in ENTITIES.items():
        cols = entity_columns(entity)
        if entity == "lab":
            sel = " UNION ALL ".join(
                f"SELECT 'smc', CAST(patient_id AS VARCHAR), CAST({LAB_DATE_COLUMN} AS DATE), '{a}', "
                f"TRY_CAST({a} AS DOUBLE), {line}, 1, true FROM r WHERE {a} IS NOT NULL" for a in ANALYTES)
        else:
            own = {v.name for v in BY_ENTITY[entity]}
            special = {"centre_id": "'smc'", "trough_censor": "NULL",     # the trough as a plain number
                       "trough_ug_ml": "TRY_CAST(ltrim(trough_ug_ml, '<>') AS DOUBLE)"}
            types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE "
                                     "table_schema = 'core' AND table_name = ?", [e.table]).fetchall())
            # TRY_CAST: a bad cell of a noisy file becomes NULL instead of failing the load (no check)
            exprs = [special.get(c, f"TRY_CAST({c} AS {types[c]})") for c in cols if c in own]
            sel = f"SELECT {', '.join(exprs)}, {line}, 1, true FROM r"
        con.execute(f"INSERT INTO core.{e.table} ({', '.join(cols)}, source_line, file_id, is_current) {sel}"
                    ).fetchall()
    con.commit()
    t1 = time.perf_counter()
    con.execute("CHECKPOINT").fetchall()
    t2, c2 = time.perf_counter(), cpu()
    n = con.execute("SELECT count(*) FROM core.lab_results").fetchone()[0]
    con.close()
    for f in (db, db + ".wal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f)
    return {"seconds": round(t2 - t0, 4), "cpu_s": round(c2 - c0, 4), "load_s": round(t1 - t0, 4), "checkpoint_s": round(t2 - t1, 4),
            "lab_rows": n}
