"""Each built-in profile round-trips: synth -> centre export -> adapter == the generator's truth."""

from __future__ import annotations

import pytest

from schema.models import entity_model
from tests.centres.centre_roundtrip import adapt_centre, assert_frames_match, truth_for


@pytest.mark.parametrize("centre", ["smc", "sch", "knuh"])
def test_round_trip_matches_ground_truth(clean_exports, profiles, key, centre):
    cohort, manifest = clean_exports
    got, issues = adapt_centre(manifest, profiles[centre], key, centre)
    want = truth_for(cohort, centre, key)
    assert issues.empty, issues.head().to_string()
    assert set(got) == {"patient", "assessment", "elisa", "lab"}
    for entity in got:
        assert_frames_match(got[entity], want[entity], entity)
        entity_model(entity).validate(got[entity], lazy=True)  # clean data passes the dictionary checks


def test_sch_cp949_csv_round_trips(tmp_path, profiles, key):
    from synth import generate_cohort, write_exports

    cohort = generate_cohort(60, ["sch"], seed=4)
    manifest = write_exports(cohort, profiles, tmp_path, file_format={"sch": "csv"}, encoding={"sch": "cp949"})
    path = manifest.files["file"].iloc[0]
    assert path.endswith(".csv")
    raw = open(path, "rb").read()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    got, issues = adapt_centre(manifest, profiles["sch"], key, "sch")
    assert issues.empty
    want = truth_for(cohort, "sch", key)
    for entity in got:
        assert_frames_match(got[entity], want[entity], entity)


def test_wide_source_lines_point_at_file_lines(clean_exports, profiles, key):
    cohort, manifest = clean_exports
    from centres import adapt_file

    path = manifest.files.loc[manifest.files["centre_id"] == "smc", "file"].iloc[0]
    a = adapt_file(path, profiles["smc"], key)
    lines = open(path, encoding="utf-8-sig").read().splitlines()
    df = a.frames["assessment"]
    header = lines[0].split(",")
    col = header.index("ses_cd_total")
    for line, ses in zip(df["source_line"].head(20), df["ses_cd_total"].head(20)):
        assert int(lines[line - 1].split(",")[col]) == ses
    # the long lab frame keeps every analyte row of the line
    assert set(a.frames["lab"]["source_line"]) <= set(df["source_line"])


def test_knuh_labs_keep_every_sample_unpicked(clean_exports, profiles, key):
    cohort, manifest = clean_exports
    got, _ = adapt_centre(manifest, profiles["knuh"], key, "knuh")
    labs = got["lab"].merge(got["assessment"][["patient_id", "infusion_date"]], on="patient_id")
    # samples after the infusion and weeks before it are kept: the warehouse view picks (schema/views.py)
    assert (labs["sample_date"] > labs["infusion_date"]).any()
    assert ((labs["infusion_date"] - labs["sample_date"]).dt.days > 7).any()
    # LIS tests that the profile drops never reach the frame
    assert set(got["lab"]["analyte"]) <= {"wbc_per_ul", "haematocrit_pct", "platelets_10e3_ul", "albumin_g_dl",
                                          "esr_mm_h", "crp_mg_dl", "tgn6_pmol_8e8_rbc"}
