"""A fresh demo home's settings, for the ``settings`` fixture and module-scoped homes alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.config import Settings, load_settings


def demo_settings(home: Path, mp: pytest.MonkeyPatch) -> Settings:
    """Settings for a fresh home at ``home`` (demo mode), the environment set through ``mp``: the home
    as TDM_HOME, no pseudonym key from the caller's environment."""
    mp.setenv("TDM_HOME", str(home))
    mp.delenv("TDM_PSEUDONYM_KEY", raising=False)
    mp.delenv("TDM_PSEUDONYM_KEY_FILE", raising=False)
    s = load_settings(home, mode="demo")
    s.ensure_dirs()
    return s
