"""Stage 3's compiled SQL is cached under the home: a warm process never imports ibis (issue 14's
start-up bound), a changed declaration or a corrupt cache file is rebuilt, never trusted."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap

import pytest

import schema.dictionary as D
from validators import dictionary_checks as DC

# one process: warm the cache (compiles with ibis); a second: check a small file from the cache only
_RUN = textwrap.dedent("""
    import json, sys
    import duckdb
    from schema.relations import frames_to_tables
    from tests.validators.factory import ctx, make_frames, set_cell
    from validators.dictionary_checks import schema_findings_sql, warm_cache
    cache = sys.argv[1]
    if sys.argv[2] == "warm":
        warm_cache(cache)
    else:
        con = duckdb.connect()
        frames_to_tables(con, set_cell(make_frames(4), "assessment", 3, "pcdai", 101.0))
        schema_findings_sql(con, ctx(), cache)
        rows = con.execute("SELECT source_line, rule, column_name FROM findings").fetchall()
        print(json.dumps({"rows": rows, "ibis": sorted(m for m in sys.modules
                                                       if m == "ibis" or m.startswith(("ibis.", "pandera.ibis")))}))
""")


def _python(*args: str) -> str:
    out = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, check=True)
    return out.stdout


def test_a_second_process_checks_from_the_cache_without_importing_ibis(tmp_path):
    _python(str(tmp_path), "warm")
    assert sorted(p.name for p in (tmp_path / DC.CACHE_SUBDIR).iterdir()) == [
        "assessment.json", "elisa.json", "lab.json", "patient.json"]
    got = json.loads(_python(str(tmp_path), "check"))
    assert got["ibis"] == []
    assert got["rows"] == [[3, "range", "pcdai"]]


@pytest.fixture
def fresh(monkeypatch):
    DC.compiled_sql.cache_clear()
    DC.declaration_key.cache_clear()
    yield
    DC.compiled_sql.cache_clear()
    DC.declaration_key.cache_clear()


def test_a_changed_declaration_changes_the_key_and_rebuilds(tmp_path, fresh, monkeypatch):
    sql = DC.compiled_sql("assessment", tmp_path)
    path = tmp_path / DC.CACHE_SUBDIR / "assessment.json"
    key = json.loads(path.read_text())["key"]
    pcdai = next(v for v in D.BY_ENTITY["assessment"] if v.name == "pcdai")
    changed = [dataclasses.replace(v, max=99.0) if v is pcdai else v for v in D.BY_ENTITY["assessment"]]
    monkeypatch.setitem(D.BY_ENTITY, "assessment", changed)
    DC.declaration_key.cache_clear()
    assert DC.declaration_key("assessment") != key
    # a cache file written for another declaration is not used: its SQL is recompiled and replaced
    path.write_text(json.dumps({"key": "another declaration", "sql": "SELECT 1",
                                "sql_sha256": DC.hashlib.sha256(b"SELECT 1").hexdigest()}))
    monkeypatch.undo()
    DC.compiled_sql.cache_clear()
    DC.declaration_key.cache_clear()
    assert DC.compiled_sql("assessment", tmp_path) == sql
    assert json.loads(path.read_text())["key"] == key


@pytest.mark.parametrize("garbage", ['{"key": ', "", '{"key": "k"}', '[1, 2]', "\x00\xff"])
def test_a_corrupt_cache_file_is_rebuilt_not_crashed_on(tmp_path, fresh, garbage):
    want = DC.compiled_sql("patient", None)
    path = tmp_path / DC.CACHE_SUBDIR / "patient.json"
    path.parent.mkdir(parents=True)
    path.write_text(garbage)
    assert DC.compiled_sql("patient", tmp_path) == want
    doc = json.loads(path.read_text())
    assert doc["sql"] == want and doc["key"] == DC.declaration_key("patient")


def test_a_tampered_sql_text_is_not_trusted(tmp_path, fresh):
    want = DC.compiled_sql("elisa", tmp_path)
    path = tmp_path / DC.CACHE_SUBDIR / "elisa.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "sql": doc["sql"][:-10]}))
    DC.compiled_sql.cache_clear()
    assert DC.compiled_sql("elisa", tmp_path) == want
