"""Ingestion measured in one process: the whole path of one file with per-stage times, and the
chunked read of a long lab export.

Settings are read when a home is set up (``tdm.ingest.setup``), never at import, so importing the
stack here first is the warm-up the worker takes the baseline RSS after.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import tdm.ingest as st
import tdm.ingest.pipeline as PL
import tdm.ingest.read as RD
import tdm.ingest.writer as W
import tdm.privacy as P
import validators.decision as VD
import validators.stages as VS
from benchmarks.tasks.common import fresh_home, place
from schema.dictionary import ENTITIES
from tdm.warehouse.lake import lake_exists, open_reader


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
        t0 = time.perf_counter()
        cand = [c for c in st.discover(settings, [centre], stable_seconds=0).ready
                if c.path.name == Path(path).name][0]
        t1 = time.perf_counter()
        prepared = st.prepare(settings, profile, cand, key)
        t2 = time.perf_counter()
        committed = st.commit(settings, prepared)
        t4 = time.perf_counter()
        st.archive_file(cand, committed)
        t5 = time.perf_counter()
    finally:
        timer.restore()
    stages = {k: round(v, 4) for k, v in timer.t.items()}
    stages.update(discover=round(t1 - t0, 4), prepare=round(t2 - t1, 4), commit=round(t4 - t2, 4),
                  archive=round(t5 - t4, 4))
    con = open_reader(settings.lake)
    counts = {e: con.execute(f"SELECT count(*) FROM core.{ENTITIES[e].table} WHERE is_current").fetchone()[0]
              for e in ENTITIES}
    con.close()
    return {"seconds": round(t5 - t0, 4), "status": committed.status, "rows_read": committed.rows_read,
            "rows_loaded": committed.rows_loaded, "rows_rejected": committed.rows_rejected,
            "message": committed.message, "stages": stages, "warehouse_rows": counts,
            "file_mb": round(os.path.getsize(path) / 1e6, 1)}


def chunked_labs(path: str, baseline: str, home: str) -> dict:
    """Ingest a large long lab export through ``tdm.ingest.process_file`` (the one path): read and
    harmonised set-wise into the file's tables (spilled beyond the writer's memory limit), checked,
    decided and loaded in ONE writer transaction (peak RSS: the caller's subprocess)."""
    fresh_home(home)
    settings, profiles, key = st.setup(home)
    profile = profiles["knuh"]
    place(settings, "knuh", baseline)
    for cand in st.discover(settings, ["knuh"], stable_seconds=0).ready:
        st.process_file(settings, profile, cand, key)
    place(settings, "knuh", path)
    (cand,) = st.discover(settings, ["knuh"], stable_seconds=0).ready
    t0 = time.perf_counter()
    out = st.process_file(settings, profile, cand, key)
    total = time.perf_counter() - t0
    return {"seconds": round(total, 3), "rows_per_s": round(out.rows_read / total) if total else None,
            "status": out.status, "rows_read": out.rows_read,
            "rows_loaded": out.rows_loaded, "rows_rejected": out.rows_rejected}
