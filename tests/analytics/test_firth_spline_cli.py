"""`tdm logistic --firth` and `tdm roc --spline`: the same numbers as the Python API, errors as one message."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.firth import fit_firth
from analytics.spline import concentration_response
from tdm.cli import main

DATA = Path(__file__).parent / "data"
SIM = str(DATA / "roc_sim.csv")
ENDO = str(DATA / "endometrial.csv")


def test_logistic_firth_json_and_text(capsys):
    rc = main(["logistic", ENDO, "--outcome", "HG", "--covariates", "NV,PI,EH", "--firth", "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["model"]["separation"] == "quasi-complete" and "Firth" in d["model"]["method"]
    want = fit_firth(pd.read_csv(ENDO), "HG", ["NV", "PI", "EH"]).coefficients
    nv = next(c for c in d["model"]["coefficients"] if c["column"] == "NV")
    assert nv["odds_ratio"] == pytest.approx(want.odds_ratio[1], rel=1e-12) and nv["method"] == "firth"
    rc = main(["logistic", ENDO, "--outcome", "HG", "--covariates", "NV,PI,EH", "--firth", "--univariate"])
    out = capsys.readouterr().out
    assert rc == 0 and "Firth penalised likelihood" in out and "quasi-complete separation" in out
    assert "Univariate models (Firth)" in out
    # without --firth the separated model publishes no OR, as before
    rc = main(["logistic", ENDO, "--outcome", "HG", "--covariates", "NV,PI,EH"])
    assert rc == 0 and "WARNING: quasi_complete_separation" in capsys.readouterr().out


def test_logistic_firth_one_class_is_one_message(tmp_path, capsys):
    p = tmp_path / "one.csv"
    p.write_text("y,x\n1,1\n1,2\n1,3\n")
    assert main(["logistic", str(p), "--outcome", "y", "--covariates", "x", "--firth"]) == 2
    err = capsys.readouterr().err
    assert "one class only" in err and "Traceback" not in err


def test_roc_spline_json_matches_the_api(capsys):
    rc = main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--spline", "--seed", "5",
               "--bootstrap", "200", "--json"])
    d = json.loads(capsys.readouterr().out)["spline"]
    r = pd.read_csv(SIM)
    want = concentration_response(r.trough_ug_ml, r.mh, n_knots=4, n_resamples=200, seed=5)
    assert rc == 0 and d["seed"] == 5 and d["knots"] == pytest.approx([1.1, 1.6, 4.0, 9.13], rel=1e-15)
    assert d["window_low"] == want.window_low and d["window_low_ci_low"] == want.window_low_ci_low
    # 5 of 200 resamples never reach 80% within the data: the upper limit is unbounded
    assert want.n_not_reached == 5 and d["window_low_ci_high"] == "Infinity"
    assert d["curve"]["probability"] == want.curve.probability.tolist()


def test_roc_spline_text_and_bad_options(capsys):
    rc = main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--spline", "--knots", "3",
               "--bootstrap", "0"])
    out = " ".join(capsys.readouterr().out.split())
    assert rc == 0 and "3 knots at 1.1, 4, 7.5" in out and "Window (modelled rate >= 80%): trough_ug_ml 8.88" in out
    # usage errors (exit 2 once the CLI maps typer's bundled click errors, issue 14)
    assert main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--spline", "--knots", "9"]) != 0
    assert "--knots must be 3-7" in capsys.readouterr().err
    assert main(["roc", SIM, "--marker", "trough_ug_ml", "--outcome", "mh", "--spline",
                 "--window-target", "80"]) != 0
