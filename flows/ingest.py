"""Ingestion flow: every centre's inbox -> prepare -> read, check, decide and load -> archive.

Reads like a table of contents; the work is in :mod:`ingestion`.  Centres are processed in
parallel, files of one centre in order (baseline before visits, ELISA and labs); each file's
pipeline runs in one writer transaction behind one lock (and DuckDB's own file lock across
processes), so its context is the live warehouse.  One task run per file (prepare, commit,
archive), retried only on a transient error (the warehouse busy); a bad file is a result, not a
failure.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

import ingestion as stages
from base.runtime import STOP, file_done, rearm_graceful_stop
from flows.artifacts import publish_ingest_artifacts
from flows.retry import only_transient
from flows.run_options import FLOW_OPTIONS, TASK_OPTIONS


@task(name="ingest-file", retries=4, retry_delay_seconds=[1, 2, 5, 10], retry_condition_fn=only_transient,
      task_run_name="{candidate.centre_id}/{candidate.path.name}", **TASK_OPTIONS)
def ingest_file_task(settings, profile, candidate, key) -> stages.Committed:
    """Prepare (lock-free), then read, check, decide and load in one writer transaction
    (``ingestion.commit``), then archive.  One task run per file (each costs API events); retried
    only when the warehouse is busy, which only the commit raises (before anything is archived)."""
    committed = stages.commit(settings, stages.prepare(settings, profile, candidate, key))
    stages.archive_file(candidate, committed)
    return committed


@task(name="ingest-centre", task_run_name="centre {centre_id}", **TASK_OPTIONS)
def ingest_centre(settings, centre_id, profile, candidates, key) -> list[dict]:
    """One centre's files in order; a failure of one file is recorded and the next one goes on."""
    out = []
    logger = get_run_logger()
    for cand in stages.order_candidates(profile, candidates):
        if STOP.is_set():        # SIGINT/SIGTERM: the file in hand is finished, the rest waits
            break
        started = time.perf_counter()
        try:
            committed = ingest_file_task(settings, profile, cand, key)
        except Exception as exc:  # retries exhausted or a bug: report this file, go on with the next
            logger.error("%s/%s failed: %s", centre_id, cand.path.name, exc)
            committed = stages.Committed(centre_id, cand.path.name, None, "failed", 0, 0, 0, 0,
                                         f"unexpected {type(exc).__name__}: {exc}; the file stays in the inbox "
                                         "and is retried on the next pass", None, None)
        out.append(asdict(committed))
        file_done(centre_id, cand.path.name, committed.status, committed.rows_read or 0,
                  time.perf_counter() - started)
    return out


@dataclass(frozen=True)
class IngestSummary:
    files: tuple[dict, ...]
    waiting: tuple[str, ...]
    warnings: tuple[str, ...]
    held: tuple[str, ...] = ()      # one line per centre whose profile is invalid (its files wait)
    not_started: int = 0            # complete files left in the inbox because a stop was requested

    @property
    def rows_loaded(self) -> int:
        return sum(f["rows_loaded"] or 0 for f in self.files)


@flow(name="tdm-ingest", task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=False, **FLOW_OPTIONS)
def ingest_flow(home: str | None = None, stable_seconds: float = stages.DEFAULT_STABLE_SECONDS,
                publish_artifacts: bool = True) -> IngestSummary:
    """One ingestion pass over every centre's inbox."""
    rearm_graceful_stop()
    logger = get_run_logger()
    settings, profiles, key = stages.setup(home)
    held = stages.held_centres(settings)
    found = stages.plan_pass(settings, profiles, stable_seconds=stable_seconds, held=held)
    for h in held:
        logger.error(h.line())
    stages.publish_held(settings, held)
    for w in found.warnings:
        logger.warning(w)
    by_centre = stages.group_by_centre(found.ready)
    futures = [ingest_centre.submit(settings, c, profiles[c], cands, key) for c, cands in by_centre.items()]
    files = tuple(f for fut in futures for f in fut.result())
    summary = IngestSummary(files, tuple(str(p) for p in found.waiting), found.warnings,
                            tuple(h.line() for h in held), len(found.ready) - len(files))
    if publish_artifacts and files:
        publish_ingest_artifacts(summary)
    logger.info("ingested %d file(s), %d row(s) loaded", len(files), summary.rows_loaded)
    return summary
