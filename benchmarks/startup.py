"""Start-up time of the ``tdm`` command from the shell prompt (issue 14): ``--help``, an empty
ingestion pass, and a pass with one 10-line file (first run on a fresh Prefect home, then warm).

Each run is a fresh ``tdm`` process, timed from spawn to exit (wall) with the CPU of it and its
children (the Prefect server subprocess included).  The inputs are the synthetic generator's
canonical smc export of 10 patients.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from tdm.centres.profile import load_profiles
from tdm.synth import generate_cohort, write_exports

TARGETS = {"empty pass": 3.0, "10-line file (warm)": 5.0}


def _tdm() -> list[str]:
    exe = Path(sys.executable).parent / "tdm"
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from tdm.cli import run; run()"]


def _timed(args: list[str], env: dict) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([*_tdm(), *args], env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"tdm {' '.join(args)} exited {proc.returncode}: {proc.stderr[-500:]}")
    return wall, cpu, proc.returncode


def _ten_line_file(home: Path, stage: Path) -> Path:
    profiles = load_profiles(home / "centres")
    write_exports(generate_cohort(10, ("smc",), 1), {"smc": profiles["smc"]}, stage, seed=1)
    (f,) = (stage / "smc").iterdir()
    return f


def bench_startup(work: Path, repeat: int = 3) -> pd.DataFrame:
    work = Path(work)
    shutil.rmtree(work, ignore_errors=True)
    home = work / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TDM_"))}
    env.update(TDM_HOME=str(home), TDM_PSEUDONYM_KEY="startup-bench-key-0123456789abcdef")
    rows = []

    def measure(case: str, args: list[str], n: int, before=None) -> None:
        walls, cpus = [], []
        for i in range(n):
            if before:
                before(i)
            w, c, _ = _timed(args, env)
            walls.append(w)
            cpus.append(c)
        rows.append({"case": case, "runs": n, "wall_s": round(statistics.median(walls), 2),
                     "wall_max_s": round(max(walls), 2), "cpu_s": round(statistics.median(cpus), 2),
                     "target_s": TARGETS.get(case), "load_avg_1m": round(os.getloadavg()[0], 2)})

    measure("--help", ["--help"], repeat)
    _timed(["init"], env)
    measure("empty pass", ["ingest"], repeat)
    src = _ten_line_file(home, work / "stage")
    lines = sum(1 for _ in src.open()) - 1

    def drop(i: int) -> None:
        dst = home / "inbox" / "smc" / f"export_{time.time_ns()}.csv"
        text = src.read_text(encoding="utf-8") + "\n" * (i + 1)     # new content: not a duplicate
        dst.write_text(text, encoding="utf-8")
        old = time.time() - 60
        os.utime(dst, (old, old))

    measure("10-line file (fresh Prefect home)", ["ingest"], 1, drop)
    measure("10-line file (warm)", ["ingest"], repeat, drop)
    df = pd.DataFrame(rows)
    df["lines"] = [lines if c.startswith("10-line") else None for c in df["case"]]
    return df
