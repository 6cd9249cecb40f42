"""Shared fixtures: an isolated TDM home per test, offline Prefect settings."""

from __future__ import annotations

import os

import pytest

from tests.homes import demo_settings
from tests.lake_servers import lake_servers  # noqa: F401  (session fixture: PostgreSQL + S3 on loopback)

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_TELEMETRY_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# One Prefect home for the test session (kept between runs, so Prefect migrates it once); the CLI
# puts it under the TDM home only when PREFECT_HOME is not set (base.runtime.prefect_home_under).
os.environ.setdefault("PREFECT_HOME", os.path.join(os.path.dirname(os.path.dirname(__file__)), ".prefect"))
# Commands the tests run as subprocesses start a Prefect server for their own run only and stop it
# (tdm.prefect_server); the long-lived server has its own tests, which stop what they start.
os.environ.setdefault("TDM_PREFECT_SERVER_IDLE", "0")
# Publications print report.pdf with Chromium (seconds each); only the PDF tests turn it on.
os.environ.setdefault("TDM_CHROMIUM", "")


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings for a fresh home under tmp_path (demo mode)."""
    return demo_settings(tmp_path / "home", monkeypatch)


@pytest.fixture
def warehouse(settings):
    """An initialised (migrated) warehouse in a fresh home."""
    from warehouse.init import init_warehouse

    init_warehouse(settings)
    return settings
