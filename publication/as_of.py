"""Recompute a publication as of the lake snapshot it read, and compare it table for table.

A publication records the lake snapshot its inputs came from (``published.publications.lake_snapshot``).
:func:`recompute_as_of` reads the cohort and the earlier publications' history at that snapshot
(``ATTACH ... (SNAPSHOT_VERSION n)``, so the ``analysis.*`` views resolve over the tables as they
were), runs the same plan with the recorded parameters, seed and creation time, and compares every
stored table row (the JSON written by :func:`publication.write.table_json_rows`) with the
recomputed one.  Later files that superseded rows change nothing of it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from base.config import Settings
from base.errors import TdmError
from publication.inputs import read_inputs
from publication.run import run_analyses
from publication.study import PublicationParameters
from publication.write import table_json_rows
from warehouse.lake import open_reader


@dataclass(frozen=True)
class AsOf:
    """A recomputation: the snapshot it read, each table's row count, and the tables that differ
    (name -> the first differing row, stored vs recomputed); ``identical`` when none does."""

    publication_id: str
    lake_snapshot: int
    rows: dict[str, int]
    differences: dict[str, str]

    @property
    def identical(self) -> bool:
        return not self.differences


def _stored(settings: Settings, publication_id: str) -> tuple[tuple, dict[str, list[str]]]:
    con = open_reader(settings.lake)
    try:
        pub = con.execute("SELECT created_at, parameters, lake_snapshot FROM published.publications "
                          "WHERE publication_id = ?", [publication_id]).fetchone()
        if pub is None:
            raise TdmError(f"there is no publication {publication_id}", code="no_publication", value=publication_id,
                           hint="see the publication ids with: tdm sql \"SELECT publication_id FROM "
                                "published.publications\"")
        stored: dict[str, list[str]] = {}
        for name, js in con.execute("SELECT table_name, row_json FROM published.tables WHERE publication_id = ? "
                                    "ORDER BY table_name, row_number", [publication_id]).fetchall():
            stored.setdefault(name, []).append(js)
    finally:
        con.close()
    return pub, stored


def recompute_as_of(settings: Settings, publication_id: str) -> AsOf:
    """Recompute ``publication_id`` from the lake snapshot it recorded and compare every table."""
    (created, params_json, snapshot), stored = _stored(settings, publication_id)
    if snapshot is None:
        raise TdmError(f"publication {publication_id} was made before the warehouse recorded lake snapshots",
                       code="no_lake_snapshot", value=publication_id,
                       hint="only publications made on the lake can be recomputed as of their data")
    params = PublicationParameters.from_mapping(json.loads(params_json))
    inputs = read_inputs(settings, snapshot_version=int(snapshot))
    bundle = run_analyses(inputs.cohort, params, previous_cutoffs=inputs.history,
                          created_at=created.replace(tzinfo=dt.timezone.utc))
    again = {name: table_json_rows(t) for name, t in bundle.tables.items()}
    again.update({"not_computed": [json.dumps(s, ensure_ascii=False) for s in bundle.skipped]} if bundle.skipped else {})
    differences = {}
    for name in sorted(set(stored) | set(again)):
        a, b = stored.get(name, []), again.get(name, [])
        if a != b:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            differences[name] = (f"{len(a)} stored rows, {len(b)} recomputed; first difference at row {first + 1}: "
                                 f"{a[first] if first < len(a) else '(none)'} vs {b[first] if first < len(b) else '(none)'}")
    return AsOf(publication_id, int(snapshot), {n: len(r) for n, r in again.items()}, differences)


__all__ = ["AsOf", "recompute_as_of"]
