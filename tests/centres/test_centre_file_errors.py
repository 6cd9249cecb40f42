"""File-level problems raise a specific FileRejected/MappingError naming file, column and value;
cell-level problems become cell issues (the cell is missing, the file is still harmonised)."""

from __future__ import annotations

import pandas as pd
import pytest

from centres import adapt_file
from base.errors import FileRejected, MappingError


@pytest.fixture()
def smc_text(clean_exports):
    _, manifest = clean_exports
    path = manifest.files.loc[manifest.files["centre_id"] == "smc", "file"].iloc[0]
    return open(path, encoding="utf-8-sig").read()


def _edit_header(text, old, new):
    head, rest = text.split("\n", 1)
    cols = head.split(",")
    cols[cols.index(old)] = new
    return ",".join(cols) + "\n" + rest


def _set_cell(text, line, column, value):
    lines = text.split("\n")
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines)


def test_unknown_column_is_rejected_naming_it(tmp_path, smc_text, profiles, key):
    lines = smc_text.split("\n")
    lines = [lines[0] + ",favourite_colour"] + [x + ",blue" if x else x for x in lines[1:]]
    p = tmp_path / "smc.csv"
    p.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(MappingError) as ei:
        adapt_file(p, profiles["smc"], key)
    e = ei.value
    assert (e.code, e.file, e.column) == ("unknown_columns", "smc.csv", "favourite_colour")
    assert "favourite_colour" in str(e)


def test_missing_mapped_column_is_rejected_naming_it(tmp_path, smc_text, profiles, key):
    p = tmp_path / "smc.csv"
    p.write_text(_edit_header(smc_text, "sex", "gender"), encoding="utf-8")
    with pytest.raises(MappingError) as ei:
        adapt_file(p, profiles["smc"], key)
    e = ei.value
    assert (e.code, e.file, e.column) == ("missing_columns", "smc.csv", "sex")
    assert "'gender'" in str(e)  # the message points at the probable rename


def test_undecodable_encoding_is_rejected(tmp_path, smc_text, profiles, key):
    # a CP949 (Korean Windows) file sent to a UTF-8 profile
    text = _set_cell(smc_text, 3, "assay_name", "샤이카리 키트")
    p = tmp_path / "smc.csv"
    p.write_bytes(text.encode("cp949"))
    with pytest.raises(FileRejected) as ei:
        adapt_file(p, profiles["smc"], key)
    e = ei.value
    assert (e.code, e.file, e.line) == ("encoding", "smc.csv", 3)
    assert e.value  # the offending bytes, hex
    assert "utf-8" in str(e)


def test_invalid_bytes_in_a_cp949_profile_are_rejected(tmp_path, profiles, key):
    p = tmp_path / "sch.csv"
    p.write_bytes("연구번호,성별\n".encode("cp949") + b"CW1,\xff\xff\n")
    with pytest.raises(FileRejected) as ei:
        adapt_file(p, profiles["sch"], key)
    assert ei.value.code == "encoding" and ei.value.line == 2


@pytest.mark.parametrize("content, code", [(b"", "empty_file"), (b"\n\n  \n", "empty_file"),
                                           (b"patient_id,sex\n", "header_only"),
                                           (b"patient_id,sex\n\n,\n", "header_only")])
def test_empty_and_header_only_files(tmp_path, profiles, key, content, code):
    p = tmp_path / "smc.csv"
    p.write_bytes(content)
    with pytest.raises(FileRejected) as ei:
        adapt_file(p, profiles["smc"], key)
    assert ei.value.code == code and ei.value.file == "smc.csv"


def test_file_matching_no_spec(tmp_path, profiles, key):
    p = tmp_path / "random_notes.csv"
    p.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(FileRejected) as ei:
        adapt_file(p, profiles["knuh"], key)
    assert ei.value.code == "no_matching_spec" and ei.value.value == "random_notes.csv"


def test_corrupt_workbook_is_unreadable(tmp_path, profiles, key):
    p = tmp_path / "sch.xlsx"
    p.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(FileRejected) as ei:
        adapt_file(p, profiles["sch"], key)
    assert ei.value.code == "unreadable" and ei.value.file == "sch.xlsx"


