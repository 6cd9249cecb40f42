"""The study's medians from the writer's per-value counts equal DuckDB's ``median`` over the current rows."""

from __future__ import annotations

import numpy as np

from warehouse.lake import open_writer
from warehouse.load import load_file, reserve_file_id
from warehouse.value_counts import study_medians
from tests.factories import accepted_result, elisa, file_meta, frame, lab

VARIABLES = ["crp_mg_dl", "albumin_g_dl", "trough_ug_ml", "hemoglobin_g_dl"]


def _load(con, name, labs, troughs=()):
    frames = {"lab": frame("lab", labs)}
    if troughs:
        frames["elisa"] = frame("elisa", [elisa(f"P{i}", trough_ug_ml=t) for i, t in enumerate(troughs)])
    load_file(con, reserve_file_id(con), file_meta(name, checksum=name), accepted_result(frames))


def _exact(con) -> list[tuple]:
    rows = []
    for v in VARIABLES:
        sql = ("SELECT median(trough_ug_ml), count(trough_ug_ml) FROM core.elisa_results WHERE is_current"
               if v == "trough_ug_ml" else
               f"SELECT median(value), count(value) FROM core.lab_results WHERE is_current AND analyte = '{v}'")
        rows.append((v, *con.execute(sql).fetchone()))
    return rows


def test_the_counted_medians_are_the_exact_medians_through_loads_and_superseding(warehouse):
    rng = np.random.default_rng(7)
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        # odd then even counts, repeated values, a second file superseding some rows with other values
        crp = np.round(rng.lognormal(0, 1, 41), 2).tolist()
        alb = np.round(rng.normal(3.8, 0.4, 20), 1).tolist()
        _load(con, "a.csv", [lab(f"P{i}", "crp_mg_dl", v) for i, v in enumerate(crp)]
              + [lab(f"P{i}", "albumin_g_dl", v) for i, v in enumerate(alb)], troughs=[4.2, 0.3, 16.0])
        checked = [_exact(con)]
        _load(con, "b.csv", [lab(f"P{i}", "crp_mg_dl", v * 10) for i, v in enumerate(crp[:9])]
              + [lab(f"Q{i}", "albumin_g_dl", 3.3) for i in range(5)], troughs=[7.5])
        checked.append(_exact(con))
        got = study_medians(con, VARIABLES)
    assert checked[0] != checked[1]
    rows = [(r.variable, None if r.median != r.median else r.median, r.n) for r in got.itertuples()]
    assert rows == checked[1]
    assert rows[-1] == ("hemoglobin_g_dl", None, 0)
