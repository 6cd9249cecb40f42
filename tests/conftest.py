"""Shared fixtures: an isolated TDM home per test, offline Prefect settings."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_TELEMETRY_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# Publications print report.pdf with Chromium (seconds each); only the PDF tests turn it on.
os.environ.setdefault("TDM_CHROMIUM", "")


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings for a fresh home under tmp_path (demo mode)."""
    from tdm.config import load_settings

    monkeypatch.setenv("TDM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TDM_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("TDM_PSEUDONYM_KEY_FILE", raising=False)
    s = load_settings(tmp_path / "home", mode="demo")
    s.ensure_dirs()
    return s


@pytest.fixture
def warehouse(settings):
    """An initialised (migrated) warehouse in a fresh home."""
    from tdm.warehouse import init_warehouse

    init_warehouse(settings)
    return settings
