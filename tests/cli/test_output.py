"""Tables for people fit the terminal and never truncate a cell; CSV/JSON carry every column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tdm.cli import main
from tdm.cli.output import plan_columns, print_table

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "analytics" / "data"


def test_plan_columns_keeps_first_and_last_columns_that_fit():
    assert plan_columns([5, 5, 5], 80) is None                      # everything fits
    shown = plan_columns([10] * 30, 80)                            # 13 columns each; 80 wide
    assert shown[:3] == [0, 1, 2] and shown[-2:] == [28, 29]
    assert sum(10 + 3 for _ in shown) + 4 + 1 <= 80
    assert shown == sorted(shown)


def _wide(n_rows: int) -> pd.DataFrame:
    return pd.DataFrame({f"column_{i:02d}": [f"P{j:016x}" for j in range(n_rows)] for i in range(20)})


def test_a_wide_result_with_few_rows_prints_one_record_per_block(capsys):
    print_table(_wide(3), width=100)
    out = capsys.readouterr().out
    assert out.count("-[ record") == 3
    assert "P0000000000000002" in out                              # identifiers whole
    assert "--format csv" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_a_wide_result_with_many_rows_elides_columns_like_duckdb(capsys):
    print_table(_wide(30), width=120)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 120
    assert "column_00" in out and "column_19" in out and "…" in out
    assert "columns elided to fit 120 characters" in out and "--format csv" in out
    assert "P000000000000001d" in out                              # never truncated


def test_roc_formats_and_infinite_likelihood_ratios(tmp_path, capsys):
    # a cut-off above every negative: FP = 0, LR+ infinite with no CI
    df = pd.DataFrame({"m": [1, 2, 3, 4, 5, 6, 7, 8], "y": [0, 0, 0, 1, 0, 1, 1, 1]})
    p = tmp_path / "d.csv"
    df.to_csv(p, index=False)
    assert main(["roc", str(p), "--marker", "m", "--outcome", "y", "--cutoffs", "6"]) == 0
    out = capsys.readouterr().out
    assert "inf (FP=0, no CI)" in out and "NA-NA" not in out
    assert main(["roc", str(p), "--marker", "m", "--outcome", "y", "--cutoffs", "6", "--format", "csv"]) == 0
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert table.loc[table.cutoff == 6, "lr_positive"].iloc[0] == np.inf
    assert main(["roc", str(p), "--marker", "m", "--outcome", "y", "--format", "json"]) == 0
    assert "auc" in json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_formats(fmt, warehouse, capsys):
    sql = "SELECT 'P' || lpad(CAST(range AS VARCHAR), 16, '0') AS patient_id, range AS n FROM range(3)"
    assert main(["sql", sql, "--format", fmt, "--home", str(warehouse.home)]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        assert [r["n"] for r in json.loads(out)] == [0, 1, 2]
    elif fmt == "csv":
        assert out.splitlines() == ["patient_id,n", "P0000000000000000,0", "P0000000000000001,1",
                                    "P0000000000000002,2"]
    else:
        assert "P0000000000000002" in out and "3 row(s)" in out


def _query(i: int, message: str = "albumin 38 g/dL is outside the plausible range 1-6 g/dL (g/L typed as g/dL?)"):
    from types import SimpleNamespace

    return SimpleNamespace(query_id=1000 + i, centre_id="smc", state="answered", answer="confirmed",
                           patient_id=f"smc-3f9a0c1b2d4e5f60718293a4b5c6d7{i:02d}", record="visit 2019-03-04 week 14",
                           column_name="albumin_g_dl", value="38", rule="lab_value_implausible", message=message,
                           last_file_id=987654 + i, source_line=123456, age_days=lambda now: 3.0)


@pytest.mark.parametrize("n", [1, 12], ids=["one record per block", "columns elided"])
def test_review_and_query_lists_never_cut_a_pseudonym_or_a_file_id(n, monkeypatch, capsys):
    """Issue 14: `tdm review list` printed `smc-3f9a0c1b2d4e5f60718…` (rich's own table, 200 wide)."""
    from tdm.cli.query_cmds import print_queries

    monkeypatch.setenv("COLUMNS", "120")
    print_queries([_query(i) for i in range(n)])
    out = capsys.readouterr().out
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 120
    for i in range(n):
        assert f"smc-3f9a0c1b2d4e5f60718293a4b5c6d7{i:02d}" in out and str(987654 + i) in out
    assert f"{n} quer" in out


# --- progress: a bar on a terminal, plain lines otherwise -------------------------------------------------
def test_progress_is_one_plain_line_per_file_when_not_on_a_terminal(capsys):
    from tdm.cli.progress import file_progress
    from base.runtime import file_done

    with file_progress(2):
        file_done("smc", "a.csv", "loaded", 10_000, 2.0)
        file_done("knuh", "b.xlsx", "rejected", 0, 0.1)
    err = capsys.readouterr().err.splitlines()
    assert err == ["smc/a.csv: loaded, 10000 line(s) in 2.0 s, 5,000 lines/s",
                   "knuh/b.xlsx: rejected, 0 line(s) in 0.1 s"]


def test_progress_on_a_terminal_is_a_rich_bar_with_the_last_step(monkeypatch, capsys):
    from tdm.cli import progress
    from base.runtime import file_done, step_done

    monkeypatch.setattr(progress, "interactive", lambda: True)
    with progress.file_progress(2):
        file_done("smc", "a.csv", "loaded", 10_000, 2.0)
        file_done("smc", "b.csv", "loaded", 500, 1.0)
    err = capsys.readouterr().err
    assert "ingesting" in err and "2/2" in err and "smc/b.csv: loaded" in err and "500 lines/s" in err
    assert "smc/a.csv: loaded, 10000" not in err.splitlines()       # a redrawn bar, not a line per file
    with progress.step_progress("analysing"):
        step_done("table 2", "computed", 0.4)
    err = capsys.readouterr().err
    assert "analysing" in err and "table 2: computed (0.4 s)" in err


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_cutoffs_formats(fmt, tmp_path, monkeypatch, capsys):
    import publication

    monkeypatch.setenv("TDM_PSEUDONYM_KEY", "cutoffs-format-key-0123456789abcdef")
    home = tmp_path / "h"
    assert main(["init", "--home", str(home)]) == 0
    table4 = pd.DataFrame({"source": ["youden", "target specificity 0.8"], "cutoff": [5.123456789, 7.5],
                           "sensitivity": [0.8123456, 0.61], "specificity": [0.7, 0.8], "ppv": [0.66, 0.7],
                           "npv": [0.8, 0.72], "tp": [40, 30], "fp": [12, 8], "tn": [28, 32], "fn": [10, 20]})
    monkeypatch.setattr(publication, "latest_table", lambda settings, name: ("pub-1", table4))
    capsys.readouterr()
    assert main(["cutoffs", "--home", str(home), "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        assert json.loads(out) == {"publication_id": "pub-1", "rows": json.loads(table4.to_json(orient="records"))}
    elif fmt == "csv":
        pd.testing.assert_frame_equal(pd.read_csv(__import__("io").StringIO(out)), table4)   # full precision
    else:
        assert "IFX trough cut-offs for mucosal healing (pub-1)" in out and "youden" in out and "5.12" in out
