"""Every TDM_* variable: one typed field of Settings, read once, validated, documented in one table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tdm.cli import main
from base.config import DEFAULT_LIMITS, VARIABLES, Limits, load_settings
from base.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("base", "schema", "centres", "validators", "analytics", "warehouse", "synth", "ingestion", "publication", "flows", "tdm")


def test_every_variable_becomes_its_typed_field(tmp_path):
    env = {"TDM_HOME": str(tmp_path / "h"), "TDM_MODE": "production", "TDM_PSEUDONYM_KEY": "k" * 20,
           "TDM_PSEUDONYM_KEY_FILE": str(tmp_path / "key"), "TDM_DEBUG": "yes", "TDM_CHROMIUM": "",
           "TDM_MAX_LINE_KB": "2", "TDM_XLSX_MAX_MB": "0.5", "TDM_XLSX_MAX_CELLS": "1_000",
           "TDM_WRITER_MEMORY_LIMIT": "256MB", "TDM_UPLOAD_MAX_MB": "3", "TDM_SPILL_DIR": str(tmp_path / "spill"),
           # removed variables: ignored, as any unknown one
           "TDM_STREAM_THRESHOLD_MB": "0", "TDM_STREAM_CHUNK_ROWS": "97", "TDM_COLUMNAR": "0", "TDM_COLUMNAR_MAX_MB": "10"}
    s = load_settings(environ=env)
    assert (s.home, s.mode, s.pseudonym_key, s.pseudonym_key_file) == (
        (tmp_path / "h").resolve(), "production", "k" * 20, tmp_path / "key")
    assert s.debug is True and s.chromium == ""
    assert s.spill_directory == tmp_path / "spill"
    assert s.limits == Limits(max_line_bytes=2048, xlsx_max_bytes=512 << 10, xlsx_max_cells=1000,
                              writer_memory_limit="256MB", upload_max_bytes=3 << 20)


def test_unset_variables_give_the_documented_defaults(tmp_path):
    s = load_settings(tmp_path, environ={})
    assert s.limits == DEFAULT_LIMITS and s.mode == "demo" and s.chromium is None and not s.debug
    assert s.spill_directory == s.home / "tmp" / "spill"
    assert (s.limits.max_line_bytes, s.limits.xlsx_max_bytes, s.limits.writer_memory_limit) == (
        1 << 20, 512 << 20, "768MB")
    # the documented default of each variable parses to the dataclass default
    for v in VARIABLES:
        if v.field.startswith("limits."):
            assert v.parse(v.name, v.default) == getattr(DEFAULT_LIMITS, v.field.removeprefix("limits.")), v.name


def test_arguments_win_over_the_environment(tmp_path):
    s = load_settings(tmp_path / "a", "production", environ={"TDM_HOME": str(tmp_path / "b"), "TDM_MODE": "demo"})
    assert s.home == (tmp_path / "a").resolve() and s.mode == "production"


@pytest.mark.parametrize("name,value", [
    ("TDM_MAX_LINE_KB", "abc"), ("TDM_MAX_LINE_KB", "-1"), ("TDM_XLSX_MAX_MB", "nan"), ("TDM_UPLOAD_MAX_MB", "inf"),
    ("TDM_XLSX_MAX_CELLS", "1.5"), ("TDM_XLSX_MAX_CELLS", "0"), ("TDM_WRITER_MEMORY_LIMIT", "lots"),
    ("TDM_DEBUG", "2"), ("TDM_MODE", "prod"),
    ("TDM_S3_URL_STYLE", "virtual"), ("TDM_S3_USE_SSL", "maybe"), ("TDM_S3_ENDPOINT", "not a host/x"),
])
def test_a_bad_value_names_the_variable(tmp_path, name, value):
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path, environ={name: value})
    assert name in str(err.value) and repr(value) in str(err.value) and err.value.code == "bad_setting"
    assert "docs/CONFIGURATION.md" in str(err.value)


def test_a_bad_value_is_a_usage_error_of_every_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TDM_MAX_LINE_KB", "abc")
    assert main(["status", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "TDM_MAX_LINE_KB" in err and "'abc'" in err and "Traceback" not in err


def test_the_configuration_table_lists_every_variable_the_code_knows():
    doc = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(TDM_[A-Z0-9_]+)` \| `([^`]*)` \|", doc, flags=re.M))
    assert rows == {v.name: v.default for v in VARIABLES}
    assert "CONFIGURATION.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_no_module_reads_a_tdm_variable_but_the_settings():
    """TDM_* names appear in code only in base/config.py's table, in messages and docstrings; no module
    outside base/config.py touches os.environ for one (import time included)."""
    known = {v.name for v in VARIABLES}
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert set(re.findall(r"\bTDM_[A-Z0-9_]*[A-Z]\b", text)) <= known, path
            if path.name != "config.py":
                assert not re.search(r"environ(\.get)?[\[(]\s*['\"]TDM_", text), path
                assert not re.search(r"getenv\(\s*['\"]TDM_", text), path
