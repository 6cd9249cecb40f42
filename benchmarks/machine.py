"""The machine a run measured on (cores, memory, load, package versions) and the R peers run through Rscript."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def machine_info() -> dict:
    info = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "python": platform.python_version(),
            "platform": platform.platform(), "cores": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2)}
    try:
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        info["memory_gb"] = round(int(mem) / 1024 ** 2, 1)
        cpu = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")]
        info["cpu"] = cpu[0].split(":", 1)[1].strip() if cpu else ""
    except OSError:
        pass

    for pkg in ("pandas", "numpy", "pyarrow", "duckdb", "pandera", "polars", "prefect", "prefect-dask",
                "scikit-learn", "scipy", "statsmodels"):
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            info[pkg] = None
    r = r_versions()
    info.update(r)
    return info


def rscript() -> str | None:
    return shutil.which("Rscript")


def r_versions() -> dict:
    if not rscript():
        return {"R": None}
    try:
        p = subprocess.run([rscript(), "-e", 'cat(R.version$major, R.version$minor, " ");'
                            'for (p in c("pROC","cutpointr")) cat(p, tryCatch(as.character(packageVersion(p)),'
                            ' error=function(e) "absent"), " ")'], capture_output=True, text=True, timeout=60)
        parts = p.stdout.split()
        return {"R": ".".join(parts[:2]), "pROC": parts[3] if len(parts) > 3 else None,
                "cutpointr": parts[5] if len(parts) > 5 else None}
    except Exception:
        return {"R": None}


def run_r(script: str, *args) -> dict:
    """Run benchmarks/r/<script> and parse its ``BENCH-R k=v ...`` line; {} when R is absent."""
    if not rscript():
        return {"skipped": "Rscript not found"}
    p = subprocess.run([rscript(), str(ROOT / "r" / script), *map(str, args)], capture_output=True, text=True,
                       timeout=7200)
    for line in p.stdout.splitlines():
        if line.startswith("BENCH-R "):
            out = {}
            for kv in line[len("BENCH-R "):].split():
                k, v = kv.split("=", 1)
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
            return out
    return {"skipped": f"R failed: {(p.stderr or p.stdout)[-500:]}"}


__all__ = ["machine_info", "r_versions", "rscript", "run_r"]
