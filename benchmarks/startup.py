"""Start-up time of the ``tdm`` command from the shell prompt (issue 14): ``--help``, an empty
ingestion pass, and a pass with one 10-line file: on a fresh Prefect home (the first command starts
the home's Prefect server and migrates its database), with the server running (every later command
within its idle time), with no server running on a warm Prefect home (the first command after the
server stopped itself: a cron job less often than the idle time), and with a server per command
(``TDM_PREFECT_SERVER_IDLE=0``, nothing left running).

Each run is a fresh ``tdm`` process, timed from spawn to exit (wall) with the CPU of it and of the
children it waited for (``cpu_s``: the per-command server included) and, separately, the CPU the
home's detached server used during the command (``server_cpu_s``: all of it when the command
started it).  The inputs are the synthetic
generator's canonical smc export of 10 patients.
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

from centres.profile import load_profiles
from tdm.prefect_server import ServerFiles, read_state
from synth import generate_cohort, write_exports

#: Issue 14: an empty pass <= 3 s and a 10-line file <= 5 s from the shell prompt, whether or not the
#: home's server is already running (the first command after its idle stop is what cron meets).
TARGETS = {"empty pass": 3.0, "10-line file (server running)": 5.0,
           "10-line file (no server running, warm Prefect home)": 5.0}


def _tdm() -> list[str]:
    exe = Path(sys.executable).parent / "tdm"
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from tdm.cli import run; run()"]


def _timed(args: list[str], env: dict) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # (a detached server started by the command holds none of its pipes: they close when it exits)
    proc = subprocess.run([*_tdm(), *args], env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"tdm {' '.join(args)} exited {proc.returncode}: {proc.stderr[-500:]}")
    return wall, cpu, proc.returncode


def _server_ticks(home: Path) -> tuple[int | None, float]:
    """The home's detached Prefect server: its pid and the CPU seconds it has used so far."""
    state = read_state(ServerFiles((home / ".prefect").resolve()))
    if not state:
        return None, 0.0
    try:
        fields = Path(f"/proc/{int(state['pid'])}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None, 0.0
    return int(state["pid"]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine() -> str:
    """``quiet`` or ``loaded`` (1-minute load above 3/4 of the cores): wall times under load are not
    the command's; compare CPU then."""
    return "loaded" if os.getloadavg()[0] > 0.75 * (os.cpu_count() or 1) else "quiet"


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
        walls, cpus, server_cpus = [], [], []
        for i in range(n):
            if before:
                before(i)
            pid0, ticks0 = _server_ticks(home)
            w, c, _ = _timed(args, env)
            pid1, ticks1 = _server_ticks(home)
            walls.append(w)
            cpus.append(c)
            # the detached server's share: all of it if this command started it, else what it used meanwhile
            server_cpus.append(ticks1 - (ticks0 if pid1 == pid0 else 0.0) if pid1 else 0.0)
        rows.append({"case": case, "runs": n, "wall_s": round(statistics.median(walls), 2),
                     "wall_max_s": round(max(walls), 2), "cpu_s": round(statistics.median(cpus), 2),
                     "server_cpu_s": round(statistics.median(server_cpus), 2),
                     "target_s": TARGETS.get(case), "load_avg_1m": round(os.getloadavg()[0], 2),
                     "machine": _machine()})

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

    def stop_server(_i: int) -> None:
        _timed(["prefect", "stop"], env)

    def drop_no_server(i: int) -> None:
        stop_server(i)
        drop(i)

    try:
        measure("10-line file (fresh Prefect home)", ["ingest"], 1, drop)
        measure("10-line file (server running)", ["ingest"], repeat, drop)
        measure("10-line file (no server running, warm Prefect home)", ["ingest"], repeat, drop_no_server)
        stop_server(0)
        env["TDM_PREFECT_SERVER_IDLE"] = "0"
        measure("10-line file (server per command, TDM_PREFECT_SERVER_IDLE=0)", ["ingest"], repeat, drop)
    finally:
        env.pop("TDM_PREFECT_SERVER_IDLE", None)
        stop_server(0)
    df = pd.DataFrame(rows)
    df["lines"] = [lines if c.startswith("10-line") else None for c in df["case"]]
    return df
