"""What the measured tasks share: CPU seconds, a fresh home, a file placed in an inbox, a median of runs (stdlib only,
so importing it costs a task nothing)."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import statistics
import time
from pathlib import Path


def cpu() -> float:
    """CPU seconds of this process, all threads: beside wall time, the fairer measure on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def fresh_home(home: str) -> Path:
    p = Path(home)
    shutil.rmtree(p, ignore_errors=True)
    p.mkdir(parents=True)
    return p


def place(settings, centre: str, src: str) -> Path:
    inbox = settings.centre_inbox(centre)
    inbox.mkdir(parents=True, exist_ok=True)
    dst = inbox / Path(src).name
    with contextlib.suppress(FileNotFoundError):
        dst.unlink()
    try:
        os.link(src, dst)           # same file system: no copy, the source stays for the next run
    except OSError:
        shutil.copyfile(src, dst)
    old = time.time() - 60
    os.utime(dst, (old, old))
    return dst


def median_time(fn, repeat: int) -> tuple[float, object]:
    ts, res = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        res = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), res
