"""Smoke test of the benchmark harness: one tiny measurement in a subprocess, the summary's shape.

No timing is asserted (timings belong to ``python -m benchmarks``, never to the test suite)."""

from __future__ import annotations

import pandas as pd

from benchmarks import gen
from benchmarks.summary import write_summary
from benchmarks.worker import run_in_subprocess


def test_one_tiny_measurement_and_summary_table(tmp_path):
    csv = gen.write_roc_csv(tmp_path / "roc.csv", 500)
    r = run_in_subprocess("analysis_python", dict(csv=str(csv), repeat=1, boot=False))
    assert "error" not in r, r
    assert r["n"] == 500 and r["roc_s"] > 0 and r["peak_rss_mb"] > 0
    assert 0.5 < r["auc"] < 1 and r["ci_low"] < r["auc"] < r["ci_high"]

    analysis = pd.DataFrame([
        {"n": 500, "task": "ROC + DeLong CI + Youden", "ours_s": r["roc_s"], "pROC_s": None,
         "sklearn_s": r.get("sklearn_roc_s"), "speedup_vs_R": None, "ci_ours": "x", "ci_peer": None},
    ])
    info = {"when": "now", "cores": 2, "cpu": "", "memory_gb": 1, "load_avg_1m": 0, "python": "3", "pandas": "3",
            "pyarrow": "x", "duckdb": "x", "pandera": "x", "polars": None, "prefect": "x", "scikit-learn": None}
    text = write_summary({"analysis": analysis}, info, "tiny", tmp_path)
    table = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False)
    assert list(table.columns) == ["measure", "measured", "peer", "ratio", "target", "result", "conditions"]
    assert len(table) == 1 and table.loc[0, "result"] == "n/a"
    assert (tmp_path / "SUMMARY.md").read_text() == text and "| measure |" in text


def test_generators_write_valid_headers(tmp_path):
    from schema.dictionary import template_columns

    p = gen.write_smc(tmp_path / "smc.csv", 50)
    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert list(df.columns) == template_columns() and len(df) == 50
    p = gen.write_knuh_labs(tmp_path / "knuh_lis_labs.csv", 200, n_patients=20)
    df = pd.read_csv(p, dtype=str)
    assert list(df.columns) == gen.KNUH_LAB_COLUMNS
    assert not df.duplicated(["PT_NO", "SPC_DT", "TEST_NM"]).any()
