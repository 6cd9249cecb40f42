"""One measurement in a fresh interpreter: ``python -m benchmarks.worker TASK JSON-ARGS``.

Prints one JSON line (prefixed ``BENCH-RESULT ``) with the task's own timings plus
``peak_rss_mb`` (the peak resident set of this process, ``VmHWM``, which includes the
interpreter and imports, about 150-250 MB for the full ``tdm`` stack) and ``baseline_rss_mb`` (the
same after imports, before the measured work) so the work's own footprint can be read off.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import traceback

from benchmarks.tasks import task_function

PREFIX = "BENCH-RESULT "


def peak_rss_mb() -> float:
    """Peak RSS of this process: ``VmHWM`` (per address space, so it starts afresh at exec; Linux's
    ``ru_maxrss`` is kept across execve and would report the parent's peak if that was larger)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_in_subprocess(task: str, args: dict, *, timeout: float = 3600, env: dict | None = None) -> dict:
    """Run ``benchmarks.tasks.<task>(**args)`` in a fresh interpreter and return its result dict."""
    e = dict(os.environ)
    e.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    e.setdefault("PREFECT_TELEMETRY_ENABLED", "false")
    e.setdefault("DO_NOT_TRACK", "1")
    e.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if env:
        e.update(env)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "benchmarks.worker", task, json.dumps(args)], capture_output=True,
                       text=True, timeout=timeout, env=e, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    wall = time.perf_counter() - t0
    for line in reversed(p.stdout.splitlines()):
        if line.startswith(PREFIX):
            out = json.loads(line[len(PREFIX):])
            out.setdefault("process_wall_s", wall)
            return out
    return {"error": f"exit {p.returncode}: {(p.stderr or p.stdout)[-2000:]}"}


def main(argv: list[str]) -> int:
    task, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    fn = task_function(task)         # imports the task's module: the warm-up before the baseline
    base = peak_rss_mb()
    try:
        out = fn(**args)
    except Exception as exc:  # reported as a failed measurement, never a crash of the harness
        out = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    out["baseline_rss_mb"] = round(base, 1)
    print(PREFIX + json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
