"""Centre profiles (configuration, one YAML file per centre) and the format adapters.

* :mod:`centres.profile` - the profile model, validated on load (``load_profile``);
* :mod:`centres.raw` - stage 1 of the one path (``docs/ONE_PATH.md``): any export as DuckDB's
  temporary table ``raw`` of text cells (:mod:`centres.readers`, :mod:`centres.csv_lines`,
  :mod:`centres.workbook`, :mod:`centres.header_checks`: the file's checks);
* :mod:`centres.sql_harmonise` - stage 2: the profile compiled into set-wise SQL giving the
  contract's entity tables and ``findings`` (cell parsers: :mod:`centres.sql_cells` in SQL,
  :mod:`centres.cells` per distinct cell);
* :mod:`schema.units` - exact unit conversions to the dictionary's canonical units.

:func:`adapt_file` runs both stages on a private in-memory DuckDB and returns the result as pandas
frames (for tests and the synthetic round trips).  See ``docs/CENTRES.md``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from schema.relations import FINDING_SQL, FINDINGS_TABLE, tables_to_frames
from centres.profile import CentreProfile, FileSpec, load_profiles
from centres.raw import read_raw
from centres.sql_harmonise import harmonise_raw
from base.config import DEFAULT_LIMITS, Limits
from base.errors import FileRejected

BUILTIN_DIR = Path(__file__).parent / "builtin"

#: The columns of :attr:`AdaptedFile.cell_issues` (the ``findings`` of stage 2 without ``record``).
ISSUE_COLUMNS = [c for c in FINDING_SQL if c != "record"]


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
    return load_profiles(BUILTIN_DIR)


@dataclass(frozen=True)
class AdaptedFile:
    """One file read and harmonised: which spec matched, the entity frames of its kind (harmonised
    dtypes, ``source_line`` order) and the cell findings (:data:`ISSUE_COLUMNS`)."""

    kind: str
    spec: FileSpec
    frames: dict[str, pd.DataFrame]
    cell_issues: pd.DataFrame
    rows_read: int


def adapt_file(path, profile: CentreProfile, key: bytes, *, limits: Limits = DEFAULT_LIMITS) -> AdaptedFile:
    """Match ``path`` to one of ``profile``'s file specs, then stages 1-2 of the one path on a private
    in-memory DuckDB (:func:`centres.raw.read_raw`, :func:`centres.sql_harmonise.harmonise_raw`).

    Raises :class:`~base.errors.FileRejected` (code ``no_matching_spec``, ``encoding``,
    ``empty_file``, ...), :class:`~base.errors.PrivacyError` or :class:`~base.errors.MappingError`
    (``missing_columns``, ``unknown_columns``) for problems with the file as a whole.
    """
    path = Path(path)
    spec = profile.match(path.name)
    if spec is None:
        patterns = "; ".join(f"{s.name}: {', '.join(s.patterns)}" for s in profile.files)
        raise FileRejected(
            f"file name matches none of centre '{profile.centre_id}' file patterns",
            code="no_matching_spec", file=path.name, value=path.name,
            hint=f"rename the file or add a pattern to the profile ({patterns})",
        )
    con = duckdb.connect()
    try:
        raw = read_raw(con, path, spec, path.name, limits=limits)
        h = harmonise_raw(con, raw, spec, profile, key)
        frames = {e: df for e, df in tables_to_frames(con).items() if e in spec.entities}
        issues = con.execute(f"SELECT {', '.join(ISSUE_COLUMNS)} FROM {FINDINGS_TABLE} "
                             "ORDER BY source_line, rowid").df()
    finally:
        con.close()
    issues = issues.astype({c: "str" for c in ISSUE_COLUMNS if c != "source_line"}).astype({"source_line": "int64"})
    return AdaptedFile(kind=spec.kind, spec=spec, frames=frames, cell_issues=issues, rows_read=h.rows_read)


__all__ = ["AdaptedFile", "BUILTIN_DIR", "ISSUE_COLUMNS", "adapt_file", "builtin_profiles", "install_builtin_profiles"]
