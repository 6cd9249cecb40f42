"""Centre profiles (configuration, one YAML file per centre) and the format adapters.

* :mod:`tdm.centres.profile` - the profile model, validated on load (``load_profile``);
* :mod:`tdm.centres.readers` - reading CSV/XLSX exports into strings (the only I/O here);
* :mod:`tdm.centres.harmonise` - the pure vectorised mapping onto harmonised entity frames;
* :mod:`tdm.centres.units` - exact unit conversions to the dictionary's canonical units;
* :mod:`tdm.centres.raw`, :mod:`tdm.centres.sql_harmonise` - stages 1-2 of the one path (issue #15,
  ``docs/ONE_PATH.md``): any export as DuckDB's temporary table ``raw`` of text cells, and the profile
  compiled into set-wise SQL giving the contract's entity tables and ``findings``.

:func:`adapt_file` ties them together for one file.  See ``docs/CENTRES.md``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

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


def builtin_profiles() -> dict:
    """The built-in profiles shipped with the package (smc, sch, knuh)."""
    from tdm.centres.profile import load_profiles

    return load_profiles(BUILTIN_DIR)


@dataclass(frozen=True)
class AdaptedFile:
    """One file read and harmonised: which spec matched, the entity frames and the cell issues."""

    kind: str
    spec: object  # tdm.centres.profile.FileSpec
    frames: dict[str, pd.DataFrame]
    cell_issues: pd.DataFrame
    rows_read: int


def adapt_file(path, profile, key: bytes) -> AdaptedFile:
    """Match ``path`` to one of ``profile``'s file specs, read it and harmonise it.

    Raises :class:`~tdm.errors.FileRejected` (code ``no_matching_spec``, ``encoding``,
    ``empty_file``, ...) or :class:`~tdm.errors.MappingError` (``missing_columns``,
    ``unknown_columns``) for problems with the file as a whole.
    """
    from tdm.centres.harmonise import harmonise
    from tdm.centres.readers import read_export
    from tdm.errors import FileRejected

    path = Path(path)
    spec = profile.match(path.name)
    if spec is None:
        patterns = "; ".join(f"{s.name}: {', '.join(s.patterns)}" for s in profile.files)
        raise FileRejected(
            f"file name matches none of centre '{profile.centre_id}' file patterns",
            code="no_matching_spec", file=path.name, value=path.name,
            hint=f"rename the file or add a pattern to the profile ({patterns})",
        )
    raw = read_export(path, spec)
    h = harmonise(raw, spec, profile, key, file_name=path.name)
    return AdaptedFile(kind=spec.kind, spec=spec, frames=h.frames, cell_issues=h.cell_issues,
                       rows_read=h.rows_read)


__all__ = ["BUILTIN_DIR", "install_builtin_profiles", "builtin_profiles", "AdaptedFile", "adapt_file"]
