"""Synthetic exports written to disk: each centre's share of a cohort in its own format and encoding,
with errors injected (:mod:`synth.inject`) into the strings :mod:`synth.render` made, and the
:class:`Manifest` of what was written and where each error is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from centres.profile import CentreProfile
from synth.cohort import Cohort
from synth.inject import ERROR_KINDS, INJECTED_COLUMNS, apply_errors
from synth.render import ExportFile, render_files

@dataclass(frozen=True)
class Manifest:
    """What :func:`write_exports` wrote and which errors it injected (with exact lines)."""

    files: pd.DataFrame
    injected: pd.DataFrame
    seed: int
    error_rate: float
    n_patients: int

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.files.to_csv(directory / "files.csv", index=False)
        self.injected.to_csv(directory / "injected.csv", index=False)
        meta = {"seed": self.seed, "error_rate": self.error_rate, "n_patients": self.n_patients,
                "files": json.loads(self.files.to_json(orient="records")),
                "n_injected": int(len(self.injected)), "error_kinds": ERROR_KINDS}
        path = directory / "manifest.json"
        path.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
        return path




def _finalise_lines(f: ExportFile) -> pd.DataFrame:
    fr = f.frame.sort_values("_pos", kind="stable").reset_index(drop=True)
    fr["_line"] = np.arange(len(fr)) + f.spec.header_row + 1
    f.frame = fr
    return fr


def _write(f: ExportFile, path: Path) -> None:
    data = f.frame[[c for c in f.frame.columns if not c.startswith("_")]].copy()
    tmp = path.with_name("." + path.name + ".part")
    if f.fmt == "xlsx":
        sheet = f.spec.xlsx.sheet if f.spec.xlsx is not None and isinstance(f.spec.xlsx.sheet, str) else "Sheet1"
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": True,
                                            "strings_to_urls": False, "strings_to_formulas": False})
        ws = wb.add_worksheet(sheet)
        r = 0
        for _ in range(f.spec.header_row - 1):
            ws.write_row(r, 0, [f"{f.centre_id} export"])
            r += 1
        ws.write_row(r, 0, list(data.columns))
        for row in data.itertuples(index=False, name=None):
            r += 1
            ws.write_row(r, 0, row)
        wb.close()
    else:
        opts = f.spec.csv
        text = data.to_csv(index=False, sep=opts.delimiter, lineterminator="\n")
        if opts.decimal == ",":
            for c in data.columns:  # a decimal-comma centre writes 4,5 (delimiter must then differ)
                data[c] = data[c].str.replace(r"^(-?\d+)\.(\d+)$", r"\1,\2", regex=True)
        pre = "".join(f"{f.centre_id} export\n" for _ in range(f.spec.header_row - 1))
        tmp.write_bytes((pre + text).encode(f.encoding))
    os.replace(tmp, path)


def write_exports(cohort: Cohort, profiles: dict[str, CentreProfile], out_dir: str | Path, *,
                  error_rate: float = 0.0, seed: int | None = None, kinds=None,
                  file_format: dict[str, str] | None = None, encoding: dict[str, str] | None = None,
                  per_centre_dir: bool = True) -> Manifest:
    """Write each centre's share of ``cohort`` in its own format under ``out_dir/<centre>/``.

    ``error_rate`` is the share of each centre's patients that get one injected error (at least
    one of each applicable kind when > 0); ``kinds`` restricts the kinds (default: all of
    :data:`ERROR_KINDS`).  ``file_format``/``encoding`` override a centre's format ("csv"/"xlsx")
    and CSV encoding (e.g. ``{"sch": "csv"}``, ``{"sch": "cp949"}``).
    """
    seed = cohort.seed if seed is None else seed
    rng = np.random.default_rng([seed, 7919])
    kinds = list(ERROR_KINDS) if kinds is None else list(kinds)
    unknown = [k for k in kinds if k not in ERROR_KINDS]
    if unknown:
        raise ValueError(f"unknown error kinds {unknown}; valid: {', '.join(ERROR_KINDS)}")
    out_dir = Path(out_dir)
    file_rows, injected = [], []
    for centre in cohort.centres:
        if centre not in profiles:
            raise ValueError(f"no profile for centre {centre!r}; have {', '.join(sorted(profiles))}")
        profile = profiles[centre]
        files = render_files(rng, cohort, profile, seed, (file_format or {}).get(centre),
                              (encoding or {}).get(centre))
        records = apply_errors(rng, profile, files, cohort, error_rate, kinds)
        folder = out_dir / centre if per_centre_dir else out_dir
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            fr = _finalise_lines(f)
            line_of = dict(zip(fr["_uid"], fr["_line"]))
            for r in records:
                if r["_fileobj"] == id(f):
                    r["source_line"] = int(line_of[r["_uid"]])
            path = folder / f.name
            _write(f, path)
            file_rows.append({"centre_id": centre, "kind": f.spec.kind, "spec": f.spec.name,
                              "file": str(path), "file_name": f.name, "format": f.fmt,
                              "encoding": f.encoding if f.fmt == "csv" else "", "rows": len(fr)})
        injected.extend(records)
    inj = pd.DataFrame(injected, columns=INJECTED_COLUMNS + ["_uid", "_fileobj"])[INJECTED_COLUMNS]
    inj = inj.astype({"source_line": "int64"}) if len(inj) else inj
    return Manifest(files=pd.DataFrame(file_rows), injected=inj.reset_index(drop=True), seed=seed,
                    error_rate=float(error_rate), n_patients=len(cohort.patients))


__all__ = ["ERROR_KINDS", "INJECTED_COLUMNS", "Manifest", "write_exports"]
