"""Process-wide environment for the ``tdm`` command: Prefect offline and quiet, library warnings off.

Prefect reads its settings when it is first imported, so these run before any ``prefect`` import
(the CLI imports Prefect lazily, inside the commands that run flows).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
import warnings
from pathlib import Path

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_TELEMETRY_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    # A first run on a fresh PREFECT_HOME migrates Prefect's own database (~15 s on 2 busy cores):
    # the default 20 s start-up limit of the temporary server is too tight for that.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
}


def quiet_prefect_environment(home: Path | None = None) -> None:
    """Set Prefect's offline defaults (without overriding what the user set); with ``home``, also
    put Prefect's state under it.  Writes nothing."""
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    if home is not None:
        prefect_home_under(home)


def prefect_home_under(home: Path) -> Path:
    """Keep Prefect's state (its database, so its migrations run once) under the TDM home in use,
    never in the current folder; an explicit ``PREFECT_HOME`` (an operator's choice) wins."""
    if "PREFECT_HOME" not in os.environ:
        os.environ["PREFECT_HOME"] = str(Path(home).resolve() / ".prefect")
    return Path(os.environ["PREFECT_HOME"])


#: Whether this process is a ``tdm`` command or the Prefect daemon (set by their entry points),
#: where freezing what the imports left alive is safe; not a library caller such as a test session.
_process = {"own": False}


def own_process() -> None:
    """Called by the entry points of the ``tdm`` command and of the Prefect daemon."""
    _process["own"] = True


@contextlib.contextmanager
def imports_without_gc():
    """Import heavy packages (Prefect's server and client, pandas, DuckDB) with the cyclic garbage
    collector paused: their import-time objects are long-lived, yet they trigger hundreds of
    collections that scan them again and again (~15-25% of the import CPU, measured on Prefect's
    server).  On leaving, collection resumes; in a process of our own (:func:`own_process`) what is
    alive is first frozen (never scanned again: the rest of a one-shot command collects less).
    Nests: only the outermost block pauses and resumes."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if _process["own"]:
            gc.freeze()
        gc.enable()


def quiet_library_warnings(debug: bool = False) -> None:
    """Library warnings (statsmodels overflow, pandas/pandera deprecations) are not for users: the
    analyses report what matters (separation, non-convergence) in their own words.  ``debug``
    (``settings.debug``, TDM_DEBUG) or Python's own ``PYTHONWARNINGS`` keeps them."""
    if not debug and not os.environ.get("PYTHONWARNINGS"):
        warnings.simplefilter("ignore")


# --- stopping a pass cleanly -------------------------------------------------------------------------
#: Set by SIGINT/SIGTERM inside :func:`graceful_stop`: the ingestion pass finishes the file in hand
#: and leaves the rest in the inbox.  Checked between files (``ingestion``), never mid-file.
STOP = threading.Event()
_state = {"active": False, "signal": None}


def _on_signal(signum, _frame) -> None:
    if STOP.is_set() and signum == signal.SIGINT:
        raise KeyboardInterrupt          # a second Ctrl-C: the user does not want to wait
    _state["signal"] = signum
    STOP.set()


@contextlib.contextmanager
def graceful_stop():
    """Within this block SIGINT and SIGTERM request a stop after the current file instead of killing
    the process mid-file; :func:`received_signal` says which one came (for exit code 128 + n)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    STOP.clear()
    _state.update(active=True, signal=None)
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        _state["active"] = False
        for s, h in previous.items():
            signal.signal(s, h)


def rearm_graceful_stop() -> None:
    """Prefect's flow engine installs its own SIGTERM handler (it crashes the run); inside a flow
    started within :func:`graceful_stop`, put ours back so SIGTERM also means "after this file"."""
    if _state["active"] and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)


def received_signal() -> int | None:
    return _state["signal"]


# --- progress -----------------------------------------------------------------------------------------
#: Who hears about each finished file of a pass (the CLI's progress display); called from the
#: flow's worker threads with (centre_id, file_name, status, rows_read, seconds).
_file_observers: list = []


@contextlib.contextmanager
def observe_files(callback):
    _file_observers.append(callback)
    try:
        yield
    finally:
        _file_observers.remove(callback)


def file_done(centre_id: str, file_name: str, status: str, rows_read: int, seconds: float) -> None:
    for cb in list(_file_observers):
        cb(centre_id, file_name, status, rows_read, seconds)


#: Who hears about each finished analysis step of a publication: (name, outcome, seconds).
_step_observers: list = []


@contextlib.contextmanager
def observe_steps(callback):
    _step_observers.append(callback)
    try:
        yield
    finally:
        _step_observers.remove(callback)


def step_done(name: str, outcome: str, seconds: float) -> None:
    for cb in list(_step_observers):
        cb(name, outcome, seconds)
