"""Unit conversions: exact factors, spellings, and a round-trip law (Hypothesis)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema import units as U

PAIRS = [(canonical, source) for canonical, table in U.CONVERSIONS.items() for source in table]


@given(x=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
       pair=st.sampled_from(PAIRS))
def test_conversion_round_trips(x, pair):
    canonical, source = pair
    back = U.to_canonical(U.from_canonical(x, source, canonical), source, canonical)
    assert math.isclose(back, x, rel_tol=1e-12, abs_tol=1e-12)
    there = U.from_canonical(U.to_canonical(x, source, canonical), source, canonical)
    assert math.isclose(there, x, rel_tol=1e-12, abs_tol=1e-12)


@given(tenths=st.integers(min_value=0, max_value=5000))
def test_crp_mg_l_to_mg_dl_is_exact_division(tenths):
    # a CRP written with one decimal in mg/L is exactly the two-decimal mg/dL number
    mg_l = tenths / 10
    assert U.to_canonical(mg_l, "mg/L", "mg/dL") == mg_l / 10


def test_threshold_values_stay_exact():
    assert U.to_canonical(3.0, "mg/L", "mg/dL") == 0.3  # CRP remission threshold
    assert U.to_canonical(45.0, "g/L", "g/dL") == 4.5
    assert U.to_canonical(0.417, "fraction", "%") == pytest.approx(41.7, abs=1e-12)
    assert U.to_canonical(6.01, "10^3/uL", "/uL") == pytest.approx(6010.0, abs=1e-9)
    assert U.to_canonical(258.0, "/uL", "10^3/uL") == 0.258


@pytest.mark.parametrize("spelling", ["10^3/uL", "x10^3/µL", "10*3/uL", "K/uL", " 10³/μL ", "10e3/ul"])
def test_thousands_per_microlitre_spellings(spelling):
    assert U.factor(spelling, "/uL") == 1000


def test_unknown_unit_is_none():
    assert U.factor("furlongs", "mg/dL") is None
    with pytest.raises(ValueError):
        U.to_canonical(1.0, "furlongs", "mg/dL")


def test_convert_rows_per_row_units():
    values = pd.Series([0.5, 5.0, 4.2, 42.0, 1.0])
    analytes = pd.Series(["crp_mg_dl", "crp_mg_dl", "albumin_g_dl", "albumin_g_dl", "crp_mg_dl"], dtype="str")
    units = pd.Series(["mg/dL", "mg/L", "g/dL", "g/L", "bogus"], dtype="str")
    out, unknown = U.convert_rows(values, analytes, units)
    assert out.iloc[:4].tolist() == [0.5, 0.5, 4.2, 4.2]
    assert unknown.tolist() == [False, False, False, False, True]
    assert math.isnan(out.iloc[4])
