"""tdm watch's scheduling logic, through plain functions (no Prefect)."""

from __future__ import annotations

import datetime as dt
import threading

from flows.watch import WatchState, next_cron, watch_step


def test_analysis_runs_after_new_data_and_at_cron_time():
    calls = []
    loads = iter([0, 12, 0, 0])
    state = WatchState(next_analysis=dt.datetime(2026, 1, 2, 2, 0))
    t = dt.datetime(2026, 1, 1, 23, 0)
    for minutes in (0, 1, 2, 200):  # the last tick is past 02:00
        watch_step(state, t + dt.timedelta(minutes=minutes), lambda: next(loads), lambda: calls.append(1),
                   "0 2 * * *", analyse_after_load=True)
    assert state.passes == 4
    assert len(calls) == 2          # once after the pass that loaded rows, once at 02:00
    assert state.next_analysis == dt.datetime(2026, 1, 3, 2, 0)


def test_no_analysis_after_load_when_disabled():
    calls = []
    state = WatchState(next_analysis=dt.datetime(2030, 1, 1))
    watch_step(state, dt.datetime(2026, 1, 1), lambda: 5, lambda: calls.append(1), "0 2 * * *", False)
    assert calls == [] and state.rows_since_analysis == 5


def test_next_cron():
    assert next_cron("*/15 * * * *", dt.datetime(2026, 1, 1, 10, 7, 30)) == dt.datetime(2026, 1, 1, 10, 15)


def test_watch_stops_cleanly_when_asked(monkeypatch):
    import flows.analyse
    import flows.ingest
    from types import SimpleNamespace

    stop = threading.Event()
    passes = []

    def fake_ingest(home, stable_seconds):
        passes.append(1)
        if len(passes) == 2:
            stop.set()
        return SimpleNamespace(files=(), rows_loaded=0)

    monkeypatch.setattr(flows.ingest, "ingest_flow", fake_ingest)
    monkeypatch.setattr(flows.analyse, "analyse_flow", lambda home: None)
    from flows.watch import watch

    lines = []
    state = watch("h", interval=0.01, stop=stop, echo=lines.append)
    assert state.passes == 2 and "stopped after 2 pass(es)" in lines[-1]
