"""prefect.yaml's deployments, proven the way docs/DEPLOYMENT.md tells a user to run them (issue 16):
``prefect server start`` on loopback, ``prefect work-pool create``, ``prefect --no-prompt deploy --all``,
``prefect worker start`` beside a ``tdm init``ed home; a file dropped into a centre's inbox is loaded
by the *scheduled* ingestion run (not one triggered by hand) and its artifacts are on the server.

Slow (the interval schedule fires a minute after the deployment): excluded from ``make test``,
run by ``.ci/run``.  Every process it starts is stopped afterwards, also on failure, including the
flow-run processes the worker starts in their own sessions (found by a marker in their environment).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from centres.profile import load_profiles
from synth import generate_cohort, write_exports

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MARKER = "_TDM_DEPLOYMENT_TEST"          # in every process this test starts, and their children
#: The interval deployment's first run is due a minute after it is created; then the worker picks it up.
LOAD_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _marked_pids(marker: str) -> list[int]:
    """Our processes whose environment carries ``marker`` (the worker's flow runs start new sessions)."""
    needle = f"{MARKER}={marker}".encode()
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if needle in (proc / "environ").read_bytes().split(b"\0"):
                    out.append(int(proc.name))
            except OSError:          # gone, or not ours
                continue
    return out


class Stack:
    """The server, the worker and what they spawn; ``stop`` ends them all (TERM, then KILL)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.marker = uuid.uuid4().hex
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.home = tmp / "home"
        self.procs: dict[str, subprocess.Popen] = {}
        base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "TDM_"))}
        self.env = {**base, MARKER: self.marker, "PREFECT_HOME": str(tmp / "prefect"),
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_TELEMETRY_ENABLED": "false",
                    "DO_NOT_TRACK": "1", "PREFECT_UI_ENABLED": "false", "TDM_HOME": str(self.home),
                    "TDM_CHROMIUM": ""}

    def log(self, name: str) -> Path:
        return self.tmp / f"{name}.log"

    def start(self, name: str, args: list[str], env: dict) -> None:
        with self.log(name).open("wb") as log:
            self.procs[name] = subprocess.Popen(args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, args: list[str], **env) -> str:
        proc = subprocess.run(args, env={**self.env, **env}, cwd=ROOT, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def logs(self) -> str:
        return "\n".join(f"--- {n}.log (tail) ---\n" + self.log(n).read_text(errors="replace")[-3000:]
                         for n in self.procs if self.log(n).exists())

    def stop(self) -> None:
        for pid in [*(p.pid for p in self.procs.values()), *_marked_pids(self.marker)]:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (_marked_pids(self.marker)
                                               or any(p.poll() is None for p in self.procs.values())):
            time.sleep(0.2)
        for pid in _marked_pids(self.marker):   # a worker waiting on a server that is gone ignores TERM
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs.values():
            p.wait(timeout=10)


def _api(stack: Stack, path: str, body: dict) -> list[dict]:
    r = httpx.post(stack.api + path, json=body, timeout=10)
    r.raise_for_status()
    return r.json()


def _sql(stack: Stack, query: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(stack.run([str(BIN / "tdm"), "sql", "--format", "csv", query]))))


def _wait_healthy(stack: Stack, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert stack.procs["server"].poll() is None, f"prefect server exited\n{stack.logs()}"
        try:
            if httpx.get(stack.api + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server not healthy within {timeout} s\n{stack.logs()}")


def _drop_ten_line_file(home: Path, stage: Path) -> Path:
    profiles = load_profiles(home / "centres")
    write_exports(generate_cohort(10, ("smc",), 1), {"smc": profiles["smc"]}, stage, seed=1)
    (src,) = (stage / "smc").iterdir()
    dst = home / "inbox" / "smc" / src.name
    dst.write_bytes(src.read_bytes())
    old = time.time() - 60                   # complete: unchanged for longer than stable_seconds
    os.utime(dst, (old, old))
    return dst


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        s.stop()


def test_a_dropped_file_is_loaded_by_the_scheduled_deployment_run(stack, tmp_path):
    started = time.monotonic()
    prefect = str(BIN / "prefect")
    stack.start("server", [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(stack.port)], stack.env)
    stack.run([str(BIN / "tdm"), "init"])             # meanwhile: the home the worker serves
    dropped = _drop_ten_line_file(stack.home, tmp_path / "stage")
    _wait_healthy(stack)

    client = {"PREFECT_API_URL": stack.api}
    stack.run([prefect, "work-pool", "create", "tdm-process", "--type", "process"], **client)
    stack.run([prefect, "--no-prompt", "deploy", "--all"], TDM_REPO=str(ROOT), **client)
    deployments = {d["name"]: d for d in _api(stack, "/deployments/filter", {})}
    assert {"ingest-every-minute", "analyse-nightly"} <= set(deployments)
    ingest = deployments["ingest-every-minute"]
    assert ingest["work_pool_name"] == "tdm-process"
    assert ingest["global_concurrency_limit"]["limit"] == 1          # one writer on the warehouse
    stack.start("worker", [prefect, "worker", "start", "--pool", "tdm-process"], {**stack.env, **client})

    # poll: the scheduled run of the ingestion deployment, then the warehouse (as an analyst reads it)
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    run, files = None, []
    while time.monotonic() < deadline:
        assert stack.procs["worker"].poll() is None, f"the worker exited\n{stack.logs()}"
        finished = _api(stack, "/flow_runs/filter", {
            "flow_runs": {"deployment_id": {"any_": [ingest["id"]]}, "state": {"type": {"any_": [
                "COMPLETED", "FAILED", "CRASHED"]}}}})
        assert all(r["state_type"] == "COMPLETED" for r in finished), f"{finished}\n{stack.logs()}"
        if finished:
            files = _sql(stack, "SELECT centre_id, file_name, status, rows_loaded FROM ingest.files")
            if files:
                run = finished[0]
                break
        time.sleep(2)
    assert files, f"nothing loaded within {LOAD_TIMEOUT_S} s\n{stack.logs()}"

    assert run["auto_scheduled"] is True                              # the schedule ran it, not a person
    assert files == [{"centre_id": "smc", "file_name": dropped.name, "status": "loaded", "rows_loaded": "10"}]
    (patients,) = _sql(stack, "SELECT count(DISTINCT patient_id) AS n FROM core.patients WHERE centre_id = 'smc'")
    assert patients["n"] == "10"
    assert not dropped.exists() and list((stack.home / "archive" / "smc").iterdir())

    artifacts = {a["key"]: a for a in _api(stack, "/artifacts/filter", {
        "artifacts": {"flow_run_id": {"any_": [run["id"]]}}})}
    assert {"ingest-files", "ingest-reports"} <= set(artifacts)
    (row,) = json.loads(artifacts["ingest-files"]["data"])             # a table artifact's rows, as JSON
    assert (row["centre_id"], row["file_name"], row["status"], row["rows_loaded"]) == ("smc", dropped.name, "loaded", 10)
    assert f"smc/{dropped.name}" in artifacts["ingest-reports"]["data"] and ".html" in artifacts["ingest-reports"]["data"]
    print(f"deployment test: dropped file loaded by the scheduled run after {time.monotonic() - started:.1f} s")
