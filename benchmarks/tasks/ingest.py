"""Ingestion measured in one process: the whole path of one file with per-stage times (wall and CPU).

Settings are read when a home is set up (``ingestion.setup``), never at import, so importing the
stack here first is the warm-up the worker takes the baseline RSS after.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import ingestion as st
import ingestion.pipeline as PL
import ingestion.read as RD
import ingestion.writer as W
import centres.privacy as P
import validators.decision as VD
import validators.stages as VS
from benchmarks.tasks.common import cpu, fresh_home, place
from schema.dictionary import ENTITIES
from warehouse.lake import lake_exists, open_reader


class StageTimer:
    """Wraps module functions to add their wall time to named buckets (patched for one run)."""

    def __init__(self):
        self.t: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, module, name: str, bucket: str) -> None:
        orig = getattr(module, name)

        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return orig(*a, **kw)
            finally:
                self.t[bucket] = self.t.get(bucket, 0.0) + time.perf_counter() - t0

        setattr(module, name, timed)
        self._undo.append((module, name, orig))

    def restore(self) -> None:
        for module, name, orig in reversed(self._undo):
            setattr(module, name, orig)
        self._undo.clear()


def ingest_whole(path: str, centre: str, home: str, pre: list[str] | None = None) -> dict:
    """The whole ingestion path for one file (discover -> prepare -> in one writer transaction: read,
    harmonise, checks, decision, report, load (one lake transaction) -> archive), exactly the stages
    ``flows.ingest`` runs, with per-stage times.

    ``pre`` files (e.g. the baseline a lab file's patients need) are ingested first, untimed.
    """
    fresh_home(home)
    settings, profiles, key = st.setup(home)
    profile = profiles[centre]
    for f in pre or []:
        place(settings, centre, f)
    if pre:
        for cand in st.discover(settings, [centre], stable_seconds=0).ready:
            c = st.process_file(settings, profile, cand, key)
            if c.status not in ("loaded", "loaded_with_rejections"):
                return {"error": f"pre-load {cand.path.name}: {c.status} {c.message}"}
    place(settings, centre, path)
    timer = StageTimer()
    timer.wrap(PL, "sha256_file", "checksum")
    timer.wrap(RD, "read_raw", "read")
    timer.wrap(P, "scan_identifiers", "scan")
    timer.wrap(RD, "harmonise_raw", "harmonise")
    timer.wrap(PL, "load_context", "context")
    timer.wrap(VS, "file_findings", "checks")
    timer.wrap(VS, "dictionary_stage", "checks")
    timer.wrap(VS, "rules_stage", "checks")
    timer.wrap(VD, "decide", "decide")
    timer.wrap(W, "write_report", "report")
    timer.wrap(W, "load_decided", "load")
    try:
        t0, c0 = time.perf_counter(), cpu()
        cand = [c for c in st.discover(settings, [centre], stable_seconds=0).ready
                if c.path.name == Path(path).name][0]
        t1 = time.perf_counter()
        prepared = st.prepare(settings, profile, cand, key)
        t2 = time.perf_counter()
        committed = st.commit(settings, prepared)
        t4 = time.perf_counter()
        st.archive_file(cand, committed)
        t5, c5 = time.perf_counter(), cpu()
    finally:
        timer.restore()
    stages = {k: round(v, 4) for k, v in timer.t.items()}
    stages.update(discover=round(t1 - t0, 4), prepare=round(t2 - t1, 4), commit=round(t4 - t2, 4),
                  archive=round(t5 - t4, 4))
    con = open_reader(settings.lake)
    counts = {e: con.execute(f"SELECT count(*) FROM core.{ENTITIES[e].table} WHERE is_current").fetchone()[0]
              for e in ENTITIES}
    con.close()
    return {"seconds": round(t5 - t0, 4), "cpu_s": round(c5 - c0, 4), "status": committed.status, "rows_read": committed.rows_read,
            "rows_loaded": committed.rows_loaded, "rows_rejected": committed.rows_rejected,
            "message": committed.message, "stages": stages, "warehouse_rows": counts,
            "file_mb": round(os.path.getsize(path) / 1e6, 1)}
