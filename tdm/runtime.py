"""Process-wide environment set before Prefect is imported: no network, no telemetry."""

from __future__ import annotations

import os
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
    """Set Prefect's offline defaults (without overriding what the user set)."""
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    if "PREFECT_HOME" not in os.environ:
        base = home or Path(os.environ.get("TDM_HOME") or "tdm-home")
        prefect_home = Path(base).resolve() / ".prefect"
        prefect_home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(prefect_home)
