"""Centre profiles: the built-ins load, invalid profiles give a ConfigError naming file and field."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from centres import BUILTIN_DIR, install_builtin_profiles
from centres.profile import load_profile, load_profiles, parse_profile
from base.errors import ConfigError

MINIMAL = {
    "centre_id": "xyz",
    "name": "Example",
    "files": [{"name": "main", "kind": "baseline", "patterns": ["*.csv"], "csv": {},
               "columns": {"ID": "patient_id", "Sex": {"to": "sex", "codes": {"m": "M", "f": "F"}}}}],
}


def _write(tmp_path, data, name="xyz.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_builtin_profiles_load(profiles):
    assert set(profiles) == {"smc", "sch", "knuh"}
    assert [f.kind for f in profiles["knuh"].files] == ["baseline", "visit", "elisa", "labs_long"]
    assert profiles["smc"].files[0].template


def test_install_builtin_profiles_copies_and_keeps_edits(settings):
    installed = install_builtin_profiles(settings)
    assert installed == ["knuh", "sch", "smc"]
    edited = settings.centres_dir / "smc.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    install_builtin_profiles(settings)
    assert edited.read_text(encoding="utf-8").endswith("# edited\n")
    assert set(load_profiles(settings.centres_dir)) == {"smc", "sch", "knuh"}
    assert (settings.inbox / "knuh").is_dir()


def test_match_is_case_insensitive_and_ordered(profiles):
    assert profiles["sch"].match("EXPORT.XLSX").name == "workbook"
    assert profiles["knuh"].match("knuh_visits_2016.csv").name == "visits"
    assert profiles["knuh"].match("notes.txt") is None


def test_minimal_profile_is_valid(tmp_path):
    p = load_profile(_write(tmp_path, MINIMAL))
    assert p.centre_id == "xyz" and p.files[0].columns[1].to == ["sex"]


@pytest.mark.parametrize("mutate, field, words", [
    (lambda d: d["files"][0]["columns"].update({"X": "no_such_variable"}), "files", "unknown target 'no_such_variable'"),
    (lambda d: d["files"][0]["columns"].update({"CRP": {"to": "crp_mg_dl", "unit": "mg/L"}}), "files",
     "unknown target 'crp_mg_dl' for a baseline file"),
    (lambda d: d["files"][0]["columns"]["Sex"]["codes"].update({"x": "X"}), "files", "maps to 'X'"),
    (lambda d: d["files"][0]["columns"].update({"S": {"to": "sex", "codes": "nosuchmap"}}), "files", None),
    (lambda d: d["files"][0].update({"kind": "spreadsheet"}), "files.0.kind", None),
    (lambda d: d["files"][0].pop("patterns"), "files.0.patterns", None),
    (lambda d: d["files"][0].pop("csv"), "files.0", "give 'csv' and/or 'xlsx'"),
    (lambda d: d["files"][0]["columns"].pop("ID"), "files", "no column is mapped to patient_id"),
    (lambda d: d.update({"centre_id": "Bad Id"}), "centre_id", None),
    (lambda d: d.update({"colour": "blue"}), "colour", None),
    (lambda d: d["files"][0].update({"csv": {"encoding": "klingon-8"}}), "files.0.csv.encoding", "unknown encoding"),
    (lambda d: d.update({"booleans": {"true": ["y"], "false": ["Y"]}}), "booleans", "both true and false"),
])
def test_invalid_profiles_name_the_field(tmp_path, mutate, field, words):
    import copy

    data = copy.deepcopy(MINIMAL)
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as ei:
        load_profile(path)
    err = ei.value
    assert err.code == "invalid_profile"
    assert err.file == str(path)
    assert err.column is not None and err.column.startswith(field)
    if words:
        assert words in str(err)


def test_unit_that_cannot_convert_is_rejected():
    data = {"centre_id": "xyz", "name": "x", "files": [{
        "name": "w", "kind": "wide", "patterns": ["*.csv"], "csv": {},
        "columns": {"ID": "patient_id", "CRP": {"to": "crp_mg_dl", "unit": "mmol/L"}}}]}
    with pytest.raises(ConfigError, match="unit 'mmol/L' cannot be converted to 'mg/dL'"):
        parse_profile(data, "x.yaml")


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "xyz.yaml"
    path.write_text(textwrap.dedent("""\
        centre_id: xyz
        name: [unclosed
        files: []
        """), encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_profile(path)
    assert ei.value.file == str(path) and ei.value.line is not None


def test_centre_id_must_match_file_name(tmp_path):
    _write(tmp_path, MINIMAL, name="other.yaml")
    with pytest.raises(ConfigError, match="does not match the file name"):
        load_profiles(tmp_path)


def test_builtin_folder_only_holds_valid_profiles():
    assert len(load_profiles(BUILTIN_DIR)) == len(list(BUILTIN_DIR.glob("*.yaml")))
