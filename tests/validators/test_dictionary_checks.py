"""Stage 3 of the one path (validators.dictionary_checks) against the pandas path's recorded findings, cell by cell."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from schema.ibis_models import entity_model_ibis
from schema.models import entity_model_as_of
from schema.relations import ENTITY_TABLES, FINDING_SQL, create_empty, frames_to_tables
from tests.validators.dictionary_diff import check_recorded
from tests.validators.factory import TODAY, ctx, make_frames, set_cell
from validators.dictionary_checks import CHECK_RULES, RULES_WRITTEN, ContractError, schema_findings_sql
from validators.registry import RULES


def set_lab(frames, line, analyte, value):
    out = {k: v.copy() for k, v in frames.items()}
    lab = out["lab"]
    lab.loc[(lab["source_line"] == line) & (lab["analyte"] == analyte), "value"] = value
    return out


def assert_same(case, frames, context=None, rules=()):
    sql_f = check_recorded(case, frames, context or ctx())
    for rule in rules:                                   # the stage found what it should
        assert rule in set(sql_f["rule"]), (rule, sql_f)
    return sql_f


def test_every_column_check_kind_matches_the_pandas_path():
    f = make_frames(16)
    f = set_cell(f, "assessment", 2, "ses_cd_total", 57)
    f = set_cell(f, "assessment", 3, "pcdai", 101.0)
    f = set_cell(f, "patient", 4, "paris_behaviour", "B4")
    f = set_cell(f, "patient", 5, "sex", pd.NA)
    f = set_cell(f, "elisa", 6, "trough_ug_ml", -1.0)
    f = set_cell(f, "patient", 7, "birth_date", pd.Timestamp("2027-01-01"))
    f = set_cell(f, "assessment", 8, "n_infusions", 0)
    f = set_cell(f, "assessment", 9, "n_infusions", 301)
    f = set_cell(f, "assessment", 10, "ses_cd_rectum", 13)
    f = set_cell(f, "elisa", 11, "trough_censor", "~")
    f = set_cell(f, "elisa", 12, "ati_status", pd.NA)
    f = set_cell(f, "assessment", 13, "colonoscopy_date", pd.NaT)
    f = set_cell(f, "patient", 14, "paris_perianal", pd.NA)
    f = set_cell(f, "elisa", 15, "assay_name", pd.NA)
    f = set_cell(f, "assessment", 16, "pcdai", 100.0)      # the bound itself is in range
    f = set_cell(f, "assessment", 17, "pcdai", 0.5)        # a clean line amid the broken ones
    out = assert_same("every_check_kind", f, rules=["range", "allowed_codes", "required", "not_future"])
    assert set(out["source_line"]) == set(range(2, 16))
    codes = out[out["rule"] == "allowed_codes"].set_index("column_name")
    assert codes.loc["paris_behaviour", "expected"] == "one of B1, B2, B3, B2B3"
    assert codes.loc["trough_censor", "value"] == "~"
    rng = out[(out["rule"] == "range") & (out["column_name"] == "pcdai")].iloc[0]
    assert (rng["value"], rng["expected"], rng["message"]) == ("101", "range 0 to 100 points", "pcdai is out of range")
    assert out.loc[out["column_name"] == "ses_cd_total", "record"].iloc[0] == str(
        f["assessment"].loc[0, "colonoscopy_date"].date())


def test_unit_mixups_are_left_to_stage_4_and_implausible_lab_values_match():
    f = make_frames(12)
    f = set_cell(f, "elisa", 2, "trough_ug_ml", 4200.0)          # ng/mL in a ug/mL column
    f = set_cell(f, "elisa", 3, "lloq_ug_ml", 300.0)
    f = set_lab(f, 4, "albumin_g_dl", 38.0)                      # g/L
    f = set_lab(f, 5, "albumin_g_dl", 0.42)                      # g/dL value in a g/L column
    f = set_lab(f, 6, "wbc_per_ul", 7.5)                         # 10^3/uL
    f = set_lab(f, 7, "haematocrit_pct", 0.38)                   # a fraction
    f = set_lab(f, 8, "crp_mg_dl", 600.0)                        # implausible even in mg/L
    f = set_lab(f, 9, "esr_mm_h", 250.0)                         # no standard confusion: implausible
    f = set_lab(f, 10, "crp_mg_dl", -1.0)                        # negative: rules.lab_value_negative's
    f = set_lab(f, 11, "platelets_10e3_ul", 2500.0)
    f = set_lab(f, 12, "albumin_g_dl", 38.123456)                # 4 significant digits in the message
    out = assert_same("unit_mixups", f, rules=["lab_value_implausible"])
    by_line = out.set_index("source_line")
    # a value plausible in another unit is stage 4's unit_mixup (validators.setwise.units), not a range finding
    assert "unit_mixup" not in set(out["rule"]) and not {2, 4, 5, 6, 7, 12} & set(by_line.index)
    assert by_line.loc[8, "rule"] == by_line.loc[9, "rule"] == by_line.loc[11, "rule"] == "lab_value_implausible"
    assert by_line.loc[9, "column_name"] == "esr_mm_h" and by_line.loc[9, "expected"] == "0 to 150 mm/h"
    assert 10 not in by_line.index


def test_lab_codes_missing_values_and_unknown_analytes_match():
    f = make_frames(4)
    lab = f["lab"].copy()
    lab.loc[lab["source_line"] == 2, "analyte"] = "hb_g_dl"
    lab.loc[(lab["source_line"] == 3) & (lab["analyte"] == "crp_mg_dl"), "value"] = float("nan")
    lab.loc[(lab["source_line"] == 4) & (lab["analyte"] == "esr_mm_h"), "sample_date"] = pd.Timestamp("2027-02-01")
    f["lab"] = lab
    out = assert_same("lab_codes", f, rules=["allowed_codes", "required", "not_future"])
    req = out[out["rule"] == "required"].iloc[0]
    assert (req["column_name"], req["source_line"]) == ("crp_mg_dl", 3)


def test_future_date_times_are_shown_with_their_time_of_day():
    f = make_frames(4)
    f = set_cell(f, "elisa", 2, "trough_sample_datetime", pd.Timestamp("2026-11-02 08:15"))
    f = set_cell(f, "elisa", 3, "trough_sample_datetime", pd.Timestamp("2026-12-01 00:00"))
    f = set_cell(f, "elisa", 4, "trough_sample_datetime", pd.Timestamp("2026-11-01 23:59"))   # today: fine
    out = assert_same("future_date_times", f, rules=["not_future"])
    assert sorted(out["value"]) == ["2026-11-02 08:15", "2026-12-01 00:00"]
    assert set(out["expected"]) == {f"on or before {TODAY.isoformat()}"}


def test_a_clean_file_has_no_finding_on_either_side():
    out = assert_same("clean", make_frames(20))
    assert not len(out)


def test_every_failing_row_of_a_large_table_maps_to_its_own_source_line():
    """The check outputs are aligned with the table by position (as pandera aligns them on DuckDB):
    on a table DuckDB scans in parallel every finding must still name its own line."""
    f = make_frames(60_000, labs=False)
    a = f["assessment"].copy()
    a.loc[a.index[::997], "ses_cd_total"] = 99
    a.loc[a.index[5::1009], "pcdai"] = pd.NA
    f["assessment"] = a
    e = f["elisa"].copy()
    e.loc[e.index[7::1013], "trough_ug_ml"] = 4200.0
    f["elisa"] = e
    out = assert_same("large_table", f, rules=["range", "required"])
    assert len(out) == len(a.index[::997]) + len(a.index[5::1009])      # the troughs in ng/mL are stage 4's
    assert sorted(out.loc[out["rule"] == "range", "source_line"]) == sorted(a.loc[a.index[::997], "source_line"])


def test_check_names_map_to_registered_rules():
    for rule in RULES_WRITTEN:
        assert rule in RULES, rule
    for entity in ENTITY_TABLES:
        for model in (entity_model_ibis(entity, TODAY), entity_model_as_of(entity, TODAY)):
            names = {c.name for col in model.columns.values() for c in col.checks} | {c.name for c in model.checks}
            assert names <= set(CHECK_RULES), names - set(CHECK_RULES)


def test_the_two_backends_declare_the_same_checks():
    for entity in ENTITY_TABLES:
        ib, pa_ = entity_model_ibis(entity, TODAY), entity_model_as_of(entity, TODAY)
        assert list(ib.columns) == list(pa_.columns)
        for name in ib.columns:
            a, b = ib.columns[name], pa_.columns[name]
            assert a.nullable == b.nullable, name
            assert [(c.name, c.error, c.statistics) for c in a.checks] == \
                [(c.name, c.error, c.statistics) for c in b.checks], name


def test_findings_are_appended_and_a_broken_table_is_refused():
    con = duckdb.connect()
    frames_to_tables(con, set_cell(make_frames(3), "patient", 2, "sex", "X"))
    create_empty(con, "findings", FINDING_SQL)
    con.execute("INSERT INTO findings (source_line, entity, rule, severity, message) "
                "VALUES (99, 'patient', 'unknown_code', 'error', 'from stage 2')")
    schema_findings_sql(con, ctx())
    assert sorted(con.execute("SELECT rule FROM findings").fetchall()) == [("allowed_codes",), ("unknown_code",)]
    con.execute("ALTER TABLE assessment ALTER pcdai TYPE VARCHAR")
    with pytest.raises(ContractError, match=r"assessment .*pcdai \(VARCHAR, expected DOUBLE\)"):
        schema_findings_sql(con, ctx())
    assert con.execute("SELECT count(*) FROM findings").fetchone() == (2,)


def test_not_in_the_future_follows_the_context_day():
    f = set_cell(make_frames(2), "patient", 2, "birth_date", pd.Timestamp("2026-11-05"))
    assert len(assert_same("future_by_context_day_1", f, ctx(today=dt.date(2026, 11, 1)), rules=["not_future"])) == 1
    assert not len(assert_same("future_by_context_day_5", f, ctx(today=dt.date(2026, 11, 5))))


def test_the_callers_connection_keeps_its_settings_and_transaction():
    """ibis compiles against its own database: the writer connection's time zone, replacement scans and
    open transaction are left as they were."""
    con = duckdb.connect()
    frames_to_tables(con, set_cell(make_frames(2), "assessment", 2, "pcdai", 150.0))
    settings = "SELECT current_setting('TimeZone'), current_setting('python_enable_replacements')"
    before = con.execute(settings).fetchone()
    con.execute("BEGIN TRANSACTION")
    schema_findings_sql(con, ctx())
    assert con.execute("SELECT rule FROM findings").fetchall() == [("range",)]
    con.execute("ROLLBACK")
    assert con.execute(settings).fetchone() == before
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'findings'").fetchone() == (0,)


def test_a_nan_float_is_a_missing_value_as_in_pandas():
    """DuckDB keeps NaN apart from NULL (a text 'nan' casts to NaN); pandas and pandera treat it as missing."""
    f = make_frames(3)
    f = set_cell(f, "assessment", 2, "pcdai", float("nan"))          # required -> 'required'
    f = set_cell(f, "elisa", 3, "uloq_ug_ml", float("nan"))          # optional -> nothing
    recorded = assert_same("nan_is_missing", f)
    con = duckdb.connect()
    frames_to_tables(con, make_frames(3))
    con.execute("UPDATE assessment SET pcdai = 'nan'::DOUBLE WHERE source_line = 2")
    con.execute("UPDATE elisa SET uloq_ug_ml = 'nan'::DOUBLE WHERE source_line = 3")
    schema_findings_sql(con, ctx())
    got = con.execute("SELECT source_line, column_name, rule FROM findings").fetchall()
    assert got == [(2, "pcdai", "required")]
    assert list(zip(recorded["source_line"], recorded["column_name"], recorded["rule"])) == got
