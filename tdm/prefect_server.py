"""Prefect's temporary server for one ``tdm`` command, started early and lean.

When no ``PREFECT_API_URL`` is configured, Prefect starts a temporary server the first time a
flow needs its API: the client process first imports the whole server package (FastAPI app,
models, services: most of the 18-30 s measured for an empty ``tdm ingest`` on 2 busy cores) only
to launch it as a subprocess, then waits while that subprocess imports it all again and migrates
its database.  This module launches the same server (Prefect's own app factory, the same
command line as ``prefect.server.api.server.SubprocessASGIServer``) *before* Prefect is imported,
so the server boots while the command imports Prefect, pandas and DuckDB on the other core, and
the client never imports the server.  Its state lives under the home (``PREFECT_HOME``, see
:func:`tdm.runtime.prefect_home_under`), so its migrations run once; after a successful start the
migration and block registration steps, which a one-shot run does not need again, are skipped
for that Prefect version (a marker file records it; a new Prefect version migrates again).

A configured server (``PREFECT_API_URL``) or a test harness is used as is.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tdm.errors import TdmError


def _free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _marker(prefect_home: Path) -> Path:
    return prefect_home / f"tdm-migrated-{importlib.metadata.version('prefect')}"


class TemporaryServer:
    """The server subprocess; ``wait_ready`` before the first flow, ``stop`` at the end."""

    def __init__(self, prefect_home: Path) -> None:
        self.prefect_home = Path(prefect_home)
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        migrated = _marker(self.prefect_home).exists()
        env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
               "PREFECT__SERVER_FINAL": "1", "PREFECT_HOME": str(self.prefect_home)}
        if migrated:   # this Prefect version already migrated and registered its blocks here
            env.setdefault("PREFECT_API_DATABASE_MIGRATE_ON_START", "false")
            env.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
        spec = importlib.util.find_spec("prefect")
        app_dir = str(Path(spec.origin).parent.parent)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", app_dir, "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "error", "--lifespan", "on"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._ready = False

    def wait_ready(self, timeout: float | None = None) -> None:
        if self._ready:
            return
        timeout = timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (self.process.stderr.read() or b"").decode("utf-8", "replace").strip().splitlines()
                raise TdmError(f"Prefect's temporary server exited with code {self.process.returncode}"
                               + (f": {err[-1]}" if err else ""), code="prefect_server",
                               hint=f"check {self.prefect_home} (Prefect's state) or set PREFECT_API_URL")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as r:
                    if r.status == 200:
                        self._ready = True
                        _marker(self.prefect_home).touch()
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.05)
        raise TdmError(f"Prefect's temporary server did not start within {timeout:g} s", code="prefect_server",
                       hint="raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or set PREFECT_API_URL")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def prefect_api(prefect_home: Path):
    """Within: a Prefect API for flows; starts a lean temporary server unless one is configured.

    Call it before anything imports Prefect (Prefect reads ``PREFECT_API_URL`` at import)."""
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        yield None
        return
    server = TemporaryServer(prefect_home)
    os.environ["PREFECT_API_URL"] = server.url
    try:
        yield server
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()
