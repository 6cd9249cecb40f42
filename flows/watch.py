"""``tdm watch``: the flows on one machine, no server to start by hand.

Prefect's temporary (ephemeral) server runs flows but has no scheduler, so interval and cron
schedules registered with ``serve()`` never fire on it (shared/stack-notes.md).  Rather than
managing a server child process, ``tdm watch`` is its own small scheduler: it runs an ingestion
pass every ``interval`` seconds, the analysis when a pass loaded new rows and at every cron time,
each as a real Prefect flow run (visible in the UI when a server is configured).  Ctrl-C or
SIGTERM stops it cleanly after the current file (exit 0: stopping is how a watch ends).  For a server + worker set-up use the
deployments in ``prefect.yaml`` instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cronsim import CronSim

from base.runtime import STOP, graceful_stop


@dataclass
class WatchState:
    next_analysis: dt.datetime
    passes: int = 0
    analyses: int = 0
    rows_since_analysis: int = 0


def next_cron(expr: str, after: dt.datetime) -> dt.datetime:
    """The first time matching ``expr`` strictly after ``after`` (local time)."""
    return next(CronSim(expr, after.replace(second=0, microsecond=0)))


def watch_step(state: WatchState, now: dt.datetime, run_ingest: Callable[[], int], run_analysis: Callable[[], object],
               cron: str, analyse_after_load: bool) -> WatchState:
    """One scheduler tick: ingest, then analyse if new rows arrived or the cron time has come."""
    state.rows_since_analysis += run_ingest()
    state.passes += 1
    due = now >= state.next_analysis
    if due or (analyse_after_load and state.rows_since_analysis > 0):
        run_analysis()
        state.analyses += 1
        state.rows_since_analysis = 0
        if due:
            state.next_analysis = next_cron(cron, now)
    return state


def watch(home: str | None = None, *, interval: float = 60.0, stable_seconds: float = 5.0,
          cron: str = "0 2 * * *", analyse_after_load: bool = True, max_passes: int | None = None,
          stop: threading.Event | None = None, echo: Callable[[str], None] = print) -> WatchState:
    # lazy: the flows import Prefect, which reads its settings once the caller configured it
    from flows.analyse import analyse_flow
    from flows.ingest import ingest_flow

    own_stop = stop is None
    stop = STOP if own_stop else stop

    held_seen: set[str] = set()

    def run_ingest() -> int:
        try:
            summary = ingest_flow(home=home, stable_seconds=stable_seconds)
        except Exception as exc:  # e.g. the warehouse locked by another process for too long: next pass
            echo(f"ingestion pass failed, retrying on the next pass: {exc}")
            return 0
        held = getattr(summary, "held", ())
        for line in held:                  # once per problem, not on every pass
            if line not in held_seen:
                echo(f"held: {line}")
        held_seen.clear()
        held_seen.update(held)
        for f in summary.files:
            echo(f"{f['centre_id']}/{f['file_name']}: {f['status']} "
                 f"({f['rows_loaded']} loaded, {f['rows_rejected']} rejected)")
        return summary.rows_loaded

    def run_analysis():
        try:
            summary = analyse_flow(home=home)
            echo(f"published {getattr(summary, 'publication_id', '')}")
            return summary
        except Exception as exc:  # an analysis failure must not stop ingestion
            echo(f"analysis failed: {exc}")
            return None

    state = WatchState(next_analysis=next_cron(cron, dt.datetime.now()))
    echo(f"watching every {interval:g}s; next scheduled analysis {state.next_analysis:%Y-%m-%d %H:%M}; Ctrl-C to stop")
    # SIGINT/SIGTERM set STOP: the pass in hand stops after its current file, then the loop ends
    with graceful_stop() if own_stop else contextlib.nullcontext():
        while not stop.is_set():
            watch_step(state, dt.datetime.now(), run_ingest, run_analysis, cron, analyse_after_load)
            if max_passes is not None and state.passes >= max_passes:
                break
            stop.wait(interval)
    echo(f"stopped after {state.passes} pass(es) and {state.analyses} analysis run(s)")
    return state
