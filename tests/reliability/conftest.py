"""One ingestion pass over the whole broken-input corpus (built once per session), plus helpers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.reliability.corpus import CASES, Case, Sources
from tests.lake import read_lake

KEY = "reliability-test-key-0123456789abcdef"
GOOD = {"smc": "smc_good.csv", "sch": "sch_good.xlsx", "knuh_lis": "knuh_lis_good.csv"}


@pytest.fixture(scope="session")
def sources(tmp_path_factory) -> Sources:
    return Sources.build(tmp_path_factory.mktemp("clean"), n_patients=360, seed=5)


def slots(cases: list[Case]) -> dict[str, int]:
    """Each case's own patients: slot 0 of every source is the good file's."""
    counters = {"smc": 1, "sch": 1, "knuh": 1}
    out = {}
    for c in cases:
        out[c.name] = counters[c.centre]
        counters[c.centre] += 1
    return out


def write_inbox(home: Path, sources: Sources, cases: list[Case], *, mtime: float | None = None) -> dict[str, int]:
    from tests.reliability.corpus import utf8, xlsx_bytes

    slot = slots(cases)
    inbox = home / "inbox"
    files = {
        inbox / "smc" / GOOD["smc"]: utf8(sources.smc_slot(0)),
        inbox / "sch" / GOOD["sch"]: xlsx_bytes(sources.sch_xlsx_slot(0)),
        inbox / "knuh" / "knuh_baseline.csv": sources.knuh_baseline,
        inbox / "knuh" / "knuh_visits.csv": sources.knuh_visits,
        inbox / "knuh" / "knuh_elisa.csv": sources.knuh_elisa,
        inbox / "knuh" / GOOD["knuh_lis"]: utf8(sources.lis_slot(0)),
    }
    for c in cases:
        files[inbox / c.centre / c.file_name] = c.build(sources, slot[c.name])
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    return slot


@dataclass
class Pass:
    home: Path
    committed: dict[str, object]        # file name -> ingestion.Committed
    files: pd.DataFrame                 # ingest.files
    issues: pd.DataFrame                # ingest.issues joined with the file name
    slot: dict[str, int]

    def file(self, name: str) -> dict:
        rows = self.files[self.files["file_name"] == name]
        assert len(rows) == 1, f"{name}: {len(rows)} ingest.files rows"
        return rows.iloc[0].to_dict()

    def report(self, name: str) -> tuple[str, dict, str]:
        html = Path(self.file(name)["report_path"])
        assert html.is_relative_to(self.home / "reports"), html
        return (html.read_text(encoding="utf-8"), json.loads(html.with_suffix(".json").read_text(encoding="utf-8")),
                html.with_suffix(".csv").read_text(encoding="utf-8"))

    def count(self, table: str, file_name: str) -> int:
        con = read_lake(self.home)
        try:
            return con.execute(f"SELECT count(*) FROM {table} JOIN ingest.files f USING (file_id) "
                               "WHERE f.file_name = ?", [file_name]).fetchone()[0]
        finally:
            con.close()


def read_tables(home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = read_lake(home)
    try:
        files = con.execute("SELECT * FROM ingest.files ORDER BY file_id").df()
        issues = con.execute("SELECT f.file_name, i.* FROM ingest.issues i JOIN ingest.files f USING (file_id) "
                             "ORDER BY i.file_id, i.source_line").df()
    finally:
        con.close()
    return files, issues


@pytest.fixture(scope="session")
def corpus_pass(tmp_path_factory, sources) -> Pass:
    """Every corpus case plus good files of each centre, ingested in ONE pass of ``run_pass``."""
    from ingestion import run_pass

    home = tmp_path_factory.mktemp("corpus") / "home"
    slot = write_inbox(home, sources, CASES)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TDM_PSEUDONYM_KEY", KEY)
        mp.setenv("TDM_MODE", "demo")
        committed = {c.file_name: c for c in run_pass(str(home), stable_seconds=0)}
    files, issues = read_tables(home)
    return Pass(home, committed, files, issues, slot)
