"""``tdm logistic``: a mostly numeric covariate with bad cells is an error (file, line, column, value),
never a silent categorical variable; categorical covariates only with ``--categorical``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tdm.cli import main

DATA = Path(__file__).resolve().parents[1] / "analytics" / "data"
SMALL = str(DATA / "logistic_small.csv")


@pytest.fixture
def troughs(tmp_path) -> Path:
    rng = np.random.default_rng(4)
    n = 220
    trough = np.round(rng.gamma(3, 2, n), 1)
    mh = (rng.random(n) < 1 / (1 + np.exp(-(trough - 6) / 2))).astype(int)
    df = pd.DataFrame({"mh": mh, "trough": trough.astype(str)})
    df.loc[[17, 60, 143], "trough"] = ["<0.4", "?", "4,5"]     # a lab's censored, unknown, decimal-comma cells
    path = tmp_path / "troughs.csv"
    df.to_csv(path, index=False)
    return path


def test_bad_cells_in_a_numeric_covariate_are_an_error_with_file_line_column_value(troughs, capsys):
    rc = main(["logistic", str(troughs), "--outcome", "mh", "--covariates", "trough"])
    err = capsys.readouterr().err
    assert rc == 2, err
    # data row 17 is line 19 (header = line 1)
    assert f"{troughs}, line 19, column 'trough'" in err and "'<0.4'" in err
    assert "--categorical" in err


def test_a_text_covariate_needs_categorical(capsys):
    assert main(["logistic", SMALL, "--outcome", "y", "--covariates", "x1,g"]) == 2
    err = capsys.readouterr().err
    assert "column 'g'" in err and "--categorical g" in err
    assert main(["logistic", SMALL, "--outcome", "y", "--covariates", "x1,g", "--categorical", "g",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["terms"] == ["x1", "g"]
    assert [c["column"] for c in out["model"]["coefficients"]] == ["Intercept", "x1", "g[b]", "g[c]"]


def test_a_numeric_code_can_be_declared_categorical(tmp_path, capsys):
    df = pd.read_csv(SMALL)
    df["site"] = np.arange(len(df)) % 3 + 1
    p = tmp_path / "d.csv"
    df.to_csv(p, index=False)
    assert main(["logistic", str(p), "--outcome", "y", "--covariates", "x1,site", "--categorical", "site",
                 "--format", "json"]) == 0
    cols = [c["column"] for c in json.loads(capsys.readouterr().out)["model"]["coefficients"]]
    assert cols == ["Intercept", "x1", "site[2]", "site[3]"]


def test_unknown_columns_are_named_once(capsys):
    assert main(["logistic", SMALL, "--outcome", "y", "--covariates", "x1,nope,nope2"]) == 2
    err = capsys.readouterr().err
    assert err.count("nope2") == 1 and err.count("'nope'") + err.count("nope,") + err.count("nope ") >= 1
    assert err.count("nope") == 2       # 'nope' once and 'nope2' once
    assert main(["logistic", SMALL, "--outcome", "y", "--covariates", "x1", "--categorical", "g"]) == 2
    assert "--categorical" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_logistic_formats(fmt, capsys):
    assert main(["logistic", SMALL, "--outcome", "y", "--covariates", "x1,x2", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        assert json.loads(out)["model"]["coefficients"][1]["column"] == "x1"
    elif fmt == "csv":
        lines = out.splitlines()
        header = lines[0].split(",")
        assert header[0] == "table" and "odds_ratio" in header and "ci_low" in header
        col = header.index("column")
        assert [ln.split(",")[col] for ln in lines[1:]] == ["Intercept", "x1", "x2"]
    else:
        assert "Model (Wald 95% CI)" in out and "x1" in out


def test_library_warnings_never_reach_the_terminal(tmp_path):
    """statsmodels' overflow warnings on a separated covariate (stepwise + univariate) stay quiet;
    the command reports the separation in its own words."""
    import subprocess
    import sys

    rng = np.random.default_rng(2)
    x = rng.uniform(0, 100, 80)
    df = pd.DataFrame({"y": (x > 50).astype(int), "x": x * 1000, "z": rng.normal(size=80),
                       "w": rng.integers(0, 2, 80)})
    p = tmp_path / "sep.csv"
    df.to_csv(p, index=False)
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("TDM_DEBUG", "PYTHONWARNINGS")}
    proc = subprocess.run([sys.executable, "-c", "from tdm.cli import run; run()", "logistic", str(p), "--outcome",
                           "y", "--covariates", "x,z,w", "--stepwise", "--univariate"],
                          env={**env, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr and "overflow" not in proc.stderr, proc.stderr
    assert "separation" in proc.stdout
