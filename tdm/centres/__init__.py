"""Centre profiles (configuration, one YAML file per centre) and the format adapters."""

from __future__ import annotations

import shutil
from pathlib import Path

BUILTIN_DIR = Path(__file__).parent / "builtin"


def install_builtin_profiles(settings) -> list[str]:
    """Copy the built-in centre profiles into the home (never overwriting an edited one)."""
    settings.centres_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for src in sorted(BUILTIN_DIR.glob("*.yaml")):
        dst = settings.centres_dir / src.name
        if not dst.exists():
            shutil.copyfile(src, dst)
        installed.append(src.stem)
        (settings.inbox / src.stem).mkdir(parents=True, exist_ok=True)
    return installed