def test_wrong_sheet_name(tmp_path, profiles, key):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["연구번호"])
    wb.active.append(["CW1"])
    p = tmp_path / "sch.xlsx"
    wb.save(p)
    with pytest.raises(FileRejected) as ei:
        adapt_file(p, profiles["sch"], key)
    assert ei.value.code == "missing_sheet" and ei.value.value == "IFX"


def test_duplicate_headers(tmp_path, profiles, key):
    p = tmp_path / "knuh_baseline.csv"
    p.write_text("PT_NO,SEX,SEX\n1,1,1\n", encoding="utf-8")
    with pytest.raises(FileRejected) as ei:
        adapt_file(p, profiles["knuh"], key)
    assert ei.value.code == "duplicate_columns" and ei.value.column == "SEX"


def test_unknown_code_and_bad_cells_become_cell_issues(tmp_path, smc_text, profiles, key):
    text = _set_cell(smc_text, 2, "paris_behaviour", "B7")
    text = _set_cell(text, 3, "birth_date", "2003-13-45")
    text = _set_cell(text, 4, "pcdai", "ten")
    text = _set_cell(text, 5, "paris_perianal", "maybe")
    text = _set_cell(text, 6, "n_infusions", "8.5")
    p = tmp_path / "smc.csv"
    p.write_text(text, encoding="utf-8")
    a = adapt_file(p, profiles["smc"], key)
    iss = a.cell_issues.set_index("source_line")
    assert list(a.cell_issues.columns) == ["source_line", "entity", "patient_id", "column_name", "source_column",
                                           "value", "rule", "severity", "message", "expected", "fix"]
    assert iss.loc[2, ["column_name", "value", "rule", "entity"]].tolist() == [
        "paris_behaviour", "B7", "unknown_code", "patient"]
    assert "'B7'" in iss.loc[2, "message"] and "B2B3" in iss.loc[2, "expected"]
    assert iss.loc[3, ["column_name", "rule"]].tolist() == ["birth_date", "unparseable_date"]
    assert iss.loc[4, ["column_name", "rule", "entity"]].tolist() == ["pcdai", "not_a_number", "assessment"]
    assert iss.loc[5, ["column_name", "rule"]].tolist() == ["paris_perianal", "unknown_code"]
    assert iss.loc[6, ["column_name", "rule"]].tolist() == ["n_infusions", "not_an_integer"]
    assert (a.cell_issues["severity"] == "error").all()
    pat = a.frames["patient"].set_index("source_line")
    assert pd.isna(pat.loc[2, "paris_behaviour"]) and pd.isna(pat.loc[3, "birth_date"])
    assert pat.loc[2, "patient_id"] == iss.loc[2, "patient_id"]
    assert len(a.frames["patient"]) == a.rows_read  # nothing dropped


def test_unknown_lis_test_and_unit_are_cell_issues(tmp_path, profiles, key):
    p = tmp_path / "knuh_lis.csv"
    p.write_text(
        "PT_NO,TEST_NM,SPC_DT,RSLT,UNIT,TEST_CD,REF_RANGE\n"
        "100,CRP,2015-03-02 08:00:00,5,mg/L,L1,\n"
        "\n"                                              # a blank line still counts
        "100,CPR,2015-03-02 08:00:00,0.5,mg/dL,L1,\n"      # typo in the test name
        "100,Albumin,2015-03-02 08:00:00,4.1,mmol/L,L2,\n"  # unit the analyte cannot take
        "100,AST,2015-03-02 08:00:00,30,IU/L,L3,\n"         # a test the profile drops
        "100,WBC,02/03/2015,5.5,10^3/uL,L4,\n",             # sample time in the wrong format
        encoding="utf-8")
    a = adapt_file(p, profiles["knuh"], key)
    lab = a.frames["lab"]
    assert lab.loc[lab["source_line"] == 2, "value"].tolist() == [0.5]  # 5 mg/L -> 0.5 mg/dL
    assert 6 not in set(lab["source_line"])                            # AST dropped, no issue
    iss = a.cell_issues.set_index("source_line")
    assert iss.loc[4, ["rule", "value", "column_name"]].tolist() == ["unknown_code", "CPR", "analyte"]
    assert iss.loc[5, ["rule", "value", "source_column"]].tolist() == ["unknown_unit", "mmol/L", "UNIT"]
    assert iss.loc[7, ["rule", "value"]].tolist() == ["unparseable_date", "02/03/2015"]
    assert len(a.cell_issues) == 3
