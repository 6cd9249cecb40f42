"""`tdm roc` end to end on small CSVs (same numbers as the Python API, errors as one message)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.roc import roc_analysis
from tdm.cli import main

DATA = Path(__file__).parent / "data"
SIM = str(DATA / "roc_sim.csv")


def test_json_full_precision(capsys):
    rc = main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--json", "--target-sensitivity", "0.8"])
    out = capsys.readouterr().out
    assert rc == 0
    d = json.loads(out)
    r = roc_analysis(pd.read_csv(SIM).trough_ug_ml, pd.read_csv(SIM).mh, target_sensitivity=0.8)
    assert d["auc"] == r.auc and d["ci_low"] == r.ci_low  # exact round-trip of floats
    assert d["youden"]["cutoff"] == 5.6 and d["target_specificity"]["cutoff"] == 5.1
    assert d["target_sensitivity"]["cutoff"] == r.target_sensitivity.cutoff
    assert [row["cutoff"] for row in d["cutoff_table"] if "fixed" in row["source"]] == [3, 3.5, 4.5, 5, 5.3, 6, 8.5]
    assert d["conventions"]["rule"] == "test positive when marker >= cutoff"
    assert "curve" not in d


def test_text_output_and_options(capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)      # to a pipe: one line per cut-off (COLUMNS is 80 in a pytest-xdist worker)
    rc = main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--cutoffs", "4,6", "--ci-method", "wilson"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "AUC 0.616 (95% CI 0.525-0.707, DeLong)" in out and "Youden-optimal: >= 5.6" in out
    assert ">= 4 " in out and "wilson" in out


def test_yes_no_outcome_and_missing(tmp_path, capsys):
    p = tmp_path / "x.csv"
    p.write_text("tl,mh\n1,no\n2,No\n3,yes\n4,YES\n,yes\n5,\n")
    rc = main(["roc", str(p), "--marker", "tl", "--outcome", "mh", "--json", "--curve"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["auc"] == 1.0 and d["n_dropped"] == 2
    assert d["curve"]["cutoff"][-1] == "Infinity"
    # not estimable (perfect separation: no DeLong z, no LR CI) is JSON null, never the string "NaN"
    assert d["z"] is None and d["youden"]["lr_positive_ci_low"] is None
    assert '"NaN"' not in json.dumps(d)


@pytest.mark.parametrize(
    "content, args, msg",
    [
        ("tl,mh\n1,0\n2,1\n", ["--marker", "x", "--outcome", "mh"], "column(s) not found: x"),
        ("tl,mh\n1,0\nabc,1\n3,0\n4,1\n", ["--marker", "tl", "--outcome", "mh"], "line 3, column 'tl'"),
        ("tl,mh\n1,0\n2,maybe\n3,0\n4,1\n", ["--marker", "tl", "--outcome", "mh"], "must be binary"),
        ("tl,mh\n1,1\n2,1\n3,1\n", ["--marker", "tl", "--outcome", "mh"], "0 negative"),
    ],
)
def test_errors_are_one_message(tmp_path, capsys, content, args, msg):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    rc = main(["roc", str(p), *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert msg in " ".join(err.split())
    assert "Traceback" not in err


def test_bad_parameters(capsys):
    assert main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--target-specificity", "80"]) != 0
    assert main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--cutoffs", "3,x"]) != 0
    assert main(["roc", "/nonexistent.csv", "--marker", "a", "--outcome", "b"]) == 2
